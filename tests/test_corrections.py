"""Key-data corrections: the checks before submission, the windows, the chain, and the atomic apply."""

from datetime import date, datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from corrections import rules, services
from corrections.models import Correction, FieldChange, Group
from corrections.rules import EvidenceKind
from registrar import approvals
from registrar.approvals import ApprovalError
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.models import ApprovalState, AuditEvent, Decision, StepState
from students.models import Event, Student
from students.services import create_student, record_status_event
from students.timeline import student_timeline
from tests.conftest import make_user
from tests.correction_helpers import (
    INPUT,
    LIFE,
    NOW,
    SHANGHAI,
    approved_through,
    attach,
    attach_required,
    class_of_level,
    enrol,
    ethnicity_change,
    new_id_for,
    submitted_correction,
)
from tests.rules_helpers import set_rule
from tests.student_helpers import guardian_data, make_id, student_data


@pytest.fixture(autouse=True)
def _fixed_day():
    with time_machine.travel(NOW):
        yield


@pytest.fixture
def student(registrar, school_class):
    return enrol(registrar, school_class)


@pytest.fixture
def third_grader(registrar, school):
    return enrol(registrar, class_of_level(school, 3), name="李小红", sequence=2)


def refused(call, *args, **kwargs):
    with pytest.raises(DomainError) as error:
        call(*args, **kwargs)
    return error.value


def fresh(student):
    return Student.objects.get(pk=student.pk)


# --- making a request --------------------------------------------------------------------------------


def test_a_request_is_a_draft_keeping_old_and_new_values(registrar, student):
    correction = services.create_correction(
        student, by=registrar, changes={"ethnicity": ("03", LIFE)}, note="  父母更正了民族  "
    )

    approval = correction.approval
    assert (approval.kind, approval.state) == ("corrections.correction", ApprovalState.DRAFT)
    assert approval.subject_key == f"student:{student.pk}"
    # The 学籍号 of a G number holds the ID number: queues see it masked.
    assert approval.subject_label == f"张小明 G{student.id_number[:6]}********{student.id_number[-4:]}"
    assert approval.facts == {"segment": "primary"}
    assert correction.note == "父母更正了民族"
    assert correction.group == Group.NEW
    change = correction.changes.get()
    assert (change.field, change.old_value, change.new_value, change.reason) == (
        "ethnicity",
        "01",
        "03",
        LIFE,
    )
    assert (change.old_display, change.new_display, change.get_reason_display()) == (
        "汉族",
        "回族",
        "信息变更",
    )
    assert fresh(student).ethnicity == "01"


def test_values_are_kept_as_text_and_shown_as_labels(registrar, student):
    birth = date(student.birth_date.year, 5, 1)
    correction = services.create_correction(
        student,
        by=registrar,
        changes={"birth_date": (birth, INPUT), "id_number": (make_id(birth=birth, sequence=1), INPUT)},
    )
    values = {change.field: (change.old_value, change.new_value) for change in correction.changes.all()}
    assert values["birth_date"] == (student.birth_date.isoformat(), birth.isoformat())
    assert [change.field for change in correction.changes.all()] == ["birth_date", "id_number"]


def test_only_the_registrar_of_the_students_school_makes_a_request(
    principal, outsider, county_reviewer, student
):
    for user in (principal, outsider, county_reviewer):
        with pytest.raises(PermissionDenied):
            services.create_correction(student, by=user, changes={"ethnicity": ("03", LIFE)})
    assert not Correction.objects.exists()


def test_a_request_changes_something(registrar, student):
    error = refused(services.create_correction, student, by=registrar, changes={})
    assert error.errors == {"__all__": ["请至少填写一项要更正的信息。"]}

    error = refused(services.create_correction, student, by=registrar, changes={"ethnicity": ("01", LIFE)})
    assert error.errors == {"ethnicity": ["新的民族与当前相同。"]}


def test_each_change_has_a_reason(registrar, student):
    error = refused(services.create_correction, student, by=registrar, changes={"ethnicity": ("03", "")})
    assert error.errors == {"ethnicity": ["请选择更正民族的原因。"]}


