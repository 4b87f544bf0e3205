"""The approval engine: chains end to end, permissions per step, comments, hooks, scope."""

import pytest
from django.core.exceptions import PermissionDenied

from registrar import approvals
from registrar.approvals import ApprovalError, ApprovalKind, register_kind
from registrar.audit import record_event
from registrar.choices import Role
from registrar.models import (
    ApprovalRequest,
    ApprovalState,
    ApprovalStep,
    AuditEvent,
    Decision,
    DecisionAction,
    StepState,
)
from tests.conftest import make_user

SAMPLE = "tests.sample"
FAILING = "tests.failing"


def _applied(request, by):
    record_event("tests.sample.applied", actor=by, obj=request)


def _rejected(request, by):
    record_event("tests.sample.rejected_hook", actor=by, obj=request)


def _withdrawn(request, by):
    record_event("tests.sample.withdrawn_hook", actor=by, obj=request)


def _returned(request, by):
    record_event("tests.sample.returned_hook", actor=by, obj=request)


def _refuse(request, by):
    raise ApprovalError("规则不允许")


register_kind(
    ApprovalKind(
        SAMPLE,
        "测试申请",
        on_approved=_applied,
        on_rejected=_rejected,
        on_withdrawn=_withdrawn,
        on_returned=_returned,
    )
)
register_kind(ApprovalKind(FAILING, "总会失败的申请", on_approved=_refuse))


def new_request(registrar, school, *, kind=SAMPLE, label="张三 G420102201501010011", context=None):
    return approvals.create_request(kind, by=registrar, school=school, subject_label=label, context=context)


def submitted(registrar, school, **kwargs):
    return approvals.submit(new_request(registrar, school, **kwargs), by=registrar)


def steps_of(request):
    return list(ApprovalStep.objects.filter(request=request).order_by("round", "position"))


def events(action):
    return AuditEvent.objects.filter(action=action)


# --- creating and submitting -----------------------------------------------------------------------


def test_a_new_request_is_a_draft_of_the_registrar(registrar, school):
    request = new_request(registrar, school)
    assert request.state == ApprovalState.DRAFT
    assert (request.applicant, request.applicant_node, request.school) == (registrar, school, school)
    assert request.nodes == {"school": school.code}
    assert events(f"{SAMPLE}.created").count() == 1


def test_only_an_applicant_role_creates_a_request(principal, school):
    with pytest.raises(PermissionDenied):
        new_request(principal, school)


def test_a_request_cannot_be_made_for_a_school_outside_the_applicants_node(registrar, other_school):
    with pytest.raises(PermissionDenied):
        new_request(registrar, other_school)


def test_submitting_resolves_the_chain_and_starts_the_first_step(registrar, school, tree):
    request = submitted(registrar, school)
    assert request.state == ApprovalState.SUBMITTED
    assert request.chain_key == "*:*:*"
    first, second = steps_of(request)
    assert (first.role, first.node, first.state) == (Role.PRINCIPAL, school, StepState.CURRENT)
    assert (second.role, second.node, second.state) == (
        Role.COUNTY_REVIEWER,
        tree["420102"],
        StepState.WAITING,
    )
    assert request.current_step == first
    assert first.started_at is not None and first.due_date is not None
    assert Decision.objects.get(request=request).action == DecisionAction.SUBMITTED
    assert request.history.first().history_user == registrar


def test_only_the_applicant_side_submits(registrar, principal, school):
    request = new_request(registrar, school)
    with pytest.raises(PermissionDenied):
        approvals.submit(request, by=principal)
    assert ApprovalRequest.objects.get(pk=request.pk).state == ApprovalState.DRAFT


def test_a_request_is_submitted_once(registrar, school):
    request = submitted(registrar, school)
    with pytest.raises(ApprovalError, match="已提交"):
        approvals.submit(request, by=registrar)


def test_the_state_changes_only_through_transitions(registrar, school):
    request = new_request(registrar, school)
    with pytest.raises(AttributeError):
        request.state = ApprovalState.APPROVED


def test_a_kind_may_refuse_submission(registrar, school):
    def not_ready(request):
        raise ApprovalError("请先上传证明材料。")

    register_kind(ApprovalKind("tests.unready", "未备齐的申请", validate_submit=not_ready))
    request = new_request(registrar, school, kind="tests.unready")
    with pytest.raises(ApprovalError, match="证明材料"):
        approvals.submit(request, by=registrar)
    assert not ApprovalStep.objects.filter(request=request).exists()


# --- the chain, end to end -------------------------------------------------------------------------


def test_the_chain_approves_step_by_step_and_applies_the_effect_at_the_end(
    registrar, principal, county_reviewer, school
):
    request = submitted(registrar, school)
    request = approvals.approve(request, by=principal, comment="同意")
    assert request.state == ApprovalState.IN_REVIEW
    first, second = steps_of(request)
    assert (first.state, first.decided_by, first.comment) == (StepState.APPROVED, principal, "同意")
    assert second.state == StepState.CURRENT and request.current_step == second
    assert not events("tests.sample.applied").exists()

    request = approvals.approve(request, by=county_reviewer)
    assert request.state == ApprovalState.APPROVED
    assert request.current_step is None and request.decided_at is not None
    assert events("tests.sample.applied").count() == 1
    assert list(request.decisions.values_list("action", "actor__username")) == [
        ("submitted", "registrar"),
        ("approved", "principal"),
        ("approved", "county"),
    ]
    assert events(f"{SAMPLE}.step_approved").count() == 1
    assert events(f"{SAMPLE}.approved").count() == 1


