"""学籍异动 through the services: every kind along its chain, the guards, evidence and permissions.

The clock stands on 2 March 2026, inside the default transfer window (01-06..03-06) and before the
graduation freeze (05-31).
"""

import io
from datetime import date, datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from registrar import approvals
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.models import ApprovalState, AuditEvent, BusinessCalendar
from students import lifecycle
from students.models import Event, ProblemKind, ProblemRecord, Status, StatusEvent
from students.services import record_status_event
from tests.conftest import make_user
from tests.transfer_helpers import (
    IN_WINDOW,
    SHANGHAI,
    attach_required,
    chain_of,
    class_of,
    enrolled,
    fresh,
    png,
    reload,
    run_chain,
    started,
    submitted,
)
from transfers import rules, services
from transfers.models import Evidence, EvidenceType, Kind, StatusChangeRequest, Suspension

pytest_plugins = ["tests.transfer_fixtures"]


@pytest.fixture(autouse=True)
def in_a_transfer_window():
    with time_machine.travel(IN_WINDOW):
        yield


# --- transfers along their chains ----------------------------------------------------------------------


def test_a_transfer_within_the_county_moves_the_same_record(
    registrar, huaqiao_registrar, county_reviewer, pupil_at_huaqiao, third_class, huaqiao
):
    number = pupil_at_huaqiao.number
    change = submitted(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)
    assert chain_of(change) == [(Role.SCHOOL_REGISTRAR, "1420102002"), (Role.COUNTY_REVIEWER, "420102")]
    assert fresh(change).approval.subject_key == f"student:{pupil_at_huaqiao.pk}"
    change = run_chain(change, [huaqiao_registrar, county_reviewer])
    assert change.approval.state == ApprovalState.APPROVED
    assert change.applied_on == date(2026, 3, 2)
    student = reload(pupil_at_huaqiao)
    assert (student.school, student.school_class, student.status) == (
        third_class.grade.school,
        third_class,
        Status.ENROLLED,
    )
    assert student.number == number
    events = list(StatusEvent.objects.filter(student=student).order_by("id"))[-2:]
    assert [(event.to_status, event.school) for event in events] == [
        (Status.TRANSFERRED_OUT, huaqiao),
        (Status.ENROLLED, third_class.grade.school),
    ]
    assert events[-1].approved_by == county_reviewer
    assert events[-1].action == "transfers.transfer.approved"


def test_a_transfer_from_another_county_goes_through_both_counties(
    registrar, county_reviewer, outsider, outsider_reviewer, other_school, third_class
):
    pupil = enrolled(class_of(other_school, 3), name="王小华")
    change = submitted(Kind.TRANSFER, registrar, pupil, to_class=third_class)
    assert chain_of(change) == [
        (Role.COUNTY_REVIEWER, "420102"),
        (Role.SCHOOL_REGISTRAR, "1420506003"),
        (Role.COUNTY_REVIEWER, "420506"),
    ]
    change = run_chain(change, [county_reviewer, outsider, outsider_reviewer])
    assert change.approval.state == ApprovalState.APPROVED
    assert reload(pupil).school == third_class.grade.school


def test_a_transfer_from_another_province_is_reviewed_there_too(
    registrar, county_reviewer, more_tree, third_class
):
    jinshui = more_tree["1410105001"]
    pupil = enrolled(class_of(jinshui, 3), name="赵小丽")
    sending_registrar = make_user("jinshui", jinshui, [Role.SCHOOL_REGISTRAR])
    sending_county = make_user("jinshui_county", more_tree["410105"], [Role.COUNTY_REVIEWER])
    change = submitted(Kind.TRANSFER, registrar, pupil, to_class=third_class)
    assert fresh(change).approval.chain_key == "transfers.transfer:other_province:*"
    assert chain_of(change) == [
        (Role.COUNTY_REVIEWER, "420102"),
        (Role.SCHOOL_REGISTRAR, "1410105001"),
        (Role.COUNTY_REVIEWER, "410105"),
    ]
    change = run_chain(change, [county_reviewer, sending_registrar, sending_county])
    assert reload(pupil).school == third_class.grade.school


