"""The approval engine: one for every workflow (registration, 学籍异动, corrections, reversals).

A workflow registers its kind once (`register_kind` in its AppConfig.ready), links its own model
to an `ApprovalRequest` with a OneToOneField, and drives it through the services below. Each
service locks the request row, checks that the step is still the one the user saw and that the
user may act on it, changes the state, records a `Decision`, stamps the history, writes an audit
event, and calls the kind's hook inside the same transaction, so that the effect of the last
approval is applied together with the decision or not at all.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import has_transition_perm

from registrar import chains, workdays
from registrar.access import require_role
from registrar.audit import record_event, stamp
from registrar.choices import Role
from registrar.events import register_actions
from registrar.models import (
    ApprovalRequest,
    ApprovalState,
    ApprovalStep,
    Decision,
    DecisionAction,
    Organisation,
    StepState,
)

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


class ApprovalError(Exception):
    """A rule of the approval engine was broken; the message is shown to the user as it is."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# --- kinds ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalKind:
    """What the engine needs to know about one kind of request.

    Hooks are called as `hook(request, by)` inside the service's transaction, with the locked,
    already updated request; an exception in a hook (ApprovalError for a rule) undoes the whole
    decision. `on_submitted` runs on the first submission and on every resubmission.
    """

    name: str  # stable, dotted: "transfers.transfer"
    label: Any  # shown in queues: gettext_lazy("转学")
    on_approved: Any = None  # the last step approved: apply the change
    on_rejected: Any = None
    on_returned: Any = None
    on_withdrawn: Any = None
    on_submitted: Any = None
    # validate_submit(request) raises ApprovalError when the case is not ready to be (re)submitted.
    validate_submit: Any = None
    # chain_key(request, context) -> "kind:scope:segment"; default: default_chain_key.
    chain_key: Any = None
    # get_absolute_url(request) -> the workflow's page for this request (it embeds the panel).
    get_absolute_url: Any = None
    # Who may create, submit, resubmit and withdraw: these roles at the applying node.
    applicant_roles: tuple = (Role.SCHOOL_REGISTRAR,)
    allow_bulk_approve: bool = True


KINDS = {}

EVENT_TITLES = {
    "created": gettext_lazy("request created"),
    "submitted": gettext_lazy("submitted for review"),
    "resubmitted": gettext_lazy("resubmitted for review"),
    "step_approved": gettext_lazy("one step approved"),
    "approved": gettext_lazy("finally approved"),
    "rejected": gettext_lazy("request rejected"),
    "returned": gettext_lazy("request returned for revision"),
    "withdrawn": gettext_lazy("request withdrawn"),
}


def register_kind(kind):
    """Make a kind known to the engine (call it from AppConfig.ready). The last registration wins."""
    if not kind.name or ":" in kind.name or "*" in kind.name:
        raise ImproperlyConfigured(f"Approval kind name {kind.name!r}: a dotted name without ':' or '*'.")
    KINDS[kind.name] = kind
    register_actions(
        {
            f"{kind.name}.{event}": format_lazy("{}：{}", kind.label, title)
            for event, title in EVENT_TITLES.items()
        }
    )
    return kind


def get_kind(name):
    try:
        return KINDS[name]
    except KeyError:
        raise ImproperlyConfigured(f"Approval kind {name!r} is not registered.") from None


def kind_label(name):
    kind = KINDS.get(name)
    return str(kind.label) if kind else name


def kind_choices():
    return sorted(((name, str(kind.label)) for name, kind in KINDS.items()), key=lambda pair: pair[1])


# --- permissions ----------------------------------------------------------------------------------


def may_act_as_applicant(request, user):
    """The applicant side: a user at the applying node with one of the kind's applicant roles."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    kind = KINDS.get(request.kind)
    if kind is None:
        return False
    return user.node_id == request.applicant_node_id and user.has_role(*kind.applicant_roles)


def may_decide_step(step, user):
    """The step's role at the step's node: nobody else decides it, not even a superuser."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return step.state == StepState.CURRENT and user.node_id == step.node_id and step.role in user.roles


def available_actions(request, user):
    """The actions `user` may take on `request` now, from the FSM's available transitions."""
    names = {transition.name for transition in request.get_available_user_state_transitions(user)}
    return [action for action in ACTIONS if action in names]


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


