"""The approval engine: one for every workflow (registration, 学籍异动, corrections, reversals).

A workflow registers its kind once (`register_kind` in its AppConfig.ready), links its own model
to an `ApprovalRequest` with a OneToOneField, and drives it through the services below. Each
service locks the request row, checks that the step is still the one the user saw and that the
user may act on it, changes the state, records a `Decision`, stamps the history, writes an audit
event, and calls the kind's hook inside the same transaction, so that the effect of the last
approval is applied together with the decision or not at all.

This is also the workflow layer every app stands on, so that a new workflow writes only its model
(a OneToOneField to `ApprovalRequest`), its rules (`validate_submit`), its apply function
(`on_approved`), its kind (`registrar.kinds.register_kind`) and its pages:
- the applicant side: `may_edit`, `lock_for_edit` (the editable check), `last_comment`,
  `return_decision`;
- one path to send a case for review, `send` (submit a draft or resubmit a return; the kind's
  `subject_label` and `context` hooks are taken again each time);
- one bulk approval, `approve_many` with `parse_selection`, for every queue page;
- errors: `registrar.errors.DomainError` and its `ApprovalError`; a hook's DomainError undoes the
  decision and reaches the page unchanged.
Requests are called `approval` everywhere (in Django, `request` is the HTTP request).
"""

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import has_transition_perm

from registrar import chains, workdays
from registrar.access import require_role
from registrar.audit import new_event, record_event, record_events, stamp
from registrar.errors import ApprovalError, DomainError
from registrar.kinds import (
    KINDS,
    ApprovalKind,
    get_kind,
    kind_choices,
    kind_label,
    may_act_as_applicant,
    may_decide_step,
    register_kind,
)
from registrar.models import (
    EDITABLE_STATES,
    REVIEW_STATES,
    ApprovalRequest,
    ApprovalState,
    ApprovalStep,
    ApprovalSubject,
    Decision,
    DecisionAction,
    Organisation,
    StepState,
    duty_conflicts_of,
)
from rules.reading import rules_of
from rules.reading import snapshot as rules_snapshot

__all__ = [
    "KINDS",
    "ApprovalError",
    "ApprovalKind",
    "get_kind",
    "kind_choices",
    "kind_label",
    "may_act_as_applicant",
    "may_decide_step",
    "register_kind",
]

logger = logging.getLogger(__name__)

# The actions a user may take, named after the request's FSM transitions, in the order a form
# shows them.
APPROVE = "approve"
REJECT = "reject"
RETURN = "return_for_revision"
SUBMIT = "submit"
RESUBMIT = "resubmit"
WITHDRAW = "withdraw"
ACTIONS = (APPROVE, RETURN, REJECT, SUBMIT, RESUBMIT, WITHDRAW)
REVIEW_ACTIONS = (APPROVE, RETURN, REJECT)
ACTION_LABELS = {
    APPROVE: gettext_lazy("Approve"),
    RETURN: gettext_lazy("Return for revision"),
    REJECT: gettext_lazy("Reject"),
    SUBMIT: gettext_lazy("Submit"),
    RESUBMIT: gettext_lazy("Resubmit"),
    WITHDRAW: gettext_lazy("Withdraw"),
}


def available_actions(approval, user):
    """The actions `user` may take on `approval` now, from the FSM's available transitions."""
    names = {transition.name for transition in approval.get_available_user_state_transitions(user)}
    return [action for action in ACTIONS if action in names]


# --- the applicant's side: editing a case --------------------------------------------------------


def is_editable(approval):
    """Draft, or returned for revision: no reviewer holds the case."""
    return approval.state in EDITABLE_STATES


def may_edit(approval, user):
    """`user` may change the case now: the applicant side, while no reviewer holds it."""
    return is_editable(approval) and may_act_as_applicant(approval, user)


def lock_for_edit(approval, *, by):
    """The request row locked for the applicant's change of its case; PermissionDenied for anyone
    but the applicant side, ApprovalError when a reviewer holds it (or it is closed)."""
    locked = ApprovalRequest.objects.select_for_update(of=("self",)).get(pk=approval.pk)
    if not may_act_as_applicant(locked, by):
        raise PermissionDenied
    if not is_editable(locked):
        raise ApprovalError(
            _("This request is %(state)s: it can be changed only as a draft or after a return.")
            % {"state": locked.get_state_display()}
        )
    return locked


def lock_for_decision(approval, *, by):
    """The request locked for the holder of its current step, for an act of theirs beside the
    engine's decisions (taking one subject out of a request about many, say): PermissionDenied for
    anyone else, ApprovalError when separation of duties keeps them from the step."""
    locked = (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("current_step")
        .get(pk=approval.pk)
    )
    step = locked.current_step
    if locked.state not in REVIEW_STATES or step is None or not may_decide_step(step, by):
        raise PermissionDenied
    _check_duties(locked, by)
    return locked


