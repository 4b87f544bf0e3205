from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from registrar.audit import stamp
from registrar.models import BusinessCalendar
from students.models import Student
from transfers.models import StatusChangeRequest, Suspension


# The business calendar is a registrar model; it is registered here because the transfers are the
# first workflow that reads it (windows, suspension limits) and registrar/admin.py is not ours.
@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(SimpleHistoryAdmin):
    list_display = ["province", "transfer_windows", "graduation_freeze", "suspension_max_months"]
    list_select_related = ["province"]
    autocomplete_fields = ["province"]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def save_model(self, request, obj, form, change):
        stamp(obj, by=request.user)
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(SimpleHistoryAdmin):
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

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)


@admin.register(Suspension)
class SuspensionAdmin(ReadOnlyAdmin):
    list_display = ["student", "reason", "starts_on", "ends_on", "ended_on"]
    list_select_related = ["student"]
    search_fields = ["student__name", "student__number"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(student__in=Student.objects.visible_to(request.user))
