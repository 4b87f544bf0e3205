"""The approval engine: chains end to end, permissions per step, comments, hooks, scope."""

import pytest
from django.core.exceptions import PermissionDenied

from registrar import approvals
from registrar.approvals import ApprovalError, ApprovalKind
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
from tests.approval_kinds import FAILING, SAMPLE
from tests.conftest import make_user
from tests.rules_helpers import set_rule

pytestmark = pytest.mark.usefixtures("test_kinds")


def new_request(registrar, school, *, kind=SAMPLE, label="张三 G420102201501010011", context=None):
    return approvals.create_request(kind, by=registrar, school=school, subject_label=label, context=context)


def submitted(registrar, school, **kwargs):
    return approvals.submit(new_request(registrar, school, **kwargs), by=registrar)


def steps_of(approval):
    return list(ApprovalStep.objects.filter(approval=approval).order_by("round", "position"))


def events(action):
    return AuditEvent.objects.filter(action=action)


# --- creating and submitting -----------------------------------------------------------------------


def test_a_new_request_is_a_draft_of_the_registrar(registrar, school):
    approval = new_request(registrar, school)
    assert approval.state == ApprovalState.DRAFT
    assert (approval.applicant, approval.applicant_node, approval.school) == (registrar, school, school)
    assert approval.nodes == {"school": school.code}
    assert events(f"{SAMPLE}.created").count() == 1


def test_only_an_applicant_role_creates_a_request(principal, school):
    with pytest.raises(PermissionDenied):
        new_request(principal, school)


def test_a_request_cannot_be_made_for_a_school_outside_the_applicants_node(registrar, other_school):
    with pytest.raises(PermissionDenied):
        new_request(registrar, other_school)


def test_submitting_resolves_the_chain_and_starts_the_first_step(registrar, school, tree):
    approval = submitted(registrar, school)
    assert approval.state == ApprovalState.SUBMITTED
    assert approval.chain_key == "*:*:*"
    first, second = steps_of(approval)
    assert (first.role, first.node, first.state) == (Role.PRINCIPAL, school, StepState.CURRENT)
    assert (second.role, second.node, second.state) == (
        Role.COUNTY_REVIEWER,
        tree["420102"],
        StepState.WAITING,
    )
    assert approval.current_step == first
    assert first.started_at is not None and first.due_date is not None
    assert Decision.objects.get(approval=approval).action == DecisionAction.SUBMITTED
    assert approval.history.first().history_user == registrar


def test_only_the_applicant_side_submits(registrar, principal, school):
    approval = new_request(registrar, school)
    with pytest.raises(PermissionDenied):
        approvals.submit(approval, by=principal)
    assert ApprovalRequest.objects.get(pk=approval.pk).state == ApprovalState.DRAFT


def test_a_request_is_submitted_once(registrar, school):
    approval = submitted(registrar, school)
    with pytest.raises(ApprovalError, match="已提交"):
        approvals.submit(approval, by=registrar)


def test_the_state_changes_only_through_transitions(registrar, school):
    approval = new_request(registrar, school)
    with pytest.raises(AttributeError):
        approval.state = ApprovalState.APPROVED


def test_a_kind_may_refuse_submission(registrar, school, register_test_kind):
    def not_ready(approval):
        raise ApprovalError("请先上传证明材料。")

    register_test_kind(ApprovalKind("tests.unready", "未备齐的申请", validate_submit=not_ready))
    approval = new_request(registrar, school, kind="tests.unready")
    with pytest.raises(ApprovalError, match="证明材料"):
        approvals.submit(approval, by=registrar)
    assert not ApprovalStep.objects.filter(approval=approval).exists()


# --- the chain, end to end -------------------------------------------------------------------------


def test_the_chain_approves_step_by_step_and_applies_the_effect_at_the_end(
    registrar, principal, county_reviewer, school
):
    approval = submitted(registrar, school)
    approval = approvals.approve(approval, by=principal, comment="同意")
    assert approval.state == ApprovalState.IN_REVIEW
    first, second = steps_of(approval)
    assert (first.state, first.decided_by, first.comment) == (StepState.APPROVED, principal, "同意")
    assert second.state == StepState.CURRENT and approval.current_step == second
    assert not events("tests.sample.applied").exists()

    approval = approvals.approve(approval, by=county_reviewer)
    assert approval.state == ApprovalState.APPROVED
    assert approval.current_step is None and approval.decided_at is not None
    assert events("tests.sample.applied").count() == 1
    assert list(approval.decisions.values_list("action", "actor__username")) == [
        ("submitted", "registrar"),
        ("approved", "principal"),
        ("approved", "county"),
    ]
    assert events(f"{SAMPLE}.step_approved").count() == 1
    assert events(f"{SAMPLE}.approved").count() == 1