def test_a_high_school_transfer_adds_the_city_reviewer(tree, more_tree, county_reviewer, city_reviewer):
    sixth = tree["1420102004"]
    receiving_registrar = make_user("liuzhong", sixth, [Role.SCHOOL_REGISTRAR])
    first = more_tree["1420100001"]
    sending_registrar = make_user("yizhong", first, [Role.SCHOOL_REGISTRAR])
    pupil = enrolled(class_of(first, 11), name="孙小军")
    change = submitted(Kind.TRANSFER, receiving_registrar, pupil, to_class=class_of(sixth, 11))
    assert chain_of(change) == [
        (Role.COUNTY_REVIEWER, "420102"),
        (Role.SCHOOL_REGISTRAR, "1420100001"),
        (Role.CITY_REVIEWER, "420100"),
    ]
    run_chain(change, [county_reviewer, sending_registrar, city_reviewer])
    assert reload(pupil).school == sixth


# --- the other kinds along theirs ------------------------------------------------------------------


def test_a_suspension_suspends_and_keeps_its_period(suspended, student):
    assert suspended.status == Status.SUSPENDED
    period = Suspension.objects.get(student=student)
    assert (period.starts_on, period.ends_on, period.ended_on) == (date(2026, 3, 2), date(2026, 12, 31), None)
    assert period.reason == "illness"


@pytest.mark.parametrize("starts_on", [date(2026, 3, 16), date(2026, 2, 23)])
def test_a_suspension_is_recorded_from_the_start_the_request_gave(
    registrar, principal, county_reviewer, student, starts_on
):
    """A start still to come, or one already past when the county approves: the record says the
    requested date, never the day of the approval."""
    change = submitted(Kind.SUSPENSION, registrar, student, starts_on=starts_on, ends_on=date(2026, 12, 31))
    run_chain(change, [principal, county_reviewer])
    event = StatusEvent.objects.filter(student=student).latest("pk")
    assert (event.event, event.occurred_on) == (Event.SUSPENDED, starts_on)
    assert Suspension.objects.get(student=student).starts_on == starts_on


def test_an_extension_moves_the_end_of_the_suspension(registrar, principal, county_reviewer, suspended):
    change = submitted(Kind.EXTENSION, registrar, suspended, ends_on=date(2027, 3, 1))
    run_chain(change, [principal, county_reviewer])
    period = Suspension.objects.get(student=suspended)
    assert period.ends_on == date(2027, 3, 1)
    assert reload(suspended).status == Status.SUSPENDED
    assert StatusEvent.objects.filter(student=suspended).last().reason.startswith("休学延长至 2027-03-01")


def test_a_resumption_places_the_student_and_ends_the_suspension(
    registrar, principal, county_reviewer, suspended, school
):
    second = class_of(school, 1, name="2班")
    change = submitted(Kind.RESUMPTION, registrar, suspended, to_class=second)
    assert EvidenceType.RECOVERY in [group[0] for group in rules.required_evidence(change)]
    run_chain(change, [principal, county_reviewer])
    student = reload(suspended)
    assert (student.status, student.school_class) == (Status.ENROLLED, second)
    assert Suspension.objects.get(student=student).ended_on == date(2026, 3, 2)


@pytest.mark.parametrize(
    ("kind", "status"),
    [(Kind.ABROAD, Status.ABROAD), (Kind.DEATH, Status.DECEASED), (Kind.OTHER, Status.LEFT)],
)
def test_a_departure_locks_the_record_at_the_school(
    registrar, principal, county_reviewer, student, school, kind, status
):
    change = submitted(kind, registrar, student)
    assert chain_of(change) == [(Role.PRINCIPAL, school.code), (Role.COUNTY_REVIEWER, "420102")]
    run_chain(change, [principal, county_reviewer])
    student = reload(student)
    assert (student.status, student.school) == (status, school)
    assert student.is_locked


def test_the_final_approval_is_refused_when_the_record_changed_meanwhile(
    registrar, principal, county_reviewer, student
):
    change = submitted(Kind.SUSPENSION, registrar, student, ends_on=date(2026, 12, 31))
    approval = approvals.approve(fresh(change).approval, by=principal)
    # The record moves on by another path while the county still reviews.
    record_status_event(student, event=Event.LEFT, by=registrar, occurred_on=date(2026, 3, 3))

    with pytest.raises(DomainError, match="申请后已发生变化") as error:
        approvals.approve(approval, by=county_reviewer)

    assert "其他离校" in error.value.message
    assert reload(student).status == Status.LEFT
    assert fresh(change).approval.state == ApprovalState.IN_REVIEW
    assert not Suspension.objects.filter(student=student).exists()


