"""After graduation: the lock (every write path refuses a graduated record), the freeze before it
(every kind of 学籍异动, direct edits, corrections only by the province's exception), and the cases
after it: 毕业生回退 and 结业换毕业 on the engine, the certificate numbers voided and never reused."""

from datetime import date, datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from corrections import services as correction_services
from corrections.rules import EvidenceKind, Reason
from graduation import aftercare
from graduation.errors import GraduationError
from graduation.models import CaseKind, Certificate
from registrar import approvals
from registrar.errors import DomainError
from registrar.models import ApprovalState, BusinessCalendar
from registrar.uploads import clean_photo
from students import services as student_services
from students.models import Status, Student
from students.roster.exporter import write_roster
from students.roster.importer import prepare
from tests.graduation_fixtures import SEASON, SHANGHAI
from tests.graduation_helpers import (
    class_of,
    graduate_candidate,
    load_results,
    proposed_and_submitted,
    run_list,
    senior_results,
)
from tests.transfer_helpers import png, started
from transfers.models import Kind

pytest_plugins = ["tests.graduation_fixtures"]

BEFORE = datetime(2026, 5, 31, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def graduated(high_school, hs_registrar, hs_principal, city_reviewer, seniors):
    """赵一甲 and 钱二乙 graduated, 孙三丙 completed (结业, short of credits)."""
    with time_machine.travel(SEASON, tick=False):
        rows = senior_results(seniors[:2]) + senior_results(seniors[2:], credits=120)[1:]
        load_results(high_school, rows, by=hs_registrar)
        run_list(proposed_and_submitted(high_school, hs_registrar), [hs_principal, city_reviewer])
    return [Student.objects.get(pk=student.pk) for student in seniors]


# --- the lock -----------------------------------------------------------------------


def test_every_write_path_refuses_a_graduated_record(graduated, hs_registrar, tmp_path, high_school):
    student = graduated[0]
    with pytest.raises(DomainError, match="锁定"):
        student_services.update_student(student, by=hs_registrar, changes={"phone": "13911112222"})
    with pytest.raises(DomainError, match="锁定"):
        student_services.set_photo(
            student, by=hs_registrar, clean_file=clean_photo(png("p.png", size=(358, 441)))
        )
    with pytest.raises(DomainError, match="锁定"):
        student_services.replace_guardians(student, by=hs_registrar, guardians=[])
    with pytest.raises(DomainError, match="毕业生回退"):
        correction_services.create_correction(
            student, by=hs_registrar, changes={"ethnicity": ("03", Reason.LIFE_CHANGE)}
        )
    with pytest.raises(DomainError):
        started(Kind.SUSPENSION, hs_registrar, student)
    # The roster: the record exported and imported again is refused as closed.
    path = tmp_path / "roster.xlsx"
    write_roster(Student.objects.filter(pk=student.pk), str(path))
    plan = prepare(str(path), scope=high_school, by=hs_registrar)
    assert "已结束" in " ".join(problem.message for row in plan.invalid_rows for problem in row.problems)
    assert Student.objects.get(pk=student.pk).phone == student.phone


# --- the freeze -----------------------------------------------------------------------


@pytest.fixture
def leaver(senior_class, hs_registrar):
    with time_machine.travel(BEFORE, tick=False):
        return graduate_candidate(senior_class, name="冻结生", registrar=hs_registrar)


def test_after_the_freeze_date_no_status_change_of_any_kind(leaver, hs_registrar):
    with time_machine.travel(BEFORE, tick=False):
        # On 31 May itself changes are still allowed ("5月31日之后").
        assert started(Kind.SUSPENSION, hs_registrar, leaver).pk
    approvals.withdraw(leaver.status_changes.get().approval, by=hs_registrar)
    for kind in (Kind.SUSPENSION, Kind.WITHDRAWAL, Kind.ABROAD):
        with (
            time_machine.travel(SEASON, tick=False),
            pytest.raises(DomainError, match="2026-05-31 之后至 2026-08-31"),
        ):
            started(kind, hs_registrar, leaver)


def test_after_the_freeze_date_no_direct_edit(leaver, hs_registrar, high_school):
    with time_machine.travel(SEASON, tick=False):
        with pytest.raises(DomainError, match="冻结"):
            student_services.update_student(leaver, by=hs_registrar, changes={"phone": "13911112222"})
        with pytest.raises(DomainError, match="冻结"):
            student_services.replace_guardians(leaver, by=hs_registrar, guardians=[])
        younger = graduate_candidate(class_of(high_school, 11), name="高二生", registrar=hs_registrar)
        student_services.update_student(younger, by=hs_registrar, changes={"phone": "13911112222"})


def test_a_stage_may_have_its_own_freeze_date(tree, leaver, hs_registrar):
    BusinessCalendar.objects.create(province=tree["420000"], graduation_freeze_by_stage="senior:06-10")
    with time_machine.travel(SEASON, tick=False):
        student_services.update_student(leaver, by=hs_registrar, changes={"phone": "13911112222"})
    with (
        time_machine.travel(datetime(2026, 6, 11, 10, 0, tzinfo=SHANGHAI), tick=False),
        pytest.raises(DomainError, match="2026-06-10"),
    ):
        student_services.update_student(leaver, by=hs_registrar, changes={"phone": "13911113333"})


def test_corrections_in_the_freeze_only_through_the_province_exception(tree, leaver, hs_registrar):
    changes = {"ethnicity": ("03", Reason.LIFE_CHANGE)}
    with time_machine.travel(SEASON, tick=False):
        with pytest.raises(DomainError, match="毕业年级"):
            correction_services.create_correction(leaver, by=hs_registrar, changes=changes)
        BusinessCalendar.objects.create(province=tree["420000"], corrections_when_frozen=True)
        correction = correction_services.create_correction(leaver, by=hs_registrar, changes=changes)
        required = [requirement.kinds for requirement in correction_services.requirements_of(correction)]
        assert (EvidenceKind.GRADUATE_FORM,) in required


# --- 毕业生回退 -----------------------------------------------------------------------


def test_a_reversal_goes_through_the_city_and_voids_the_number_for_ever(
    graduated, high_school, hs_registrar, hs_principal, city_reviewer, seniors
):
    student = graduated[0]
    certificate = Certificate.objects.get(student=student)
    with time_machine.travel(datetime(2026, 7, 1, 10, 0, tzinfo=SHANGHAI), tick=False):
        with pytest.raises(GraduationError):
            aftercare.start_case(CaseKind.REVERSAL, certificate, by=hs_registrar, reason="")
        with pytest.raises(PermissionDenied):
            aftercare.start_case(CaseKind.REVERSAL, certificate, by=hs_principal, reason="误操作")
        case = aftercare.start_case(
            CaseKind.REVERSAL, certificate, by=hs_registrar, reason="误将未修满学分者办理毕业"
        )
        approval = approvals.send(case.approval, by=hs_registrar)
        approval = approvals.approve(approval, by=hs_principal)
        approval = approvals.approve(approval, by=city_reviewer)
        assert approval.state == ApprovalState.APPROVED
        student.refresh_from_db()
        certificate.refresh_from_db()
        assert student.status == Status.ENROLLED
        assert certificate.voided_on == date(2026, 7, 1)
        # Graduated again: a new number, the voided one never comes back.
        rows = senior_results([student])
        load_results(high_school, rows, by=hs_registrar)
        run_list(proposed_and_submitted(high_school, hs_registrar), [hs_principal, city_reviewer])
    numbers = list(
        Certificate.objects.filter(student=student).order_by("pk").values_list("number", flat=True)
    )
    assert numbers == ["1420102004202600001", "1420102004202600003"]
    events = list(student.status_events.order_by("pk").values_list("event", flat=True))
    assert events[-3:] == ["graduated", "graduation_reversed", "graduated"]


# --- 结业换毕业 -----------------------------------------------------------------------


def test_a_completion_is_exchanged_once_the_make_up_exams_are_passed(
    graduated, high_school, hs_registrar, hs_principal, city_reviewer
):
    completed = graduated[2]
    old = Certificate.objects.get(student=completed)
    with time_machine.travel(datetime(2026, 9, 10, 10, 0, tzinfo=SHANGHAI), tick=False):
        with pytest.raises(GraduationError, match="120"):
            aftercare.start_case(CaseKind.EXCHANGE, old, by=hs_registrar, reason="补考通过")
        load_results(
            high_school,
            [["学籍号", "姓名", "总学分"], [completed.number, completed.name, 146]],
            by=hs_registrar,
        )
        case = aftercare.start_case(CaseKind.EXCHANGE, old, by=hs_registrar, reason="补考通过")
        approval = approvals.send(case.approval, by=hs_registrar)
        approval = approvals.approve(approval, by=hs_principal)
        approvals.approve(approval, by=city_reviewer)
    completed.refresh_from_db()
    old.refresh_from_db()
    case.refresh_from_db()
    assert completed.status == Status.GRADUATED
    assert old.voided_on is not None
    assert case.new_certificate.number == "1420102004202600003"


def test_the_exchange_lapses_after_a_year(graduated, high_school, hs_registrar):
    completed = graduated[2]
    old = Certificate.objects.get(student=completed)
    with (
        time_machine.travel(datetime(2027, 6, 10, 10, 0, tzinfo=SHANGHAI), tick=False),
        pytest.raises(GraduationError, match="一年内"),
    ):
        aftercare.start_case(CaseKind.EXCHANGE, old, by=hs_registrar, reason="补考通过")


def test_a_withheld_certificate_lapses_after_a_year(graduated, hs_registrar):
    certificate = Certificate.objects.get(student=graduated[0])
    with time_machine.travel(SEASON, tick=False):
        aftercare.withhold_certificate(certificate, by=hs_registrar, reason="学费未缴清")
    with (
        time_machine.travel(datetime(2027, 6, 10, 10, 0, tzinfo=SHANGHAI), tick=False),
        pytest.raises(GraduationError, match="2027-06-05"),
    ):
        aftercare.release_certificate(certificate, by=hs_registrar)
