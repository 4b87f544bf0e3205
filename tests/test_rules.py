"""Province rules as data (rules/): each configurable point changes behaviour, a change reaches only
the requests started after it, only the province (or a county it delegates to) changes them, and
a county's window exception lets one student start outside the window.

The clock stands on 2 March 2026, inside the default transfer window (01-06..03-06).
"""

from datetime import date, datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from corrections import rules as correction_rules
from registrar.calendar import calendar_for
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.models import AuditEvent, Organisation
from registrar.orgimport import import_organisations, parse_rows
from rules import services
from rules.errors import RulesError
from rules.models import Rule, WindowException
from rules.reading import rules_for
from tests.conftest import make_user, raw_rows
from tests.transfer_helpers import (
    IN_WINDOW,
    SHANGHAI,
    attach_required,
    chain_of,
    class_of,
    enrolled,
    fresh,
    started,
    submitted,
)
from transfers import rules as transfer_rules
from transfers import services as transfer_services
from transfers.models import Kind

pytest_plugins = ["tests.transfer_fixtures"]

OUT_OF_WINDOW = datetime(2026, 4, 1, 10, 0, tzinfo=SHANGHAI)
TOWNSHIP_TREE = [
    ("1420102100", "滠口街中心学校", "乡镇中心校", "420102", "", ""),
    ("1420102101", "滠口小学", "学校", "1420102100", "小学", "6-3-3"),
]
# 金乡: rural primary schools also go through their township central school before the county.
TOWNSHIP_CHAIN = "principal@school, township_reviewer@township(school)?, county_reviewer@county(school)"


@pytest.fixture(autouse=True)
def in_a_transfer_window():
    with time_machine.travel(IN_WINDOW):
        yield


@pytest.fixture
def province(tree):
    return tree["420000"]


@pytest.fixture
def county(tree):
    return tree["420102"]


def set_by(user, node, topic, key, value):
    return services.set_rule(node, topic=topic, key=key, value=value, by=user)


# --- a change reaches new requests only ------------------------------------------------------------


def test_a_rule_change_applies_to_requests_started_after_it(
    registrar, province_admin, province, student, third_class, school
):
    before = started(Kind.SUSPENSION, registrar, student)
    set_by(province_admin, province, "chain", "transfers.suspension", "county_reviewer@county(school)")
    after_student = enrolled(third_class, name="王小丽")
    after = started(Kind.SUSPENSION, registrar, after_student)
    for change in (before, after):
        attach_required(change, registrar)
        transfer_services.submit_request(change, by=registrar)
    assert chain_of(before) == [("principal", school.code), ("county_reviewer", "420102")]
    assert chain_of(after) == [("county_reviewer", "420102")]


def test_a_request_keeps_its_evidence_rules_too(registrar, province_admin, province, student):
    change = started(Kind.SUSPENSION, registrar, student)
    set_by(province_admin, province, "evidence", "suspension:illness", "hospital; medical_record; other")
    assert [group[0] for group in transfer_rules.required_evidence(fresh(change))] == [
        "application",
        "hospital",
        "medical_record",
    ]


# --- each configurable point ---------------------------------------------------------------------------


def test_a_township_central_school_reviews_where_the_chain_says(tree, province_admin, province):
    import_organisations(parse_rows(raw_rows(TOWNSHIP_TREE)))
    rural = Organisation.objects.get(code="1420102101")
    reviewer = make_user("township", Organisation.objects.get(code="1420102100"), [Role.TOWNSHIP_REVIEWER])
    rural_registrar = make_user("rural", rural, [Role.SCHOOL_REGISTRAR])
    set_by(province_admin, province, "chain", "*:*:primary", TOWNSHIP_CHAIN)
    change = submitted(Kind.SUSPENSION, rural_registrar, enrolled(class_of(rural, 2), name="赵小雨"))
    assert chain_of(change) == [
        ("principal", rural.code),
        ("township_reviewer", "1420102100"),
        ("county_reviewer", "420102"),
    ]
    assert reviewer.has_role(Role.TOWNSHIP_REVIEWER)


def test_the_township_step_is_left_out_for_a_school_without_one(registrar, province_admin, province, student):
    set_by(province_admin, province, "chain", "*:*:primary", TOWNSHIP_CHAIN)
    change = submitted(Kind.SUSPENSION, registrar, student)
    assert [role for role, _code in chain_of(change)] == ["principal", "county_reviewer"]


