from django.contrib import admin

from registrar.admin import ReadOnlyAdmin
from transfers.models import StatusChangeRequest, Suspension


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