def waiting_at(approval):
    """Where the request waits as stored, and where its current step is (both None when none is)."""
    approval = ApprovalRequest.objects.select_related("current_step").get(pk=approval.pk)
    step = approval.current_step
    return approval.current_node_id, step.node_id if step else None


def test_a_request_waits_at_its_current_steps_organisation_through_every_decision(
    registrar, principal, county_reviewer, school, tree
):
    """The queues find requests by the node they wait at: it moves with the current step and is
    cleared when no step is current."""
    county = tree["420102"].pk
    approval = submitted(registrar, school)
    assert waiting_at(approval) == (school.pk, school.pk)
    approval = approvals.approve(approval, by=principal)
    assert waiting_at(approval) == (county, county)
    approval = approvals.return_for_revision(approval, by=county_reviewer, comment="缺户口本")
    assert waiting_at(approval) == (None, None)
    approval = approvals.resubmit(approval, by=registrar)
    assert waiting_at(approval) == (school.pk, school.pk)
    approval = approvals.withdraw(approval, by=registrar)
    assert waiting_at(approval) == (None, None)

    rejected = approvals.reject(submitted(registrar, school), by=principal, comment="证明材料不实")
    assert waiting_at(rejected) == (None, None)
    approved = approvals.approve(
        approvals.approve(submitted(registrar, school), by=principal), by=county_reviewer
    )
    assert waiting_at(approved) == (None, None)
    assert approved.history.first().current_node_id is None


def test_a_failing_effect_undoes_the_last_approval(registrar, principal, county_reviewer, school):
    approval = submitted(registrar, school, kind=FAILING)
    approval = approvals.approve(approval, by=principal)
    with pytest.raises(ApprovalError, match="规则不允许"):
        approvals.approve(approval, by=county_reviewer)
    approval = ApprovalRequest.objects.get(pk=approval.pk)
    assert approval.state == ApprovalState.IN_REVIEW
    assert approval.current_step.state == StepState.CURRENT
    assert approval.decisions.filter(actor=county_reviewer).count() == 0


def test_rejection_needs_a_reason(registrar, principal, school):
    approval = submitted(registrar, school)
    with pytest.raises(ApprovalError, match="必须填写理由"):
        approvals.reject(approval, by=principal, comment="  ")
    approval = ApprovalRequest.objects.get(pk=approval.pk)
    assert approval.state == ApprovalState.SUBMITTED
    assert approval.current_step.state == StepState.CURRENT


def test_a_rejection_ends_the_request(registrar, principal, school):
    approval = submitted(registrar, school)
    approval = approvals.reject(approval, by=principal, comment="证明材料不实")
    assert approval.state == ApprovalState.REJECTED
    assert [step.state for step in steps_of(approval)] == [StepState.REJECTED, StepState.SKIPPED]
    assert approval.decisions.last().comment == "证明材料不实"
    assert events("tests.sample.rejected_hook").count() == 1
    assert approvals.available_actions(approval, registrar) == []


def test_a_return_needs_a_reason(registrar, principal, school):
    approval = submitted(registrar, school)
    with pytest.raises(ApprovalError, match="必须填写理由"):
        approvals.return_for_revision(approval, by=principal, comment="")


def test_a_returned_request_is_resubmitted_and_reviewed_from_the_first_step(
    registrar, principal, county_reviewer, school
):
    approval = submitted(registrar, school)
    approval = approvals.approve(approval, by=principal)
    approval = approvals.return_for_revision(approval, by=county_reviewer, comment="缺户口本")
    assert approval.state == ApprovalState.RETURNED
    assert events("tests.sample.returned_hook").count() == 1
    assert approvals.available_actions(approval, registrar) == [approvals.RESUBMIT, approvals.WITHDRAW]

    approval = approvals.resubmit(approval, by=registrar, comment="已补户口本")
    assert (approval.state, approval.round) == (ApprovalState.SUBMITTED, 2)
    old_first, old_second, new_first, new_second = steps_of(approval)
    assert (old_first.state, old_second.state) == (StepState.APPROVED, StepState.RETURNED)
    assert (new_first.state, new_second.state) == (StepState.CURRENT, StepState.WAITING)
    assert approval.current_step == new_first

    approval = approvals.approve(approval, by=principal)
    approval = approvals.approve(approval, by=county_reviewer)
    assert approval.state == ApprovalState.APPROVED
    assert approval.decisions.filter(action=DecisionAction.RESUBMITTED).count() == 1


