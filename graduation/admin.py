"""Graduation in the administration: a province's rules (edited by its administrator; the defaults,
without a province, by superusers only), and the lists and certificates to look up, never to edit
(changes go through the services)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from graduation.models import Certificate, Entry, GraduationList, Result, Rule, RuleSet
from registrar.admin import ReadOnlyAdmin, ReadOnlyInline, ScopedAdminMixin
from registrar.audit import stamp


class RuleInline(admin.TabularInline):
    model = Rule
    extra = 0
    fields = ["position", "check_name", "enabled", "threshold", "courses", "optional_input"]


@admin.register(RuleSet)
class RuleSetAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """A province's rules per stage; a rule here replaces the default rule of the same check."""

    list_display = ["__str__", "graduation_format", "completion_format", "dropout_format"]
    list_select_related = ["province"]
    inlines = [RuleInline]

    def save_model(self, request, obj, form, change):
        stamp(obj, by=request.user, reason=_("Edited in the administration"))
        super().save_model(request, obj, form, change)


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ["number", "kind", "student", "school", "year", "issued_on", "voided_on", "withheld_on"]
    list_filter = ["kind", "year"]
    list_select_related = ["student", "school"]
    search_fields = ["number", "student__name", "student__number"]


class EntryInline(ReadOnlyInline):
    model = Entry
    fields = [
        "student",
        "outcome",
        "destination",
        "destination_school",
        "removed_at",
        "removed_reason",
        "certificate",
    ]


@admin.register(GraduationList)
class GraduationListAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "approval", "created_at", "applied_at"]
    list_select_related = ["school", "approval"]
    inlines = [EntryInline]


@admin.register(Result)
class ResultAdmin(ReadOnlyAdmin):
    list_display = ["student", "credits", "moral", "fitness", "internship", "internship_report", "fees_paid"]
    list_select_related = ["student"]
    search_fields = ["student__name", "student__number"]