def test_a_departure_during_a_suspension_ends_it(registrar, principal, county_reviewer, suspended):
    change = submitted(Kind.ABROAD, registrar, suspended)
    run_chain(change, [principal, county_reviewer])
    assert Suspension.objects.get(student=suspended).ended_on == date(2026, 3, 2)


def test_a_withdrawal_at_a_high_school_goes_to_the_city(tree, city_reviewer):
    sixth = tree["1420102004"]
    registrar = make_user("liuzhong", sixth, [Role.SCHOOL_REGISTRAR])
    principal = make_user("liuzhong_principal", sixth, [Role.PRINCIPAL])
    pupil = enrolled(class_of(sixth, 11), name="周小刚")
    change = submitted(Kind.WITHDRAWAL, registrar, pupil)
    assert chain_of(change) == [(Role.PRINCIPAL, sixth.code), (Role.CITY_REVIEWER, "420100")]
    run_chain(change, [principal, city_reviewer])
    assert reload(pupil).status == Status.WITHDRAWN


def test_repeating_and_skipping_change_the_grade(registrar, principal, county_reviewer, school, third_class):
    second_grade, fourth_grade = class_of(school, 2), class_of(school, 4)
    repeating = enrolled(third_class, name="甲")
    skipping = enrolled(third_class, name="乙")
    run_chain(
        submitted(Kind.REPEAT, registrar, repeating, to_class=second_grade), [principal, county_reviewer]
    )
    run_chain(submitted(Kind.SKIP, registrar, skipping, to_class=fourth_grade), [principal, county_reviewer])
    assert (reload(repeating).grade.level, reload(repeating).school_class) == (2, second_grade)
    assert (reload(skipping).grade.level, reload(skipping).status) == (4, Status.ENROLLED)


# --- reject, return and resubmit, withdraw -----------------------------------------------------------


def test_a_rejection_changes_nothing_and_frees_the_student(registrar, principal, student):
    change = submitted(Kind.ABROAD, registrar, student)
    approvals.reject(fresh(change).approval, by=principal, comment="材料不实")
    assert fresh(change).approval.state == ApprovalState.REJECTED
    assert reload(student).status == Status.ENROLLED
    event = AuditEvent.objects.for_object(student).get(action="transfers.abroad.rejected")
    assert (event.reason, event.actor) == ("材料不实", principal)
    assert started(Kind.OTHER, registrar, student).approval.state == ApprovalState.DRAFT


def test_a_returned_request_is_revised_and_resubmitted(
    registrar, principal, county_reviewer, student, school
):
    second = class_of(school, 2)
    change = submitted(Kind.SKIP, registrar, student, to_class=second)
    approvals.return_for_revision(fresh(change).approval, by=principal, comment="请补充学业考核说明")
    change = services.update_request(
        fresh(change), by=registrar, changes={"explanation": "成绩优异，附考核结果"}
    )
    assert fresh(change).history.first().history_user == registrar
    change = services.submit_request(change, by=registrar)
    approval = change.approval
    assert (approval.state, approval.round) == (ApprovalState.SUBMITTED, 2)
    change = run_chain(change, [principal, county_reviewer])
    assert change.approval.state == ApprovalState.APPROVED
    assert reload(student).grade.level == 2


def test_withdrawing_leaves_the_record_and_frees_the_student(registrar, principal, student):
    draft = started(Kind.OTHER, registrar, student)
    services.withdraw_request(draft, by=registrar, comment="家长撤回")
    assert fresh(draft).approval.state == ApprovalState.WITHDRAWN
    change = submitted(Kind.ABROAD, registrar, student)
    approvals.approve(fresh(change).approval, by=principal)
    services.withdraw_request(fresh(change), by=registrar)
    assert fresh(change).approval.state == ApprovalState.WITHDRAWN
    assert reload(student).status == Status.ENROLLED
    with pytest.raises(DomainError, match="已撤回"):
        services.withdraw_request(fresh(change), by=registrar)