def test_a_failing_effect_undoes_the_last_approval(registrar, principal, county_reviewer, school):
    request = submitted(registrar, school, kind=FAILING)
    request = approvals.approve(request, by=principal)
    with pytest.raises(ApprovalError, match="规则不允许"):
        approvals.approve(request, by=county_reviewer)
    request = ApprovalRequest.objects.get(pk=request.pk)
    assert request.state == ApprovalState.IN_REVIEW
    assert request.current_step.state == StepState.CURRENT
    assert request.decisions.filter(actor=county_reviewer).count() == 0


def test_rejection_needs_a_reason(registrar, principal, school):
    request = submitted(registrar, school)
    with pytest.raises(ApprovalError, match="必须填写理由"):
        approvals.reject(request, by=principal, comment="  ")
    request = ApprovalRequest.objects.get(pk=request.pk)
    assert request.state == ApprovalState.SUBMITTED
    assert request.current_step.state == StepState.CURRENT


def test_a_rejection_ends_the_request(registrar, principal, school):
    request = submitted(registrar, school)
    request = approvals.reject(request, by=principal, comment="证明材料不实")
    assert request.state == ApprovalState.REJECTED
    assert [step.state for step in steps_of(request)] == [StepState.REJECTED, StepState.SKIPPED]
    assert request.decisions.last().comment == "证明材料不实"
    assert events("tests.sample.rejected_hook").count() == 1
    assert approvals.available_actions(request, registrar) == []


def test_a_return_needs_a_reason(registrar, principal, school):
    request = submitted(registrar, school)
    with pytest.raises(ApprovalError, match="必须填写理由"):
        approvals.return_for_revision(request, by=principal, comment="")


def test_a_returned_request_is_resubmitted_and_reviewed_from_the_first_step(
    registrar, principal, county_reviewer, school
):
    request = submitted(registrar, school)
    request = approvals.approve(request, by=principal)
    request = approvals.return_for_revision(request, by=county_reviewer, comment="缺户口本")
    assert request.state == ApprovalState.RETURNED
    assert events("tests.sample.returned_hook").count() == 1
    assert approvals.available_actions(request, registrar) == [approvals.RESUBMIT, approvals.WITHDRAW]

    request = approvals.resubmit(request, by=registrar, comment="已补户口本", subject_label="张三（补）")
    assert (request.state, request.round, request.subject_label) == (ApprovalState.SUBMITTED, 2, "张三（补）")
    old_first, old_second, new_first, new_second = steps_of(request)
    assert (old_first.state, old_second.state) == (StepState.APPROVED, StepState.RETURNED)
    assert (new_first.state, new_second.state) == (StepState.CURRENT, StepState.WAITING)
    assert request.current_step == new_first

    request = approvals.approve(request, by=principal)
    request = approvals.approve(request, by=county_reviewer)
    assert request.state == ApprovalState.APPROVED
    assert request.decisions.filter(action=DecisionAction.RESUBMITTED).count() == 1


def test_the_applicant_withdraws_a_request_under_review(registrar, principal, school):
    request = approvals.approve(submitted(registrar, school), by=principal)
    with pytest.raises(PermissionDenied):
        approvals.withdraw(request, by=principal)
    request = approvals.withdraw(request, by=registrar, comment="家长改变主意")
    assert request.state == ApprovalState.WITHDRAWN
    assert [step.state for step in steps_of(request)] == [StepState.APPROVED, StepState.SKIPPED]
    assert events("tests.sample.withdrawn_hook").count() == 1
    with pytest.raises(ApprovalError, match="已撤回"):
        approvals.withdraw(request, by=registrar)


def test_another_registrar_of_the_school_may_act_for_the_applicant(registrar, school):
    colleague = make_user("registrar2", school, [Role.SCHOOL_REGISTRAR])
    request = approvals.submit(new_request(registrar, school), by=colleague)
    assert request.state == ApprovalState.SUBMITTED


# --- who decides each step -------------------------------------------------------------------------


def test_each_step_is_decided_only_by_its_role_at_its_node(
    registrar, principal, county_reviewer, outsider_reviewer, city_reviewer, school, other_school
):
    request = submitted(registrar, school)
    other_principal = make_user("other_principal", other_school, [Role.PRINCIPAL])
    for user in (registrar, county_reviewer, other_principal, city_reviewer):
        with pytest.raises(PermissionDenied):
            approvals.approve(request, by=user)
    request = approvals.approve(request, by=principal)
    for user in (principal, outsider_reviewer, city_reviewer):
        with pytest.raises(PermissionDenied):
            approvals.approve(request, by=user)
    assert ApprovalRequest.objects.get(pk=request.pk).state == ApprovalState.IN_REVIEW


