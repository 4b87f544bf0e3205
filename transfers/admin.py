from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from registrar.admin import ScopedAdminMixin
from transfers.models import StatusChangeRequest, Suspension


class ReadOnlyAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """Status changes are made on their pages, through the services; here they are only read."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StatusChangeRequest)
class StatusChangeRequestAdmin(ReadOnlyAdmin):
    list_display = ["student", "kind", "from_school", "to_school", "created_at", "applied_on"]
    list_filter = ["kind"]
    search_fields = ["student__name", "student__number"]
    list_select_related = ["student", "from_school", "to_school"]
    date_hierarchy = "created_at"


@admin.register(Suspension)
class SuspensionAdmin(ReadOnlyAdmin):
    list_display = ["student", "reason", "starts_on", "ends_on", "ended_on"]
    list_select_related = ["student"]
    search_fields = ["student__name", "student__number"]
