"""Use cases of 学籍异动: start a request, attach evidence, submit, withdraw, and apply the approved change.

The approval itself is the engine's (registrar/approvals.py): these services create its request,
check the rules of the workflow before it starts and again at every (re)submission, and apply the
change in the engine's transaction when the last step approves (`apply_change`, the on_approved
hook). The student record is written only through students.services.record_status_event.

Rules (domain §5, §6; dates and limits from registrar.calendar, province by province):
- 在办业务: one open request per student across every app (`students.services.ensure_student_free`,
  keyed by `subject_key`), and no unresolved problem record.
- Each kind accepts students of certain statuses: no transfer during 休学, 复学 only from 休学 …
- 退学 only outside compulsory education.
- Transfers keep the grade, go to another school, only in the province's transfer windows (checked
  when the request is started), and not for graduating-year students during the freeze (checked
  when it is started, (re)submitted and applied); the same freeze holds for 留级 and 跳级.
- The receiving class must have room (班额), at the start, at every submission, and when applied.
- A suspension lasts at most 12 months at a time and 24 in total (configurable).
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar import approvals
from registrar.approvals import ApprovalError
from registrar.audit import record_event, stamp
from registrar.calendar import (
    add_months,
    calendar_for,
    graduation_frozen,
    is_graduating_level,
    transfer_window_message,
    transfer_window_open,
)
from registrar.choices import COMPULSORY_SEGMENTS, Role, Segment
from registrar.models import ApprovalState, SchoolClass, grade_name
from registrar.uploads import UploadError, clean_evidence
from students.errors import StudentError
from students.identity import normalise_id_number, normalise_name
from students.models import Status, Student
from students.privacy import mask_number
from students.services import check_class_room, ensure_student_free, record_status_event, subject_key
from transfers.models import (
    REASONS,
    Evidence,
    EvidenceType,
    Kind,
    Reason,
    StatusChangeRequest,
    Suspension,
    approval_kind,
)


class TransferError(Exception):
    """A rule of 学籍异动 was broken; the message is shown to the user as it is."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


E = EvidenceType

# What each kind needs before it may be submitted. Each entry is a group: one document of the group
# is enough (source 001: 户口本、户口迁移证、父母调动工作证明、房产证等; 病休: 县级以上医院证明、病例 …).
REQUIRED_EVIDENCE = {
    Kind.TRANSFER: [(E.HUKOU_BOOK,), (E.HUKOU_TRANSFER, E.JOB_TRANSFER, E.PROPERTY)],
    Kind.SUSPENSION: [(E.APPLICATION,)],
    Kind.EXTENSION: [(E.APPLICATION,)],
    Kind.RESUMPTION: [(E.APPLICATION,)],
    Kind.WITHDRAWAL: [(E.APPLICATION,)],
    Kind.REPEAT: [(E.APPLICATION,)],
    Kind.SKIP: [(E.APPLICATION,), (E.ACADEMIC,)],
    Kind.ABROAD: [(E.APPLICATION,), (E.PASSPORT,)],
    Kind.DEATH: [(E.DEATH,)],
    Kind.OTHER: [(E.APPLICATION, E.OTHER)],
}
# A suspension (or its extension) for illness needs the hospital's word; the resumption after it a
# certificate of recovery.
REQUIRED_FOR_ILLNESS = {
    Kind.SUSPENSION: {
        Reason.ILLNESS: [(E.HOSPITAL,), (E.MEDICAL_RECORD,)],
        Reason.INFECTIOUS: [(E.HOSPITAL,)],
    },
    Kind.EXTENSION: {Reason.ILLNESS: [(E.HOSPITAL,)], Reason.INFECTIOUS: [(E.HOSPITAL,)]},
    Kind.RESUMPTION: {Reason.ILLNESS: [(E.RECOVERY,)], Reason.INFECTIOUS: [(E.RECOVERY,)]},
}