def last_comment(approval):
    """The comment of the latest decision: the reason of a rejection, return or withdrawal."""
    decision = Decision.objects.filter(approval=approval).order_by("-created_at", "-pk").first()
    return decision.comment if decision else ""


def return_decision(approval):
    """The decision that returned the request, while it waits for the applicant's revision."""
    if approval.state != ApprovalState.RETURNED:
        return None
    return (
        Decision.objects.filter(approval=approval, action=DecisionAction.RETURNED)
        .select_related("actor", "step__node")
        .order_by("-created_at", "-pk")
        .first()
    )


# --- context and chains ---------------------------------------------------------------------------


def _split_context(context, school):
    nodes, facts = {}, {}
    for name, value in {"school": school, **(context or {})}.items():
        if isinstance(value, Organisation):
            nodes[name] = value.code
        elif value is None or isinstance(value, str | int | float | bool):
            facts[name] = value
        else:
            raise TypeError(f"Approval context {name!r}: an Organisation or a plain value, not {value!r}")
    return nodes, facts


def case_context(approval):
    """The context the request was created with: named Organisations and plain facts."""
    by_code = Organisation.objects.in_bulk(list(approval.nodes.values()), field_name="code")
    context = dict(approval.facts)
    context.update({name: by_code.get(code) for name, code in approval.nodes.items()})
    return context


def default_chain_key(approval, context):
    """kind × scope × segment: the scope from the context, or from its receiving and sending
    schools; the segment from the context, or the school's only segment."""
    scope = context.get("scope")
    receiving, sending = context.get("receiving_school"), context.get("sending_school")
    if scope is None and isinstance(receiving, Organisation) and isinstance(sending, Organisation):
        scope = chains.scope_between(receiving, sending)
    segment = context.get("segment")
    if segment is None:
        segments = approval.school.segments()
        segment = segments[0] if len(segments) == 1 else None
    return chains.chain_key(approval.kind, scope=scope, segment=segment)


def plan_chain(approval):
    """(chain key, [ResolvedStep]) for the request as its case stands now; ApprovalError if not."""
    kind = get_kind(approval.kind)
    context = case_context(approval)
    key = (kind.chain_key or default_chain_key)(approval, context)
    matched, specs = chains.find_chain(key, rules_of(approval).chains())
    steps = chains.resolve(specs, context)
    if not steps:
        raise ApprovalError(_("The approval chain of this request has no steps."))
    return matched, steps


# --- services -------------------------------------------------------------------------------------


@transaction.atomic
def create_request(kind, *, by, school, subject_label, context=None, subject_key=""):
    """A new request in draft, applied for by `by` at their node.

    `context` names the nodes of the case (Organisations: receiving_school, sending_school …) and
    plain facts (scope, segment); `school` is added as "school". They are kept as codes so that
    every (re)submission resolves the chain again.
    """
    kind_obj = get_kind(kind)
    if by.node_id is None or not by.has_role(*kind_obj.applicant_roles):
        raise PermissionDenied
    if not school.path.startswith(by.node.path):
        raise PermissionDenied
    nodes, facts = _split_context(context, school)
    approval = ApprovalRequest(
        kind=kind,
        subject_label=subject_label[:200],
        subject_key=subject_key,
        school=school,
        applicant=by,
        applicant_node=by.node,
        nodes=nodes,
        facts=facts,
        rules_digest=rules_snapshot(school),
    )
    stamp(approval, by=by)
    approval.save()
    record_event(f"{kind}.created", actor=by, obj=approval)
    return approval


def open_request_for(subject_key, *, exclude=None):
    """The open request (在办业务) about this subject, if any: its own subject, or one of the
    subjects of a request about many (`add_subjects`)."""
    among_many = ApprovalSubject.objects.filter(approval=OuterRef("pk"), key=subject_key)
    open_approvals = ApprovalRequest.objects.open().filter(Q(subject_key=subject_key) | Q(Exists(among_many)))
    if exclude is not None:
        open_approvals = open_approvals.exclude(pk=exclude.pk)
    return open_approvals.order_by("created_at").first()


def add_subjects(approval, keys):
    """Make `keys` subjects of `approval` too, while it is open (a list of students, say)."""
    ApprovalSubject.objects.bulk_create(
        [ApprovalSubject(approval=approval, key=key) for key in keys], ignore_conflicts=True
    )


def remove_subject(approval, key):
    ApprovalSubject.objects.filter(approval=approval, key=key).delete()