def test_the_current_school_starts_a_transfer_where_the_rules_say_so(
    registrar, huaqiao_registrar, province_admin, province, pupil_at_huaqiao, third_class, huaqiao
):
    set_by(province_admin, province, "initiator", "*", "current")
    with pytest.raises(DomainError, match="转出学校发起"):
        started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)
    change = started(Kind.TRANSFER, huaqiao_registrar, pupil_at_huaqiao, to_class=third_class)
    assert change.approval.applicant_node == huaqiao
    assert change.approval.school == huaqiao


def test_the_current_school_starts_a_transfer_on_its_page(
    client_for, huaqiao_registrar, province_admin, province, pupil_at_huaqiao, third_class, school
):
    client = client_for(huaqiao_registrar)
    url = reverse("transfers:start_transfer_by_current")
    first = {"number": pupil_at_huaqiao.number, "to_school": school.code}
    assert "转入学校发起" in client.post(url, first).content.decode()
    set_by(province_admin, province, "initiator", "*", "current")
    assert "转学到其他学校" in client.get(reverse("transfers:start")).content.decode()
    page = client.post(url, first).content.decode()
    assert str(third_class.pk) in page and "育才小学" in page
    response = client.post(
        url, {**first, "to_class": third_class.pk, "reason": "moved", "explanation": "随父母迁居"}
    )
    change = transfer_services.StatusChangeRequest.objects.get(student=pupil_at_huaqiao)
    assert response["Location"] == change.get_absolute_url()
    assert change.to_class == third_class


def test_the_receiving_school_starts_by_default(huaqiao_registrar, pupil_at_huaqiao, third_class):
    with pytest.raises(DomainError, match="转入学校发起"):
        started(Kind.TRANSFER, huaqiao_registrar, pupil_at_huaqiao, to_class=third_class)


def test_either_school_may_start_when_the_rules_say_either(
    registrar, huaqiao_registrar, province_admin, province, pupil_at_huaqiao, third_class
):
    set_by(province_admin, province, "initiator", "primary", "either")
    change = started(Kind.TRANSFER, huaqiao_registrar, pupil_at_huaqiao, to_class=third_class)
    transfer_services.withdraw_request(change, by=huaqiao_registrar)
    assert started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class).pk


def test_a_kind_the_province_abolished_cannot_be_started(
    registrar, province_admin, province, school, third_class
):
    set_by(province_admin, province, "kinds", "repeat", "junior, senior")
    pupil = enrolled(third_class, name="留级生")
    with pytest.raises(DomainError, match="不再办理"):
        started(Kind.REPEAT, registrar, pupil, to_class=class_of(school, 2))
    response_kinds = [kind for kind, _docs in _start_page_kinds(registrar)]
    assert Kind.REPEAT not in response_kinds


def _start_page_kinds(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.get(reverse("transfers:start")).context["kinds"]


def test_the_province_sets_the_evidence_of_a_kind_and_reason(registrar, province_admin, province, student):
    set_by(province_admin, province, "evidence", "suspension:illness", "hospital; medical_record; other")
    change = started(Kind.SUSPENSION, registrar, student)
    assert [group[0] for group in transfer_rules.required_evidence(change)] == [
        "application",
        "hospital",
        "medical_record",
        "other",
    ]


def test_key_field_evidence_accepts_the_household_page_by_default(student):
    (identity,) = correction_rules.required_evidence(
        [("ethnicity", "life_change")], correction_rules.rules_in_force(student)
    )
    assert identity.met_by({"household_page"}) and identity.met_by({"id_card"})


def test_the_province_asks_for_more_evidence_of_a_name_change(province_admin, province, student):
    set_by(province_admin, province, "correction_evidence", "life_change:name", "household; police")
    requirements = correction_rules.required_evidence(
        [("name", "life_change")], correction_rules.rules_in_force(student)
    )
    assert [requirement.kinds for requirement in requirements] == [("household",), ("police",)]


def test_a_grade_without_transfer_windows(registrar, province_admin, province, pupil_at_huaqiao, third_class):
    set_by(province_admin, province, "windows", "primary:3", "none")
    with pytest.raises(DomainError, match="不办理转学"):
        started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)


