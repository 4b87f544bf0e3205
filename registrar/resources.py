"""Reference data as xlsx in the administration (django-import-export): the organisation tree,
holidays and make-up working days, business calendars. A province copies them to another
installation or starts from a neighbour's; the import shows its preview before anything is saved.

Each row is checked against the importing user's scope: a province administrator imports and exports
only what lies in their province; holidays, which are the whole country's, only a superuser imports.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources
from import_export.widgets import ForeignKeyWidget

from registrar.approvals import recompute_due_dates
from registrar.audit import stamp
from registrar.choices import NodeKind, Role
from registrar.models import BusinessCalendar, Holiday, Organisation
from registrar.services import save_organisation


def is_reference_admin(user):
    """Superusers and province administrators move reference data in and out of the admin."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return (
        user.node_id is not None
        and user.node.kind == NodeKind.PROVINCE
        and user.has_role(Role.PROVINCE_ADMIN)
    )


def node_by_code(name):
    """A column of the workbook naming a node of the tree by its code."""
    return fields.Field(attribute=name, column_name=name, widget=ForeignKeyWidget(Organisation, field="code"))


class ScopedResource(resources.ModelResource):
    """A resource that refuses rows outside the importing user's province."""

    def before_import(self, dataset, **kwargs):
        self.user = kwargs.get("user")
        super().before_import(dataset, **kwargs)

    def check_scope(self, node):
        user = getattr(self, "user", None)
        if user is None or user.is_superuser:
            return
        if node is None or not node.path.startswith(user.node.path):
            raise ValidationError(_("This row lies outside your province."))


class OrganisationResource(ScopedResource):
    parent = node_by_code("parent")

    class Meta:
        model = Organisation
        import_id_fields = ["code"]
        fields = ["code", "name", "kind", "parent", "stages", "school_system"]
        clean_model_instances = True
        skip_unchanged = True

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # The path is the service's to write; it follows from the parent (rows go from the top down).
        if instance.parent_id is not None or instance.kind == NodeKind.PROVINCE:
            instance.path = instance.compute_path()
            self.check_scope(instance)
        super().validate_instance(instance, import_validation_errors, validate_unique)

    def do_instance_save(self, instance, is_create):
        save_organisation(
            instance, by=getattr(self, "user", None), reason=_("Imported in the administration")
        )


class HolidayResource(ScopedResource):
    class Meta:
        model = Holiday
        import_id_fields = ["date"]
        fields = ["date", "name", "is_workday"]
        clean_model_instances = True
        skip_unchanged = True

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        if self.user is not None and not self.user.is_superuser:
            raise ValidationError(_("Holidays are the whole country's: only a superuser imports them."))

    def after_import(self, dataset, result, **kwargs):
        # The due dates of the steps under review follow the calendar as it is now.
        if not kwargs.get("dry_run"):
            recompute_due_dates()


class BusinessCalendarResource(ScopedResource):
    province = node_by_code("province")

    class Meta:
        model = BusinessCalendar
        import_id_fields = ["province"]
        exclude = ["id"]
        clean_model_instances = True
        skip_unchanged = True

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        self.check_scope(instance.province if instance.province_id else None)
        super().validate_instance(instance, import_validation_errors, validate_unique)

    def do_instance_save(self, instance, is_create):
        stamp(instance, by=getattr(self, "user", None), reason=_("Imported in the administration"))
        instance.save()
