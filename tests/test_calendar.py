"""The business calendar: transfer windows, the graduation freeze, first terms, suspension limits."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from registrar import calendar
from registrar.calendar import (
    add_months,
    calendar_for,
    first_term_end,
    graduation_frozen,
    is_graduating_level,
    transfer_window_message,
    transfer_window_open,
)
from registrar.models import BusinessCalendar, Organisation
from registrar.services import save_organisation
from tests.conftest import make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")


def school_with(tree, code, stages, system, parent="420102"):
    node = Organisation(code=code, name=f"学校{code}", kind="school", parent=tree[parent], stages=stages)
    node.school_system = system
    return save_organisation(node, by=None)


# --- defaults --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 5), False),
        (date(2026, 1, 6), True),
        (date(2026, 3, 6), True),
        (date(2026, 3, 7), False),
        (date(2026, 6, 25), False),
        (date(2026, 6, 26), True),
        (date(2026, 9, 15), True),
        (date(2026, 9, 16), False),
        (date(2026, 12, 31), False),
    ],
)
def test_the_default_transfer_windows(school, day, expected):
    assert transfer_window_open(school, day) is expected


def test_the_message_names_the_current_or_the_next_window(school):
    assert transfer_window_message(school, date(2026, 3, 1)) == "转学办理时间为 2026-01-06 至 2026-03-06。"
    closed = transfer_window_message(school, date(2026, 4, 1))
    assert closed == "只能在省定的转学办理时间内发起转学。下一个办理时间为 2026-06-26 至 2026-09-15。"
    assert "2027-01-06 至 2027-03-06" in transfer_window_message(school, date(2026, 10, 8))


def test_the_latest_window_is_the_open_one_or_the_last_one(school):
    rules = calendar_for(school)
    assert rules.latest_transfer_window(date(2026, 2, 1)) == (date(2026, 1, 6), date(2026, 3, 6))
    assert rules.latest_transfer_window(date(2026, 4, 1)) == (date(2026, 1, 6), date(2026, 3, 6))
    assert rules.latest_transfer_window(date(2026, 1, 2)) == (date(2025, 6, 26), date(2025, 9, 15))


def test_today_is_the_default_date(school):
    with time_machine.travel(datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI)):
        assert transfer_window_open(school)
        assert not graduation_frozen(school)
    with time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)):
        assert not transfer_window_open(school)
        assert graduation_frozen(school)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 5, 30), False),
        # "5月31日之后": the freeze day itself is the last day changes are allowed.
        (date(2026, 5, 31), False),
        (date(2026, 6, 1), True),
        (date(2026, 8, 31), True),
        (date(2026, 9, 1), False),
        (date(2027, 1, 15), False),
    ],
)
def test_graduating_students_are_frozen_after_31_may_to_the_end_of_the_school_year(school, day, expected):
    assert graduation_frozen(school, day) is expected


def test_the_first_term_after_enrolment(school):
    assert first_term_end(school, date(2025, 9, 1)) == date(2026, 1, 31)
    assert first_term_end(school, date(2025, 8, 20)) == date(2026, 1, 31)
    assert first_term_end(school, date(2026, 3, 1)) == date(2026, 7, 15)


def test_the_default_limits_of_a_suspension(school):
    rules = calendar_for(school)
    assert (rules.suspension_max_months, rules.suspension_total_max_months) == (12, 24)
    assert rules.suspension_reminder_days == 30
    assert rules.graduation_deadline_for(date(2026, 3, 1)) == date(2026, 6, 15)
    assert rules.school_year_end_for(date(2025, 10, 1)) == date(2026, 8, 31)


# --- a province's own calendar ---------------------------------------------------------------------


def test_a_province_row_replaces_the_fields_it_fills(tree, school, other_school, django_assert_num_queries):
    BusinessCalendar.objects.create(
        province=tree["420000"], transfer_windows="02-01..02-28", graduation_freeze="05-15"
    )
    with django_assert_num_queries(1):
        rules = calendar_for(school)
    assert rules.transfer_windows == (((2, 1), (2, 28)),)
    assert rules.graduation_freeze == (5, 15)
    assert rules.suspension_max_months == 12  # left empty: the default
    assert not transfer_window_open(other_school, date(2026, 1, 10))
    assert transfer_window_open(tree["420506"], date(2026, 2, 10))
    assert graduation_frozen(school, date(2026, 5, 20))


def test_another_province_keeps_the_defaults(tree, school):
    henan = save_organisation(Organisation(code="410000", name="河南省", kind="province"), by=None)
    BusinessCalendar.objects.create(province=henan, transfer_windows="02-01..02-28")
    assert transfer_window_open(school, date(2026, 1, 10))


def test_a_window_may_run_over_the_new_year(tree, school):
    BusinessCalendar.objects.create(province=tree["420000"], transfer_windows="12-20..01-10, 06-26..09-15")
    assert transfer_window_open(school, date(2025, 12, 25))
    assert transfer_window_open(school, date(2026, 1, 10))
    assert not transfer_window_open(school, date(2026, 1, 11))
    assert "2026-06-26 至 2026-09-15" in transfer_window_message(school, date(2026, 1, 11))
    assert "2026-12-20 至 2027-01-10" in transfer_window_message(school, date(2026, 10, 1))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("transfer_windows", "01-06-03-06", "月-日..月-日"),
        ("transfer_windows", "01-06..13-01", "月-日..月-日"),
        ("graduation_freeze", "5月31日", "例如 05-31"),
        ("school_year_end", "02-29", "02-29"),
        ("term_ends", "01-31; 07-15", "以逗号分隔"),
    ],
)
def test_a_row_that_cannot_be_read_is_refused(tree, field, value, message):
    row = BusinessCalendar(province=tree["420000"], **{field: value})
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert message in " ".join(error.value.message_dict[field])


def test_the_limits_of_a_suspension_must_agree(tree):
    row = BusinessCalendar(province=tree["420000"], suspension_max_months=18, suspension_total_max_months=12)
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert "suspension_total_max_months" in error.value.message_dict
    row = BusinessCalendar(province=tree["420000"], suspension_max_months=0)
    with pytest.raises(ValidationError):
        row.full_clean()
    row = BusinessCalendar(province=tree["420102"])
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert "province" in error.value.message_dict


def test_the_administrator_edits_the_calendar(client_for, tree, school):
    admin = make_user("admin", None, [], is_superuser=True, is_staff=True)
    client = client_for(admin)
    response = client.post(
        reverse("admin:registrar_businesscalendar_add"),
        {
            "province": tree["420000"].pk,
            "transfer_windows": "02-01..02-28",
            "graduation_freeze": "",
            "graduation_deadline": "",
            "school_year_end": "",
            "term_ends": "",
            "suspension_max_months": "",
            "suspension_total_max_months": "",
            "suspension_reminder_days": "15",
        },
    )
    assert response.status_code == 302
    assert calendar_for(school).suspension_reminder_days == 15
    assert BusinessCalendar.history.count() == 1
    assert client.get(reverse("admin:registrar_businesscalendar_changelist")).status_code == 200


# --- graduating levels -----------------------------------------------------------------------------


def test_graduating_levels_follow_the_school_system(tree, school, other_school):
    assert is_graduating_level(school, 6) and not is_graduating_level(school, 5)
    five_four = school_with(tree, "1420102010", ["nine_year"], "5-4")
    assert is_graduating_level(five_four, 5) and not is_graduating_level(five_four, 6)
    assert is_graduating_level(five_four, 9)
    complete = tree["1420102004"]
    assert is_graduating_level(complete, 9) and is_graduating_level(complete, 12)
    assert not is_graduating_level(complete, 11)
    assert is_graduating_level(other_school, 6) and is_graduating_level(other_school, 9)
    vocational = school_with(tree, "1420102011", ["vocational"], "3")
    assert is_graduating_level(vocational, 12) and not is_graduating_level(vocational, 10)
    special = school_with(tree, "1420102012", ["special"], "9")
    assert is_graduating_level(special, 9) and not is_graduating_level(special, 6)


def test_months_are_added_to_the_same_day_or_the_end_of_a_shorter_month():
    assert add_months(date(2025, 9, 1), 12) == date(2026, 9, 1)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)
    assert calendar.parse_windows("06-26..09-15, 01-06..03-06") == (((1, 6), (3, 6)), ((6, 26), (9, 15)))


@pytest.mark.parametrize(
    ("day", "term"),
    [
        (date(2026, 3, 2), (date(2026, 2, 1), date(2026, 7, 15))),
        (date(2025, 10, 20), (date(2025, 7, 16), date(2026, 1, 31))),
        (date(2026, 1, 31), (date(2025, 7, 16), date(2026, 1, 31))),
        (date(2026, 7, 16), (date(2026, 7, 16), date(2027, 1, 31))),
    ],
)
def test_the_term_runs_from_the_day_after_one_end_of_term_to_the_next(tree, day, term):
    assert calendar.current_term(tree["1420102001"], day) == term


def test_a_provinces_own_ends_of_term_make_its_terms(tree):
    BusinessCalendar.objects.create(province=tree["420000"], term_ends="02-10, 07-01")

    assert calendar.current_term(tree["420102"], date(2026, 3, 2)) == (date(2026, 2, 11), date(2026, 7, 1))