def test_a_stage_with_its_own_windows(registrar, province_admin, province, pupil_at_huaqiao, third_class):
    set_by(province_admin, province, "windows", "primary", "04-01..04-10")
    with pytest.raises(DomainError, match="2026-04-01"):
        started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)
    with time_machine.travel(OUT_OF_WINDOW):
        assert started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class).pk


def test_graduation_dates_by_stage(province_admin, province, school):
    set_by(province_admin, province, "graduation", "freeze:primary", "05-15")
    set_by(province_admin, province, "graduation", "deadline:primary", "06-01")
    calendar = calendar_for(school, by_stage=True)
    assert calendar.graduation_freeze_for(date(2026, 3, 1), "primary") == date(2026, 5, 15)
    assert calendar.graduation_freeze_for(date(2026, 3, 1), "junior") == date(2026, 5, 31)
    assert calendar.graduation_deadline_for(date(2026, 3, 1), "primary") == date(2026, 6, 1)


# --- who changes the rules -------------------------------------------------------------------------------


def test_only_the_province_administrator_writes_the_province_rules(
    province, county_reviewer, city_reviewer, registrar
):
    for user in (county_reviewer, city_reviewer, registrar):
        with pytest.raises(PermissionDenied):
            set_by(user, province, "initiator", "*", "current")
    assert not Rule.objects.exists()


def test_a_county_writes_only_what_the_province_delegates(
    province_admin, province, county, county_reviewer, school, outsider_reviewer, tree
):
    with pytest.raises(RulesError, match="尚未授权"):
        set_by(county_reviewer, county, "windows", "primary:6", "none")
    set_by(province_admin, province, "delegation", "windows", "yes")
    set_by(county_reviewer, county, "windows", "primary:6", "none")
    assert rules_for(school).windows("primary", 6) == "none"
    # Another county keeps the province's rule; and the delegation itself stays the province's.
    assert rules_for(tree["1420506003"]).windows("primary", 6) is None
    with pytest.raises(RulesError):
        set_by(county_reviewer, county, "delegation", "chain", "yes")
    with pytest.raises(PermissionDenied):
        set_by(outsider_reviewer, county, "windows", "primary:5", "none")


def test_a_county_row_counts_only_while_delegated(province_admin, province, county, county_reviewer, school):
    set_by(province_admin, province, "delegation", "initiator", "yes")
    set_by(county_reviewer, county, "initiator", "*", "either")
    assert rules_for(school).initiator("primary") == "either"
    set_by(province_admin, province, "delegation", "initiator", "no")
    assert rules_for(school).initiator("primary") == "receiving"


@pytest.mark.parametrize(
    ("topic", "key", "value"),
    [
        ("chain", "transfers.suspension", "dean@school"),
        ("initiator", "*", "the bureau"),
        ("kinds", "holiday", "*"),
        ("evidence", "suspension", "doctor"),
        ("windows", "primary:3", "April"),
        ("graduation", "freeze:primary", "5月31日"),
        ("corrections", "added_fields", "status"),
    ],
)
def test_a_rule_that_does_not_read_is_refused(province_admin, province, topic, key, value):
    with pytest.raises(RulesError):
        set_by(province_admin, province, topic, key, value)
    assert not Rule.objects.exists()


def test_every_change_is_audited_with_before_and_after(province_admin, province):
    set_by(province_admin, province, "initiator", "*", "current")
    set_by(province_admin, province, "initiator", "*", "either")
    services.delete_rule(province, topic="initiator", key="*", by=province_admin)
    events = AuditEvent.objects.filter(action__startswith="rules.rule.").order_by("id")
    assert [(event.data["before"], event.data["after"]) for event in events] == [
        (None, "current"),
        ("current", "either"),
        ("either", None),
    ]


# --- the pages -----------------------------------------------------------------------------------------


def test_the_province_administrator_edits_on_the_rules_page(client_for, province_admin, province):
    client = client_for(province_admin)
    page = client.get(reverse("rules:node", args=[province.code]))
    assert page.status_code == 200
    assert "审批流程" in page.content.decode()
    response = client.post(
        reverse("rules:set", args=[province.code]), {"topic": "initiator", "key": "*", "value": "current"}
    )
    assert response.status_code == 302
    assert Rule.objects.get(node=province, topic="initiator").value == "current"
    page = client.get(reverse("rules:node", args=[province.code])).content.decode()
    assert "current" in page