def _numbered_label(approval):
    return f"张三（第{approval.round + 1}次提交）"


def _case_of(approval):
    return {"segment": "junior" if approval.round else "primary"}


@pytest.mark.parametrize("path", ["send", "panel", "resubmit"])
def test_every_resubmission_takes_the_case_as_it_stands(
    path, registrar, principal, school, register_test_kind
):
    """The panel's button, the workflow's own "submit" (send) and resubmit are one path: the kind's
    label and context are taken again, and the chain is resolved from them."""
    register_test_kind(
        ApprovalKind("tests.revised", "修改后的申请", subject_label=_numbered_label, context=_case_of)
    )
    approval = approvals.send(new_request(registrar, school, kind="tests.revised"), by=registrar)
    assert approval.subject_label == "张三（第1次提交）"
    assert approval.facts["segment"] == "primary"
    approval = approvals.return_for_revision(approval, by=principal, comment="请补充")

    if path == "send":
        approval = approvals.send(approval, by=registrar, comment="已补充")
    elif path == "panel":
        approval = approvals.decide(approval, action=approvals.RESUBMIT, by=registrar, comment="已补充")
    else:
        approval = approvals.resubmit(approval, by=registrar, comment="已补充")

    assert (approval.state, approval.round) == (ApprovalState.SUBMITTED, 2)
    assert approval.subject_label == "张三（第2次提交）"
    assert approval.facts["segment"] == "junior"
    assert approval.decisions.filter(action=DecisionAction.RESUBMITTED, comment="已补充").count() == 1


def test_send_submits_a_draft_and_refuses_a_request_in_review(registrar, school):
    approval = approvals.send(new_request(registrar, school), by=registrar)
    assert approval.state == ApprovalState.SUBMITTED
    with pytest.raises(ApprovalError):
        approvals.send(approval, by=registrar)


def test_the_applicant_withdraws_a_request_under_review(registrar, principal, school):
    approval = approvals.approve(submitted(registrar, school), by=principal)
    with pytest.raises(PermissionDenied):
        approvals.withdraw(approval, by=principal)
    approval = approvals.withdraw(approval, by=registrar, comment="家长改变主意")
    assert approval.state == ApprovalState.WITHDRAWN
    assert [step.state for step in steps_of(approval)] == [StepState.APPROVED, StepState.SKIPPED]
    assert events("tests.sample.withdrawn_hook").count() == 1
    with pytest.raises(ApprovalError, match="已撤回"):
        approvals.withdraw(approval, by=registrar)


def test_another_registrar_of_the_school_may_act_for_the_applicant(registrar, school):
    colleague = make_user("registrar2", school, [Role.SCHOOL_REGISTRAR])
    approval = approvals.submit(new_request(registrar, school), by=colleague)
    assert approval.state == ApprovalState.SUBMITTED


# --- who decides each step -------------------------------------------------------------------------


def test_each_step_is_decided_only_by_its_role_at_its_node(
    registrar, principal, county_reviewer, outsider_reviewer, city_reviewer, school, other_school
):
    approval = submitted(registrar, school)
    other_principal = make_user("other_principal", other_school, [Role.PRINCIPAL])
    for user in (registrar, county_reviewer, other_principal, city_reviewer):
        with pytest.raises(PermissionDenied):
            approvals.approve(approval, by=user)
    approval = approvals.approve(approval, by=principal)
    for user in (principal, outsider_reviewer, city_reviewer):
        with pytest.raises(PermissionDenied):
            approvals.approve(approval, by=user)
    assert ApprovalRequest.objects.get(pk=approval.pk).state == ApprovalState.IN_REVIEW


def test_not_even_a_superuser_decides_a_step(registrar, school):
    admin = make_user("admin", None, [], is_superuser=True)
    approval = submitted(registrar, school)
    with pytest.raises(PermissionDenied):
        approvals.approve(approval, by=admin)


