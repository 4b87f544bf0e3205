"""The rule table in the administration: exported and imported as xlsx (by superusers and province
administrators), read here; rules are edited on the rules pages, which check and audit each one."""

from django.contrib import admin

from registrar.admin import ReadOnlyAdmin, ReferenceDataAdminMixin
from rules.models import Rule, WindowException
from rules.resources import RuleResource


@admin.register(Rule)
class RuleAdmin(ReferenceDataAdminMixin, ReadOnlyAdmin):
    resource_classes = [RuleResource]
    list_display = ["node", "topic", "key", "value"]
    list_filter = ["topic"]
    list_select_related = ["node"]
    search_fields = ["key", "value", "node__name", "node__code"]


@admin.register(WindowException)
class WindowExceptionAdmin(ReadOnlyAdmin):
    list_display = ["student", "kind", "expires_on", "opened_by", "approval"]
    list_select_related = ["student", "opened_by", "approval"]
