"""学籍异动 reports: for a node and a period, the changes that took effect, by kind (转入, 转出,
休学 … and key-data corrections), one row per unit below the node; the requests of the period by
kind and outcome; and the 异动花名册, one line per change.

The counts come from what the record keeps: the students' status events (the one history every
workflow writes, each at the school where it happened: 转出 at the sending school, 转入 at the
receiving one) and the corrections applied. A transfer within a county is one 转出 and one 转入
of that county.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from corrections.models import Correction
from corrections.services import KIND as CORRECTION_KIND
from registrar.choices import OPEN_STATES, ApprovalState, StepState
from registrar.models import ApprovalRequest, ApprovalStep, Organisation, grade_name
from reports.forms import Period
from reports.tables import Chart, Column, Row, Table, add_counts, chart_table
from reports.units import Unit, region_units, schools_under, unit_rows
from students.models import Event, StatusEvent
from students.privacy import mask_number
from transfers.models import Kind, StatusChangeRequest, approval_kind

# The columns of the report: the status events of 学籍异动, and the corrections.
CHANGE_EVENTS = (
    Event.TRANSFERRED_IN,
    Event.TRANSFERRED_OUT,
    Event.SUSPENDED,
    Event.SUSPENSION_EXTENDED,
    Event.RESUMED,
    Event.WITHDRAWN,
    Event.REPEATED,
    Event.SKIPPED,
    Event.WENT_ABROAD,
    Event.DIED,
    Event.LEFT,
)
CHANGE_LABELS = {
    Event.TRANSFERRED_IN: gettext_lazy("Transferred in"),
    Event.TRANSFERRED_OUT: gettext_lazy("Transferred out"),
    Event.SUSPENDED: gettext_lazy("Suspended"),
    Event.SUSPENSION_EXTENDED: gettext_lazy("Suspension extended"),
    Event.RESUMED: gettext_lazy("Resumed"),
    Event.WITHDRAWN: gettext_lazy("Withdrawn"),
    Event.REPEATED: gettext_lazy("Repeated a grade"),
    Event.SKIPPED: gettext_lazy("Skipped a grade"),
    Event.WENT_ABROAD: gettext_lazy("Went abroad"),
    Event.DIED: gettext_lazy("Died"),
    Event.LEFT: gettext_lazy("Left school"),
}
CORRECTED = "corrected"
REQUEST_KINDS = {approval_kind(kind): kind.label for kind in Kind} | {
    CORRECTION_KIND: gettext_lazy("Key-data correction")
}
OUTCOMES = {
    "made": gettext_lazy("Made in the period"),
    "approved": gettext_lazy("Approved"),
    "rejected": gettext_lazy("Rejected"),
    "withdrawn": gettext_lazy("Withdrawn by the applicant"),
    "open": gettext_lazy("In progress now"),
}


@dataclass
class ChangeReport:
    node: Organisation
    period: Period
    changes: Table
    outcomes: Table
    chart: Chart


def moments(period):
    """The period as aware datetimes: its first moment, and the first moment after it."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(period.start, time.min, tzinfo=zone)
    return start, datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=zone)


def period_query(period, **params):
    return urlencode({"start": period.start.isoformat(), "end": period.end.isoformat(), **params})


def report_url(node, period):
    return f"{reverse('reports:changes', args=[node.code])}?{period_query(period)}"


def list_url(node, period, **filters):
    return f"{reverse('reports:change_list', args=[node.code])}?{period_query(period, **filters)}"


def change_columns():
    return [
        Column("total", _("All changes")),
        *(Column(event.value, str(CHANGE_LABELS[event])) for event in CHANGE_EVENTS),
        Column(CORRECTED, _("Key-data corrections")),
    ]


