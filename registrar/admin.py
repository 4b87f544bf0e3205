from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from registrar.approvals import recompute_due_dates
from registrar.audit import stamp
from registrar.choices import Role, Stage
from registrar.models import (
    ApprovalRequest,
    ApprovalStep,
    AuditEvent,
    Decision,
    Grade,
    Holiday,
    Organisation,
    SchoolClass,
    User,
)
from registrar.services import save_organisation

admin.site.site_header = _("Registrar administration")
admin.site.site_title = _("Registrar")
admin.site.index_title = _("Administration")


class ScopedAdminMixin:
    """Staff who are not superusers see in the admin only what their node covers."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)


class OrganisationForm(forms.ModelForm):
    stages = forms.MultipleChoiceField(
        label=_("stages"), choices=Stage.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Organisation
        fields = ["code", "name", "kind", "parent", "stages", "school_system"]


@admin.register(Organisation)
class OrganisationAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    form = OrganisationForm
    list_display = ["name", "code", "kind", "parent", "school_system"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["path"]

    def save_model(self, request, obj, form, change):
        save_organisation(obj, by=request.user, reason=_("Edited in the administration"))


class SchoolClassInline(admin.TabularInline):
    model = SchoolClass
    extra = 0


@admin.register(Grade)
class GradeAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["__str__", "level"]
    list_select_related = ["school"]
    search_fields = ["school__name", "school__code"]
    autocomplete_fields = ["school"]
    inlines = [SchoolClassInline]


@admin.register(SchoolClass)
class SchoolClassAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["__str__", "grade", "capacity"]
    list_select_related = ["grade__school"]
    search_fields = ["name", "grade__school__name", "grade__school__code"]
    autocomplete_fields = ["grade"]

    def save_model(self, request, obj, form, change):
        stamp(obj, by=request.user, reason=_("Edited in the administration"))
        super().save_model(request, obj, form, change)


class UserAdminForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        label=_("roles"), choices=Role.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = User
        fields = [
            "username",
            "password",
            "full_name",
            "email",
            "node",
            "roles",
            "classes",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
            "last_login",
            "date_joined",
        ]


@admin.register(User)
class UserAdmin(ScopedAdminMixin, SimpleHistoryAdmin, BaseUserAdmin):
    form = UserAdminForm
    list_display = ["username", "full_name", "node", "roles_display", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    list_select_related = ["node"]
    search_fields = ["username", "full_name", "node__name", "node__code"]
    autocomplete_fields = ["node", "classes"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Staff"), {"fields": ("full_name", "email", "node", "roles", "classes")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "full_name", "node", "password1", "password2")}),
    )

    @admin.display(description=_("roles"))
    def roles_display(self, obj):
        return obj.get_roles_display()


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "action", "object_repr", "actor", "node"]
    list_filter = ["action"]
    search_fields = ["object_repr", "actor__username", "reason"]
    list_select_related = ["actor", "node"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    """The working-day calendar: public holidays and make-up working days (调休)."""

    list_display = ["date", "name", "is_workday"]
    list_filter = ["is_workday"]
    search_fields = ["name"]
    date_hierarchy = "date"

    # Due dates of the steps under review follow the calendar as it is now.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        recompute_due_dates()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        recompute_due_dates()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        recompute_due_dates()


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ApprovalStepInline(ReadOnlyInline):
    model = ApprovalStep
    fields = [
        "round",
        "position",
        "role",
        "node",
        "state",
        "started_at",
        "due_date",
        "decided_by",
        "decided_at",
    ]
    readonly_fields = fields
    fk_name = "approval"


class DecisionInline(ReadOnlyInline):
    model = Decision
    fields = ["created_at", "actor", "action", "step", "comment"]
    readonly_fields = fields


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """Read only: decisions are taken on the workflow pages, through the approval services."""

    list_display = ["subject_label", "kind", "state", "school", "applicant", "submitted_at", "decided_at"]
    list_filter = ["state", "kind"]
    search_fields = ["subject_label", "school__name", "school__code"]
    list_select_related = ["school", "applicant"]
    date_hierarchy = "created_at"
    inlines = [ApprovalStepInline, DecisionInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