def test_available_actions_follow_the_step(registrar, principal, county_reviewer, school):
    approval = new_request(registrar, school)
    assert approvals.available_actions(approval, registrar) == [approvals.SUBMIT, approvals.WITHDRAW]
    assert approvals.available_actions(approval, principal) == []
    approval = approvals.submit(approval, by=registrar)
    assert approvals.available_actions(approval, principal) == [
        approvals.APPROVE,
        approvals.RETURN,
        approvals.REJECT,
    ]
    assert approvals.available_actions(approval, county_reviewer) == []
    assert approvals.available_actions(approval, registrar) == [approvals.WITHDRAW]


def test_a_step_decided_meanwhile_is_refused_with_who_and_when(registrar, principal, school):
    second_principal = make_user("李校长", school, [Role.PRINCIPAL])
    approval = submitted(registrar, school)
    seen = approval.current_step_id
    approvals.approve(approval, by=second_principal, step_id=seen)
    with pytest.raises(ApprovalError, match=r"该步骤已由李校长于.*处理"):
        approvals.approve(approval, by=principal, step_id=seen)
    assert Decision.objects.filter(approval=approval, action=DecisionAction.APPROVED).count() == 1


def test_a_stale_step_of_someone_else_is_forbidden(registrar, principal, county_reviewer, school):
    approval = submitted(registrar, school)
    seen = approval.current_step_id
    approvals.approve(approval, by=principal, step_id=seen)
    with pytest.raises(PermissionDenied):
        approvals.approve(approval, by=county_reviewer, step_id=seen)


def test_a_step_of_a_withdrawn_request_says_so(registrar, principal, school):
    approval = submitted(registrar, school)
    seen = approval.current_step_id
    approvals.withdraw(approval, by=registrar)
    with pytest.raises(ApprovalError, match="已撤回"):
        approvals.approve(approval, by=principal, step_id=seen)


# --- scope -----------------------------------------------------------------------------------------


@pytest.fixture
def cross_county(tree, register_test_kind):
    """A kind whose second step sits at the county of another school, as in a transfer."""
    set_rule(
        tree["420000"], "chain", "tests.cross", "principal@school, county_reviewer@county(sending_school)"
    )
    register_test_kind(ApprovalKind("tests.cross", "跨县测试"))


def test_a_reviewer_of_any_step_sees_the_request(
    cross_county, registrar, principal, outsider_reviewer, outsider, city_reviewer, school, other_school
):
    approval = approvals.create_request(
        "tests.cross",
        by=registrar,
        school=school,
        subject_label="李四",
        context={"sending_school": other_school},
    )
    approvals.submit(approval, by=registrar)
    assert list(ApprovalRequest.objects.visible_to(outsider_reviewer)) == [approval]
    assert list(ApprovalRequest.objects.visible_to(city_reviewer)) == [approval]
    assert list(ApprovalRequest.objects.visible_to(outsider)) == []
    approval = approvals.approve(approval, by=principal)
    assert approvals.available_actions(approval, outsider_reviewer) == [
        approvals.APPROVE,
        approvals.RETURN,
        approvals.REJECT,
    ]
    assert approvals.approve(approval, by=outsider_reviewer).state == ApprovalState.APPROVED


def test_a_class_teacher_sees_no_requests(registrar, class_teacher, principal, school):
    submitted(registrar, school)
    assert ApprovalRequest.objects.visible_to(class_teacher).count() == 0
    assert ApprovalRequest.objects.visible_to(principal).count() == 1


def test_the_chain_is_resolved_again_on_resubmission(
    cross_county, register_test_kind, registrar, principal, county_reviewer, school, other_school, tree
):
    # The case's sending school, as the workflow's model would hold it after the revision.
    case = {"sending_school": other_school}
    register_test_kind(ApprovalKind("tests.cross", "跨县测试", context=lambda approval: dict(case)))
    approval = approvals.create_request(
        "tests.cross", by=registrar, school=school, subject_label="李四", context=dict(case)
    )
    approval = approvals.return_for_revision(
        approvals.submit(approval, by=registrar), by=principal, comment="学校错了"
    )
    case["sending_school"] = tree["1420102004"]
    approval = approvals.resubmit(approval, by=registrar)
    assert approval.nodes == {"school": school.code, "sending_school": "1420102004"}
    assert [step.node.code for step in steps_of(approval)[2:]] == [school.code, "420102"]