def case_context(request):
    """The context the request was created with: named Organisations and plain facts."""
    by_code = Organisation.objects.in_bulk(list(request.nodes.values()), field_name="code")
    context = dict(request.facts)
    context.update({name: by_code.get(code) for name, code in request.nodes.items()})
    return context


def default_chain_key(request, context):
    """kind × scope × segment: the scope from the context, or from its receiving and sending
    schools; the segment from the context, or the school's only segment."""
    scope = context.get("scope")
    receiving, sending = context.get("receiving_school"), context.get("sending_school")
    if scope is None and isinstance(receiving, Organisation) and isinstance(sending, Organisation):
        scope = chains.scope_between(receiving, sending)
    segment = context.get("segment")
    if segment is None:
        segments = request.school.segments()
        segment = segments[0] if len(segments) == 1 else None
    return chains.chain_key(request.kind, scope=scope, segment=segment)


def plan_chain(request):
    """(chain key, [ResolvedStep]) for the request as its case stands now; ApprovalError if not."""
    kind = get_kind(request.kind)
    context = case_context(request)
    key = (kind.chain_key or default_chain_key)(request, context)
    try:
        matched, specs = chains.find_chain(key)
        steps = chains.resolve(specs, context)
    except chains.ChainError as error:
        raise ApprovalError(error.message) from None
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
    request = ApprovalRequest(
        kind=kind,
        subject_label=subject_label[:200],
        subject_key=subject_key,
        school=school,
        applicant=by,
        applicant_node=by.node,
        nodes=nodes,
        facts=facts,
    )
    stamp(request, by=by)
    request.save()
    record_event(f"{kind}.created", actor=by, obj=request)
    return request


def open_request_for(subject_key, *, exclude=None):
    """The open request (在办业务) about this subject, if any."""
    requests = ApprovalRequest.objects.open().filter(subject_key=subject_key)
    if exclude is not None:
        requests = requests.exclude(pk=exclude.pk)
    return requests.order_by("created_at").first()


def _lock(request):
    return (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("current_step", "school", "applicant_node")
        .get(pk=request.pk)
    )


def _check_transition(request, method, by, action):
    if not method._django_fsm.has_transition(request.state):
        raise ApprovalError(
            _("This request is %(state)s: it cannot be %(action)s now.")
            % {"state": request.get_state_display(), "action": str(ACTION_LABELS[action]).lower()}
        )
    if not has_transition_perm(method, by):
        raise PermissionDenied


def _start_round(request, *, now):
    request.chain_key, resolved = plan_chain(request)
    request.round += 1
    steps = ApprovalStep.objects.bulk_create(
        [
            ApprovalStep(
                request=request, round=request.round, position=position, role=step.role, node=step.node
            )
            for position, step in enumerate(resolved, start=1)
        ]
    )
    # bulk_create returns primary keys on PostgreSQL and SQLite alike.
    first = steps[0]
    _start_step(first, now=now)
    request.current_step = first
    request.submitted_at = now
    request.decided_at = None


def _start_step(step, *, now):
    step.state = StepState.CURRENT
    step.started_at = now
    step.due_date = workdays.due_date_for(now)
    step.save(update_fields=["state", "started_at", "due_date"])


def _close_remaining(request):
    ApprovalStep.objects.filter(
        request=request, round=request.round, state__in=[StepState.WAITING, StepState.CURRENT]
    ).update(state=StepState.SKIPPED)


def _save(request, *, by, reason, fields):
    stamp(request, by=by, reason=reason)
    request.save(update_fields=fields)


def _run_hook(kind, name, request, by):
    hook = getattr(kind, name)
    if hook is not None:
        hook(request, by)


def _check_submittable(kind, request):
    if kind.validate_submit is not None:
        kind.validate_submit(request)


_ROUND_FIELDS = ["state", "chain_key", "round", "current_step", "submitted_at", "decided_at"]


def submit(request, *, by, comment=""):
    """Draft → submitted: resolve the chain and start its first step."""
    with transaction.atomic():
        request = _lock(request)
        kind = get_kind(request.kind)
        _check_transition(request, request.submit, by, SUBMIT)
        _check_submittable(kind, request)
        now = timezone.now()
        request.submit()
        _start_round(request, now=now)
        _save(request, by=by, reason=comment, fields=_ROUND_FIELDS)
        Decision.objects.create(request=request, actor=by, action=DecisionAction.SUBMITTED, comment=comment)
        record_event(
            f"{request.kind}.submitted", actor=by, obj=request, reason=comment, chain=request.chain_key
        )
        _run_hook(kind, "on_submitted", request, by)
    return request