def test_only_the_applicant_withdraws(principal, registrar, student):
    change = submitted(Kind.OTHER, registrar, student)
    with pytest.raises(PermissionDenied):
        services.withdraw_request(change, by=principal)


# --- guards -------------------------------------------------------------------------------------------


def test_one_open_request_per_student_across_kinds(registrar, student):
    started(Kind.ABROAD, registrar, student)
    with pytest.raises(DomainError, match="张小明有正在办理的业务"):
        started(Kind.OTHER, registrar, student)


def test_an_open_request_of_another_app_counts(registrar, student, school):
    approvals.create_request(
        "students.registration",
        by=registrar,
        school=school,
        subject_label="x",
        subject_key=f"student:{student.pk}",
    )
    with pytest.raises(DomainError, match="正在办理的业务"):
        started(Kind.ABROAD, registrar, student)


def test_an_unresolved_problem_record_blocks(registrar, student):
    ProblemRecord.objects.create(student=student, kind=ProblemKind.INVALID_ID)
    with pytest.raises(DomainError, match="未处理的问题学籍"):
        started(Kind.ABROAD, registrar, student)


def test_a_problem_found_after_submission_blocks_the_resubmission(registrar, principal, student):
    change = submitted(Kind.ABROAD, registrar, student)
    approvals.return_for_revision(fresh(change).approval, by=principal, comment="补材料")
    ProblemRecord.objects.create(student=student, kind=ProblemKind.INVALID_ID)
    with pytest.raises(DomainError, match="未处理的问题学籍"):
        services.submit_request(fresh(change), by=registrar)


def test_no_transfer_during_a_suspension(suspended, more_tree):
    other_registrar = make_user("huaqiao", more_tree["1420102002"], [Role.SCHOOL_REGISTRAR])
    with pytest.raises(DomainError, match="休学期间不能转学"):
        started(Kind.TRANSFER, other_registrar, suspended, to_class=class_of(more_tree["1420102002"], 1))


def test_a_transfer_keeps_the_grade(registrar, pupil_at_huaqiao, school):
    with pytest.raises(DomainError, match="转学不改变年级"):
        started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=class_of(school, 4))


def test_a_transfer_comes_from_another_school(registrar, student, first_class):
    with pytest.raises(DomainError, match="已在本校"):
        started(Kind.TRANSFER, registrar, student, to_class=class_of(first_class.grade.school, 1, "2班"))


def test_a_transfer_goes_into_a_class_of_the_applying_school(registrar, pupil_at_huaqiao, huaqiao):
    with pytest.raises(DomainError, match="本校的班级"):
        started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=class_of(huaqiao, 3, "2班"))


def test_transfers_start_only_in_a_window(registrar, pupil_at_huaqiao, third_class):
    with (
        time_machine.travel(datetime(2026, 4, 1, 10, 0, tzinfo=SHANGHAI)),
        pytest.raises(DomainError, match="下一个办理时间为 2026-06-26 至 2026-09-15"),
    ):
        started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)
    # The window binds the start only: a request started in time goes on.
    change = started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)
    attach_required(change, registrar)
    with time_machine.travel(datetime(2026, 4, 1, 10, 0, tzinfo=SHANGHAI)):
        assert services.submit_request(change, by=registrar).approval.state == ApprovalState.SUBMITTED


def test_the_window_follows_the_province_calendar(registrar, pupil_at_huaqiao, third_class, tree):
    BusinessCalendar.objects.create(province=tree["420000"], transfer_windows="06-26..09-15")
    with pytest.raises(DomainError, match="2026-06-26"):
        started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)


def test_graduating_students_are_frozen_from_the_freeze_date(registrar, huaqiao, school):
    leaver = enrolled(class_of(huaqiao, 6), name="毕业生")
    younger = enrolled(class_of(huaqiao, 5), name="五年级生")
    with time_machine.travel(datetime(2026, 7, 1, 10, 0, tzinfo=SHANGHAI)):
        with pytest.raises(DomainError, match="2026-05-31 之后至 2026-08-31"):
            started(Kind.TRANSFER, registrar, leaver, to_class=class_of(school, 6))
        assert started(Kind.TRANSFER, registrar, younger, to_class=class_of(school, 5)).pk


