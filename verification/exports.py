"""The campaign's progress and the 在籍不在校 list as Excel, through the reports' workbook writer
(formula-safe cells, the unit and the time on every sheet, the download logged)."""

from django.utils import timezone
from django.utils.translation import gettext as _

from reports.excel import report_response
from reports.tables import Column, Row, Table
from verification.progress import STATE_LABELS


def _state_columns():
    return [
        Column("classes", _("Classes")),
        *(Column(state, str(STATE_LABELS[state])) for state in STATE_LABELS),
        Column("overdue", _("Overdue")),
        Column("students", _("Students")),
        Column("uploaded", _("Forms uploaded")),
        Column("checked", _("Forms checked")),
    ]


def _unit_table(title, heading, units):
    rows = [
        Row(
            unit.node.name,
            {
                **{key: unit.counts.get(key, 0) for key in ("classes", "overdue", *STATE_LABELS)},
                "students": unit.students,
                "uploaded": unit.uploaded,
                "checked": unit.checked,
            },
            code=unit.node.code,
        )
        for unit in units
    ]
    return Table.of_counts(title, heading, _state_columns(), rows, sheet=title)


def _class_table(class_rows):
    columns = [
        Column("school", _("School"), numeric=False, summed=False),
        Column("state", _("State"), numeric=False, summed=False),
        Column("overdue", _("Overdue"), numeric=False, summed=False),
        Column("students", _("Students")),
        Column("uploaded", _("Forms uploaded")),
        Column("checked", _("Forms checked")),
        Column("wrong", _("Forms with wrong fields")),
    ]
    rows = [
        Row(
            str(row.school_class),
            {
                "school": row.school_class.grade.school.name,
                "state": str(row.state_label),
                "overdue": _("Yes") if row.overdue else "",
                "students": row.students,
                "uploaded": row.uploaded,
                "checked": row.checked,
                "wrong": row.wrong,
            },
        )
        for row in class_rows
    ]
    return Table.of_counts(_("Progress per class"), _("Class"), columns, rows, sheet=_("Classes"))


def progress_response(campaign, user, *, class_rows, school_rows, county_rows):
    tables = []
    if county_rows:
        tables.append(_unit_table(_("Progress per county"), _("County"), county_rows))
    if school_rows:
        tables.append(_unit_table(_("Progress per school"), _("School"), school_rows))
    if class_rows or not tables:
        tables.append(_class_table(class_rows))
    period = _("Deadline %(date)s") % {"date": f"{campaign.deadline:%Y-%m-%d}"}
    return report_response(
        user=user,
        node=user.node or campaign.node,
        title=f"{_('Data-quality campaign')} · {campaign.title}",
        period_text=period,
        tables=tables,
        filename="verification",
    )


def absences_response(user, absences, term_start, term_end):
    columns = [
        Column(key, label, numeric=False, summed=False)
        for key, label in (
            ("number", _("Registration number")),
            ("school", _("School")),
            ("class", _("Class")),
            ("reason", _("Reason")),
            ("detail", _("Details")),
            ("by", _("Confirmed by")),
            ("at", _("Confirmed")),
        )
    ]
    rows = [
        Row(
            absence.student.name,
            {
                "number": absence.student.number or "",
                "school": absence.student.school.name,
                "class": str(absence.student.school_class or ""),
                "reason": absence.get_reason_display(),
                "detail": absence.detail,
                "by": str(absence.attendance.confirmed_by),
                "at": f"{timezone.localtime(absence.attendance.confirmed_at):%Y-%m-%d}",
            },
        )
        for absence in absences
    ]
    title = _("Registered but not in class")
    table = Table(title, _("Name"), columns, rows, sheet=title)
    return report_response(
        user=user,
        node=user.node,
        title=title,
        period_text=f"{term_start:%Y-%m-%d} – {term_end:%Y-%m-%d}",
        tables=[table],
        filename="not-in-class",
    )