def _lock(approval):
    return (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("current_step", "school", "applicant_node")
        .get(pk=approval.pk)
    )


def _check_transition(approval, method, by, action):
    if not method._django_fsm.has_transition(approval.state):
        raise ApprovalError(
            _("This request is %(state)s: it cannot be %(action)s now.")
            % {"state": approval.get_state_display(), "action": str(ACTION_LABELS[action]).lower()}
        )
    if not has_transition_perm(method, by):
        raise PermissionDenied


def _start_round(approval, *, now):
    approval.chain_key, resolved = plan_chain(approval)
    approval.round += 1
    steps = ApprovalStep.objects.bulk_create(
        [
            ApprovalStep(
                approval=approval, round=approval.round, position=position, role=step.role, node=step.node
            )
            for position, step in enumerate(resolved, start=1)
        ]
    )
    # bulk_create returns primary keys on PostgreSQL and SQLite alike.
    first = steps[0]
    _start_step(first, now=now)
    approval.set_current_step(first)
    approval.submitted_at = now
    approval.decided_at = None


def _start_step(step, *, now):
    step.state = StepState.CURRENT
    step.started_at = now
    step.due_date = workdays.due_date_for(now)
    step.save(update_fields=["state", "started_at", "due_date"])


def _close_remaining(approval):
    ApprovalStep.objects.filter(
        approval=approval, round=approval.round, state__in=[StepState.WAITING, StepState.CURRENT]
    ).update(state=StepState.SKIPPED)


def _save(approval, *, by, reason, fields):
    stamp(approval, by=by, reason=reason)
    approval.save(update_fields=fields)


def _run_hook(kind, name, approval, by):
    hook = getattr(kind, name)
    if hook is not None:
        hook(approval, by)


def _check_submittable(kind, approval):
    if kind.validate_submit is not None:
        kind.validate_submit(approval)


_ROUND_FIELDS = ["state", "chain_key", "round", *ApprovalRequest.CURRENT_FIELDS, "submitted_at", "decided_at"]
# What a decision or a withdrawal changes on the request.
_DECISION_FIELDS = ["state", *ApprovalRequest.CURRENT_FIELDS, "decided_at"]


def _refresh_case(kind, approval):
    """The case as it stands now, from the kind's hooks: the queue's label and the nodes and facts
    the chain is resolved from. Returns the fields that changed."""
    fields = []
    if kind.subject_label is not None:
        label = str(kind.subject_label(approval))[:200]
        if label != approval.subject_label:
            approval.subject_label = label
            fields.append("subject_label")
    if kind.context is not None:
        nodes, facts = _split_context(kind.context(approval), approval.school)
        if (nodes, facts) != (approval.nodes, approval.facts):
            approval.nodes, approval.facts = nodes, facts
            fields += ["nodes", "facts"]
    return fields


def _send(approval, *, by, comment, action=None):
    """Draft → submitted, or returned → submitted: the case is taken as it stands, checked by the
    kind's `validate_submit`, and the chain (resolved anew) starts from its first step."""
    with transaction.atomic():
        approval = _lock(approval)
        kind = get_kind(approval.kind)
        if action is None:
            action = RESUBMIT if approval.state == ApprovalState.RETURNED else SUBMIT
        method = approval.submit if action == SUBMIT else approval.resubmit
        _check_transition(approval, method, by, action)
        fields = _ROUND_FIELDS + _refresh_case(kind, approval)
        _check_submittable(kind, approval)
        now = timezone.now()
        method()
        _start_round(approval, now=now)
        _save(approval, by=by, reason=comment, fields=fields)
        decision, event = (
            (DecisionAction.SUBMITTED, "submitted")
            if action == SUBMIT
            else (DecisionAction.RESUBMITTED, "resubmitted")
        )
        Decision.objects.create(approval=approval, actor=by, action=decision, comment=comment)
        record_event(
            f"{approval.kind}.{event}", actor=by, obj=approval, reason=comment, chain=approval.chain_key
        )
        _run_hook(kind, "on_submitted", approval, by)
    return approval


def send(approval, *, by, comment=""):
    """Submit a draft, or resubmit a request returned for revision: the one path of every page
    (the panel's buttons and each workflow's own "submit")."""
    return _send(approval, by=by, comment=comment)


def submit(approval, *, by, comment=""):
    """Draft → submitted: resolve the chain and start its first step."""
    return _send(approval, by=by, comment=comment, action=SUBMIT)


def resubmit(approval, *, by, comment=""):
    """Returned → submitted: the chain starts again from its first step, resolved anew from the
    case as the revision left it."""
    return _send(approval, by=by, comment=comment, action=RESUBMIT)


