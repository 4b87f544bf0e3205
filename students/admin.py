"""Administration of student records: scoped like the pages, and read-only once a record is locked.

Administrators correct data here only as the offices do: key fields are read-only (they change
through key-data corrections), and graduated or departed students cannot be changed at all.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from registrar.admin import ScopedAdminMixin
from students.models import KEY_FIELDS, Guardian, ProblemRecord, StatusEvent, Student


class GuardianInline(admin.TabularInline):
    model = Guardian
    extra = 0

    def has_change_permission(self, request, obj=None):
        return obj is None or not obj.is_locked

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


class StatusEventInline(admin.TabularInline):
    model = StatusEvent
    extra = 0
    can_delete = False
    fields = [
        "occurred_on",
        "from_status",
        "to_status",
        "school",
        "grade",
        "school_class",
        "reason",
        "approved_by",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Student)
class StudentAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["name", "number", "school", "grade", "school_class", "status"]
    list_filter = ["status"]
    list_select_related = ["school", "grade__school", "school_class"]
    search_fields = ["=number", "=id_number", "name"]
    autocomplete_fields = ["school", "grade", "school_class"]
    readonly_fields = ["number", "status", "registration", "photo", "created_at", "updated_at", *KEY_FIELDS]
    inlines = [GuardianInline, StatusEventInline]

    def has_add_permission(self, request):
        # New students come in through registration (page or import), never around it.
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_locked:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProblemRecord)
class ProblemRecordAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["student", "kind", "state", "detected_at"]
    list_filter = ["kind", "state"]
    list_select_related = ["student"]
    raw_id_fields = ["student", "other_student"]
    search_fields = ["student__name", "=student__number"]
