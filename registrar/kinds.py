"""The registry of approval kinds: what the engine knows about each workflow.

A leaf module (it imports no model), so that the models, the engine and every workflow app can
import it without a cycle. A workflow registers its kind once, in its AppConfig.ready().
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from registrar.choices import Role, StepState
from registrar.events import register_actions


@dataclass(frozen=True)
class ApprovalKind:
    """What the engine needs to know about one kind of request.

    Hooks are called as `hook(approval, by)` inside the service's transaction, with the locked,
    already updated `ApprovalRequest`; a `DomainError` (or any exception) in a hook undoes the whole
    decision. `on_submitted` runs on the first submission and on every resubmission.
    """

    name: str  # stable, dotted: "transfers.transfer"
    label: Any  # shown in queues: gettext_lazy("转学")
    on_approved: Any = None  # the last step approved: apply the change
    on_rejected: Any = None
    on_returned: Any = None
    on_withdrawn: Any = None
    on_submitted: Any = None
    # validate_submit(approval) raises a DomainError when the case is not ready to be (re)submitted.
    validate_submit: Any = None
    # subject_label(approval) -> str and context(approval) -> dict: the case as it stands, taken
    # again at every (re)submission, so that a revision that changed the case changes the queue's
    # label and the chain. Optional: without them the ones given at creation stay.
    subject_label: Any = None
    context: Any = None
    # chain_key(approval, context) -> "kind:scope:segment"; default: approvals.default_chain_key.
    chain_key: Any = None
    # get_absolute_url(approval) -> the workflow's page for this request (it embeds the panel).
    get_absolute_url: Any = None
    # Who may create, submit, resubmit and withdraw: these roles at the applying node.
    applicant_roles: tuple = (Role.SCHOOL_REGISTRAR,)
    allow_bulk_approve: bool = True
    # unopened_evidence(approvals, user) -> {approval pk: number of evidence files `user` has not
    # opened}: a request with evidence its reviewer has not looked at is not approved in bulk.
    unopened_evidence: Any = None


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


def unregister_kind(name):
    """Forget a kind (tests that register their own kinds clean up with this)."""
    KINDS.pop(name, None)


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


def may_act_as_applicant(approval, user):
    """The applicant side: a user at the applying node with one of the kind's applicant roles."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    kind = KINDS.get(approval.kind)
    if kind is None:
        return False
    return user.node_id == approval.applicant_node_id and user.has_role(*kind.applicant_roles)


def may_decide_step(step, user):
    """The step's role at the step's node: nobody else decides it, not even a superuser."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return step.state == StepState.CURRENT and user.node_id == step.node_id and step.role in user.roles