def _parse_step_id(step_id):
    if step_id in (None, ""):
        return None
    try:
        return int(step_id)
    except (TypeError, ValueError):
        raise ApprovalError(_("This step does not exist.")) from None


def _check_step_seen(approval, by, step_id, *, seen_steps=None):
    """The step the user decided on must still be the current one; if someone else decided it in
    the meantime, say who and when. `seen_steps` ({pk: step with decided_by}): the steps already
    read for many requests at once."""
    step_id = _parse_step_id(step_id)
    if step_id is None or step_id == approval.current_step_id:
        return
    if seen_steps is None:
        seen = ApprovalStep.objects.select_related("decided_by").filter(pk=step_id, approval=approval).first()
    else:
        seen = seen_steps.get(step_id)
        seen = seen if seen is not None and seen.approval_id == approval.pk else None
    if seen is None:
        raise ApprovalError(_("This step does not exist."))
    was_theirs = by.node_id == seen.node_id and seen.role in (by.roles or [])
    if not was_theirs:
        raise PermissionDenied
    if seen.decided_by_id is not None:
        raise ApprovalError(
            _("This step was already decided by %(who)s at %(when)s (%(decision)s).")
            % {
                "who": seen.decided_by,
                "when": date_format(timezone.localtime(seen.decided_at), "Y-m-d H:i"),
                "decision": seen.get_state_display(),
            }
        )
    raise ApprovalError(
        _("This step is no longer waiting for a decision: the request is now %(state)s.")
        % {"state": approval.get_state_display()}
    )


def _check_duties(approval, by):
    """Separation of duties: a holder of the step's role who applied for, submitted, or decided
    another step of the request is told why they may not decide it."""
    step = approval.current_step
    if step is not None and may_decide_step(step, by):
        conflict = approval.duty_conflict(by)
        if conflict:
            raise ApprovalError(conflict)


def _check_decision(approval, *, by, action, comment, step_id, seen_steps=None):
    """Everything a decision checks before it changes anything: the step the user saw, separation
    of duties, the FSM's transition and permission, the reason of a rejection or return."""
    _check_step_seen(approval, by, step_id, seen_steps=seen_steps)
    _check_duties(approval, by)
    _check_transition(approval, getattr(approval, action), by, action)
    if action in (REJECT, RETURN) and not comment:
        raise ApprovalError(_("Give the reason for rejecting or returning the request."))


def _forget_duties(approvals):
    """The answers `duty_conflicts_of(remember=True)` kept were for the checks: the decision about
    to be made changes them (whoever decides a step may not decide the next)."""
    for approval in approvals:
        approval.__dict__.pop("_known_duty_conflict", None)


def _decide(approval, *, by, action, comment, step_id):
    comment = (comment or "").strip()
    with transaction.atomic():
        approval = _lock(approval)
        kind = get_kind(approval.kind)
        if approval.current_step is not None and may_decide_step(approval.current_step, by):
            # Asked once for the duty check and the FSM's permission check alike.
            duty_conflicts_of([approval], by, remember=True)
        _check_decision(approval, by=by, action=action, comment=comment, step_id=step_id)
        _forget_duties([approval])
        method = getattr(approval, action)
        now = timezone.now()
        step = approval.current_step
        step.decided_by = by
        step.decided_at = now
        step.comment = comment
        if action == APPROVE:
            step.state = StepState.APPROVED
            step.save(update_fields=["state", "decided_by", "decided_at", "comment"])
            following = (
                ApprovalStep.objects.filter(
                    approval=approval, round=approval.round, position__gt=step.position
                )
                .order_by("position")
                .first()
            )
            approval.approve(final=following is None)
            if following is None:
                approval.set_current_step(None)
                approval.decided_at = now
                decision, event, hook = DecisionAction.APPROVED, "approved", "on_approved"
            else:
                _start_step(following, now=now)
                approval.set_current_step(following)
                decision, event, hook = DecisionAction.APPROVED, "step_approved", None
        else:
            step.state = StepState.REJECTED if action == REJECT else StepState.RETURNED
            step.save(update_fields=["state", "decided_by", "decided_at", "comment"])
            method()
            _close_remaining(approval)
            approval.set_current_step(None)
            approval.decided_at = now
            if action == REJECT:
                decision, event, hook = DecisionAction.REJECTED, "rejected", "on_rejected"
            else:
                decision, event, hook = DecisionAction.RETURNED, "returned", "on_returned"
        _save(approval, by=by, reason=comment, fields=_DECISION_FIELDS)
        Decision.objects.create(approval=approval, step=step, actor=by, action=decision, comment=comment)
        _step_event(approval, step, event, by=by, comment=comment).save()
        if hook:
            _run_hook(kind, hook, approval, by)
    return approval