def test_not_even_a_superuser_decides_a_step(registrar, school):
    admin = make_user("admin", None, [], is_superuser=True)
    request = submitted(registrar, school)
    with pytest.raises(PermissionDenied):
        approvals.approve(request, by=admin)


def test_available_actions_follow_the_step(registrar, principal, county_reviewer, school):
    request = new_request(registrar, school)
    assert approvals.available_actions(request, registrar) == [approvals.SUBMIT, approvals.WITHDRAW]
    assert approvals.available_actions(request, principal) == []
    request = approvals.submit(request, by=registrar)
    assert approvals.available_actions(request, principal) == [
        approvals.APPROVE,
        approvals.RETURN,
        approvals.REJECT,
    ]
    assert approvals.available_actions(request, county_reviewer) == []
    assert approvals.available_actions(request, registrar) == [approvals.WITHDRAW]


def test_a_step_decided_meanwhile_is_refused_with_who_and_when(registrar, principal, school):
    second_principal = make_user("李校长", school, [Role.PRINCIPAL])
    request = submitted(registrar, school)
    seen = request.current_step_id
    approvals.approve(request, by=second_principal, step_id=seen)
    with pytest.raises(ApprovalError, match=r"该步骤已由李校长于.*处理"):
        approvals.approve(request, by=principal, step_id=seen)
    assert Decision.objects.filter(request=request, action=DecisionAction.APPROVED).count() == 1


def test_a_stale_step_of_someone_else_is_forbidden(registrar, principal, county_reviewer, school):
    request = submitted(registrar, school)
    seen = request.current_step_id
    approvals.approve(request, by=principal, step_id=seen)
    with pytest.raises(PermissionDenied):
        approvals.approve(request, by=county_reviewer, step_id=seen)


def test_a_step_of_a_withdrawn_request_says_so(registrar, principal, school):
    request = submitted(registrar, school)
    seen = request.current_step_id
    approvals.withdraw(request, by=registrar)
    with pytest.raises(ApprovalError, match="已撤回"):
        approvals.approve(request, by=principal, step_id=seen)


# --- scope -----------------------------------------------------------------------------------------


@pytest.fixture
def cross_county(settings):
    """A kind whose second step sits at the county of another school, as in a transfer."""
    settings.REGISTRAR = {
        **settings.REGISTRAR,
        "APPROVAL_CHAINS": {"tests.cross": "principal@school, county_reviewer@county(sending_school)"},
    }
    register_kind(ApprovalKind("tests.cross", "跨县测试"))


def test_a_reviewer_of_any_step_sees_the_request(
    cross_county, registrar, principal, outsider_reviewer, outsider, city_reviewer, school, other_school
):
    request = approvals.create_request(
        "tests.cross",
        by=registrar,
        school=school,
        subject_label="李四",
        context={"sending_school": other_school},
    )
    approvals.submit(request, by=registrar)
    assert list(ApprovalRequest.objects.visible_to(outsider_reviewer)) == [request]
    assert list(ApprovalRequest.objects.visible_to(city_reviewer)) == [request]
    assert list(ApprovalRequest.objects.visible_to(outsider)) == []
    request = approvals.approve(request, by=principal)
    assert approvals.available_actions(request, outsider_reviewer) == [
        approvals.APPROVE,
        approvals.RETURN,
        approvals.REJECT,
    ]
    assert approvals.approve(request, by=outsider_reviewer).state == ApprovalState.APPROVED


def test_a_class_teacher_sees_no_requests(registrar, class_teacher, principal, school):
    submitted(registrar, school)
    assert ApprovalRequest.objects.visible_to(class_teacher).count() == 0
    assert ApprovalRequest.objects.visible_to(principal).count() == 1


def test_the_chain_is_resolved_again_on_resubmission(
    cross_county, registrar, principal, outsider_reviewer, county_reviewer, school, other_school, tree
):
    request = approvals.create_request(
        "tests.cross",
        by=registrar,
        school=school,
        subject_label="李四",
        context={"sending_school": other_school},
    )
    request = approvals.return_for_revision(
        approvals.submit(request, by=registrar), by=principal, comment="学校错了"
    )
    request = approvals.resubmit(request, by=registrar, context={"sending_school": tree["1420102004"]})
    assert request.nodes == {"school": school.code, "sending_school": "1420102004"}
    assert [step.node.code for step in steps_of(request)[2:]] == [school.code, "420102"]


def test_an_unresolvable_chain_is_refused_with_a_message(cross_county, registrar, school):
    request = approvals.create_request("tests.cross", by=registrar, school=school, subject_label="李四")
    with pytest.raises(ApprovalError, match="无法为本申请确定审核步骤"):
        approvals.submit(request, by=registrar)
    assert ApprovalRequest.objects.get(pk=request.pk).state == ApprovalState.DRAFT


def test_the_timeline_names_the_kinds_events(registrar, school):
    from registrar.events import describe

    request = submitted(registrar, school)
    event = AuditEvent.objects.get(action=f"{SAMPLE}.submitted", object_id=str(request.pk))
    assert describe(event) == "测试申请：提交审核"