def test_name_and_id_number_never_in_one_request(registrar, student):
    error = refused(
        services.create_correction,
        student,
        by=registrar,
        changes={"name": ("张晓明", LIFE), "id_number": (new_id_for(student), LIFE)},
    )
    assert error.errors["__all__"] == [
        "姓名和身份证件号不能在同一申请中更正：请先更正其中一项，待其通过后另行申请更正另一项。"
    ]


def test_a_new_value_is_checked_like_the_record(registrar, student):
    error = refused(services.create_correction, student, by=registrar, changes={"name": ("张3", LIFE)})
    assert error.errors == {"name": ["姓名中不能有数字。"]}

    error = refused(services.create_correction, student, by=registrar, changes={"ethnicity": ("77", LIFE)})
    assert list(error.errors) == ["ethnicity"]


def test_a_new_id_number_must_be_valid(registrar, student):
    wrong = new_id_for(student)[:17] + ("0" if new_id_for(student)[17] != "0" else "1")
    error = refused(services.create_correction, student, by=registrar, changes={"id_number": (wrong, LIFE)})
    assert list(error.errors) == ["id_number"]
    assert "校验位" in error.errors["id_number"][0]


def test_a_new_id_number_must_agree_with_birth_date_and_sex(registrar, student):
    other_birth = date(student.birth_date.year, 1, 2)
    new_id = make_id(birth=other_birth, sequence=2)
    error = refused(services.create_correction, student, by=registrar, changes={"id_number": (new_id, INPUT)})

    assert error.errors == {
        "id_number": [
            f"身份证件号显示出生日期为{other_birth.isoformat()}，但更正后记录中为{student.birth_date.isoformat()}："
            "请在本申请中一并更正出生日期和身份证件号。",
            "身份证件号显示性别为女，但更正后记录中为男：请在本申请中一并更正性别和身份证件号。",
        ]
    }


def test_birth_date_and_sex_are_changed_together_with_the_id(registrar, student):
    other_birth = date(student.birth_date.year, 1, 2)
    correction = services.create_correction(
        student,
        by=registrar,
        changes={
            "id_number": (make_id(birth=other_birth, sequence=2), INPUT),
            "birth_date": (other_birth, INPUT),
            "gender": ("2", INPUT),
        },
    )
    assert correction.changes.count() == 3


def test_sex_alone_cannot_contradict_the_id(registrar, student):
    error = refused(services.create_correction, student, by=registrar, changes={"gender": ("2", INPUT)})
    assert error.errors == {
        "gender": ["身份证件号显示性别为男，但更正后记录中为女：请在本申请中一并更正性别和身份证件号。"]
    }


def test_no_other_live_record_may_hold_the_new_id(registrar, student, school_class):
    other = enrol(registrar, school_class, name="王小军", sequence=3)
    error = refused(
        services.create_correction, student, by=registrar, changes={"id_number": (other.id_number, INPUT)}
    )
    assert list(error.errors) == ["id_number"]
    assert "王小军" in error.errors["id_number"][0] and "严禁双学籍" in error.errors["id_number"][0]


def test_no_ended_record_may_hold_the_new_id_either(registrar, student, school_class):
    other = enrol(registrar, school_class, name="王小军", sequence=3)
    record_status_event(other, event=Event.LEFT, by=registrar, occurred_on=date(2025, 10, 1))
    error = refused(
        services.create_correction, student, by=registrar, changes={"id_number": (other.id_number, INPUT)}
    )
    assert "王小军" in error.errors["id_number"][0] and "其他离校" in error.errors["id_number"][0]


def test_an_outsider_learns_only_the_region_of_the_holder(registrar, outsider, student, other_school):
    other_class = class_of_level(other_school, 1)
    new_id = new_id_for(student)
    holder = create_student(
        by=outsider,
        school=other_school,
        data=student_data(other_class, name="赵小强", id_number=new_id),
        guardians=[guardian_data()],
    )
    error = refused(services.create_correction, student, by=registrar, changes={"id_number": (new_id, INPUT)})
    assert holder.name not in error.errors["id_number"][0]
    assert "宜昌市夷陵区" in error.errors["id_number"][0]


def test_a_student_with_another_open_request_is_refused(registrar, student):
    ethnicity_change(registrar, student)
    error = refused(services.create_correction, student, by=registrar, changes={"name": ("张晓明", LIFE)})
    assert "有正在办理的业务" in error.message