def _step_event(approval, step, event, *, by, comment):
    """The audit event of a decision on `step`, unsaved."""
    return new_event(
        f"{approval.kind}.{event}", actor=by, obj=approval, reason=comment, step=step.position, role=step.role
    )


def approve(approval, *, by, comment="", step_id=None):
    """Approve the current step; on the last step the request is approved and `on_approved` runs.

    `step_id` is the step the user saw (the panel's form sends it): when another reviewer decided
    it in the meantime, ApprovalError says who and when.
    """
    return _decide(approval, by=by, action=APPROVE, comment=comment, step_id=step_id)


def reject(approval, *, by, comment, step_id=None):
    """Reject for good, with the reason (required)."""
    return _decide(approval, by=by, action=REJECT, comment=comment, step_id=step_id)


def return_for_revision(approval, *, by, comment, step_id=None):
    """Send back to the applicant to revise and resubmit, with the reason (required)."""
    return _decide(approval, by=by, action=RETURN, comment=comment, step_id=step_id)


def withdraw(approval, *, by, comment=""):
    """The applicant takes the request back while it is still open."""
    with transaction.atomic():
        approval = _lock(approval)
        kind = get_kind(approval.kind)
        _check_transition(approval, approval.withdraw, by, WITHDRAW)
        now = timezone.now()
        approval.withdraw()
        _close_remaining(approval)
        approval.set_current_step(None)
        approval.decided_at = now
        _save(approval, by=by, reason=comment, fields=_DECISION_FIELDS)
        Decision.objects.create(approval=approval, actor=by, action=DecisionAction.WITHDRAWN, comment=comment)
        record_event(f"{approval.kind}.withdrawn", actor=by, obj=approval, reason=comment)
        _run_hook(kind, "on_withdrawn", approval, by)
    return approval


def decide(approval, *, action, by, comment="", step_id=None):
    """Run one of ACTIONS by name (what the panel's form posts)."""
    if action in REVIEW_ACTIONS:
        return _decide(approval, by=by, action=action, comment=comment, step_id=step_id)
    if action in (SUBMIT, RESUBMIT):
        return _send(approval, by=by, comment=comment, action=action)
    if action == WITHDRAW:
        return withdraw(approval, by=by, comment=comment)
    raise ApprovalError(_("Unknown action."))


# --- bulk approval -------------------------------------------------------------------------------

# A primary key as a form posts it: digits, and small enough for every database's integer.
_MAX_PK = 2**63 - 1


def parse_selection(values):
    """[(approval pk, step id)] from ticked rows posted as "pk:step_id"; anything else is dropped
    quietly (a tampered or stale form refuses nothing but itself)."""
    selected = []
    for value in values:
        pk, _sep, step_id = str(value).partition(":")
        if not (pk.isdigit() and step_id.isdigit() and len(pk) < 20 and len(step_id) < 20):
            continue
        pk, step_id = int(pk), int(step_id)
        if 0 < pk <= _MAX_PK and 0 < step_id <= _MAX_PK and (pk, step_id) not in selected:
            selected.append((pk, step_id))
    return selected


def bulk_refusals(approvals, user):
    """{approval pk: why it may not be approved from a queue's ticked rows} for those that may not
    (the reason alone; `bulk_refusal_message` puts the subject before it):
    kinds decided on their own page (key-data corrections, transfers, withdrawals, deaths), and
    requests with evidence that `user` has not opened. A few queries for a whole page, whatever
    its kinds: the kinds that share an evidence check (every 学籍异动) are asked together."""
    refusals = {}
    by_check = {}
    for approval in approvals:
        kind = KINDS.get(approval.kind)
        if kind is None or not kind.allow_bulk_approve:
            refusals[approval.pk] = _("This kind of request must be approved on its own page.")
        elif kind.unopened_evidence is not None:
            by_check.setdefault(kind.unopened_evidence, []).append(approval)
    for unopened_evidence, group in by_check.items():
        unopened = unopened_evidence(group, user)
        for approval in group:
            if unopened.get(approval.pk):
                refusals[approval.pk] = _(
                    "%(count)s evidence files you have not opened yet: open the request first."
                ) % {"count": unopened[approval.pk]}
    return refusals


def bulk_refusal_message(approval, reason):
    return f"{approval.subject_label}：{reason}"


