"""The rules of 学籍异动 (domain §5, §6), apart from the use cases that apply them (services.py).

- Evidence: what each kind (and each reason of a suspension) needs before it may be submitted.
- Statuses: each kind is an event of the student's lifecycle (students/lifecycle.py), which says
  from which statuses it starts; 退学 only outside compulsory education.
- 在办业务: one open request per student across every app, and no unresolved problem record
  (`students.services.ensure_student_free`).
- Placement: transfers keep the grade and go to another school; 复学, 留级, 跳级 stay in the school
  and its stage; the receiving class must have room (班额).
- Calendar (registrar/calendar.py, province by province): transfers only in the transfer windows
  (checked when started), and no 学籍异动 of any kind for graduating-year students after the
  graduation freeze date of their stage; a suspension lasts at most 12 months at a time and 24 in total.
"""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.calendar import (
    add_months,
    calendar_for,
    graduation_freeze_applies,
    graduation_freeze_message,
    transfer_window_message,
    transfer_window_open,
)
from registrar.choices import COMPULSORY_SEGMENTS, Segment
from registrar.models import grade_name
from rules.reading import rules_for, rules_of, window_exception
from students import lifecycle
from students.models import Event, Status
from students.services import check_class_room, ensure_student_free
from transfers.errors import TransferError
from transfers.models import OUTSIDE_KINDS, EvidenceType, Kind, StatusChangeRequest, Suspension

E = EvidenceType

# Transfers: bound to the transfer window of the school of this system they start at.
WINDOW_KINDS = (Kind.TRANSFER, Kind.TRANSFER_OUT, Kind.TRANSFER_IN)

# What each kind does to the student's status, in the lifecycle table's words (students/lifecycle.py):
# the statuses a kind starts from and the one it leads to are the table's, not ours. A transfer is
# two events: 转出 at the sending school, then 在校 at the receiving one.
KIND_EVENTS = {
    Kind.TRANSFER: Event.TRANSFERRED_OUT,
    Kind.SUSPENSION: Event.SUSPENDED,
    Kind.EXTENSION: Event.SUSPENSION_EXTENDED,
    Kind.RESUMPTION: Event.RESUMED,
    Kind.WITHDRAWAL: Event.WITHDRAWN,
    Kind.REPEAT: Event.REPEATED,
    Kind.SKIP: Event.SKIPPED,
    Kind.ABROAD: Event.WENT_ABROAD,
    Kind.DEATH: Event.DIED,
    Kind.OTHER: Event.LEFT,
    # The record closes here as 转出, with the destination in the event's reason.
    Kind.TRANSFER_OUT: Event.TRANSFERRED_OUT,
    Kind.TRANSFER_IN: Event.TRANSFERRED_IN_FROM_OUTSIDE,
}


def allowed_statuses(kind):
    """The statuses a request of `kind` may start from (and must still find when it is applied)."""
    return lifecycle.sources(KIND_EVENTS[Kind(kind)])


# The graduation freeze stops every 学籍异动 of graduating-year students (source 000: "5月31日之后严禁
# 对毕业年级学生发起学籍异动操作").
FROZEN_KINDS = tuple(Kind)


# --- evidence rules ----------------------------------------------------------------------------------


def _suspension_reason(change):
    """The reason of the suspension `change` asks for, or of the one it extends or ends."""
    if change.kind == Kind.SUSPENSION:
        return change.reason
    current = Suspension.objects.current().filter(student_id=change.student_id).first()
    return current.reason if current else ""


def rules_in_force(change):
    """The province's rules for `change`: those kept with its request, or today's before it has one."""
    if change.approval_id:
        return rules_of(change.approval)
    return rules_for(change.to_school if change.kind == Kind.TRANSFER else change.student.school)


def required_evidence(change):
    """The groups of documents `change` needs, each a tuple of EvidenceType (one of them is enough):
    the province's rule for its kind, and for the reason of a suspension (rules/)."""
    groups = rules_in_force(change).evidence(change.kind, _suspension_reason(change))
    return [tuple(EvidenceType(kind) for kind in group if kind in EvidenceType.values) for group in groups]