def change_report(node, period):
    """The 异动 report of `node` (already checked to be in the user's scope) for `period`."""
    start, after = moments(period)
    events = StatusEvent.objects.filter(
        event__in=CHANGE_EVENTS, occurred_on__gte=period.start, occurred_on__lte=period.end
    )
    corrections = Correction.objects.filter(applied_at__gte=start, applied_at__lt=after)
    if node.is_school:
        events = events.filter(school=node)
        corrections = corrections.filter(approval__school=node)
        # A school's rows are its grades: where the student was when it happened (a correction:
        # the student's grade now).
        event_field, correction_field, owner = "grade__level", "student__grade__level", None
        levels = sorted(node.grade_levels())
        units = [
            Unit(level, grade_name(level, node.segment_of_level(level)), list_url(node, period, grade=level))
            for level in levels
        ]
        heading = _("Grade")
    else:
        schools = schools_under(node)
        events = events.filter(school__in=schools)
        corrections = corrections.filter(approval__school__in=schools)
        event_field, correction_field = "school_id", "approval__school_id"
        units, owner = region_units(node, lambda child: report_url(child, period))
        heading = _("Unit")

    def unit_of(value):
        return owner.get(value) if owner is not None else value

    counts = {unit.key: {} for unit in units}
    by_month = {}
    event_rows = events.values(event_field, "event", month=TruncMonth("occurred_on")).annotate(n=Count("pk"))
    for row in event_rows.order_by():
        add_counts(counts.setdefault(unit_of(row[event_field]), {}), {row["event"]: row["n"]})
        add_counts(by_month.setdefault(_month(row["month"]), {}), {row["event"]: row["n"]})
    correction_rows = corrections.values(correction_field, month=TruncMonth("applied_at")).annotate(
        n=Count("pk")
    )
    for row in correction_rows.order_by():
        add_counts(counts.setdefault(unit_of(row[correction_field]), {}), {CORRECTED: row["n"]})
        add_counts(by_month.setdefault(_month(row["month"]), {}), {CORRECTED: row["n"]})
    for values in counts.values():
        values["total"] = sum(values.get(key, 0) for key in (*CHANGE_EVENTS, CORRECTED))

    columns = change_columns()
    rows = unit_rows(units, counts)
    table = Table.of_counts(
        _("Status changes that took effect"),
        heading,
        columns,
        rows,
        sheet=_("Status changes"),
        note=_("A transfer within the unit counts once as transferred out and once as transferred in."),
    )
    return ChangeReport(
        node=node,
        period=period,
        changes=table,
        outcomes=_outcomes(node, period),
        chart=_month_chart(period, by_month, columns),
    )


def _month(value):
    """TruncMonth gives a date on a date column and a datetime on a datetime column."""
    return value.date() if isinstance(value, datetime) else value


def _outcomes(node, period):
    """The requests of the node's schools (the sending school's too, for a transfer) by kind and
    outcome: made in the period, decided in it, and still in progress now."""
    start, after = moments(period)
    if node.is_school:
        place = Q(school=node) | Q(status_change__from_school=node)
    else:
        schools = schools_under(node)
        place = Q(school__in=schools) | Q(status_change__from_school__in=schools)
    decided = Q(decided_at__gte=start, decided_at__lt=after)
    rows = (
        ApprovalRequest.objects.filter(place, kind__in=list(REQUEST_KINDS))
        .values("kind")
        .annotate(
            made=Count("pk", filter=Q(created_at__gte=start, created_at__lt=after)),
            approved=Count("pk", filter=decided & Q(state=ApprovalState.APPROVED)),
            rejected=Count("pk", filter=decided & Q(state=ApprovalState.REJECTED)),
            withdrawn=Count("pk", filter=decided & Q(state=ApprovalState.WITHDRAWN)),
            open=Count("pk", filter=Q(state__in=OPEN_STATES)),
        )
        .order_by()
    )
    by_kind = {row["kind"]: row for row in rows}
    columns = [Column(key, str(label)) for key, label in OUTCOMES.items()]
    table_rows = [Row(str(label), by_kind.get(kind, {})) for kind, label in REQUEST_KINDS.items()]
    return Table.of_counts(
        _("Requests by kind and outcome"),
        _("Kind"),
        columns,
        table_rows,
        sheet=_("Requests"),
        note=_("In progress now: requests not yet decided today, whenever they were made."),
    )


def _months(period):
    month = period.start.replace(day=1)
    while month <= period.end:
        yield month
        month = (month + timedelta(days=32)).replace(day=1)