def bulk_preview(user, selection):
    """(approvable, refused) for a bulk approval the user is about to confirm: the requests that
    would be approved, as (approval, step id), and a message for each that would not."""
    found = (
        ApprovalRequest.objects.visible_to(user)
        .select_related("school", "current_step__node")
        .in_bulk([pk for pk, _step in selection])
    )
    refusals = bulk_refusals(list(found.values()), user)
    approvable, refused = [], []
    for pk, step_id in selection:
        approval = found.get(pk)
        if approval is None:
            refused.append(_("Request %(pk)s was not found.") % {"pk": pk})
        elif approval.pk in refusals:
            refused.append(bulk_refusal_message(approval, refusals[approval.pk]))
        elif approval.current_step_id != step_id or not may_decide_step(approval.current_step, user):
            refused.append(
                _("%(subject)s: you may not decide this step.") % {"subject": approval.subject_label}
            )
        else:
            approvable.append((approval, step_id))
    return approvable, refused


def where_next(approval):
    """Where a request stands after a decision, for the message that confirms it."""
    if approval.state == ApprovalState.APPROVED:
        return _("approved for good")
    step = approval.current_step
    if approval.state in (ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW) and step is not None:
        return _("passed on to %(node)s (%(role)s)") % {
            "node": step.node.name,
            "role": step.get_role_display(),
        }
    return approval.get_state_display()


def decided_by(user):
    """The steps `user` has decided, the latest first: the reviewer's record of their own work."""
    return (
        ApprovalStep.objects.filter(decided_by_id=user.pk)
        .select_related("approval__school", "approval__current_step__node", "node")
        .order_by("-decided_at", "-pk")
    )


@dataclass
class BulkResult:
    """What a bulk approval did, request by request in the order given: (approved?, text), the text
    being the subject when approved and the message when refused."""

    outcomes: list = field(default_factory=list)

    @property
    def approved(self):
        return [text for ok, text in self.outcomes if ok]

    @property
    def refused(self):
        return [text for ok, text in self.outcomes if not ok]


def approve_many(user, selection, *, comment=""):
    """Approve each selected (approval pk, step id) with one comment for all: one refusal stops no
    other. Only requests the user sees are touched; what `bulk_refusals` refuses is left for its own
    page. Every queue page uses this.

    Each request passes the checks of `approve` (the step the user saw, separation of duties, the
    FSM's permission). The requests whose approved step is not the last are then decided together,
    in one transaction and a fixed number of statements however many they are (steps, requests with
    their history, decisions, audit events); those whose last step it is go through `approve` one by
    one, each in its own transaction with its kind's `on_approved`, so that an effect refused for one
    undoes that one only.
    """
    comment = (comment or "").strip()
    outcomes = {}
    one_by_one = []
    with transaction.atomic():
        found = {
            approval.pk: approval
            for approval in ApprovalRequest.objects.visible_to(user)
            .select_for_update(of=("self",))
            .select_related("current_step", "school", "applicant_node")
            .filter(pk__in=[pk for pk, _step in selection])
            .order_by("pk")
        }
        refusals = bulk_refusals(list(found.values()), user)
        deciding = [found[pk] for pk, _step in selection if pk in found and pk not in refusals]
        duty_conflicts_of(deciding, user, remember=True)
        unseen = [
            step_id for pk, step_id in selection if pk in found and step_id != found[pk].current_step_id
        ]
        seen_steps = ApprovalStep.objects.select_related("decided_by").in_bulk(unseen) if unseen else {}
        checked, taken = [], set()
        for index, (pk, step_id) in enumerate(selection):
            approval = found.get(pk)
            if approval is None:
                outcomes[index] = (False, _("Request %(pk)s was not found.") % {"pk": pk})
            elif pk in refusals:
                outcomes[index] = (False, bulk_refusal_message(approval, refusals[pk]))
            elif pk in taken:
                # The same request ticked again with another step: after the first, as `approve` would.
                one_by_one.append((index, approval, step_id))
            else:
                taken.add(pk)
                try:
                    _check_decision(
                        approval,
                        by=user,
                        action=APPROVE,
                        comment=comment,
                        step_id=step_id,
                        seen_steps=seen_steps,
                    )
                except DomainError as error:
                    outcomes[index] = (False, f"{approval.subject_label}：{error.message}")
                except PermissionDenied:
                    outcomes[index] = (False, _not_yours(approval.subject_label))
                else:
                    checked.append((index, approval, step_id))
        _forget_duties(deciding)
        following = _following_steps([approval for _index, approval, _step in checked])
        passing_on = [(index, approval) for index, approval, _step in checked if following[approval.pk]]
        one_by_one += [
            (index, approval, step) for index, approval, step in checked if not following[approval.pk]
        ]
        _pass_on([approval for _index, approval in passing_on], following, by=user, comment=comment)
        for index, approval in passing_on:
            outcomes[index] = (True, f"{approval.subject_label}（{where_next(approval)}）")
    for index, approval, step_id in sorted(one_by_one, key=lambda item: item[0]):
        outcomes[index] = _approve_one(approval, user, comment=comment, step_id=step_id)
    return BulkResult(outcomes=[outcomes[index] for index in range(len(selection))])