def test_a_graduate_is_refused_except_through_a_reversal(registrar, student):
    record_status_event(student, event=Event.GRADUATED, by=registrar, occurred_on=date(2025, 10, 1))
    error = refused(ethnicity_change, registrar, student)
    assert error.message == (
        "张小明 已以“毕业”状态离校：毕业生的关键数据只能在主管部门办理毕业生回退后更正。"
    )


def test_a_registration_in_review_is_revised_instead(registrar, school_class):
    from tests.student_helpers import register

    student = register(registrar, school_class)
    error = refused(ethnicity_change, registrar, student)
    assert "通过修改注册信息" in error.message


def test_a_record_that_ended_is_closed(registrar, student):
    record_status_event(student, event=Event.LEFT, by=registrar, occurred_on=date(2025, 10, 1))
    error = refused(ethnicity_change, registrar, student)
    assert "已关闭" in error.message


# --- windows -----------------------------------------------------------------------------------------


def test_an_input_error_of_a_new_student_is_accepted_in_the_first_term(registrar, student):
    correction = ethnicity_change(registrar, student, reason=INPUT)
    assert correction.group == Group.NEW


def test_an_input_error_is_refused_after_the_first_term(registrar, student):
    with time_machine.travel(datetime(2026, 2, 1, 9, 0, tzinfo=SHANGHAI)):
        error = refused(ethnicity_change, registrar, student, reason=INPUT)
        assert error.errors == {
            "ethnicity": [
                "录入错误须在入学后第一学期内（2026-01-31 前）更正，此后只受理信息变更，"
                "或附书面说明、作为例外提交逾期更正，由县级审核批准。"
            ]
        }
        correction = ethnicity_change(registrar, student, reason=LIFE)
    assert correction.group == Group.ENROLLED


def test_a_late_input_error_goes_as_an_exception_to_the_county(registrar, student, tree):
    """A school submits a late correction with a written explanation; the county approves it
    explicitly, also for a high-school student, whose corrections otherwise go to the city."""
    six = tree["1420102004"]
    six_registrar = make_user("six", six, [Role.SCHOOL_REGISTRAR])
    senior = enrol(six_registrar, class_of_level(six, 10), name="孙高一", sequence=7)
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)):
        for applicant, pupil in ((registrar, student), (six_registrar, senior)):
            correction = services.create_correction(
                pupil,
                by=applicant,
                changes={"ethnicity": ("03", INPUT)},
                late_explanation="入学时民族录入有误，家长本学期才发现。",
            )
            attach(correction, applicant, EvidenceKind.ID_CARD)
            attach(correction, applicant, EvidenceKind.REGISTRATION_FORM)
            services.submit_correction(correction, by=applicant)
            approval = Correction.objects.get(pk=correction.pk).approval
            assert approval.chain_key == "corrections.late_correction:*:*"
            assert [step.role for step in approval.steps.order_by("position")] == [
                Role.PRINCIPAL,
                Role.COUNTY_REVIEWER,
            ]


def test_the_first_term_rule_is_a_province_switch(registrar, student, tree):
    set_rule(tree["420000"], "corrections", "input_errors_first_term_only", "no")
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)):
        assert ethnicity_change(registrar, student, reason=INPUT).group == Group.ENROLLED


def test_a_student_enrolled_in_an_earlier_year_is_in_school(registrar, school):
    older = enrol(
        registrar, class_of_level(school, 3), name="李小红", sequence=2, enrolled_on=date(2023, 9, 1)
    )
    error = refused(ethnicity_change, registrar, older, reason=INPUT)
    assert "2024-01-31" in error.errors["ethnicity"][0]
    assert ethnicity_change(registrar, older, reason=LIFE).group == Group.ENROLLED


@pytest.fixture
def sixth_grader(registrar, school):
    return enrol(registrar, class_of_level(school, 6), name="周大伟", sequence=5)


def test_graduating_students_are_frozen_after_the_date(registrar, sixth_grader, third_grader):
    with time_machine.travel(datetime(2026, 5, 30, 9, 0, tzinfo=SHANGHAI)):
        before = ethnicity_change(registrar, sixth_grader)
    services.withdraw_correction(before, by=registrar)
    with time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)):
        error = refused(ethnicity_change, registrar, sixth_grader)
        assert "毕业年级" in error.message
        # Other grades go on.
        ethnicity_change(registrar, third_grader)


