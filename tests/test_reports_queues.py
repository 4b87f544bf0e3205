"""The queue board (/reports/queues/…): requests in progress per school, waiting and overdue per
office, decisions and their median days over 90 days per school, office and reviewer; the medians
checked against the durations the test let pass; scope; the workbook; constant queries."""

import statistics
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registrar import approvals
from reports.queues import queue_board
from tests.report_helpers import row_values, sheet_rows, workbook_of
from tests.transfer_helpers import IN_WINDOW, enrolled, fresh, submitted
from transfers.models import Kind

pytest_plugins = ["tests.transfer_fixtures"]

BOARD = reverse("reports:queues", args=["420102"])


@pytest.fixture
def clock():
    with time_machine.travel(IN_WINDOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def queue(clock, registrar, principal, county_reviewer, first_class):
    """Three suspensions sent on 2 March: the principal decides A after 1 day and B after 3, the
    county decides A 4 days after it reached them; C still waits for the principal, B for the county.
    Returns the days each decision took, by who took it."""
    a, b, c = (
        submitted(Kind.SUSPENSION, registrar, enrolled(first_class, name=name)) for name in ("甲", "乙", "丙")
    )
    clock.shift(timedelta(days=1))
    approvals.approve(fresh(a).approval, by=principal)
    clock.shift(timedelta(days=2))
    approvals.approve(fresh(b).approval, by=principal)
    clock.shift(timedelta(days=2))
    approvals.approve(fresh(a).approval, by=county_reviewer)
    clock.shift(timedelta(days=1))
    return {"principal": [1.0, 3.0], "county": [4.0], "waiting": (b, c)}


def test_the_board_counts_what_waits_and_how_long_decisions_took(client_for, county_reviewer, queue):
    response = client_for(county_reviewer).get(BOARD)

    board = response.context["board"]
    school = row_values(board.schools, "育才小学")
    every = queue["principal"] + queue["county"]
    assert (school["open"], school["in_review"], school["overdue"]) == (2, 2, 0)
    assert school["decided"] == len(every)
    assert school["median_days"] == statistics.median(every)
    offices = {(row.label, row.values["role"]): row.values for row in board.offices.rows}
    principal = offices[("育才小学", "校长/分管领导")]
    county = offices[("江岸区", "县级审核员")]
    assert (principal["waiting"], principal["decided"]) == (1, 2)
    assert principal["median_days"] == statistics.median(queue["principal"])
    assert (county["waiting"], county["decided"], county["median_days"]) == (1, 1, 4.0)
    assert board.offices.total.values["median_days"] == statistics.median(every)
    reviewers = {row.label: row.values for row in board.reviewers.rows}
    assert reviewers["principal"]["decided"] == 2 and reviewers["county"]["median_days"] == 4.0


def test_steps_past_their_deadline_are_counted_and_charted(client_for, county_reviewer, queue, clock):
    clock.shift(timedelta(days=14))

    board = client_for(county_reviewer).get(BOARD).context["board"]

    # C has waited 20 days for the principal, B 17 for the county: ten working days are past for both.
    assert row_values(board.schools, "育才小学")["overdue"] == 2
    offices = {(row.label, row.values["role"]): row.values["overdue"] for row in board.offices.rows}
    assert offices == {("育才小学", "校长/分管领导"): 1, ("江岸区", "县级审核员"): 1}
    assert board.chart.categories == ["育才小学"]
    assert board.chart.series[0][1] == [2]


def test_decisions_older_than_90_days_drop_out(county_reviewer, queue, clock, tree):
    clock.shift(timedelta(days=91))

    board = queue_board(tree["420102"])

    assert row_values(board.schools, "育才小学")["decided"] == 0
    assert board.reviewers.rows == []


def test_the_city_sees_the_county_and_the_workbook_says_when(client_for, city_reviewer, queue):
    response = client_for(city_reviewer).get(reverse("reports:queues", args=["420100"]), {"download": "xlsx"})

    rows = sheet_rows(workbook_of(response).worksheets[0])
    assert rows[0][0] == "审核队列"
    assert rows[1][1] == "武汉市（420100）"
    assert rows[2][1].startswith("审核记录：2025-12-08 起")
    line = next(row for row in rows if row[0] == "育才小学")
    assert line[1:4] == ("1420102001", 2, 0)


def test_only_reviewers_above_the_schools_see_the_board(
    client_for, registrar, principal, outsider_reviewer, province_admin, queue
):
    for user in (registrar, principal):
        assert client_for(user).get(reverse("reports:queues", args=[user.node.code])).status_code == 403
    assert client_for(outsider_reviewer).get(BOARD).status_code == 404
    assert client_for(province_admin).get(BOARD).status_code == 200


def test_the_board_runs_the_same_queries_for_more_requests(
    client_for, county_reviewer, registrar, principal, first_class, queue, django_assert_num_queries
):
    client = client_for(county_reviewer)
    with CaptureQueriesContext(connection) as before:
        client.get(BOARD)
    for name in ("丁", "戊", "己"):
        change = submitted(Kind.SUSPENSION, registrar, enrolled(first_class, name=name))
        approvals.approve(fresh(change).approval, by=principal)

    with django_assert_num_queries(len(before)):
        response = client.get(BOARD)
    assert row_values(response.context["board"].schools, "育才小学")["open"] == 5