def test_the_freeze_also_stops_the_approval(registrar, huaqiao_registrar, county_reviewer, huaqiao, school):
    leaver = enrolled(class_of(huaqiao, 6), name="毕业生")
    change = submitted(Kind.TRANSFER, registrar, leaver, to_class=class_of(school, 6))
    approval = approvals.approve(fresh(change).approval, by=huaqiao_registrar)
    with (
        time_machine.travel(datetime(2026, 6, 2, 10, 0, tzinfo=SHANGHAI)),
        pytest.raises(DomainError, match="毕业年级"),
    ):
        approvals.approve(approval, by=county_reviewer)
    assert fresh(change).approval.state == ApprovalState.IN_REVIEW
    assert reload(leaver).school == huaqiao


def test_the_receiving_class_must_have_room(registrar, huaqiao_registrar, county_reviewer, huaqiao, school):
    small = class_of(school, 3, name="小班", capacity=1)
    first = enrolled(class_of(huaqiao, 3), name="甲")
    second = enrolled(class_of(huaqiao, 3), name="乙")
    change = submitted(Kind.TRANSFER, registrar, first, to_class=small)
    late = submitted(Kind.TRANSFER, registrar, second, to_class=small)
    run_chain(change, [huaqiao_registrar, county_reviewer])
    approval = approvals.approve(fresh(late).approval, by=huaqiao_registrar)
    with pytest.raises(DomainError, match="班额已满"):
        approvals.approve(approval, by=county_reviewer)
    assert reload(second).school == huaqiao
    third = enrolled(class_of(huaqiao, 3), name="丙")
    with pytest.raises(DomainError, match="班额已满"):
        started(Kind.TRANSFER, registrar, third, to_class=small)


def test_compulsory_students_cannot_withdraw(registrar, student):
    with pytest.raises(DomainError, match="义务教育"):
        started(Kind.WITHDRAWAL, registrar, student)


def test_a_suspension_lasts_at_most_a_year_at_a_time(registrar, student):
    with pytest.raises(DomainError, match="最迟至 2027-03-02"):
        started(Kind.SUSPENSION, registrar, student, ends_on=date(2027, 3, 3))
    with pytest.raises(DomainError, match="结束日期须晚于"):
        started(Kind.SUSPENSION, registrar, student, starts_on=date(2026, 5, 1), ends_on=date(2026, 4, 1))


def test_suspensions_last_at_most_their_total(registrar, principal, county_reviewer, student, tree, school):
    BusinessCalendar.objects.create(
        province=tree["420000"], suspension_max_months=3, suspension_total_max_months=4
    )
    change = submitted(Kind.SUSPENSION, registrar, student, ends_on=date(2026, 5, 2))
    run_chain(change, [principal, county_reviewer])
    with pytest.raises(DomainError, match="一次最长 3 个月"):
        started(Kind.EXTENSION, registrar, student, ends_on=date(2026, 8, 3))
    with time_machine.travel(datetime(2026, 5, 4, 10, 0, tzinfo=SHANGHAI)):
        change = submitted(Kind.RESUMPTION, registrar, student, to_class=class_of(school, 1))
        run_chain(change, [principal, county_reviewer])
        # 63 days used of four months: a new suspension from 4 May may run to 3 July.
        with pytest.raises(DomainError, match=r"已休学 63 天.*最迟至 2026-07-03"):
            started(Kind.SUSPENSION, registrar, student, starts_on=date(2026, 5, 4), ends_on=date(2026, 7, 4))
        change = started(
            Kind.SUSPENSION, registrar, student, starts_on=date(2026, 5, 4), ends_on=date(2026, 7, 3)
        )
        assert change.ends_on == date(2026, 7, 3)


def test_an_extension_ends_later_than_the_suspension(registrar, suspended, student):
    with pytest.raises(DomainError, match="2026-12-31"):
        started(Kind.EXTENSION, registrar, suspended, ends_on=date(2026, 12, 1))
    with pytest.raises(DomainError, match="未休学"):
        started(Kind.EXTENSION, registrar, enrolled(class_of(registrar.node, 1, "2班"), name="在校生"))