def resubmit(request, *, by, comment="", context=None, subject_label=None):
    """Returned → submitted: the chain starts again from its first step, resolved anew.

    `context` (optional) replaces the case's nodes and facts when the revision changed them.
    """
    with transaction.atomic():
        request = _lock(request)
        kind = get_kind(request.kind)
        _check_transition(request, request.resubmit, by, RESUBMIT)
        fields = list(_ROUND_FIELDS)
        if context is not None:
            request.nodes, request.facts = _split_context(context, request.school)
            fields += ["nodes", "facts"]
        if subject_label:
            request.subject_label = subject_label[:200]
            fields.append("subject_label")
        _check_submittable(kind, request)
        now = timezone.now()
        request.resubmit()
        _start_round(request, now=now)
        _save(request, by=by, reason=comment, fields=fields)
        Decision.objects.create(request=request, actor=by, action=DecisionAction.RESUBMITTED, comment=comment)
        record_event(
            f"{request.kind}.resubmitted", actor=by, obj=request, reason=comment, chain=request.chain_key
        )
        _run_hook(kind, "on_submitted", request, by)
    return request


def _parse_step_id(step_id):
    if step_id in (None, ""):
        return None
    try:
        return int(step_id)
    except (TypeError, ValueError):
        raise ApprovalError(_("This step does not exist.")) from None


def _check_step_seen(request, by, step_id):
    """The step the user decided on must still be the current one; if someone else decided it in
    the meantime, say who and when."""
    step_id = _parse_step_id(step_id)
    if step_id is None or step_id == request.current_step_id:
        return
    seen = ApprovalStep.objects.select_related("decided_by").filter(pk=step_id, request=request).first()
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
        % {"state": request.get_state_display()}
    )


def _decide(request, *, by, action, comment, step_id):
    comment = (comment or "").strip()
    with transaction.atomic():
        request = _lock(request)
        kind = get_kind(request.kind)
        _check_step_seen(request, by, step_id)
        method = getattr(request, action)
        _check_transition(request, method, by, action)
        if action in (REJECT, RETURN) and not comment:
            raise ApprovalError(_("Give the reason for rejecting or returning the request."))
        now = timezone.now()
        step = request.current_step
        step.decided_by = by
        step.decided_at = now
        step.comment = comment
        fields = ["state", "current_step", "decided_at"]
        if action == APPROVE:
            step.state = StepState.APPROVED
            step.save(update_fields=["state", "decided_by", "decided_at", "comment"])
            following = (
                ApprovalStep.objects.filter(request=request, round=request.round, position__gt=step.position)
                .order_by("position")
                .first()
            )
            request.approve(final=following is None)
            if following is None:
                request.current_step = None
                request.decided_at = now
                decision, event, hook = DecisionAction.APPROVED, "approved", "on_approved"
            else:
                _start_step(following, now=now)
                request.current_step = following
                decision, event, hook = DecisionAction.APPROVED, "step_approved", None
        else:
            step.state = StepState.REJECTED if action == REJECT else StepState.RETURNED
            step.save(update_fields=["state", "decided_by", "decided_at", "comment"])
            method()
            _close_remaining(request)
            request.current_step = None
            request.decided_at = now
            if action == REJECT:
                decision, event, hook = DecisionAction.REJECTED, "rejected", "on_rejected"
            else:
                decision, event, hook = DecisionAction.RETURNED, "returned", "on_returned"
        _save(request, by=by, reason=comment, fields=fields)
        Decision.objects.create(request=request, step=step, actor=by, action=decision, comment=comment)
        record_event(
            f"{request.kind}.{event}",
            actor=by,
            obj=request,
            reason=comment,
            step=step.position,
            role=step.role,
        )
        if hook:
            _run_hook(kind, hook, request, by)
    return request


def approve(request, *, by, comment="", step_id=None):
    """Approve the current step; on the last step the request is approved and `on_approved` runs.

    `step_id` is the step the user saw (the panel's form sends it): when another reviewer decided
    it in the meantime, ApprovalError says who and when.
    """
    return _decide(request, by=by, action=APPROVE, comment=comment, step_id=step_id)


