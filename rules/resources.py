"""A province's rule table as xlsx in the administration (see registrar/resources.py)."""

from django.core.exceptions import ValidationError
from import_export import fields
from import_export.widgets import ForeignKeyWidget

from registrar.errors import DomainError
from registrar.models import Organisation
from registrar.resources import ScopedResource
from rules.models import Rule
from rules.services import import_rule
from rules.validation import clean_rule


class RuleResource(ScopedResource):
    node = fields.Field(
        attribute="node", column_name="node", widget=ForeignKeyWidget(Organisation, field="code")
    )

    class Meta:
        model = Rule
        import_id_fields = ["node", "topic", "key"]
        fields = ["node", "topic", "key", "value"]
        skip_unchanged = True

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        self.check_scope(instance.node if instance.node_id else None)
        try:
            clean_rule(instance.topic or "", instance.key or "", instance.value or "")
        except DomainError as error:
            raise ValidationError(error.message) from error
        super().validate_instance(instance, import_validation_errors, validate_unique)

    def do_instance_save(self, instance, is_create):
        import_rule(instance, by=getattr(self, "user", None))
