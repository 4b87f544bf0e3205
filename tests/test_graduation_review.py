"""The graduation list on the approval engine: proposed from the audit, reviewed by the principal and
the city (senior) or the county, students taken out, the last approval writing status, certificate
number and lock in one transaction."""

import pytest
from django.core.exceptions import PermissionDenied

from graduation import services
from graduation.errors import GraduationError
from graduation.models import Certificate, Entry, Outcome
from registrar import approvals
from registrar.models import ApprovalState
from students.errors import StudentError
from students.models import Status, StatusEvent
from tests.graduation_helpers import load_results, proposed_and_submitted, run_list

pytest_plugins = ["tests.graduation_fixtures"]


@pytest.fixture(autouse=True)
def _season(season):
    """Every test in the graduation season (tests/graduation_fixtures.py)."""


def test_the_proposal_takes_the_eligible_to_graduation_and_the_others_to_completion(
    high_school, hs_registrar, loaded
):
    graduation_list = services.propose_list(high_school, by=hs_registrar, segment="senior")
    outcomes = {
        entry.student.name: entry.outcome for entry in graduation_list.entries.select_related("student")
    }
    assert outcomes == {"赵一甲": Outcome.GRADUATED, "钱二乙": Outcome.GRADUATED, "孙三丙": Outcome.COMPLETED}
    assert graduation_list.approval.state == ApprovalState.DRAFT
    assert graduation_list.year == 2026


def test_the_city_approves_and_every_record_is_graduated_numbered_and_locked(
    high_school, hs_registrar, hs_principal, city_reviewer, loaded
):
    graduation_list = proposed_and_submitted(high_school, hs_registrar)
    chain = [(step.role, step.node.code) for step in graduation_list.approval.steps.all()]
    assert chain == [("principal", "1420102004"), ("city_reviewer", "420100")]
    approval = run_list(graduation_list, [hs_principal, city_reviewer])
    assert approval.state == ApprovalState.APPROVED
    first, second, third = (student.__class__.objects.get(pk=student.pk) for student in loaded)
    assert [first.status, second.status, third.status] == [
        Status.GRADUATED,
        Status.GRADUATED,
        Status.COMPLETED,
    ]
    numbers = list(Certificate.objects.order_by("pk").values_list("number", flat=True))
    assert numbers == ["1420102004202600001", "1420102004202600002", "14201020042026J0001"]
    event = StatusEvent.objects.filter(student=first).last()
    assert (event.event, event.approved_by) == ("graduated", city_reviewer)
    assert first.is_locked


def test_a_reviewer_takes_one_student_out_and_the_rest_graduate(
    high_school, hs_registrar, hs_principal, city_reviewer, loaded
):
    graduation_list = proposed_and_submitted(high_school, hs_registrar)
    entry = Entry.objects.get(graduation_list=graduation_list, student=loaded[2])
    with pytest.raises(GraduationError):
        services.take_out(entry, by=hs_principal, reason="")
    with pytest.raises(PermissionDenied):
        services.take_out(entry, by=city_reviewer, reason="not yet their step")
    services.take_out(entry, by=hs_principal, reason="补考后再报")
    run_list(graduation_list, [hs_principal, city_reviewer])
    loaded[2].refresh_from_db()
    assert loaded[2].status == Status.ENROLLED
    assert Certificate.objects.count() == 2


def test_a_student_who_changed_meanwhile_stops_the_approval_and_nothing_is_written(
    high_school, hs_registrar, hs_principal, city_reviewer, loaded
):
    graduation_list = proposed_and_submitted(high_school, hs_registrar)
    approval = approvals.approve(graduation_list.approval, by=hs_principal)
    # The results change after the principal approved: 钱二乙 fails fitness now.
    load_results(
        high_school,
        [["学籍号", "姓名", "体质健康"], [loaded[1].number, loaded[1].name, "不及格"]],
        by=hs_registrar,
    )
    with pytest.raises(GraduationError, match="钱二乙"):
        approvals.approve(approval, by=city_reviewer)
    assert not Certificate.objects.exists()
    loaded[0].refresh_from_db()
    assert loaded[0].status == Status.ENROLLED


def test_a_student_on_an_open_list_starts_no_other_request_until_taken_out(
    high_school, hs_registrar, hs_principal, loaded
):
    """在办业务: each student of an open graduation list has a request in progress."""
    from students.services import ensure_student_free

    graduation_list = proposed_and_submitted(high_school, hs_registrar)
    first, _second, third = loaded
    with pytest.raises(StudentError, match="正在办理的业务"):
        ensure_student_free(first)
    entry = Entry.objects.get(graduation_list=graduation_list, student=third)
    services.take_out(entry, by=hs_principal, reason="补考后再报")
    ensure_student_free(third)
    approvals.withdraw(graduation_list.approval, by=hs_registrar)
    ensure_student_free(first)
