"""A reviewer's queue at scale: its queries do not grow with the number or the kinds of the requests
on it, and a bulk approval decides many requests in a fixed number of statements while writing
exactly what one approval writes (issue 19, item 3)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from simple_history.utils import get_history_model_for_model

from registrar import approvals
from registrar.choices import Role
from registrar.kinds import ApprovalKind
from registrar.models import ApprovalRequest, ApprovalState, AuditEvent, Decision, DecisionAction, StepState
from tests.approval_kinds import FAILING, SAMPLE
from tests.conftest import make_user
from tests.test_approvals import submitted

QUEUE = reverse("registrar:approvals")
FIRST, SECOND = "tests.evidence_first", "tests.evidence_second"

pytestmark = pytest.mark.usefixtures("test_kinds")


def _no_unopened_evidence(approval_list, user):
    """An evidence check shared by two kinds, as every 学籍异动 kind shares one: one query."""
    list(AuditEvent.objects.filter(action="tests.evidence.opened", actor_id=user.pk).values_list("pk"))
    return {}


@pytest.fixture
def evidence_kinds(register_test_kind):
    for name in (FIRST, SECOND):
        register_test_kind(ApprovalKind(name, name, unopened_evidence=_no_unopened_evidence))


def fresh(approval):
    return ApprovalRequest.objects.select_related("current_step").get(pk=approval.pk)


def ticked(rows):
    return [(row.pk, row.current_step_id) for row in rows]


# --- the queue page --------------------------------------------------------------------------------


def test_the_queue_costs_the_same_queries_whatever_the_kinds_on_it(
    client_for, registrar, principal, school, evidence_kinds, django_assert_num_queries
):
    client = client_for(principal)
    for number in range(3):
        submitted(registrar, school, kind=FIRST, label=f"甲{number}")
    client.get(QUEUE)  # the session is settled
    with CaptureQueriesContext(connection) as one_kind:
        assert client.get(QUEUE).status_code == 200
    for number in range(30):
        submitted(registrar, school, kind=[FIRST, SECOND, SAMPLE][number % 3], label=f"乙{number}")
    with django_assert_num_queries(len(one_kind)):
        page = client.get(QUEUE).content.decode()
    assert "乙29" in page or "乙0" in page
    assert '<small class="muted">33</small>' in page
    with django_assert_num_queries(len(one_kind)):
        assert client.get(QUEUE, {"page": 2, "kind": SECOND}).status_code == 200


def test_the_queue_counts_exactly_under_each_filter(client_for, registrar, principal, school, other_school):
    for number in range(4):
        submitted(registrar, school, label=f"样{number}")
    for number in range(3):
        submitted(registrar, school, kind=FAILING, label=f"败{number}")
    client = client_for(principal)
    assert '<small class="muted">7</small>' in client.get(QUEUE).content.decode()
    assert '<small class="muted">3</small>' in client.get(QUEUE, {"kind": FAILING}).content.decode()
    assert '<small class="muted">7</small>' in client.get(QUEUE, {"school": school.code}).content.decode()
    assert '<small class="muted">0</small>' in client.get(QUEUE, {"age": "overdue"}).content.decode()
    # A school with nothing waiting is not offered, and choosing it anyway filters nothing out.
    page = client.get(QUEUE).content.decode()
    assert f'value="{school.code}"' in page and f'value="{other_school.code}"' not in page


# --- bulk approval ---------------------------------------------------------------------------------


def test_a_bulk_approval_costs_the_same_queries_for_5_as_for_30(
    registrar, principal, school, django_assert_num_queries
):
    five = [submitted(registrar, school, label=f"五{number}") for number in range(5)]
    thirty = [submitted(registrar, school, label=f"三十{number}") for number in range(30)]
    with CaptureQueriesContext(connection) as queries:
        result = approvals.approve_many(principal, ticked(five), comment="材料齐全")
    assert len(result.approved) == 5
    with django_assert_num_queries(len(queries)):
        result = approvals.approve_many(principal, ticked(thirty), comment="材料齐全")
    assert len(result.approved) == 30


def test_a_bulk_approval_writes_what_one_approval_writes(registrar, principal, school):
    """Steps, the request and its history, the decision, the audit event: the same for a request
    approved alone and one approved among others."""
    alone, among = submitted(registrar, school, label="单"), submitted(registrar, school, label="批")
    others = [submitted(registrar, school, label=f"批{number}") for number in range(3)]
    approvals.approve(alone, by=principal, comment="同意", step_id=alone.current_step_id)
    approvals.approve_many(principal, ticked([among, *others]), comment="同意")
    history = get_history_model_for_model(ApprovalRequest)

    def written(approval):
        approval = fresh(approval)
        decided = approval.steps.get(position=1)
        following = approval.current_step
        decision = Decision.objects.get(approval=approval, step=decided)
        event = AuditEvent.objects.get(action=f"{SAMPLE}.step_approved", object_id=str(approval.pk))
        record = history.objects.filter(id=approval.pk).latest("history_date", "history_id")
        return {
            "state": approval.state,
            "decided": (decided.state, decided.decided_by, decided.comment, decided.decided_at is not None),
            "following": (following.position, following.state, following.due_date is not None),
            "started": following.started_at == decided.decided_at,
            "waiting at": (approval.current_node_id, following.node_id),
            "decision": (decision.actor, decision.action, decision.comment),
            "event": (event.actor, event.reason, event.data, event.node_id, event.object_repr),
            "history": (
                record.history_user,
                record.history_change_reason,
                record.state,
                record.current_step_id,
            ),
        }

    mine, theirs = written(alone), written(among)
    assert mine["event"][4] != theirs["event"][4]  # each names its own request
    mine["event"], theirs["event"] = mine["event"][:4], theirs["event"][:4]
    mine["history"], theirs["history"] = mine["history"][:3], theirs["history"][:3]
    assert mine == theirs
    assert theirs["state"] == ApprovalState.IN_REVIEW
    assert theirs["history"] == (principal, "同意", ApprovalState.IN_REVIEW)
    assert theirs["following"] == (2, StepState.CURRENT, True)


def test_a_bulk_approval_keeps_separation_of_duties(registrar, principal, school):
    """A principal who also registers the school's students applied for some of the ticked
    requests: those are refused with the reason, the others approved."""
    both = make_user("两职", school, [Role.SCHOOL_REGISTRAR, Role.PRINCIPAL])
    theirs = submitted(both, school, label="自己申请的")
    other = submitted(registrar, school, label="别人申请的")
    result = approvals.approve_many(both, ticked([theirs, other]))
    assert result.outcomes[0] == (False, f"自己申请的：{theirs.duty_conflict(both)}")
    assert result.outcomes[1][0] is True
    assert fresh(theirs).state == ApprovalState.SUBMITTED
    assert fresh(other).state == ApprovalState.IN_REVIEW
    assert not Decision.objects.filter(approval=theirs, action=DecisionAction.APPROVED).exists()


def test_a_step_decided_in_the_meantime_is_refused_with_who_decided_it(registrar, principal, school):
    second_principal = make_user("王校长", school, [Role.PRINCIPAL])
    rows = [submitted(registrar, school, label=f"学生{number}") for number in range(3)]
    selection = ticked(rows)
    approvals.approve(rows[1], by=second_principal, step_id=rows[1].current_step_id)
    result = approvals.approve_many(principal, selection)
    assert [ok for ok, _text in result.outcomes] == [True, False, True]
    assert result.outcomes[1][1].startswith("学生1：该步骤已由王校长于")
    # Ticked twice (a stale second tab): the second is told it was decided already.
    again = submitted(registrar, school, label="再次")
    result = approvals.approve_many(principal, [*ticked([again]), (again.pk, again.current_step_id + 10**6)])
    assert result.outcomes[0][0] is True and result.outcomes[1][0] is False


def test_last_steps_apply_each_effect_and_one_refusal_stops_no_other(
    registrar, principal, county_reviewer, school
):
    applied = submitted(registrar, school, label="可生效")
    failing = submitted(registrar, school, kind=FAILING, label="会失败")
    passing_on = submitted(registrar, school, label="转下一步")
    approvals.approve_many(principal, ticked([applied, failing]))
    applied, failing = fresh(applied), fresh(failing)
    result = approvals.approve_many(county_reviewer, ticked([applied, failing]), comment="核准")
    assert result.outcomes[0] == (True, "可生效（已最终批准）")
    assert result.outcomes[1] == (False, "会失败：规则不允许")
    assert fresh(applied).state == ApprovalState.APPROVED
    assert AuditEvent.objects.filter(action=f"{SAMPLE}.applied", object_id=str(applied.pk)).count() == 1
    assert AuditEvent.objects.filter(action=f"{SAMPLE}.approved", object_id=str(applied.pk)).count() == 1
    failing = fresh(failing)
    assert failing.state == ApprovalState.IN_REVIEW and failing.current_step.state == StepState.CURRENT
    assert not Decision.objects.filter(approval=failing, actor=county_reviewer).exists()
    assert fresh(passing_on).state == ApprovalState.SUBMITTED
