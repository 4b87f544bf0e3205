"""Roster import and export (花名册): template, reading what offices send, validation, commit, export."""

from django.utils.translation import gettext_lazy as _

from registrar.events import register_actions

register_actions(
    {
        "students.roster.checked": _("Roster checked"),
        "students.roster.imported": _("Roster imported"),
        "students.roster.national_load": _("Existing records loaded from the national system"),
        "students.roster.exported": _("Roster exported"),
        "students.roster.error_workbook_downloaded": _("Roster error workbook downloaded"),
        "students.roster.export_downloaded": _("Roster export downloaded"),
    }
)
