"""The queue board (for counties, cities and the province): the requests in progress per school,
what waits at each reviewing office (a role at a node: any holder of the role may decide) and
how much of it is past its deadline, and how long decisions took over the last 90 days: the
median days from a step's start to its decision, per school, per office and per reviewer.

Each table is one grouped query (plus one for the median of its total row).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.choices import OPEN_STATES, REVIEW_STATES, ApprovalState, Role, StepState
from registrar.models import ApprovalRequest, ApprovalStep, Organisation
from reports.aggregates import DaysBetween, Median
from reports.tables import Chart, Column, Row, Table, chart_table
from reports.units import schools_under

DECISION_WINDOW_DAYS = 90
DECIDED_STATES = (StepState.APPROVED, StepState.REJECTED, StepState.RETURNED)
OVERDUE_CHART_SCHOOLS = 15


@dataclass
class QueueBoard:
    node: Organisation
    today: object
    since: object
    schools: Table
    offices: Table
    reviewers: Table
    chart: Chart


def _days(value):
    return round(value, 1) if value is not None else None


def _decided_steps(since):
    return ApprovalStep.objects.filter(
        state__in=DECIDED_STATES, decided_at__gte=since, started_at__isnull=False
    )


DECISION_COUNTS = {"decided": Count("pk"), "median_days": Median(DaysBetween("started_at", "decided_at"))}


def _overall_median(steps):
    return _days(steps.aggregate(median=Median(DaysBetween("started_at", "decided_at")))["median"])


def queue_board(node, *, now=None):
    now = now or timezone.now()
    today = timezone.localdate(now)
    since = now - timedelta(days=DECISION_WINDOW_DAYS)
    schools = _school_table(node, today, since)
    return QueueBoard(
        node=node,
        today=today,
        since=timezone.localdate(since),
        schools=schools,
        offices=_office_table(node, today, since),
        reviewers=_reviewer_table(node, since),
        chart=overdue_chart(schools),
    )


def _median_column():
    return Column("median_days", _("Median days to a decision"), summed=False)


def _role_label(role):
    return str(Role(role).label) if role in Role.values else role


def _worst_first(by_key, code_key):
    """The most overdue first, then by code."""
    return sorted(by_key.values(), key=lambda values: (-values.get("overdue", 0), values[code_key]))


def _board_table(title, heading, columns, rows, decided, **options):
    """A table of the board: its counts summed, and in the total row the median of every decision."""
    table = Table.of_counts(title, heading, columns, rows, **options)
    table.total.values["median_days"] = _overall_median(decided)
    return table


def _school_table(node, today, since):
    schools = schools_under(node)
    overdue = Q(state__in=REVIEW_STATES, current_step__due_date__lt=today)
    open_rows = (
        ApprovalRequest.objects.filter(state__in=OPEN_STATES, school__in=schools)
        .values("school_id", "school__code", "school__name")
        .annotate(
            open=Count("pk"),
            draft=Count("pk", filter=Q(state=ApprovalState.DRAFT)),
            in_review=Count("pk", filter=Q(state__in=REVIEW_STATES)),
            returned=Count("pk", filter=Q(state=ApprovalState.RETURNED)),
            overdue=Count("pk", filter=overdue),
        )
        .order_by()
    )
    decided = _decided_steps(since).filter(approval__school__in=schools)
    decided_rows = (
        decided.values("approval__school_id", "approval__school__code", "approval__school__name")
        .annotate(**DECISION_COUNTS)
        .order_by()
    )
    by_school = {}
    for row in open_rows:
        by_school[row["school_id"]] = {
            "code": row["school__code"],
            "name": row["school__name"],
            **{key: row[key] for key in ("open", "draft", "in_review", "returned", "overdue")},
        }
    for row in decided_rows:
        values = by_school.setdefault(
            row["approval__school_id"],
            {"code": row["approval__school__code"], "name": row["approval__school__name"]},
        )
        values.update(decided=row["decided"], median_days=_days(row["median_days"]))
    columns = [
        Column("open", _("In progress")),
        Column("draft", _("Drafts")),
        Column("in_review", _("In review")),
        Column("returned", _("Returned for revision")),
        Column("overdue", _("Past the deadline")),
        Column("decided", _("Decisions in 90 days")),
        _median_column(),
    ]
    rows = [Row(values["name"], values, code=values["code"]) for values in _worst_first(by_school, "code")]
    return _board_table(
        _("Requests by school"),
        _("School"),
        columns,
        rows,
        decided,
        sheet=_("By school"),
        note=_(
            "Schools with a request in progress or a decision in the last 90 days; a transfer is "
            "the receiving school's."
        ),
    )


def _office_table(node, today, since):
    in_scope = Q(node__path__startswith=node.path)
    office = ("node_id", "node__code", "node__name", "role")
    waiting = (
        ApprovalStep.objects.filter(in_scope, state=StepState.CURRENT, approval__state__in=REVIEW_STATES)
        .values(*office)
        .annotate(waiting=Count("pk"), overdue=Count("pk", filter=Q(due_date__lt=today)))
        .order_by()
    )
    decided = _decided_steps(since).filter(in_scope)
    offices = {}
    for row in waiting:
        offices[(row["node_id"], row["role"])] = {**row}
    for row in decided.values(*office).annotate(**DECISION_COUNTS).order_by():
        values = offices.setdefault((row["node_id"], row["role"]), {**row})
        values.update(decided=row["decided"], median_days=_days(row["median_days"]))
    columns = [
        Column("role", _("Role"), numeric=False, summed=False),
        Column("waiting", _("Waiting")),
        Column("overdue", _("Past the deadline")),
        Column("decided", _("Decisions in 90 days")),
        _median_column(),
    ]
    rows = [
        Row(values["node__name"], {**values, "role": _role_label(values["role"])}, code=values["node__code"])
        for values in _worst_first(offices, "node__code")
    ]
    return _board_table(
        _("Reviews by office"),
        _("Office"),
        columns,
        rows,
        decided,
        sheet=_("By office"),
        note=_("An office is a role at a unit: any holder of the role there may decide its steps."),
    )


def _reviewer_table(node, since):
    decided = _decided_steps(since).filter(node__path__startswith=node.path, decided_by__isnull=False)
    rows_by_reviewer = (
        decided.values("decided_by_id", "decided_by__full_name", "decided_by__username", "node__name", "role")
        .annotate(**DECISION_COUNTS)
        .order_by("node__name", "decided_by__username")
    )
    columns = [
        Column("node", _("Unit"), numeric=False, summed=False),
        Column("role", _("Role"), numeric=False, summed=False),
        Column("decided", _("Decisions in 90 days")),
        _median_column(),
    ]
    rows = [
        Row(
            values["decided_by__full_name"] or values["decided_by__username"],
            {
                "node": values["node__name"],
                "role": _role_label(values["role"]),
                "decided": values["decided"],
                "median_days": _days(values["median_days"]),
            },
        )
        for values in rows_by_reviewer
    ]
    return _board_table(
        _("Decisions by reviewer"), _("Person"), columns, rows, decided, sheet=_("By reviewer")
    )


def overdue_chart(schools_table):
    """The schools with the most requests past their deadline, as bars."""
    worst = [row for row in schools_table.rows if row.values.get("overdue")][:OVERDUE_CHART_SCHOOLS]
    chart = Chart(
        "overdue-by-school",
        _("Requests past the deadline by school"),
        [row.label for row in worst],
        [(_("Past the deadline"), [row.values["overdue"] for row in worst])],
        horizontal=True,
    )
    chart.table = chart_table(chart, _("School"))
    return chart
