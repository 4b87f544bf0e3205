"""A province's rule table as xlsx in the administration (see registrar/resources.py)."""

from django.core.exceptions import ValidationError

from registrar.errors import DomainError
from registrar.resources import ScopedResource, node_by_code
from rules.models import Rule
from rules.services import import_rule
from rules.validation import clean_rule


class RuleResource(ScopedResource):
    node = node_by_code("node")

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
