"""The student's lifecycle (学籍状态, domain §5): one table of every allowed change of status, by
the event that makes it.

`students.services.record_status_event` is the one writer of a status, and it checks every change
against this table, whoever asks (a workflow's apply hook, the roster import's bulk writer, a
command): an event from a status the table does not list is refused with a message naming both.
The workflows take the statuses they start from here (`sources`), instead of keeping their own.

Why a table and not django-fsm transitions on `Student.status`: the roster import writes a county's
new students and their events in bulk (COPY, no model instances), so the rule must be callable
without an instance; several events share a source and a target (留级, 跳级, 升级 all keep 在校) and
differ only in what they mean; and the event is what a status history and its reports need to
name. The engine's own states (`ApprovalRequest.state`) do use django-fsm, where those reasons do
not hold.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from students.errors import StudentError
from students.models import Event, Status

# A student with no status yet: the first event of every record starts from here.
NEW = ""


@dataclass(frozen=True)
class Transition:
    sources: tuple
    # The status afterwards; None: the status stays what it was (no status event is written).
    target: str | None


S = Status
IN_SCHOOL = (S.ENROLLED, S.SUSPENDED)
LEAVERS = (S.GRADUATED, S.COMPLETED, S.DROPPED_OUT)

TRANSITIONS = {
    Event.ENTERED: Transition((NEW,), S.REGISTERING),
    Event.REGISTERED: Transition((S.REGISTERING,), S.ENROLLED),
    Event.IMPORTED_ENROLLED: Transition((NEW,), S.ENROLLED),
    Event.CANCELLED: Transition((S.REGISTERING,), S.CANCELLED),
    # 籍随人走: the sending school's event says 转出, the receiving school's 在校 follows it at once.
    Event.TRANSFERRED_OUT: Transition((S.ENROLLED,), S.TRANSFERRED_OUT),
    Event.TRANSFERRED_IN: Transition((S.TRANSFERRED_OUT,), S.ENROLLED),
    # 转出 to a school outside the system is Event.TRANSFERRED_OUT alone (the record stays 转出 here);
    # 转入 from outside enrols the record the receiving school entered (transfers/, issue #16).
    Event.TRANSFERRED_IN_FROM_OUTSIDE: Transition((S.REGISTERING,), S.ENROLLED),
    Event.SUSPENDED: Transition((S.ENROLLED,), S.SUSPENDED),
    Event.SUSPENSION_EXTENDED: Transition((S.SUSPENDED,), S.SUSPENDED),
    Event.RESUMED: Transition((S.SUSPENDED,), S.ENROLLED),
    Event.REPEATED: Transition((S.ENROLLED,), S.ENROLLED),
    Event.SKIPPED: Transition((S.ENROLLED,), S.ENROLLED),
    # Compulsory-education students cannot withdraw: that rule needs the grade (transfers/rules.py).
    Event.WITHDRAWN: Transition(IN_SCHOOL, S.WITHDRAWN),
    Event.WENT_ABROAD: Transition(IN_SCHOOL, S.ABROAD),
    Event.DIED: Transition(IN_SCHOOL, S.DECEASED),
    Event.LEFT: Transition(IN_SCHOOL, S.LEFT),
    Event.GRADUATED: Transition((S.ENROLLED,), S.GRADUATED),
    Event.COMPLETED: Transition((S.ENROLLED,), S.COMPLETED),
    # 肄业: left a high school after at least a year (the year is the graduation rules' business).
    Event.DROPPED_OUT: Transition(IN_SCHOOL, S.DROPPED_OUT),
    # 结业 exchanged for 毕业 once the make-up exams are passed (domain §10).
    Event.CERTIFICATE_EXCHANGED: Transition((S.COMPLETED,), S.GRADUATED),
    # 毕业生回退: an authority reopens a locked graduate's record.
    Event.GRADUATION_REVERSED: Transition(LEAVERS, S.ENROLLED),
    Event.PROMOTED: Transition((S.ENROLLED,), S.ENROLLED),
    Event.PROMOTION_UNDONE: Transition((S.ENROLLED,), S.ENROLLED),
    # 升学: the next stage's school takes over the same record and number.
    Event.ADMITTED: Transition((S.GRADUATED,), S.ENROLLED),
    Event.KEY_DATA_CORRECTED: Transition(IN_SCHOOL, None),
    # 问题学籍 删除 / 仲裁: a false live registration is closed, not erased (its history and number
    # stay); 已注销 frees the ID number for the registration that stands. A locked record stays locked.
    Event.VOIDED: Transition(IN_SCHOOL, S.CANCELLED),
}


class LifecycleError(StudentError):
    """An event the student's status does not allow."""


def sources(event):
    """The statuses `event` may start from."""
    return TRANSITIONS[Event(event)].sources


def target(event):
    """The status `event` leads to (None: it keeps the status)."""
    return TRANSITIONS[Event(event)].target


def allows(status, event):
    return status in TRANSITIONS[Event(event)].sources


def status_label(status):
    return str(Status(status).label) if status else _("no status yet")


def refusal(status, event, *, name=""):
    """The message refusing `event` from `status`."""
    return _("%(name)s is %(status)s: %(event)s is not possible from this status.") % {
        "name": name or _("The student"),
        "status": status_label(status),
        "event": Event(event).label,
    }


def check(status, event, *, name=""):
    """The status after `event` from `status` (the same status for an event that keeps it);
    LifecycleError when the table does not allow it."""
    event = Event(event)
    if not allows(status, event):
        raise LifecycleError(refusal(status, event, name=name))
    return TRANSITIONS[event].target or status


def events_from(status):
    """The events possible from `status`, in the table's order."""
    return [event for event, transition in TRANSITIONS.items() if status in transition.sources]