def _month_chart(period, by_month, columns):
    months = list(_months(period))
    kinds = [column for column in columns if column.key != "total"]
    series = [
        (column.label, [by_month.get(month, {}).get(column.key, 0) for month in months])
        for column in kinds
        if any(by_month.get(month, {}).get(column.key) for month in months)
    ]
    chart = Chart(
        "changes-by-month", _("Status changes by month"), [f"{m:%Y-%m}" for m in months], series, True
    )
    chart.table = chart_table(chart, _("Month"))
    return chart


# --- the 异动花名册 ------------------------------------------------------------------------------


def change_list(node, period, *, school=None, grade=None, kind=None):
    """The status changes that took effect in the period at the node's schools, sending or
    receiving, one per line, with who gave the last approval."""
    changes = StatusChangeRequest.objects.filter(
        approval__state=ApprovalState.APPROVED, applied_on__gte=period.start, applied_on__lte=period.end
    )
    place = school or node
    if place.is_school:
        changes = changes.filter(Q(from_school=place) | Q(to_school=place))
    else:
        schools = schools_under(place)
        changes = changes.filter(Q(from_school__in=schools) | Q(to_school__in=schools))
    if grade:
        changes = changes.filter(Q(from_grade__level=grade) | Q(to_grade__level=grade))
    if kind:
        changes = changes.filter(kind=kind)
    # What a line shows, and no more: a download may have thousands of lines.
    related = ("student", "from_school", "from_grade__school", "from_class", "to_school", "to_grade__school")
    return changes.select_related(*related, "to_class").order_by("applied_on", "pk")


def last_approvers(approval_ids):
    """{approval pk: "name（unit）"} of who gave each approval's last approving decision, in one
    query (`approval_ids`: a list, or a queryset of them for a whole download)."""
    steps = (
        ApprovalStep.objects.filter(approval_id__in=approval_ids, state=StepState.APPROVED)
        .order_by("approval_id", "decided_at", "pk")
        .values_list("approval_id", "decided_by__full_name", "decided_by__username", "node__name")
    )
    # In order of decision: the last one of each approval stays.
    return {
        approval_id: f"{full_name or username}（{node}）" for approval_id, full_name, username, node in steps
    }


def change_columns_of_list():
    text = {"numeric": False, "summed": False}
    return [
        Column("number", _("Registration number"), **text),
        Column("kind", _("Kind"), **text),
        Column("from_school", _("From school"), **text),
        Column("from_grade", _("From grade"), **text),
        Column("from_class", _("From class"), **text),
        Column("to_school", _("To school"), **text),
        Column("to_grade", _("To grade"), **text),
        Column("to_class", _("To class"), **text),
        Column("made_on", _("Made on"), **text),
        Column("applied_on", _("Took effect"), **text),
        Column("approver", _("Last approval by"), **text),
    ]


def change_table(changes, *, title):
    """The 异动花名册's lines (the 学籍号 masked, as in every list: domain §9). `changes`: a page of
    them (a list), or the whole queryset of a download."""
    if isinstance(changes, QuerySet):
        approvers = last_approvers(changes.values("approval_id"))
    else:
        approvers = last_approvers([change.approval_id for change in changes])
    # A grade's name depends on its school's stages: worked out once per grade, not once per line.
    grade_names = {}
    kinds = {value: str(label) for value, label in Kind.choices}

    def grade_label(grade):
        if grade is None:
            return ""
        if grade.pk not in grade_names:
            grade_names[grade.pk] = str(grade.name)
        return grade_names[grade.pk]

    rows = []
    for change in changes:
        rows.append(
            Row(
                change.student.name,
                {
                    "number": mask_number(change.student.number),
                    "kind": kinds.get(change.kind, change.kind),
                    "from_school": change.from_school.name,
                    "from_grade": grade_label(change.from_grade),
                    "from_class": change.from_class.name,
                    "to_school": change.to_school.name if change.to_school_id else "",
                    "to_grade": grade_label(change.to_grade),
                    "to_class": change.to_class.name if change.to_class_id else "",
                    "made_on": f"{timezone.localtime(change.created_at):%Y-%m-%d}",
                    "applied_on": f"{change.applied_on:%Y-%m-%d}",
                    "approver": approvers.get(change.approval_id, ""),
                },
                url=change.get_absolute_url(),
            )
        )
    return Table(title, _("Full name"), change_columns_of_list(), rows, sheet=_("Status change roster"))