def test_a_draft_made_before_the_freeze_cannot_be_submitted_after_it(registrar, sixth_grader):
    with time_machine.travel(datetime(2026, 5, 29, 9, 0, tzinfo=SHANGHAI)):
        correction = ethnicity_change(registrar, sixth_grader)
        attach(correction, registrar, EvidenceKind.ID_CARD)
    with (
        time_machine.travel(datetime(2026, 6, 2, 9, 0, tzinfo=SHANGHAI)),
        pytest.raises(ApprovalError) as error,
    ):
        services.submit_correction(correction, by=registrar)
    assert "毕业年级" in error.value.message
    assert Correction.objects.get(pk=correction.pk).approval.state == ApprovalState.DRAFT


# --- configured fields ---------------------------------------------------------------------------------


def test_a_province_adds_key_fields(registrar, student, tree):
    set_rule(tree["420000"], "corrections", "added_fields", "nationality")
    assert rules.correction_fields(rules.rules_in_force(student))[-1] == "nationality"
    correction = services.create_correction(student, by=registrar, changes={"nationality": ("344", LIFE)})
    assert correction.changes.get().new_display == "中国香港"


@pytest.mark.parametrize("field", ["grade", "school_class", "number", "status"])
def test_only_fields_of_the_record_may_be_added(student, tree, field):
    set_rule(tree["420000"], "corrections", "added_fields", field)
    assert field not in rules.correction_fields(rules.rules_in_force(student))


# --- submission ---------------------------------------------------------------------------------------


def test_a_request_is_not_submitted_until_its_evidence_is_complete(registrar, principal, student):
    correction = services.create_correction(student, by=registrar, changes={"name": ("张晓明", LIFE)})
    attach(correction, registrar, EvidenceKind.ID_CARD)

    with pytest.raises(ApprovalError) as error:
        services.submit_correction(correction, by=registrar)

    assert error.value.message == ("请补齐尚缺的证明材料：户口本曾用名页 或 公安机关出具的变更、更正证明。")
    assert Correction.objects.get(pk=correction.pk).approval.state == ApprovalState.DRAFT
    attach(correction, registrar, EvidenceKind.POLICE)
    approval = services.submit_correction(correction, by=registrar)
    assert approval.state == ApprovalState.SUBMITTED
    assert (approval.current_step.role, approval.current_step.node) == (Role.PRINCIPAL, student.school)


# --- the chain -----------------------------------------------------------------------------------------


def test_the_chain_is_principal_then_county(registrar, principal, county_reviewer, student, tree):
    correction = submitted_correction(registrar, student)
    steps = list(correction.approval.steps.order_by("position"))
    assert [(step.role, step.node) for step in steps] == [
        (Role.PRINCIPAL, student.school),
        (Role.COUNTY_REVIEWER, tree["420102"]),
    ]


def test_a_senior_student_goes_to_the_city(registrar, tree):
    six = tree["1420102004"]
    six_registrar = make_user("six", six, [Role.SCHOOL_REGISTRAR])
    senior = enrol(six_registrar, class_of_level(six, 10), name="孙高一", sequence=7)
    correction = submitted_correction(six_registrar, senior)
    assert [(step.role, step.node) for step in correction.approval.steps.order_by("position")] == [
        (Role.PRINCIPAL, six),
        (Role.CITY_REVIEWER, tree["420100"]),
    ]


def test_the_last_approval_applies_the_change_and_keeps_the_number(
    registrar, principal, county_reviewer, student
):
    number = student.number
    correction = submitted_correction(registrar, student)

    approval = approvals.approve(correction.approval, by=principal)
    assert approval.state == ApprovalState.IN_REVIEW
    assert fresh(student).ethnicity == "01"
    approval = approvals.approve(approval, by=county_reviewer)

    assert approval.state == ApprovalState.APPROVED
    changed = fresh(student)
    assert (changed.ethnicity, changed.number) == ("03", number)
    assert Correction.objects.get(pk=correction.pk).applied_at is not None
    # The student is free for the next change.
    assert services.blockers(changed) == []


def test_an_id_correction_keeps_the_registration_number(registrar, principal, county_reviewer, student):
    number = student.number
    new_id = new_id_for(student)
    correction = services.create_correction(student, by=registrar, changes={"id_number": (new_id, LIFE)})
    attach(correction, registrar, EvidenceKind.ID_CARD, EvidenceKind.POLICE)
    services.submit_correction(correction, by=registrar)

    approved_through(correction, principal, county_reviewer)

    changed = fresh(student)
    assert changed.id_number == new_id
    assert changed.number == number == f"G{student.id_number}"