def test_resumption_needs_a_suspension_and_a_grade_next_to_the_old_one(registrar, student, suspended, school):
    other = enrolled(class_of(school, 1, "2班"), name="在校生")
    with pytest.raises(DomainError, match="未休学"):
        started(Kind.RESUMPTION, registrar, other, to_class=class_of(school, 1))
    with pytest.raises(DomainError, match="相邻"):
        started(Kind.RESUMPTION, registrar, suspended, to_class=class_of(school, 3))
    with pytest.raises(DomainError, match="选择转入的班级"):
        started(Kind.RESUMPTION, registrar, suspended)


def test_repeating_and_skipping_move_one_grade(registrar, third_class, school):
    pupil = enrolled(third_class)
    with pytest.raises(DomainError, match="二年级"):
        started(Kind.REPEAT, registrar, pupil, to_class=class_of(school, 1))
    with pytest.raises(DomainError, match="四年级"):
        started(Kind.SKIP, registrar, pupil, to_class=class_of(school, 5))


def test_a_reason_and_an_explanation_are_required(registrar, student):
    with pytest.raises(DomainError, match="说明"):
        started(Kind.ABROAD, registrar, student, explanation="  ")
    with pytest.raises(DomainError, match="原因"):
        started(Kind.SUSPENSION, registrar, student, reason="")


# --- evidence -------------------------------------------------------------------------------------


def test_submission_needs_the_required_evidence(registrar, pupil_at_huaqiao, third_class):
    change = started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)
    services.add_evidence(change, by=registrar, uploaded_file=png("户口本.png"), kind=EvidenceType.HUKOU_BOOK)
    with pytest.raises(DomainError, match="户口迁移证 / 父母工作调动证明 / 房产证或租房合同"):
        services.submit_request(change, by=registrar)
    services.add_evidence(change, by=registrar, uploaded_file=png(), kind=EvidenceType.PROPERTY)
    assert services.submit_request(change, by=registrar).approval.state == ApprovalState.SUBMITTED


def test_a_suspension_for_illness_needs_the_hospital(registrar, student):
    change = started(Kind.SUSPENSION, registrar, student, reason="illness")
    required = [group[0] for group in rules.required_evidence(change)]
    assert required == [EvidenceType.APPLICATION, EvidenceType.HOSPITAL, EvidenceType.MEDICAL_RECORD]


def test_evidence_is_checked_by_its_content(registrar, student, settings):
    change = started(Kind.ABROAD, registrar, student)
    fake = SimpleUploadedFile("护照.jpg", b"not an image at all", content_type="image/jpeg")
    with pytest.raises(DomainError, match="既不是 JPG 或 PNG 图片，也不是 PDF"):
        services.add_evidence(change, by=registrar, uploaded_file=fake, kind=EvidenceType.PASSPORT)
    buffer = io.BytesIO()
    Image.new("RGB", (600, 800), "white").save(buffer, "PDF")
    pdf = SimpleUploadedFile("护照.pdf", buffer.getvalue())
    evidence = services.add_evidence(change, by=registrar, uploaded_file=pdf, kind=EvidenceType.PASSPORT)
    # A PDF is kept as a picture of its pages.
    assert (evidence.content_type, evidence.original_name) == ("image/jpeg", "护照.pdf")
    assert evidence.download_name == "护照.jpg"
    assert evidence.file.name.startswith("transfers/") and "护照" not in evidence.file.name
    settings.REGISTRAR = {**settings.REGISTRAR, "UPLOAD_MAX_BYTES": 1000}
    with pytest.raises(DomainError, match=r"文件(超过|大于)"):
        services.add_evidence(change, by=registrar, uploaded_file=png(noise=True), kind=EvidenceType.PASSPORT)
    assert Evidence.objects.filter(change=change).count() == 1


def test_evidence_must_belong_to_the_kind(registrar, student):
    change = started(Kind.ABROAD, registrar, student)
    with pytest.raises(DomainError, match="不属于"):
        services.add_evidence(change, by=registrar, uploaded_file=png(), kind=EvidenceType.HUKOU_BOOK)


def test_evidence_is_fixed_once_submitted(registrar, principal, student):
    change = submitted(Kind.ABROAD, registrar, student)
    with pytest.raises(DomainError, match="只有草稿或被退回"):
        services.add_evidence(fresh(change), by=registrar, uploaded_file=png(), kind=EvidenceType.OTHER)
    with pytest.raises(PermissionDenied):
        services.add_evidence(fresh(change), by=principal, uploaded_file=png(), kind=EvidenceType.OTHER)
    evidence = change.evidence.first()
    with pytest.raises(DomainError):
        services.remove_evidence(evidence, by=registrar)