def _not_yours(subject):
    return _("%(subject)s: you may not decide this step.") % {"subject": subject}


def _approve_one(approval, user, *, comment, step_id):
    """(approved?, text) of `approve` for one request of a bulk approval."""
    subject = approval.subject_label
    try:
        decided = approve(approval, by=user, comment=comment, step_id=step_id)
    except DomainError as error:
        return False, f"{subject}：{error.message}"
    except PermissionDenied:
        return False, _not_yours(subject)
    return True, f"{subject}（{where_next(decided)}）"


def _following_steps(approvals):
    """{approval pk: the step after its current one in its round, or None}: one query for all."""
    if not approvals:
        return {}
    steps = {}
    for step in ApprovalStep.objects.filter(
        approval__in=[approval.pk for approval in approvals]
    ).select_related("node"):
        steps.setdefault(step.approval_id, []).append(step)
    following = {}
    for approval in approvals:
        position = approval.current_step.position
        later = [
            step
            for step in steps.get(approval.pk, [])
            if step.round == approval.round and step.position > position
        ]
        following[approval.pk] = min(later, key=lambda step: step.position) if later else None
    return following


def _pass_on(approvals, following, *, by, comment):
    """Approve the current step of each of `approvals` (none of them the last of its chain) and start
    the next: what `_decide` does for one, in a fixed number of statements for all."""
    if not approvals:
        return
    now = timezone.now()
    due = workdays.due_date_for(now)
    decided = [approval.current_step for approval in approvals]
    ApprovalStep.objects.filter(pk__in=[step.pk for step in decided]).update(
        state=StepState.APPROVED, decided_by=by, decided_at=now, comment=comment
    )
    ApprovalStep.objects.filter(pk__in=[following[approval.pk].pk for approval in approvals]).update(
        state=StepState.CURRENT, started_at=now, due_date=due
    )
    for approval, step in zip(approvals, decided, strict=True):
        step.state, step.decided_by, step.decided_at, step.comment = StepState.APPROVED, by, now, comment
        following_step = following[approval.pk]
        following_step.state, following_step.started_at, following_step.due_date = StepState.CURRENT, now, due
        approval.approve(final=False)
        approval.set_current_step(following_step)
        stamp(approval, by=by, reason=comment)
    # Each request moves on to its own next step: one UPDATE (the state is the same for all), and
    # the history of each as its save would write it.
    next_step = ApprovalStep.objects.filter(
        approval=OuterRef("pk"), pk__in=[step.pk for step in following.values() if step]
    )
    ApprovalRequest.objects.filter(pk__in=[approval.pk for approval in approvals]).update(
        state=ApprovalState.IN_REVIEW,
        current_step=Subquery(next_step.values("pk")[:1]),
        current_node=Subquery(next_step.values("node")[:1]),
    )
    ApprovalRequest.history.bulk_history_create(approvals, update=True, default_date=now)
    Decision.objects.bulk_create(
        [
            Decision(approval=approval, step=step, actor=by, action=DecisionAction.APPROVED, comment=comment)
            for approval, step in zip(approvals, decided, strict=True)
        ]
    )
    record_events(
        [
            _step_event(approval, step, "step_approved", by=by, comment=comment)
            for approval, step in zip(approvals, decided, strict=True)
        ]
    )


# --- reading ---------------------------------------------------------------------------------------

# The order of a reviewer's queue: the earliest deadline first, then the longest waiting.
QUEUE_ORDER = ("current_step__due_date", "current_step__started_at", "pk")


@dataclass(frozen=True)
class QueueGroup:
    school_id: int
    kind: str
    overdue: bool
    count: int


def queue_groups(waiting, today):
    """The requests of a queue (`waiting`) counted by school, kind and overdue or not (past its due
    date on `today`): the schools a queue's filter offers and its exact count under any filter, in
    one pass over the queue."""
    overdue = ExpressionWrapper(Q(current_step__due_date__lt=today), output_field=BooleanField())
    rows = (
        waiting.order_by()
        .annotate(overdue=overdue)
        .values_list("school_id", "kind", "overdue")
        .annotate(count=Count("pk"))
    )
    return [QueueGroup(school_id, kind, bool(late), count) for school_id, kind, late, count in rows]


def get_approval_for(user, pk, *, roles=()):
    """The request if the user's node covers its school, applicant or one of its steps (else 404);
    403 without one of `roles`."""
    queryset = ApprovalRequest.objects.visible_to(user).select_related(
        "school", "applicant", "applicant_node", "current_step__node"
    )
    approval = get_object_or_404(queryset, pk=pk)
    require_role(user, roles)
    return approval