def accepted_evidence(change):
    """The documents that may be attached to `change`: the required ones and any other document."""
    kinds = [kind for group in required_evidence(change) for kind in group]
    if change.kind in (Kind.SUSPENSION, Kind.EXTENSION):
        kinds += [E.HOSPITAL, E.MEDICAL_RECORD]
    if change.kind in OUTSIDE_KINDS:
        kinds += [E.APPLICATION, E.HUKOU_BOOK, E.HUKOU_TRANSFER, E.JOB_TRANSFER, E.PROPERTY]
    return list(dict.fromkeys([*kinds, E.OTHER]))


def missing_evidence(change):
    present = set(change.evidence.values_list("kind", flat=True))
    return [group for group in required_evidence(change) if not present.intersection(group)]


def describe_groups(groups):
    """'户口本；户口迁移证 / 房产证' for messages and pages: one document of each group."""
    return _("; ").join(" / ".join(str(EvidenceType(kind).label) for kind in group) for group in groups)


# --- the rules --------------------------------------------------------------------------------------


def _status_message(kind, student):
    if kind in (Kind.TRANSFER, Kind.TRANSFER_OUT) and student.status == Status.SUSPENDED:
        return _("%(name)s is suspended: a student cannot transfer during a suspension.") % {
            "name": student.name
        }
    if kind in (Kind.EXTENSION, Kind.RESUMPTION):
        return _("%(name)s is not suspended.") % {"name": student.name}
    return _("%(name)s is %(status)s: a request of this kind cannot be made.") % {
        "name": student.name,
        "status": student.get_status_display(),
    }


def _check_kind_in_use(change, student):
    segment = student.grade.segment
    if not rules_in_force(change).kind_enabled(change.kind, segment):
        raise TransferError(
            _("%(kind)s is not in use for %(segment)s students under the province's rules.")
            % {"kind": Kind(change.kind).label, "segment": Segment(segment).label}
        )


def _check_status(change, student):
    if student.status not in allowed_statuses(change.kind):
        raise TransferError(_status_message(change.kind, student))
    if change.kind == Kind.WITHDRAWAL and student.grade.segment in COMPULSORY_SEGMENTS:
        raise TransferError(
            _(
                "%(name)s is in compulsory education (%(segment)s): students of primary and junior "
                "secondary school cannot withdraw from school."
            )
            % {"name": student.name, "segment": Segment(student.grade.segment).label}
        )


def _check_placement(change, student):
    """The class the student goes to: the right school and grade, and room in it."""
    if change.kind not in (Kind.TRANSFER, Kind.RESUMPTION, Kind.REPEAT, Kind.SKIP):
        return
    to_class = change.to_class
    if to_class is None:
        raise TransferError(_("Choose the class the student goes to."))
    grade = to_class.grade
    level, current = grade.level, student.grade.level
    if change.kind == Kind.TRANSFER:
        if grade.school_id == student.school_id:
            raise TransferError(_("%(name)s is already at your school.") % {"name": student.name})
        if level != current:
            raise TransferError(
                _("A transfer keeps the grade: %(name)s is in %(grade)s, so choose a class of that grade.")
                % {"name": student.name, "grade": student.grade.name}
            )
    else:
        if grade.school_id != student.school_id:
            raise TransferError(_("Choose a class of the student's own school."))
        if grade.segment != student.grade.segment:
            raise TransferError(_("The new grade must be of the same stage as the present one."))
        expected = {Kind.REPEAT: current - 1, Kind.SKIP: current + 1}.get(change.kind)
        if expected is not None and level != expected:
            raise TransferError(
                _("%(name)s is in %(grade)s: choose a class of %(expected)s.")
                % {
                    "name": student.name,
                    "grade": student.grade.name,
                    "expected": grade_name(expected, grade.school.segment_of_level(expected)),
                }
            )
        if change.kind == Kind.RESUMPTION and abs(level - current) > 1:
            raise TransferError(
                _("After a suspension a student resumes in the same grade or the one next to it.")
            )
    # A suspended student resuming in the class that kept their place takes no new seat.
    if to_class.pk != student.school_class_id:
        check_class_room(to_class)