def test_the_applied_change_is_in_the_history_and_the_timeline(
    registrar, principal, county_reviewer, student
):
    correction = submitted_correction(registrar, student)
    approved_through(correction, principal, county_reviewer)

    record = fresh(student).history.first()
    assert record.history_user == county_reviewer
    assert record.history_change_reason == f"关键数据变更 #{correction.pk}：民族（信息变更）"
    event = AuditEvent.objects.get(action="corrections.correction.applied")
    assert (event.object_id, event.actor, event.node) == (str(student.pk), county_reviewer, student.school)
    assert event.data["changes"] == {"ethnicity": ["01", "03"]}
    assert event.data["reasons"] == {"ethnicity": "life_change"}
    assert event.data["url"] == f"/corrections/{correction.pk}/"
    assert [item["name"] for item in event.data["evidence"]] == ["身份证.jpg"]

    timeline = student_timeline(fresh(student), registrar)
    change_entry = next(entry for entry in timeline if entry.changes)
    assert [(change.field, change.old, change.new) for change in change_entry.changes] == [
        ("民族", "汉族", "回族")
    ]
    assert change_entry.reason == record.history_change_reason
    assert any(entry.title == "关键数据已更正" for entry in timeline)


def test_a_rejection_changes_nothing(registrar, principal, county_reviewer, student):
    correction = submitted_correction(registrar, student)
    approval = approvals.approve(correction.approval, by=principal)
    approval = approvals.reject(approval, by=county_reviewer, comment="证明材料与申请不符")

    assert approval.state == ApprovalState.REJECTED
    assert fresh(student).ethnicity == "01"
    assert Correction.objects.get(pk=correction.pk).applied_at is None
    assert not AuditEvent.objects.filter(action="corrections.correction.applied").exists()
    assert services.blockers(fresh(student)) == []


def test_a_returned_request_is_revised_and_resubmitted(registrar, principal, county_reviewer, student):
    correction = submitted_correction(registrar, student)
    approval = approvals.return_for_revision(correction.approval, by=principal, comment="应为维吾尔族")
    assert approval.state == ApprovalState.RETURNED

    services.update_correction(correction, by=registrar, changes={"ethnicity": ("05", LIFE)})
    attach(correction, registrar, EvidenceKind.ID_CARD)
    approval = services.submit_correction(correction, by=registrar, comment="已按意见修改")

    assert (approval.state, approval.round) == (ApprovalState.SUBMITTED, 2)
    assert approval.current_step.role == Role.PRINCIPAL
    approved_through(correction, principal, county_reviewer)
    assert fresh(student).ethnicity == "05"
    revised = AuditEvent.objects.get(action="corrections.correction.revised")
    assert (revised.data["before"], revised.data["after"]) == (
        {"ethnicity": ["01", "03"]},
        {"ethnicity": ["01", "05"]},
    )


def test_a_request_in_review_cannot_be_changed(registrar, principal, student):
    correction = submitted_correction(registrar, student)
    error = refused(services.update_correction, correction, by=registrar, changes={"ethnicity": ("05", LIFE)})
    assert "只有草稿或被退回的申请可以修改" in error.message
    with pytest.raises(PermissionDenied):
        services.update_correction(correction, by=principal, changes={"ethnicity": ("05", LIFE)})


def test_a_withdrawn_request_frees_the_student(registrar, principal, student):
    correction = submitted_correction(registrar, student)
    approvals.approve(correction.approval, by=principal)

    approval = services.withdraw_correction(correction, by=registrar, comment="家长另行申请")

    assert approval.state == ApprovalState.WITHDRAWN
    assert fresh(student).ethnicity == "01"
    assert services.blockers(fresh(student)) == []


def test_each_step_is_decided_only_by_its_role_at_its_node(
    registrar, principal, county_reviewer, outsider_reviewer, student
):
    correction = submitted_correction(registrar, student)
    for user in (registrar, county_reviewer, outsider_reviewer):
        with pytest.raises(PermissionDenied):
            approvals.approve(correction.approval, by=user)
    approval = approvals.approve(correction.approval, by=principal)
    for user in (registrar, principal, outsider_reviewer):
        with pytest.raises(PermissionDenied):
            approvals.approve(approval, by=user)


