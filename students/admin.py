"""Administration of student records: scoped like the pages, and read-only once a record is locked.

Administrators correct data here only as the offices do, and through the same service
(`students.services.update_student`: checks, lock, history, audit): key fields change through
key-data corrections; school, grade, class and status through the workflows (transfers, 留级 …),
which keep the status history and the class sizes; family members on the student's edit page.
Graduated or departed students cannot be changed at all.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from registrar.admin import ScopedAdminMixin
from students import services
from students.models import KEY_FIELDS, Guardian, ProblemRecord, StatusEvent, Student
from students.validation import validate_changes

# Placement and status change only through the workflows.
PLACEMENT_FIELDS = ("school", "grade", "school_class", "status")


class GuardianInline(admin.TabularInline):
    model = Guardian
    extra = 0
    can_delete = False
    fields = ["order", "name", "relation", "phone", "id_type", "id_number", "is_guardian"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class StudentAdminForm(forms.ModelForm):
    """The record's own rules, on the changed fields only (as on the student's edit page)."""

    def clean(self):
        cleaned = super().clean()
        changes = {name: cleaned[name] for name in self.changed_data if name in cleaned}
        for name, messages in validate_changes(self.instance, changes).items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        return cleaned


class StatusEventInline(admin.TabularInline):
    model = StatusEvent
    extra = 0
    can_delete = False
    fields = [
        "occurred_on",
        "event",
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
    form = StudentAdminForm
    readonly_fields = [
        "number",
        *PLACEMENT_FIELDS,
        "registration",
        "photo",
        "created_at",
        "updated_at",
        *KEY_FIELDS,
    ]
    inlines = [GuardianInline, StatusEventInline]

    def save_model(self, request, obj, form, change):
        """Through the service that every direct edit takes, never a bare save."""
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        services.update_student(
            Student.objects.get(pk=obj.pk),
            by=request.user,
            changes=changes,
            reason=_("Edited in the administration"),
            administrator=True,
        )

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