def reject(request, *, by, comment, step_id=None):
    """Reject for good, with the reason (required)."""
    return _decide(request, by=by, action=REJECT, comment=comment, step_id=step_id)


def return_for_revision(request, *, by, comment, step_id=None):
    """Send back to the applicant to revise and resubmit, with the reason (required)."""
    return _decide(request, by=by, action=RETURN, comment=comment, step_id=step_id)


def withdraw(request, *, by, comment=""):
    """The applicant takes the request back while it is still open."""
    with transaction.atomic():
        request = _lock(request)
        kind = get_kind(request.kind)
        _check_transition(request, request.withdraw, by, WITHDRAW)
        now = timezone.now()
        request.withdraw()
        _close_remaining(request)
        request.current_step = None
        request.decided_at = now
        _save(request, by=by, reason=comment, fields=["state", "current_step", "decided_at"])
        Decision.objects.create(request=request, actor=by, action=DecisionAction.WITHDRAWN, comment=comment)
        record_event(f"{request.kind}.withdrawn", actor=by, obj=request, reason=comment)
        _run_hook(kind, "on_withdrawn", request, by)
    return request


SERVICES = {
    APPROVE: lambda request, by, comment, step_id: approve(request, by=by, comment=comment, step_id=step_id),
    REJECT: lambda request, by, comment, step_id: reject(request, by=by, comment=comment, step_id=step_id),
    RETURN: lambda request, by, comment, step_id: return_for_revision(
        request, by=by, comment=comment, step_id=step_id
    ),
    SUBMIT: lambda request, by, comment, step_id: submit(request, by=by, comment=comment),
    RESUBMIT: lambda request, by, comment, step_id: resubmit(request, by=by, comment=comment),
    WITHDRAW: lambda request, by, comment, step_id: withdraw(request, by=by, comment=comment),
}


def decide(request, *, action, by, comment="", step_id=None):
    """Run one of ACTIONS by name (what the panel's form posts)."""
    if action not in SERVICES:
        raise ApprovalError(_("Unknown action."))
    return SERVICES[action](request, by, comment, step_id)


# --- reading ---------------------------------------------------------------------------------------


def get_request_for(user, pk, *, roles=()):
    """The request if the user's node covers its school, applicant or one of its steps (else 404);
    403 without one of `roles`."""
    queryset = ApprovalRequest.objects.visible_to(user).select_related(
        "school", "applicant", "applicant_node", "current_step__node"
    )
    request = get_object_or_404(queryset, pk=pk)
    require_role(user, roles)
    return request


def next_waiting(user, *, exclude=None):
    """The most urgent request waiting for this user, for approve-and-next."""
    queryset = ApprovalRequest.objects.waiting_for(user)
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude.pk)
    return queryset.order_by("current_step__due_date", "current_step__started_at", "pk").first()


def overdue_below(user, *, now=None):
    """Current steps past their due date at nodes strictly below the user's node."""
    if user.node_id is None:
        return ApprovalStep.objects.none()
    today = timezone.localdate(now or timezone.now())
    return ApprovalStep.objects.filter(
        state=StepState.CURRENT,
        request__state__in=[ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW],
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
    request: ApprovalRequest
    steps: list
    planned: list
    plan_error: str
    decisions: list
    actions: list
    current_step: Any
    overdue: bool


def panel(request, user, *, now=None):
    """What `registrar/approvals/_panel.html` shows to `user`: the chain of the latest round (or, in
    draft, the chain it would have), every decision, and the actions the user may take."""
    now = now or timezone.now()
    steps = list(
        request.steps.filter(round=request.round).select_related("node", "decided_by").order_by("position")
    )
    for step in steps:
        step.is_overdue = workdays.is_overdue(step, now)
    planned, plan_error = [], ""
    if request.state == ApprovalState.DRAFT:
        try:
            planned = plan_chain(request)[1]
        except ApprovalError as error:
            plan_error = error.message
    current = next((step for step in steps if step.pk == request.current_step_id), None)
    return Panel(
        request=request,
        steps=steps,
        planned=planned,
        plan_error=plan_error,
        decisions=list(request.decisions.select_related("actor", "step__node")),
        actions=[(action, ACTION_LABELS[action]) for action in available_actions(request, user)],
        current_step=current,
        overdue=bool(current and current.is_overdue),
    )