def test_the_rules_page_says_each_rule_in_words(client_for, province_admin, province):
    """Beside the notation an administrator reads the rule: the kind, the place, the stage and who
    reviews at which office; the documents by their names."""
    page = client_for(province_admin).get(reverse("rules:node", args=[province.code])).content.decode()
    assert "转学 · 本县区内 · 各学段" in page
    assert "转出学校" in page and "转入学校所在县区" in page
    assert "校长/分管领导（本校） → 县级审核员（本校所在县区） 或 市级审核员（本校所在市州）" in page
    assert "信息变更 · 姓名" in page and "户口本本人页" in page


def test_a_bad_value_on_the_page_changes_nothing(client_for, province_admin, province):
    client = client_for(province_admin)
    response = client.post(
        reverse("rules:set", args=[province.code]),
        {"topic": "initiator", "key": "*", "value": "nobody"},
        follow=True,
    )
    assert "不符合" in response.content.decode()
    assert not Rule.objects.exists()


def test_the_rules_page_is_refused_outside_and_below(
    client_for, county_reviewer, outsider_reviewer, registrar
):
    assert client_for(outsider_reviewer).get(reverse("rules:node", args=["420102"])).status_code == 404
    assert client_for(registrar).get(reverse("rules:node", args=["420102"])).status_code == 404
    assert client_for(registrar).get(reverse("rules:home")).status_code == 403
    # A county reviewer reads its own rules but not the province's page.
    assert client_for(county_reviewer).get(reverse("rules:node", args=["420102"])).status_code == 200
    assert client_for(county_reviewer).get(reverse("rules:node", args=["420000"])).status_code == 404


# --- window exceptions -----------------------------------------------------------------------------------


def test_a_window_exception_lets_one_student_start_outside_the_window(
    registrar, county_reviewer, pupil_at_huaqiao, third_class, huaqiao
):
    other = enrolled(class_of(huaqiao, 3, "2班"), name="钱小多")
    exception = services.open_window_exception(
        pupil_at_huaqiao,
        kind=Kind.TRANSFER,
        reason="随迁子女，家长工作调动",
        expires_on=date(2026, 4, 30),
        by=county_reviewer,
    )
    with time_machine.travel(OUT_OF_WINDOW):
        with pytest.raises(DomainError, match="下一个办理时间"):
            started(Kind.TRANSFER, registrar, other, to_class=third_class)
        change = started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)
    exception.refresh_from_db()
    assert exception.approval == change.approval
    assert AuditEvent.objects.filter(action="rules.window_exception.opened").exists()
    page = client_for_detail(registrar, change)
    assert "随迁子女" in page


def client_for_detail(user, change):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.get(reverse("transfers:detail", args=[change.pk])).content.decode()


def test_an_expired_exception_does_not_count(registrar, county_reviewer, pupil_at_huaqiao, third_class):
    services.open_window_exception(
        pupil_at_huaqiao,
        kind=Kind.TRANSFER,
        reason="特殊情况",
        expires_on=date(2026, 3, 20),
        by=county_reviewer,
    )
    with time_machine.travel(OUT_OF_WINDOW), pytest.raises(DomainError, match="下一个办理时间"):
        started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)


def test_only_the_county_reviewer_opens_an_exception(
    registrar, city_reviewer, outsider_reviewer, county_reviewer, pupil_at_huaqiao
):
    for user in (registrar, city_reviewer, outsider_reviewer):
        with pytest.raises(PermissionDenied):
            services.open_window_exception(
                pupil_at_huaqiao, kind=Kind.TRANSFER, reason="x", expires_on=date(2026, 4, 1), by=user
            )
    with pytest.raises(RulesError):
        services.open_window_exception(
            pupil_at_huaqiao, kind=Kind.TRANSFER, reason=" ", expires_on=date(2026, 4, 1), by=county_reviewer
        )
    assert not WindowException.objects.exists()


def test_the_exceptions_page(client_for, county_reviewer, pupil_at_huaqiao):
    client = client_for(county_reviewer)
    assert client.get(reverse("rules:exceptions")).status_code == 200
    response = client.post(
        reverse("rules:exceptions"),
        {"number": pupil_at_huaqiao.number, "kind": "transfer", "reason": "随迁", "expires_on": "2026-04-30"},
    )
    assert response.status_code == 302
    assert WindowException.objects.get().student == pupil_at_huaqiao