def window_exception_for(change, student, today):
    """The county's exception that lets this request start outside the window, if any."""
    return window_exception(student, change.kind, today)


def check_calendar(change, student, today, *, starting):
    # A transfer: the receiving school's window (a transfer out: the current school's); a county's
    # exception for this student and kind lets it start outside the window.
    school = change.to_school or student.school
    grade = student.grade
    if (
        change.kind in WINDOW_KINDS
        and starting
        and not transfer_window_open(school, today, grade=grade)
        and window_exception_for(change, student, today) is None
    ):
        raise TransferError(transfer_window_message(school, today, grade=grade))
    if change.kind in FROZEN_KINDS and graduation_freeze_applies(student.school, student.grade.level, today):
        raise TransferError(
            graduation_freeze_message(student.school, student.grade.level, student.name, today)
        )


def _days_used(student, *, exclude=None):
    periods = Suspension.objects.filter(student=student)
    if exclude is not None:
        periods = periods.exclude(pk=exclude.pk)
    return sum(period.days_used() for period in periods)


def _check_suspension_dates(change, student, today):
    if change.kind not in (Kind.SUSPENSION, Kind.EXTENSION):
        return
    rules = calendar_for(student.school)
    if change.ends_on is None:
        raise TransferError(_("Give the date the suspension ends."))
    if change.kind == Kind.SUSPENSION:
        if change.starts_on is None:
            raise TransferError(_("Give the date the suspension starts."))
        start, current = change.starts_on, None
        if change.ends_on <= start:
            raise TransferError(_("The suspension must end after it starts."))
        longest = add_months(start, rules.suspension_max_months)
    else:
        current = Suspension.objects.current().filter(student=student).first()
        if current is None:
            raise TransferError(_("%(name)s has no current suspension to extend.") % {"name": student.name})
        start = current.starts_on
        if change.ends_on <= current.ends_on:
            raise TransferError(
                _("An extension must end after the present end of the suspension, %(date)s.")
                % {"date": current.ends_on.isoformat()}
            )
        longest = add_months(current.ends_on, rules.suspension_max_months)
    if change.ends_on < today:
        raise TransferError(_("The end of the suspension has already passed."))
    if change.ends_on > longest:
        raise TransferError(
            _("A suspension lasts at most %(months)s months at a time: it may end by %(date)s at the latest.")
            % {"months": rules.suspension_max_months, "date": longest.isoformat()}
        )
    used = _days_used(student, exclude=current)
    latest = add_months(start, rules.suspension_total_max_months) - timedelta(days=used)
    if change.ends_on > latest:
        raise TransferError(
            _(
                "%(name)s has been suspended for %(used)s days before; suspensions may last %(months)s "
                "months in total, so this one may end by %(date)s at the latest."
            )
            % {
                "name": student.name,
                "used": used,
                "months": rules.suspension_total_max_months,
                "date": latest.isoformat(),
            }
        )


def check_outside(change):
    """The school outside the system is named, with its province (OUTSIDE_KINDS)."""
    if change.kind in OUTSIDE_KINDS and not (change.outside_school and change.outside_province):
        raise TransferError(_("Give the name and the province of the school outside the system."))


def check_transfer_can_start(student, receiving_school, today):
    """The rules a transfer of `student` to `receiving_school` must meet before any class is
    chosen: 在办业务 and problem records, the status, the graduation freeze."""
    provisional = StatusChangeRequest(kind=Kind.TRANSFER, student=student, to_school=receiving_school)
    ensure_student_free(student)
    _check_status(provisional, student)
    check_calendar(provisional, student, today, starting=False)


def check_rules(change, *, today=None, starting=False):
    """Every rule of the workflow for `change` as it stands; a DomainError (TransferError, or the
    student record's own StudentError) with the first broken one.

    `starting`: the request is being started, which alone is bound to the transfer window.
    """
    today = today or timezone.localdate()
    student = change.student
    ensure_student_free(student, exclude_approval=change.approval if change.approval_id else None)
    if starting:
        _check_kind_in_use(change, student)
    _check_status(change, student)
    check_calendar(change, student, today, starting=starting)
    _check_placement(change, student)
    _check_suspension_dates(change, student, today)
    check_outside(change)
