"""Approval chains from configuration, and the working-day calendar behind the deadlines."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from registrar import approvals, chains, workdays
from registrar.choices import Role
from registrar.models import ApprovalStep, Holiday, Organisation
from registrar.services import save_organisation
from rules.defaults import CHAINS
from tests.approval_kinds import SAMPLE
from tests.rules_helpers import set_rule
from tests.test_approvals import new_request, submitted

SHANGHAI = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.usefixtures("test_kinds")


def steps(key, **context):
    return [
        (step.role, step.node.code) for step in chains.resolve(chains.find_chain(key, CHAINS)[1], context)
    ]


@pytest.fixture
def city_school(tree):
    """武汉市第一中学: a high school run directly by the city (市直学校), no county above it."""
    node = Organisation(
        code="1420100009", name="武汉市第一中学", kind="school", parent=tree["420100"], stages=["senior"]
    )
    node.school_system = "3"
    return save_organisation(node, by=None)


# --- configuration ---------------------------------------------------------------------------------


def test_the_default_chains_are_well_formed():
    for key, value in CHAINS.items():
        chains.validate_chain(key, value)


def test_a_bad_chain_is_refused_at_configuration():
    for value in ["dean@school", "principal", "principal@county school", "principal@district(school)"]:
        with pytest.raises(ImproperlyConfigured):
            chains.parse_chain(value)
    with pytest.raises(ImproperlyConfigured):
        chains.validate_chain("x:*:*", " , ")


def test_keys_are_looked_up_from_the_most_specific():
    assert chains.lookup_order("transfers.transfer:other_county:senior") == [
        "transfers.transfer:other_county:senior",
        "transfers.transfer:other_county:*",
        "transfers.transfer:*:senior",
        "transfers.transfer:*:*",
        "*:other_county:senior",
        "*:other_county:*",
        "*:*:senior",
        "*:*:*",
    ]
    assert chains.find_chain("corrections.correction:*:junior", CHAINS)[0] == "*:*:*"
    assert chains.find_chain("corrections.correction:*:senior", CHAINS)[0] == "*:*:senior"
    assert (
        chains.find_chain("transfers.transfer:same_county:primary", CHAINS)[0]
        == "transfers.transfer:same_county:*"
    )


def test_a_province_reconfigures_a_chain(registrar, school, tree):
    set_rule(tree["420000"], "chain", SAMPLE, "county_reviewer@county(school)")
    approval = submitted(registrar, school)
    assert approval.chain_key == f"{SAMPLE}:*:*"
    assert [(step.role, step.node) for step in approval.steps.all()] == [
        (Role.COUNTY_REVIEWER, tree["420102"])
    ]


# --- defaults of domain §6 -------------------------------------------------------------------------


def test_status_changes_go_to_the_principal_then_the_county(school):
    assert steps("transfers.suspension:*:primary", school=school) == [
        ("principal", school.code),
        ("county_reviewer", "420102"),
    ]


def test_high_school_status_changes_go_to_the_city(tree):
    complete = tree["1420102004"]
    assert steps("transfers.suspension:*:senior", school=complete) == [
        ("principal", complete.code),
        ("city_reviewer", "420100"),
    ]
    # The junior students of the same 完全中学 stay with the county.
    assert steps("transfers.suspension:*:junior", school=complete)[-1] == ("county_reviewer", "420102")


def test_high_school_registration_adds_the_city_after_the_county(tree):
    complete = tree["1420102004"]
    assert steps("students.registration:*:senior", school=complete) == [
        ("principal", complete.code),
        ("county_reviewer", "420102"),
        ("city_reviewer", "420100"),
    ]


def test_a_city_school_is_reviewed_by_its_city_once(city_school):
    assert steps("corrections.correction:*:*", school=city_school) == [
        ("principal", city_school.code),
        ("city_reviewer", "420100"),
    ]
    assert steps("students.registration:*:senior", school=city_school) == [
        ("principal", city_school.code),
        ("city_reviewer", "420100"),
    ]


def test_transfer_within_a_county(school, tree):
    sending = tree["1420102004"]
    assert chains.scope_between(school, sending) == chains.SAME_COUNTY
    assert steps("transfers.transfer:same_county:*", receiving_school=school, sending_school=sending) == [
        ("school_registrar", sending.code),
        ("county_reviewer", "420102"),
    ]


def test_transfer_from_another_county(school, other_school):
    assert chains.scope_between(school, other_school) == chains.OTHER_COUNTY
    assert steps(
        "transfers.transfer:other_county:primary", receiving_school=school, sending_school=other_school
    ) == [
        ("county_reviewer", "420102"),
        ("school_registrar", other_school.code),
        ("county_reviewer", "420506"),
    ]


def test_high_school_transfer_adds_the_city_on_each_side(tree, other_school):
    receiving = tree["1420102004"]
    assert steps(
        "transfers.transfer:other_county:senior", receiving_school=receiving, sending_school=other_school
    ) == [
        ("county_reviewer", "420102"),
        ("city_reviewer", "420100"),
        ("school_registrar", other_school.code),
        ("county_reviewer", "420506"),
        ("city_reviewer", "420500"),
    ]


def test_transfer_from_another_province_reviews_only_what_is_in_the_system(school):
    assert steps("transfers.transfer:other_province:*", receiving_school=school, sending_school=None) == [
        ("county_reviewer", "420102"),
    ]


def test_the_same_reviewer_twice_reviews_once_and_last(tree, city_school):
    receiving = tree["1420102004"]
    # Both schools in 武汉市: the city reviews once, after the sending side.
    assert steps(
        "transfers.transfer:other_county:senior", receiving_school=receiving, sending_school=city_school
    ) == [
        ("county_reviewer", "420102"),
        ("school_registrar", city_school.code),
        ("city_reviewer", "420100"),
    ]


def test_a_township_step_is_optional_and_found_above_the_school(tree, school):
    township = save_organisation(
        Organisation(code="1420102900", name="某乡中心校", kind="township", parent=tree["420102"]), by=None
    )
    rural = save_organisation(
        Organisation(code="1420102901", name="某村小学", kind="school", parent=township, stages=["primary"]),
        by=None,
    )
    spec = chains.parse_step("principal@township(school)?")
    assert chains.resolve_alternative(spec.alternatives[0], {"school": rural}, {}) == township
    assert chains.resolve([spec], {"school": school}) == []
    # No role may sit at a township central school yet, so a township step is refused as misconfigured.
    with pytest.raises(chains.ChainError, match="审核流程配置有误"):
        chains.resolve([spec], {"school": rural})


def test_a_missing_node_is_a_clear_error(school):
    with pytest.raises(chains.ChainError, match="无法为本申请确定审核步骤"):
        steps("transfers.transfer:same_county:*", receiving_school=school)


def test_the_default_key_takes_the_scope_and_segment_from_the_case(registrar, school, other_school, tree):
    approval = new_request(
        registrar,
        school,
        context={"receiving_school": school, "sending_school": other_school, "segment": "primary"},
    )
    assert (
        approvals.default_chain_key(approval, approvals.case_context(approval))
        == f"{SAMPLE}:other_county:primary"
    )
    # Without a segment, a school that teaches one segment gives it.
    approval = new_request(registrar, school)
    assert approvals.default_chain_key(approval, approvals.case_context(approval)) == f"{SAMPLE}:*:primary"


# --- working days ----------------------------------------------------------------------------------


@pytest.fixture
def national_day_2025(db):
    """2025: 1–8 October off; Sunday 28 September and Saturday 11 October worked (调休)."""
    for day in range(1, 9):
        Holiday.objects.create(date=date(2025, 10, day), name="国庆节、中秋节")
    Holiday.objects.create(date=date(2025, 9, 28), name="国庆调休", is_workday=True)
    Holiday.objects.create(date=date(2025, 10, 11), name="国庆调休", is_workday=True)


def test_working_days_skip_weekends(db):
    friday = date(2025, 3, 7)
    assert workdays.add_working_days(friday, 1) == date(2025, 3, 10)
    assert workdays.add_working_days(friday, 10) == date(2025, 3, 21)
    assert workdays.working_days_between(friday, date(2025, 3, 21)) == 10
    assert workdays.working_days_between(date(2025, 3, 21), friday) == -10
    assert workdays.working_days_between(friday, date(2025, 3, 9)) == 0


def test_working_days_follow_holidays_and_make_up_days(national_day_2025):
    friday = date(2025, 9, 26)
    # 28 Sep (make-up), 29, 30, then 9, 10, 11 (make-up Saturday), 13, 14, 15, 16 October.
    assert workdays.add_working_days(friday, 10) == date(2025, 10, 16)
    assert workdays.working_days_between(friday, date(2025, 10, 16)) == 10
    assert workdays.working_days_between(date(2025, 9, 30), date(2025, 10, 8)) == 0


def test_a_step_is_due_after_ten_working_days_and_overdue_the_day_after(
    national_day_2025, registrar, principal, school
):
    with time_machine.travel(datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)):
        approval = submitted(registrar, school)
    step = approval.current_step
    assert step.due_date == date(2025, 10, 16)
    assert not workdays.is_overdue(step, datetime(2025, 10, 16, 23, 0, tzinfo=SHANGHAI))
    assert workdays.is_overdue(step, datetime(2025, 10, 17, 8, 0, tzinfo=SHANGHAI))
    decided = approvals.approve(approval, by=principal)
    assert not workdays.is_overdue(
        ApprovalStep.objects.get(pk=step.pk), datetime(2025, 12, 1, tzinfo=SHANGHAI)
    )
    assert decided.current_step.due_date > date(2025, 10, 16)


def test_the_number_of_working_days_is_configurable(settings, registrar, school):
    settings.REGISTRAR = {**settings.REGISTRAR, "APPROVAL_STEP_WORKING_DAYS": 3}
    with time_machine.travel(datetime(2025, 3, 7, 10, 0, tzinfo=SHANGHAI)):
        approval = submitted(registrar, school)
    assert approval.current_step.due_date == date(2025, 3, 12)


def test_due_dates_follow_a_changed_calendar(registrar, school):
    with time_machine.travel(datetime(2025, 3, 7, 10, 0, tzinfo=SHANGHAI)):
        approval = submitted(registrar, school)
    assert approval.current_step.due_date == date(2025, 3, 21)
    Holiday.objects.create(date=date(2025, 3, 10), name="临时放假")
    assert approvals.recompute_due_dates() == 1
    assert ApprovalStep.objects.get(pk=approval.current_step_id).due_date == date(2025, 3, 24)


def test_overdue_steps_show_on_the_dashboards_of_the_reviewer_and_above(
    national_day_2025,
    client_for,
    registrar,
    principal,
    county_reviewer,
    city_reviewer,
    province_admin,
    outsider_reviewer,
    school,
):
    with time_machine.travel(datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)):
        submitted(registrar, school)
    with time_machine.travel(datetime(2025, 10, 17, 9, 0, tzinfo=SHANGHAI)):
        page = client_for(principal).get(reverse("registrar:dashboard")).content.decode()
        assert "我的已超期审核" in page and "待我审核" in page
        for overseer in (county_reviewer, city_reviewer, province_admin):
            page = client_for(overseer).get(reverse("registrar:dashboard")).content.decode()
            assert "下级已超期的审核" in page, overseer
        page = client_for(outsider_reviewer).get(reverse("registrar:dashboard")).content.decode()
        assert "下级已超期的审核" not in page
        listing = client_for(city_reviewer).get(reverse("registrar:approvals_overdue")).content.decode()
        assert "育才小学" in listing and "张三" in listing
    with time_machine.travel(datetime(2025, 10, 16, 9, 0, tzinfo=SHANGHAI)):
        page = client_for(principal).get(reverse("registrar:dashboard")).content.decode()
        assert "我的已超期审核" not in page and "待我审核" in page
        page = client_for(county_reviewer).get(reverse("registrar:dashboard")).content.decode()
        assert "下级已超期的审核" not in page