# --- the atomic apply ----------------------------------------------------------------------------------


def test_a_failure_inside_apply_undoes_the_final_decision(
    registrar, principal, county_reviewer, student, monkeypatch
):
    correction = submitted_correction(registrar, student)
    approval = approvals.approve(correction.approval, by=principal)
    decisions = Decision.objects.count()
    original = services.record_event

    def failing_record_event(action, **kwargs):
        if action == "corrections.correction.applied":
            # The record has been saved by now: the failure must take that back as well.
            assert Student.objects.get(pk=student.pk).ethnicity == "03"
            raise RuntimeError("audit log unavailable")
        return original(action, **kwargs)

    monkeypatch.setattr(services, "record_event", failing_record_event)
    with pytest.raises(RuntimeError):
        approvals.approve(approval, by=county_reviewer)

    assert fresh(student).ethnicity == "01"
    assert fresh(student).history.count() == student.history.count()
    approval.refresh_from_db()
    assert approval.state == ApprovalState.IN_REVIEW
    assert approval.current_step.state == StepState.CURRENT
    assert Decision.objects.count() == decisions
    assert Correction.objects.get(pk=correction.pk).applied_at is None


def test_an_id_taken_meanwhile_refuses_the_final_approval(
    registrar, principal, county_reviewer, student, school_class
):
    new_id = new_id_for(student)
    correction = services.create_correction(student, by=registrar, changes={"id_number": (new_id, LIFE)})
    attach(correction, registrar, EvidenceKind.ID_CARD, EvidenceKind.POLICE)
    services.submit_correction(correction, by=registrar)
    approval = approvals.approve(correction.approval, by=principal)
    # Another school registers a person under that number while the county still reviews.
    enrol(registrar, school_class, name="王小军", sequence=1, id_number=new_id, birth=student.birth_date)

    with pytest.raises(DomainError) as error:
        approvals.approve(approval, by=county_reviewer)

    assert "王小军" in error.value.message
    assert fresh(student).id_number == student.id_number
    approval.refresh_from_db()
    assert approval.state == ApprovalState.IN_REVIEW


def test_the_final_approval_is_refused_when_the_record_no_longer_holds_the_old_value(
    registrar, principal, county_reviewer, student
):
    correction = services.create_correction(student, by=registrar, changes={"ethnicity": ("03", INPUT)})
    attach_required(correction, registrar)
    services.submit_correction(correction, by=registrar)
    approval = approvals.approve(correction.approval, by=principal)
    # The record is put right by another path (a data repair, say) while the county still reviews.
    Student.objects.filter(pk=student.pk).update(ethnicity="05")

    with pytest.raises(DomainError, match="已不是申请时的") as error:
        approvals.approve(approval, by=county_reviewer)

    assert "维吾尔族" in error.value.message
    assert fresh(student).ethnicity == "05"
    approval.refresh_from_db()
    assert approval.state == ApprovalState.IN_REVIEW
    assert Correction.objects.get(pk=correction.pk).applied_at is None


# --- the requirements in the service ---------------------------------------------------------------------


def test_the_checklist_follows_the_changes(registrar, student):
    correction = services.create_correction(student, by=registrar, changes={"ethnicity": ("03", INPUT)})
    attach(correction, registrar, EvidenceKind.ID_CARD)

    checklist = [(requirement.label, met) for requirement, met in services.evidence_checklist(correction)]

    assert checklist == [("身份证（正反面在同一页） 或 户口本本人页", True), ("报名登记表", False)]
    attach_required(correction, registrar)
    assert services.submit_problems(correction) == []


def test_field_changes_are_ordered_as_the_fields(registrar, student):
    correction = services.create_correction(
        student, by=registrar, changes={"ethnicity": ("03", LIFE), "name": ("张晓明", LIFE)}
    )
    assert list(FieldChange.objects.filter(correction=correction).values_list("field", flat=True)) == [
        "name",
        "ethnicity",
    ]


def test_an_unknown_field_is_a_programming_error(registrar, student):
    with pytest.raises(ValueError):
        services.create_correction(student, by=registrar, changes={"phone": ("13900000000", LIFE)})