# The statuses from which each kind starts (domain §5, §6).
ALLOWED_STATUSES = {
    Kind.TRANSFER: (Status.ENROLLED,),
    Kind.SUSPENSION: (Status.ENROLLED,),
    Kind.EXTENSION: (Status.SUSPENDED,),
    Kind.RESUMPTION: (Status.SUSPENDED,),
    Kind.WITHDRAWAL: (Status.ENROLLED, Status.SUSPENDED),
    Kind.REPEAT: (Status.ENROLLED,),
    Kind.SKIP: (Status.ENROLLED,),
    Kind.ABROAD: (Status.ENROLLED, Status.SUSPENDED),
    Kind.DEATH: (Status.ENROLLED, Status.SUSPENDED),
    Kind.OTHER: (Status.ENROLLED, Status.SUSPENDED),
}
# The status each kind leads to once approved.
NEW_STATUS = {
    Kind.TRANSFER: Status.ENROLLED,
    Kind.SUSPENSION: Status.SUSPENDED,
    Kind.EXTENSION: Status.SUSPENDED,
    Kind.RESUMPTION: Status.ENROLLED,
    Kind.WITHDRAWAL: Status.WITHDRAWN,
    Kind.REPEAT: Status.ENROLLED,
    Kind.SKIP: Status.ENROLLED,
    Kind.ABROAD: Status.ABROAD,
    Kind.DEATH: Status.DECEASED,
    Kind.OTHER: Status.LEFT,
}
# Changes of grade or school that the graduation freeze stops for graduating-year students.
FROZEN_KINDS = (Kind.TRANSFER, Kind.REPEAT, Kind.SKIP)
EDITABLE_STATES = (ApprovalState.DRAFT, ApprovalState.RETURNED)


# --- evidence rules ----------------------------------------------------------------------------------


def _suspension_category(change):
    """The reason of the suspension an extension or resumption continues or ends."""
    if change.kind == Kind.SUSPENSION:
        return change.category
    current = Suspension.objects.current().filter(student_id=change.student_id).first()
    return current.category if current else ""


def required_evidence(change):
    """The groups of documents `change` needs, each a tuple of EvidenceType (one of them is enough)."""
    groups = list(REQUIRED_EVIDENCE[change.kind])
    by_reason = REQUIRED_FOR_ILLNESS.get(change.kind)
    if by_reason:
        groups += by_reason.get(_suspension_category(change), [])
    return groups


def accepted_evidence(change):
    """The documents that may be attached to `change`: the required ones and any other document."""
    kinds = [kind for group in required_evidence(change) for kind in group]
    if change.kind in (Kind.SUSPENSION, Kind.EXTENSION):
        kinds += [E.HOSPITAL, E.MEDICAL_RECORD]
    return list(dict.fromkeys([*kinds, E.OTHER]))


def missing_evidence(change):
    present = set(change.evidence.values_list("kind", flat=True))
    return [group for group in required_evidence(change) if not present.intersection(group)]


def describe_groups(groups):
    """'户口本；户口迁移证 / 房产证' for messages and pages: one document of each group."""
    return _("; ").join(" / ".join(str(EvidenceType(kind).label) for kind in group) for group in groups)


# --- finding the student of a transfer --------------------------------------------------------------


def find_student(*, number, name, id_number):
    """The live student whose 学籍号, 姓名 and 身份证件号 all match (the receiving school's search).

    The three must agree exactly, so that a school finds only a student whose family gave it the
    papers; the message does not say which one differs.
    """
    number = normalise_id_number(number)
    name = normalise_name(name)
    id_number = normalise_id_number(id_number)
    student = None
    if number and name and id_number:
        student = (
            Student.objects.live()
            .filter(number=number, name=name, id_number=id_number)
            .select_related("school", "grade__school", "school_class")
            .first()
        )
    if student is None:
        raise TransferError(
            _("No student matches this registration number, name and ID number. Check them on the papers.")
        )
    return student


# --- the rules --------------------------------------------------------------------------------------