def test_evidence_is_removed_from_a_draft(registrar, student):
    change = started(Kind.ABROAD, registrar, student)
    evidence = services.add_evidence(change, by=registrar, uploaded_file=png(), kind=EvidenceType.PASSPORT)
    services.remove_evidence(evidence, by=registrar)
    assert not Evidence.objects.filter(pk=evidence.pk).exists()
    assert AuditEvent.objects.for_object(change).filter(action="transfers.evidence.removed").exists()


# --- finding a student and who may start -------------------------------------------------------------


def test_the_receiving_school_finds_the_student_by_three_facts(registrar, school, pupil_at_huaqiao):
    found = services.find_student(
        number=pupil_at_huaqiao.number.lower(),
        name=" 李小红 ",
        id_number=pupil_at_huaqiao.id_number,
        by=registrar,
        receiving_school=school,
    )
    assert found == pupil_at_huaqiao
    for wrong in (
        {"number": pupil_at_huaqiao.number, "name": "李小", "id_number": pupil_at_huaqiao.id_number},
        {"number": pupil_at_huaqiao.number, "name": "李小红", "id_number": "420102201001010011"},
        {"number": "", "name": "李小红", "id_number": pupil_at_huaqiao.id_number},
    ):
        with pytest.raises(DomainError, match="没有找到"):
            services.find_student(**wrong, by=registrar, receiving_school=school)
    lookups = AuditEvent.objects.filter(action=services.LOOKUP_ACTION, actor=registrar).order_by("pk")
    assert [event.data["found"] for event in lookups] == [True, False, False, False]
    assert pupil_at_huaqiao.id_number[6:14] not in str(lookups.first().data)


def facts_of(student):
    return {"number": student.number, "name": student.name, "id_number": student.id_number}


def test_the_lookup_reveals_nothing_when_no_transfer_could_start(
    registrar, huaqiao_registrar, school, pupil_at_huaqiao
):
    with (
        time_machine.travel(datetime(2026, 4, 20, 10, 0, tzinfo=SHANGHAI)),
        pytest.raises(DomainError, match="转学"),
    ):
        services.find_student(**facts_of(pupil_at_huaqiao), by=registrar, receiving_school=school)
    # The window is checked before anything is looked up.
    assert not AuditEvent.objects.filter(action=services.LOOKUP_ACTION).exists()
    services.start_request(
        Kind.ABROAD, by=huaqiao_registrar, student=pupil_at_huaqiao, explanation="随父母出国"
    )
    with pytest.raises(DomainError, match="正在办理"):
        services.find_student(**facts_of(pupil_at_huaqiao), by=registrar, receiving_school=school)


def test_lookups_are_limited_per_user(registrar, school, pupil_at_huaqiao, settings):
    settings.REGISTRAR = {**settings.REGISTRAR, "IDENTITY_LOOKUPS_PER_HOUR": 1}
    services.find_student(**facts_of(pupil_at_huaqiao), by=registrar, receiving_school=school)
    with pytest.raises(DomainError, match="一小时内"):
        services.find_student(**facts_of(pupil_at_huaqiao), by=registrar, receiving_school=school)


def test_only_the_schools_registrar_starts_a_request(principal, outsider, county_reviewer, student):
    for user in (principal, outsider, county_reviewer):
        with pytest.raises(PermissionDenied):
            started(Kind.ABROAD, user, student)
    assert not StatusChangeRequest.objects.exists()


def test_each_step_is_decided_by_its_role_at_its_node(
    registrar, huaqiao_registrar, county_reviewer, principal, pupil_at_huaqiao, third_class
):
    change = submitted(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)
    approval = fresh(change).approval
    for user in (registrar, principal, county_reviewer):
        with pytest.raises(PermissionDenied):
            approvals.approve(approval, by=user)
    approval = approvals.approve(approval, by=huaqiao_registrar)
    with pytest.raises(PermissionDenied):
        approvals.approve(approval, by=huaqiao_registrar)
    assert approvals.approve(approval, by=county_reviewer).state == ApprovalState.APPROVED


