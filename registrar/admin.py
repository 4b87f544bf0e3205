from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import XLSX
from simple_history.admin import SimpleHistoryAdmin

from registrar.approvals import recompute_due_dates
from registrar.audit import stamp
from registrar.choices import Role, Stage
from registrar.models import (
    ApprovalRequest,
    ApprovalStep,
    AuditEvent,
    BusinessCalendar,
    Decision,
    Grade,
    Holiday,
    Organisation,
    SchoolClass,
    User,
)
from registrar.resources import (
    BusinessCalendarResource,
    HolidayResource,
    OrganisationResource,
    is_reference_admin,
)
from registrar.services import save_organisation

admin.site.site_header = _("Registrar administration")
admin.site.site_title = _("Registrar")
admin.site.index_title = _("Administration")


def scoped(queryset, user):
    """What `user` may see of `queryset`: its model's `visible_to`, or nothing at all for a model
    that has no scope (permissions, groups) unless the user is a superuser."""
    if user.is_superuser:
        return queryset
    visible_to = getattr(queryset, "visible_to", None)
    return visible_to(user) if visible_to is not None else queryset.none()


class ScopedAdminMixin:
    """Staff who are not superusers see in the admin only what their node covers: the lists, and
    every choice of every form (a posted choice outside it is refused as invalid)."""

    def get_queryset(self, request):
        return scoped(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scoped(field.queryset, request.user)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scoped(field.queryset, request.user)
        return field


class ReadOnlyAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """Records written by the services, only read here (scoped like every page)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReferenceDataAdminMixin(ImportExportMixin):
    """Export to and import from xlsx, with the import's preview, for superusers and province
    administrators only (registrar/resources.py checks every row against their province)."""

    formats = [XLSX]

    def has_import_permission(self, request):
        return is_reference_admin(request.user)

    def has_export_permission(self, request):
        return is_reference_admin(request.user)


class ReadOnlyInline(admin.TabularInline):
    """An inline to look at: decisions, field changes and evidence are written by the services."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrganisationForm(forms.ModelForm):
    stages = forms.MultipleChoiceField(
        label=_("stages"), choices=Stage.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Organisation
        fields = ["code", "name", "kind", "parent", "stages", "school_system"]


@admin.register(Organisation)
class OrganisationAdmin(ReferenceDataAdminMixin, ScopedAdminMixin, SimpleHistoryAdmin):
    form = OrganisationForm
    resource_classes = [OrganisationResource]
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

    # The admin grants no power: only a superuser makes superusers and staff, or hands out groups
    # and permissions; nobody but a superuser changes their own node and roles (no moving oneself up
    # the tree); the node and class choices keep to the user's subtree (ScopedAdminMixin), and the
    # roles to those that belong at such a node (User.clean).
    POWER_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")
    OWN_FIELDS = ("node", "roles", "classes", "is_active")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return readonly
        readonly += [*self.POWER_FIELDS, "last_login", "date_joined"]
        if obj is not None and obj.pk == request.user.pk:
            readonly += self.OWN_FIELDS
        return readonly

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (
            obj.pk == request.user.pk or (obj.is_superuser and not request.user.is_superuser)
        ):
            return False
        return super().has_delete_permission(request, obj)


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
class HolidayAdmin(ReferenceDataAdminMixin, admin.ModelAdmin):
    """The working-day calendar: public holidays and make-up working days (调休)."""

    resource_classes = [HolidayResource]

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
class ApprovalRequestAdmin(ReadOnlyAdmin):
    """Read only: decisions are taken on the workflow pages, through the approval services."""

    list_display = ["subject_label", "kind", "state", "school", "applicant", "submitted_at", "decided_at"]
    list_filter = ["state", "kind"]
    search_fields = ["subject_label", "school__name", "school__code"]
    list_select_related = ["school", "applicant"]
    date_hierarchy = "created_at"
    inlines = [ApprovalStepInline, DecisionInline]


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(ReferenceDataAdminMixin, ScopedAdminMixin, SimpleHistoryAdmin):
    """A province's dates and limits (the "province switches"), edited by its administrator."""

    resource_classes = [BusinessCalendarResource]

    list_display = ["province", "transfer_windows", "graduation_freeze", "suspension_max_months"]
    list_select_related = ["province"]
    autocomplete_fields = ["province"]

    def save_model(self, request, obj, form, change):
        stamp(obj, by=request.user, reason=_("Edited in the administration"))
        super().save_model(request, obj, form, change)
