"""Corrections in the administration: to look up, never to edit (changes go through the services)."""

from django.contrib import admin

from corrections.models import Correction, Evidence, FieldChange
from registrar.admin import ReadOnlyAdmin, ReadOnlyInline


class FieldChangeInline(ReadOnlyInline):
    model = FieldChange
    fields = ["position", "field", "old_value", "new_value", "reason"]


class EvidenceInline(ReadOnlyInline):
    model = Evidence
    # The file itself is served only by the request page, after its access check.
    fields = ["kind", "content_type", "width", "height", "size", "sha256", "uploaded_by", "uploaded_at"]


@admin.register(Correction)
class CorrectionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "group", "approval", "created_at", "applied_at"]
    list_filter = ["group", "approval__state"]
    list_select_related = ["student", "approval"]
    search_fields = ["student__name", "student__number"]
    fields = ["approval", "student", "group", "note", "created_at", "applied_at"]
    readonly_fields = fields
    inlines = [FieldChangeInline, EvidenceInline]