def test_the_label_of_the_queue_masks_the_number(registrar, student):
    change = started(Kind.ABROAD, registrar, student)
    label = change.approval.subject_label
    assert label.startswith("张小明 G420102") and student.id_number not in label


# --- every kind through every ending -----------------------------------------------------------------


def _case(kind, tree, more_tree, registrar, principal, county_reviewer, city_reviewer, school):
    """(applicant, reviewers, student, fields) for a request of `kind` along its default chain."""
    fields = {}
    if kind == Kind.TRANSFER_OUT:
        fields = {
            "reason": "moved",
            "outside": {"outside_school": "大良实验小学", "outside_province": "广东省"},
        }
    if kind == Kind.TRANSFER:
        huaqiao = more_tree["1420102002"]
        sending = make_user("huaqiao", huaqiao, [Role.SCHOOL_REGISTRAR])
        student = enrolled(class_of(huaqiao, 3), name="转学生")
        return registrar, [sending, county_reviewer], student, {"to_class": class_of(school, 3)}
    if kind == Kind.WITHDRAWAL:
        sixth = tree["1420102004"]
        applicant = make_user("liuzhong", sixth, [Role.SCHOOL_REGISTRAR])
        sixth_principal = make_user("liuzhong_principal", sixth, [Role.PRINCIPAL])
        return applicant, [sixth_principal, city_reviewer], enrolled(class_of(sixth, 11)), fields
    reviewers = [principal, county_reviewer]
    student = enrolled(class_of(school, 3))
    if kind in (Kind.EXTENSION, Kind.RESUMPTION):
        run_chain(submitted(Kind.SUSPENSION, registrar, student), reviewers)
    if kind in (Kind.RESUMPTION, Kind.REPEAT, Kind.SKIP):
        level = {Kind.RESUMPTION: 3, Kind.REPEAT: 2, Kind.SKIP: 4}[kind]
        fields["to_class"] = class_of(school, level, name="2班")
    return registrar, reviewers, reload(student), fields


def _record(student):
    student = reload(student)
    return (student.status, student.school_id, student.grade_id, student.school_class_id)


# A transfer in from outside the system starts from the record it enters, not from a student here:
# tests/test_transfers_outside.py takes it through its endings.
@pytest.mark.parametrize("kind", [kind for kind in Kind if kind != Kind.TRANSFER_IN])
def test_every_kind_is_rejected_withdrawn_returned_resubmitted_and_approved(
    kind, tree, more_tree, registrar, principal, county_reviewer, city_reviewer, school
):
    applicant, reviewers, student, fields = _case(
        kind, tree, more_tree, registrar, principal, county_reviewer, city_reviewer, school
    )
    before = _record(student)

    def first_reviewer(change):
        step = fresh(change).approval.current_step
        return next(u for u in reviewers if u.node_id == step.node_id and step.role in u.roles)

    rejected = submitted(kind, applicant, student, **fields)
    approvals.reject(fresh(rejected).approval, by=first_reviewer(rejected), comment="不符合条件")
    assert fresh(rejected).approval.state == ApprovalState.REJECTED and _record(student) == before

    withdrawn = submitted(kind, applicant, student, **fields)
    services.withdraw_request(withdrawn, by=applicant, comment="家长撤回")
    assert fresh(withdrawn).approval.state == ApprovalState.WITHDRAWN and _record(student) == before

    change = submitted(kind, applicant, student, **fields)
    approvals.return_for_revision(fresh(change).approval, by=first_reviewer(change), comment="请补充说明")
    assert _record(student) == before
    change = services.update_request(fresh(change), by=applicant, changes={"explanation": "已补充说明"})
    change = services.submit_request(change, by=applicant)
    change = run_chain(change, reviewers)
    assert (change.approval.state, change.approval.round) == (ApprovalState.APPROVED, 2)
    # A transfer's second event enrols the student at the receiving school.
    final = lifecycle.target(Event.TRANSFERRED_IN if kind == Kind.TRANSFER else rules.KIND_EVENTS[kind])
    assert reload(student).status == final
    if kind == Kind.EXTENSION:
        assert Suspension.objects.get(student=student, ended_on=None).ends_on == change.ends_on
    else:
        assert _record(student) != before