def next_waiting(user, *, exclude=None):
    """The most urgent request waiting for this user, for approve-and-next."""
    queryset = ApprovalRequest.objects.waiting_for(user)
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude.pk)
    return queryset.order_by(*QUEUE_ORDER).first()


def overdue_below(user, *, now=None):
    """Current steps past their due date at nodes strictly below the user's node."""
    if user.node_id is None:
        return ApprovalStep.objects.none()
    today = timezone.localdate(now or timezone.now())
    # A step is current only while its request is in review (every decision and withdrawal closes
    # the round's current step), so the steps alone are counted: from one index, without joining
    # the province's open requests (approvalstep_current_due).
    return ApprovalStep.objects.filter(
        state=StepState.CURRENT,
        due_date__lt=today,
        node__path__startswith=user.node.path,
    ).exclude(node_id=user.node_id)


def returned_to(user):
    """Requests returned for revision that this user may resubmit."""
    if not user.is_authenticated or user.node_id is None:
        return ApprovalRequest.objects.none()
    kinds = [name for name, kind in KINDS.items() if user.has_role(*kind.applicant_roles)]
    return ApprovalRequest.objects.filter(
        state=ApprovalState.RETURNED, applicant_node_id=user.node_id, kind__in=kinds
    )


def recompute_due_dates():
    """After the holiday calendar changed: the due date of every current step, counted again."""
    steps = list(ApprovalStep.objects.filter(state=StepState.CURRENT, started_at__isnull=False))
    changed = []
    for step in steps:
        due = workdays.due_date_for(step.started_at)
        if due != step.due_date:
            step.due_date = due
            changed.append(step)
    ApprovalStep.objects.bulk_update(changed, ["due_date"])
    return len(changed)


@dataclass
class Panel:
    approval: ApprovalRequest
    steps: list
    planned: list
    plan_error: str
    decisions: list
    actions: list
    current_step: Any
    overdue: bool
    # Why the user, who holds the current step's role, may not decide it (separation of duties).
    duty_conflict: str = ""
    # Where the request stands in the user's queue: "3 / 12" with the requests before and after.
    position: Any = None

    @property
    def reviewing(self):
        """The user decides a step now (the applicant's buttons need no reviewer's hint)."""
        return any(action in REVIEW_ACTIONS for action, _label in self.actions)


@dataclass
class QueuePosition:
    number: int
    total: int
    previous: Any
    following: Any


def queue_position(approval, user):
    """Where `approval` stands in `user`'s queue (the queue's own order: due date, waiting since),
    or None when it does not wait for them. Four queries however long the queue."""
    step = approval.current_step
    waiting = ApprovalRequest.objects.waiting_for(user)
    if step is None or step.due_date is None or not waiting.filter(pk=approval.pk).exists():
        return None
    due, started = step.due_date, step.started_at
    before = (
        Q(current_step__due_date__lt=due)
        | Q(current_step__due_date=due, current_step__started_at__lt=started)
        | Q(current_step__due_date=due, current_step__started_at=started, pk__lt=approval.pk)
    )
    after = waiting.exclude(before).exclude(pk=approval.pk)
    return QueuePosition(
        number=waiting.filter(before).count() + 1,
        total=waiting.count(),
        previous=waiting.filter(before).order_by(*[f"-{field}" for field in QUEUE_ORDER]).first(),
        following=after.order_by(*QUEUE_ORDER).first(),
    )


def panel(approval, user, *, now=None):
    """What `registrar/approvals/_panel.html` shows to `user`: the chain of the latest round (or, in
    draft, the chain it would have), every decision, and the actions the user may take."""
    now = now or timezone.now()
    steps = list(
        approval.steps.filter(round=approval.round).select_related("node", "decided_by").order_by("position")
    )
    for step in steps:
        step.is_overdue = workdays.is_overdue(step, now)
    planned, plan_error = [], ""
    if approval.state == ApprovalState.DRAFT:
        try:
            planned = plan_chain(approval)[1]
        except ApprovalError as error:
            plan_error = error.message
    current = next((step for step in steps if step.pk == approval.current_step_id), None)
    return Panel(
        approval=approval,
        steps=steps,
        planned=planned,
        plan_error=plan_error,
        decisions=list(approval.decisions.select_related("actor", "step__node")),
        actions=[(action, ACTION_LABELS[action]) for action in available_actions(approval, user)],
        current_step=current,
        overdue=bool(current and current.is_overdue),
        duty_conflict=approval.duty_conflict(user) if current and may_decide_step(current, user) else "",
        position=queue_position(approval, user) if current and may_decide_step(current, user) else None,
    )