def _status_message(kind, student):
    if kind == Kind.TRANSFER and student.status == Status.SUSPENDED:
        return _("%(name)s is suspended: a student cannot transfer during a suspension.") % {
            "name": student.name
        }
    if kind in (Kind.EXTENSION, Kind.RESUMPTION):
        return _("%(name)s is not suspended.") % {"name": student.name}
    return _("%(name)s is %(status)s: a request of this kind cannot be made.") % {
        "name": student.name,
        "status": student.get_status_display(),
    }


def _check_status(change, student):
    if student.status not in ALLOWED_STATUSES[change.kind]:
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
        try:
            check_class_room(to_class)
        except StudentError as error:
            raise TransferError(error.message) from None


def _check_calendar(change, student, today, *, starting):
    if change.kind == Kind.TRANSFER and starting and not transfer_window_open(change.to_school, today):
        raise TransferError(transfer_window_message(change.to_school, today))
    frozen = (
        change.kind in FROZEN_KINDS
        and is_graduating_level(student.school, student.grade.level)
        and graduation_frozen(student.school, today)
    )
    if frozen:
        rules = calendar_for(student.school)
        raise TransferError(
            _(
                "%(name)s is in the graduating grade: from %(freeze)s to %(end)s graduating students "
                "cannot transfer, repeat or skip a grade."
            )
            % {
                "name": student.name,
                "freeze": rules.graduation_freeze_for(today).isoformat(),
                "end": rules.school_year_end_for(today).isoformat(),
            }
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


def check_rules(change, *, today=None, starting=False):
    """Every rule of the workflow for `change` as it stands; TransferError with the first broken one.

    `starting`: the request is being started, which alone is bound to the transfer window.
    """
    today = today or timezone.localdate()
    student = change.student
    try:
        ensure_student_free(student, exclude_request=change.approval if change.approval_id else None)
    except StudentError as error:
        raise TransferError(error.message) from None
    _check_status(change, student)
    _check_calendar(change, student, today, starting=starting)
    _check_placement(change, student)
    _check_suspension_dates(change, student, today)


# --- starting, editing and submitting ----------------------------------------------------------------


def _lock_student(student):
    return (
        Student.objects.select_for_update(of=("self",))
        .select_related("school", "grade__school", "school_class__grade__school")
        .get(pk=student.pk)
    )


def _ensure_may_start(kind, by, student):
    """The school's own registrar applies; for a transfer, the registrar of the receiving school."""
    if by.node_id is None or not by.node.is_school or not by.has_role(Role.SCHOOL_REGISTRAR):
        raise PermissionDenied
    if kind != Kind.TRANSFER and by.node_id != student.school_id:
        raise PermissionDenied


def _clean_category(kind, category):
    allowed = REASONS.get(kind, ())
    if not allowed:
        return ""
    if category not in allowed:
        raise TransferError(_("Choose the reason for the request."))
    return category


def subject_label(student):
    """The request's name in queues: the name and the masked 学籍号 (no full ID numbers in lists)."""
    return f"{student.name} {mask_number(student.number)}"


def _context(change):
    """What the approval chain is resolved from: the schools of the case and the student's segment."""
    context = {"segment": str(change.from_grade.segment)}
    if change.kind == Kind.TRANSFER:
        context.update({"receiving_school": change.to_school, "sending_school": change.from_school})
    return context


def start_request(
    kind,
    *,
    by,
    student,
    reason,
    category="",
    to_class=None,
    starts_on=None,
    ends_on=None,
    today=None,
):
    """A new request in draft, checked against every rule. For a transfer `by` is the registrar of the
    receiving school and `to_class` a class of it; otherwise the registrar of the student's school.

    `today` is the day of the application (default: today); the transfer window is checked for it.
    """
    kind = Kind(kind)
    today = today or timezone.localdate()
    reason = (reason or "").strip()
    if not reason:
        raise TransferError(_("Explain the reason for the request."))
    category = _clean_category(kind, category)
    with transaction.atomic():
        # Two offices starting a change for the same student at once: the second waits and then sees
        # the first one's request.
        student = _lock_student(student)
        _ensure_may_start(kind, by, student)
        if to_class is not None:
            to_class = SchoolClass.objects.select_related("grade__school").get(pk=to_class.pk)
        change = StatusChangeRequest(
            kind=kind,
            student=student,
            from_school=student.school,
            from_grade=student.grade,
            from_class=student.school_class,
            to_school=to_class.grade.school if to_class else None,
            to_grade=to_class.grade if to_class else None,
            to_class=to_class,
            category=category,
            reason=reason,
            starts_on=(starts_on or today) if kind == Kind.SUSPENSION else None,
            ends_on=ends_on if kind in (Kind.SUSPENSION, Kind.EXTENSION) else None,
            created_by=by,
        )
        if kind == Kind.TRANSFER and to_class is None:
            raise TransferError(_("Choose the class the student goes to."))
        if kind == Kind.TRANSFER and to_class.grade.school_id != by.node_id:
            raise TransferError(_("Choose a class of your own school."))
        check_rules(change, today=today, starting=True)
        change.approval = approvals.create_request(
            approval_kind(kind),
            by=by,
            school=change.to_school if kind == Kind.TRANSFER else student.school,
            subject_label=subject_label(student),
            context=_context(change),
            subject_key=subject_key(student),
        )
        stamp(change, by=by)
        change.save()
    return change


def lock_change(change):
    return (
        StatusChangeRequest.objects.select_for_update(of=("self",))
        .select_related(
            "approval", "student__school", "student__grade__school", "from_grade__school", "to_class"
        )
        .get(pk=change.pk)
    )


def _ensure_applicant(change, by):
    if not approvals.may_act_as_applicant(change.approval, by):
        raise PermissionDenied


def _ensure_editable(change):
    if change.approval.state not in EDITABLE_STATES:
        raise TransferError(
            _("This request is %(state)s: it can be changed only as a draft or after a return.")
            % {"state": change.approval.get_state_display()}
        )


EDITABLE_FIELDS = ("reason", "category", "to_class", "starts_on", "ends_on")


def update_request(change, *, by, changes, reason_for_change=""):
    """Change a draft or a returned request (the answer to a return): its reason, class or dates."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        change = lock_change(change)
        _ensure_applicant(change, by)
        _ensure_editable(change)
        if "reason" in changes:
            changes["reason"] = (changes["reason"] or "").strip()
            if not changes["reason"]:
                raise TransferError(_("Explain the reason for the request."))
        if "category" in changes:
            changes["category"] = _clean_category(change.kind, changes["category"])
        if change.kind not in (Kind.TRANSFER, Kind.RESUMPTION, Kind.REPEAT, Kind.SKIP):
            changes.pop("to_class", None)
        if change.kind != Kind.SUSPENSION:
            changes.pop("starts_on", None)
        if change.kind not in (Kind.SUSPENSION, Kind.EXTENSION):
            changes.pop("ends_on", None)
        if change.kind == Kind.TRANSFER and "to_class" in changes:
            new_class = changes["to_class"]
            if new_class is None or new_class.grade.school_id != change.to_school_id:
                raise TransferError(_("Choose a class of your own school."))
        changed = {field: value for field, value in changes.items() if getattr(change, field) != value}
        if not changed:
            return change
        for field, value in changed.items():
            setattr(change, field, value)
        if "to_class" in changed:
            change.to_grade = change.to_class.grade
            change.to_school = change.to_class.grade.school
            changed.update({"to_grade": change.to_grade, "to_school": change.to_school})
        check_rules(change)
        stamp(change, by=by, reason=reason_for_change)
        change.save(update_fields=list(changed))
        record_event("transfers.request.updated", actor=by, obj=change, fields=sorted(changed))
    return change


def add_evidence(change, *, by, uploaded_file, kind):
    """Check a scan by its content (JPG, PNG or PDF, at most 10 MB), store it privately, attach it."""
    if kind not in EvidenceType.values:
        raise TransferError(_("Choose what the document is."))
    try:
        clean = clean_evidence(uploaded_file)
    except UploadError as error:
        raise TransferError(error.message) from None
    with transaction.atomic():
        change = lock_change(change)
        _ensure_applicant(change, by)
        _ensure_editable(change)
        if kind not in accepted_evidence(change):
            raise TransferError(_("This document does not belong to a request of this kind."))
        evidence = Evidence.from_clean_file(clean, change=change, kind=kind, uploaded_by=by)
        evidence.save()
        record_event(
            "transfers.evidence.added",
            actor=by,
            obj=change,
            document=str(EvidenceType(kind).label),
            file=clean.original_name,
        )
    return evidence


def remove_evidence(evidence, *, by):
    with transaction.atomic():
        change = lock_change(evidence.change)
        _ensure_applicant(change, by)
        _ensure_editable(change)
        label = str(EvidenceType(evidence.kind).label)
        evidence.delete_with_file()
        record_event("transfers.evidence.removed", actor=by, obj=change, document=label)


def submit_request(change, *, by, comment=""):
    """Send a draft for review, or a returned request again: the engine runs `validate_submit`."""
    approval = change.approval
    try:
        if approval.state == ApprovalState.DRAFT:
            approvals.submit(approval, by=by, comment=comment)
        elif approval.state == ApprovalState.RETURNED:
            approvals.resubmit(approval, by=by, comment=comment, subject_label=subject_label(change.student))
        else:
            raise TransferError(_("This request has already been submitted."))
    except ApprovalError as error:
        raise TransferError(error.message) from None
    return StatusChangeRequest.objects.select_related("approval").get(pk=change.pk)


def withdraw_request(change, *, by, comment=""):
    """The applicant takes the request back while it is open; nothing of the record changes."""
    try:
        approvals.withdraw(change.approval, by=by, comment=comment)
    except ApprovalError as error:
        raise TransferError(error.message) from None
    return StatusChangeRequest.objects.select_related("approval").get(pk=change.pk)


# --- hooks of the approval engine -----------------------------------------------------------------


def _change_of(approval, *, lock=False):
    changes = StatusChangeRequest.objects.select_related(
        "student", "from_school", "from_grade__school", "to_school", "to_grade__school", "to_class"
    )
    if lock:
        changes = changes.select_for_update(of=("self",))
    return changes.get(approval=approval)


def validate_submit(approval):
    """Refuse a (re)submission while evidence is missing or a rule is broken."""
    change = _change_of(approval)
    missing = missing_evidence(change)
    if missing:
        raise ApprovalError(
            _("Attach the evidence still missing: %(items)s.") % {"items": describe_groups(missing)}
        )
    try:
        check_rules(change)
    except TransferError as error:
        raise ApprovalError(error.message) from None


def last_comment(approval):
    decision = approval.decisions.order_by("-created_at", "-pk").first()
    return decision.comment if decision else ""


def apply_change(approval, by):
    """The last step approved: change the record in the same transaction as the decision."""
    change = _change_of(approval, lock=True)
    student = _lock_student(change.student)
    today = timezone.localdate()
    if student.school_id != change.from_school_id or student.status not in ALLOWED_STATUSES[change.kind]:
        raise ApprovalError(
            _("The record of %(name)s has changed since the request was made (now %(status)s at %(school)s).")
            % {"name": student.name, "status": student.get_status_display(), "school": student.school.name}
        )
    try:
        _check_calendar(change, student, today, starting=False)
        APPLY[change.kind](change, student, by=by, today=today)
    except (TransferError, StudentError) as error:
        raise ApprovalError(error.message) from None
    change.applied_on = today
    stamp(change, by=by)
    change.save(update_fields=["applied_on"])


def _event(change, student, *, by, today, to_status, reason="", **placement):
    record_status_event(
        student,
        to_status=to_status,
        by=by,
        occurred_on=today,
        reason=reason or f"{change.get_kind_display()}：{change.reason}",
        action=f"{approval_kind(change.kind)}.approved",
        approved_by=by,
        **placement,
    )


def _end_suspension(student, *, by, today):
    current = Suspension.objects.select_for_update().current().filter(student=student).first()
    if current is not None:
        current.ended_on = max(today, current.starts_on)
        stamp(current, by=by)
        current.save(update_fields=["ended_on"])


def _apply_transfer(change, student, *, by, today):
    # 籍随人走: the same record (and 学籍号) moves; the sending school's event says 转出.
    _event(change, student, by=by, today=today, to_status=Status.TRANSFERRED_OUT)
    _event(
        change,
        student,
        by=by,
        today=today,
        to_status=Status.ENROLLED,
        school=change.to_school,
        grade=change.to_grade,
        school_class=change.to_class,
    )


def _apply_suspension(change, student, *, by, today):
    _event(change, student, by=by, today=today, to_status=Status.SUSPENDED)
    suspension = Suspension(
        student=student,
        request=change,
        category=change.category,
        starts_on=change.starts_on,
        ends_on=change.ends_on,
    )
    stamp(suspension, by=by)
    suspension.save()


def _apply_extension(change, student, *, by, today):
    current = Suspension.objects.select_for_update().current().get(student=student)
    reason = _("Suspension extended to %(date)s: %(reason)s") % {
        "date": change.ends_on.isoformat(),
        "reason": change.reason,
    }
    _event(change, student, by=by, today=today, to_status=Status.SUSPENDED, reason=reason)
    current.ends_on = change.ends_on
    stamp(current, by=by, reason=reason)
    current.save(update_fields=["ends_on"])


def _apply_placement(change, student, *, by, today):
    """复学, 留级, 跳级: enrolled in the chosen grade and class of the same school."""
    if change.kind == Kind.RESUMPTION:
        _end_suspension(student, by=by, today=today)
    _event(
        change,
        student,
        by=by,
        today=today,
        to_status=Status.ENROLLED,
        grade=change.to_grade,
        school_class=change.to_class,
    )


def _apply_departure(change, student, *, by, today):
    """退学, 出国, 死亡, 其他离校: the record stays, locked, at the school."""
    _end_suspension(student, by=by, today=today)
    _event(change, student, by=by, today=today, to_status=NEW_STATUS[change.kind])


APPLY = {
    Kind.TRANSFER: _apply_transfer,
    Kind.SUSPENSION: _apply_suspension,
    Kind.EXTENSION: _apply_extension,
    Kind.RESUMPTION: _apply_placement,
    Kind.REPEAT: _apply_placement,
    Kind.SKIP: _apply_placement,
    Kind.WITHDRAWAL: _apply_departure,
    Kind.ABROAD: _apply_departure,
    Kind.DEATH: _apply_departure,
    Kind.OTHER: _apply_departure,
}


def note_closed(approval, by):
    """A rejection or withdrawal: the student's timeline at the applying school says so, with the
    reason; nothing of the record changes."""
    change = _change_of(approval)
    record_event(
        f"{approval.kind}.{approval.state}",
        actor=by,
        obj=change.student,
        node=approval.school,
        reason=last_comment(approval),
    )


# --- reminders ----------------------------------------------------------------------------------------


def suspensions_of(school):
    """The current suspensions of a school's students, the earliest end first."""
    return (
        Suspension.objects.current()
        .filter(student__school=school, student__status=Status.SUSPENDED)
        .select_related("student__grade__school", "student__school_class", "request")
        .order_by("ends_on", "pk")
    )


def suspension_reminders(school, *, today=None):
    """(ending soon, past their end): the school resumes, extends or ends these suspensions."""
    today = today or timezone.localdate()
    days = calendar_for(school).suspension_reminder_days
    current = suspensions_of(school)
    ending = current.filter(ends_on__gte=today, ends_on__lte=today + timedelta(days=days))
    past = current.filter(ends_on__lt=today)
    return ending, past