def test_an_unresolvable_chain_is_refused_with_a_message(cross_county, registrar, school):
    approval = approvals.create_request("tests.cross", by=registrar, school=school, subject_label="李四")
    with pytest.raises(ApprovalError, match="无法为本申请确定审核步骤"):
        approvals.submit(approval, by=registrar)
    assert ApprovalRequest.objects.get(pk=approval.pk).state == ApprovalState.DRAFT


def test_the_timeline_names_the_kinds_events(registrar, school):
    from registrar.events import describe

    approval = submitted(registrar, school)
    event = AuditEvent.objects.get(action=f"{SAMPLE}.submitted", object_id=str(approval.pk))
    assert describe(event) == "测试申请：提交审核"


# --- separation of duties ----------------------------------------------------------------------------


@pytest.fixture
def both(school):
    """One person holding the school's registrar and principal roles (common in small schools)."""
    return make_user("both", school, [Role.SCHOOL_REGISTRAR, Role.PRINCIPAL])


def refused_to(approval, user, message):
    assert approvals.APPROVE not in approvals.available_actions(approval, user)
    assert not ApprovalRequest.objects.waiting_for(user).filter(pk=approval.pk).exists()
    with pytest.raises(ApprovalError, match=message):
        approvals.approve(approval, by=user, step_id=approval.current_step_id)
    assert ApprovalRequest.objects.get(pk=approval.pk).current_step_id == approval.current_step_id


def test_nobody_decides_a_request_they_applied_for(both, principal, school):
    approval = submitted(both, school)
    refused_to(approval, both, "您是本申请的申请人")
    assert approvals.panel(approval, both).duty_conflict.startswith("您是本申请的申请人")
    # Another holder of the role decides it.
    assert ApprovalRequest.objects.waiting_for(principal).filter(pk=approval.pk).exists()
    assert approvals.approve(approval, by=principal).state == ApprovalState.IN_REVIEW


def test_nobody_decides_a_request_they_submitted(registrar, both, principal, school):
    approval = approvals.submit(new_request(registrar, school), by=both)
    refused_to(approval, both, "本申请由您提交")
    approvals.approve(approval, by=principal)


def test_nobody_decides_a_request_they_resubmitted(registrar, both, principal, school):
    approval = approvals.return_for_revision(submitted(registrar, school), by=both, comment="请补充")
    approval = approvals.resubmit(approval, by=both)
    refused_to(approval, both, "本申请由您提交")


def test_nobody_decides_two_steps_of_one_request(tree, registrar, both, school):
    set_rule(tree["420000"], "chain", SAMPLE, "principal@school, school_registrar@school")
    other_registrar = make_user("other_registrar", school, [Role.SCHOOL_REGISTRAR])
    approval = approvals.approve(submitted(registrar, school), by=both)
    assert approval.current_step.role == Role.SCHOOL_REGISTRAR
    refused_to(approval, both, "您已处理本申请的另一个审核步骤")
    assert approvals.approve(approval, by=other_registrar).state == ApprovalState.APPROVED


def test_deciding_the_same_step_again_after_a_return_is_no_second_step(
    registrar, principal, county_reviewer, school
):
    approval = approvals.approve(submitted(registrar, school), by=principal)
    approval = approvals.return_for_revision(approval, by=county_reviewer, comment="请补充")
    approval = approvals.resubmit(approval, by=registrar)
    assert approvals.approve(approval, by=principal).state == ApprovalState.IN_REVIEW


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        ([Role.PRINCIPAL], True),
        ([Role.PRINCIPAL, Role.CLASS_TEACHER], True),
        ([Role.PRINCIPAL, Role.SCHOOL_REGISTRAR], True),
        ([Role.SCHOOL_REGISTRAR], False),
        ([Role.CLASS_TEACHER], False),
    ],
)
def test_each_role_combination_at_the_school_decides_what_others_applied_for(
    registrar, school, roles, allowed
):
    """Holding a second role is no conflict in itself: applying, submitting or deciding is."""
    reviewer = make_user("reviewer", school, roles)
    approval = submitted(registrar, school)
    assert (approvals.APPROVE in approvals.available_actions(approval, reviewer)) is allowed
    assert ApprovalRequest.objects.waiting_for(reviewer).filter(pk=approval.pk).exists() is allowed
