"""Use cases of 学籍异动: start a request, attach evidence, submit, withdraw, and apply the approved change.

The approval itself is the engine's (registrar/approvals.py): these services create its request,
check the rules of the workflow (rules.py) before it starts and again at every (re)submission, and
apply the change in the engine's transaction when the last step approves (`apply_change`, the
on_approved hook). The student's status is written only through
students.services.record_status_event, which checks it against the lifecycle table.
"""

from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar import approvals
from registrar.audit import record_event, save_changes, stamp
from registrar.calendar import calendar_for, transfer_window_message, transfer_window_open
from registrar.choices import Role
from registrar.errors import ApprovalError
from registrar.limits import check_lookup, record_lookup
from registrar.models import AuditEvent, SchoolClass
from registrar.text import clean_text
from registrar.uploads import clean_evidence
from rules.models import WindowException
from rules.reading import rules_for
from rules.services import use_window_exception
from rules.topics import Topic
from students.duplicates import DuplicateMessages, facts
from students.identity import normalise_id_number, normalise_name
from students.models import Event, Status, Student
from students.numbers import keep_given_number
from students.privacy import mask_number
from students.services import (
    create_student,
    lock_student,
    record_status_event,
    subject_key,
    subject_label,
)
from transfers.errors import TransferError
from transfers.models import (
    OUTSIDE_FIELDS,
    OUTSIDE_KINDS,
    REASONS,
    Evidence,
    EvidenceType,
    Kind,
    StatusChangeRequest,
    Suspension,
    approval_kind,
)
from transfers.rules import (
    KIND_EVENTS,
    accepted_evidence,
    allowed_statuses,
    check_calendar,
    check_rules,
    check_transfer_can_start,
    describe_groups,
    missing_evidence,
    window_exception_for,
)

__all__ = [
    "TransferError",
    "start_request",
    "start_transfer_in",
    "submit_request",
    "update_request",
    "withdraw_request",
]


# --- finding the student of a transfer --------------------------------------------------------------


LOOKUP_ACTION = "transfers.student.looked_up"


def find_student(*, number, name, id_number, by, receiving_school, today=None):
    """The live student whose 学籍号, 姓名 and 身份证件号 all match (the receiving school's search),
    when a transfer of that student to `receiving_school` could start now.

    The three must agree exactly, so that a school finds only a student whose family gave it the
    papers; the message does not say which one differs. What the search would reveal (the school,
    grade and class the student comes from) is kept back until a transfer could start: the window
    is checked before anything is looked up, the student's status and open requests after. Every
    lookup is logged and counted per user (registrar/limits.py).
    """
    today = today or timezone.localdate()
    if not may_search_for_transfers(receiving_school, today):
        raise TransferError(transfer_window_message(receiving_school, today))
    check_lookup(by, LOOKUP_ACTION)
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
    record_lookup(by, LOOKUP_ACTION, number=mask_number(number), found=student is not None)
    if student is None:
        raise TransferError(
            _("No student matches this registration number, name and ID number. Check them on the papers.")
        )
    if student.school_id == receiving_school.pk:
        raise TransferError(_("%(name)s is already at your school.") % {"name": student.name})
    check_initiator(receiving_school, student, receiving=True)
    check_transfer_can_start(student, receiving_school, today)
    return student


def may_search_for_transfers(school, today):
    """Whether a transfer to `school` could start today for some student: a window open for one of
    its grades, or a county's window exception in force."""
    if transfer_window_open(school, today) and not rules_for(school).topic(Topic.WINDOWS):
        return True
    if any(transfer_window_open(school, today, grade=grade) for grade in school.grades.all()):
        return True
    return WindowException.objects.in_force(today).filter(kind=Kind.TRANSFER).exists()


def check_initiator(school, student, *, receiving):
    """The province's rule of who starts a transfer (rules/: the receiving school, the current
    school, or either): `school` starts it, as the receiving side or as the student's own."""
    initiator = rules_for(school).initiator(student.grade.segment)
    if receiving and initiator == "current":
        raise TransferError(
            _("Under the province's rules a transfer is started by the student's current school.")
        )
    if not receiving and initiator == "receiving":
        raise TransferError(_("Under the province's rules a transfer is started by the receiving school."))


# --- starting, editing and submitting ----------------------------------------------------------------


def _ensure_registrar(by):
    if by.node_id is None or not by.node.is_school or not by.has_role(Role.SCHOOL_REGISTRAR):
        raise PermissionDenied


def _ensure_may_start(kind, by, student):
    """The school's own registrar applies; for a transfer, the registrar of the receiving school or of
    the current one, as the province's rules say (`check_initiator`)."""
    _ensure_registrar(by)
    if kind != Kind.TRANSFER and by.node_id != student.school_id:
        raise PermissionDenied


def _clean_reason(kind, reason):
    """One of the kind's `REASONS`; blank for a kind that has none."""
    allowed = REASONS.get(kind, ())
    if not allowed:
        return ""
    if reason not in allowed:
        raise TransferError(_("Choose the reason for the request."))
    return reason


def _clean_explanation(explanation):
    explanation = (explanation or "").strip()
    if not explanation:
        raise TransferError(_("Explain the reason for the request."))
    return explanation


def _clean_outside(kind, outside):
    """The fields naming the school outside the system (OUTSIDE_FIELDS), cleaned; none for the
    other kinds. Whether the name and province are there is a rule (rules.check_outside)."""
    if kind not in OUTSIDE_KINDS:
        return {}
    return {field: clean_text((outside or {}).get(field) or "") for field in OUTSIDE_FIELDS}


def case_context(change):
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
    explanation,
    reason="",
    to_class=None,
    starts_on=None,
    ends_on=None,
    outside=None,
    today=None,
):
    """A new request in draft, checked against every rule. For a transfer `by` is the registrar of the
    receiving school and `to_class` a class of it; otherwise the registrar of the student's school.
    A transfer out of the system names its destination in `outside` (OUTSIDE_FIELDS).

    `today` is the day of the application (default: today); the transfer window is checked for it.
    """
    kind = Kind(kind)
    if kind == Kind.TRANSFER_IN:
        raise ValueError("a transfer in from outside the system enters its record: start_transfer_in")
    today = today or timezone.localdate()
    explanation = _clean_explanation(explanation)
    reason = _clean_reason(kind, reason)
    outside = _clean_outside(kind, outside)
    with transaction.atomic():
        # Two offices starting a change for the same student at once: the second waits and then sees
        # the first one's request.
        student = lock_student(student)
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
            reason=reason,
            explanation=explanation,
            starts_on=(starts_on or today) if kind == Kind.SUSPENSION else None,
            ends_on=ends_on if kind in (Kind.SUSPENSION, Kind.EXTENSION) else None,
            created_by=by,
            **outside,
        )
        if kind == Kind.TRANSFER and to_class is None:
            raise TransferError(_("Choose the class the student goes to."))
        # The student's own school starting a transfer to another school (where the rules let it).
        current_side = (
            kind == Kind.TRANSFER
            and by.node_id == student.school_id
            and to_class.grade.school_id != by.node_id
        )
        if kind == Kind.TRANSFER and not current_side and to_class.grade.school_id != by.node_id:
            raise TransferError(_("Choose a class of your own school."))
        if kind == Kind.TRANSFER:
            check_initiator(by.node, student, receiving=not current_side)
        check_rules(change, today=today, starting=True)
        exception = None
        if kind == Kind.TRANSFER and not transfer_window_open(change.to_school, today, grade=student.grade):
            exception = window_exception_for(change, student, today)
        change.approval = approvals.create_request(
            approval_kind(kind),
            by=by,
            school=change.to_school if kind == Kind.TRANSFER and not current_side else student.school,
            subject_label=subject_label(student),
            context=case_context(change),
            subject_key=subject_key(student),
        )
        stamp(change, by=by)
        change.save()
        if exception is not None:
            use_window_exception(exception, change.approval, by=by)
    return change


def _refuse_held(data, by, *, holder):
    """A record here already holds the number or the ID of a person arriving from outside."""
    messages = DuplicateMessages(by)
    found = facts(holder)
    messages.prepare([found["school_id"]])
    if holder.is_live:
        raise TransferError(messages.message(found))
    raise TransferError(
        _(
            "%(name)s already has a record in this system (%(school)s, %(status)s): one person keeps one "
            "registration and one number for life, so no new record is entered. Please contact your "
            "education bureau."
        )
        % {
            "name": data.get("name") or holder.name,
            "school": messages.school(found),
            "status": holder.get_status_display(),
        }
    )


def _check_arrival(data, by):
    """No record here, live or closed (cancelled entries aside), has the ID number of a person arriving
    from outside: they keep their one registration and number (一人一号, 严禁双学籍). Whether anyone
    holds the number they bring is students.numbers.keep_given_number's to say."""
    id_number = normalise_id_number(data.get("id_number"))
    if not id_number:
        # Without an ID, a live record of the same 姓名+性别+出生日期: create_student refuses it.
        return
    holder = (
        Student.objects.exclude(status=Status.CANCELLED)
        .filter(id_number=id_number)
        .select_related("school", "grade__school", "school_class")
        .first()
    )
    if holder is not None:
        _refuse_held(data, by, holder=holder)


def start_transfer_in(*, by, data, guardians, number, explanation, reason="", outside=None, today=None):
    """转入 from a school outside the system: the receiving school's registrar enters the record (the
    student form's `data` and `guardians`, as students.services.create_student takes them) with the
    national 学籍号 it already has, which is kept, never issued anew; a draft request follows, for the
    county to verify against the sending side's approval. Until approval the record is in review
    (登记中), reserving its number and ID; a rejection or withdrawal cancels it (note_closed).

    `outside` names the sending school (OUTSIDE_FIELDS). All or nothing: a refusal leaves no record.
    """
    today = today or timezone.localdate()
    _ensure_registrar(by)
    school = by.node
    explanation = _clean_explanation(explanation)
    reason = _clean_reason(Kind.TRANSFER_IN, reason)
    outside = _clean_outside(Kind.TRANSFER_IN, outside)
    if not (outside["outside_school"] and outside["outside_province"]):
        raise TransferError(_("Give the name and the province of the school outside the system."))
    if not transfer_window_open(school, today):
        raise TransferError(transfer_window_message(school, today))
    with transaction.atomic():
        _check_arrival(data, by)
        student = create_student(by=by, school=school, data=data, guardians=guardians)
        keep_given_number(student, number, by=by, reason=_("Transfer in from outside the system"))
        change = StatusChangeRequest(
            kind=Kind.TRANSFER_IN,
            student=student,
            from_school=school,
            from_grade=student.grade,
            from_class=student.school_class,
            to_school=school,
            to_grade=student.grade,
            to_class=student.school_class,
            reason=reason,
            explanation=explanation,
            created_by=by,
            **outside,
        )
        check_rules(change, today=today, starting=True)
        change.approval = approvals.create_request(
            approval_kind(Kind.TRANSFER_IN),
            by=by,
            school=school,
            subject_label=subject_label(student),
            context=case_context(change),
            subject_key=subject_key(student),
        )
        stamp(change, by=by)
        change.save()
        # The record's review is this request: the school corrects the entry while the request is a
        # draft or returned (students.registration.can_revise), and it cannot go to a registration
        # review of its own.
        student.registration = change.approval
        stamp(student, by=by)
        student.save(update_fields=["registration"])
    return change


def _editable(change, by):
    """The request locked for the applicant's change, with its approval: PermissionDenied for anyone
    but the applicant side, ApprovalError while a reviewer holds it."""
    approval = approvals.lock_for_edit(change.approval, by=by)
    change = (
        StatusChangeRequest.objects.select_for_update(of=("self",))
        .select_related("student__school", "student__grade__school", "from_grade__school", "to_class")
        .get(pk=change.pk)
    )
    change.approval = approval
    return change


EDITABLE_FIELDS = ("reason", "explanation", "to_class", "starts_on", "ends_on", *OUTSIDE_FIELDS)


def update_request(change, *, by, changes, reason_for_change=""):
    """Change a draft or a returned request (the answer to a return): its reason, explanation, class or
    dates."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        change = _editable(change, by)
        if "explanation" in changes:
            changes["explanation"] = _clean_explanation(changes["explanation"])
        if "reason" in changes:
            changes["reason"] = _clean_reason(change.kind, changes["reason"])
        if change.kind not in (Kind.TRANSFER, Kind.RESUMPTION, Kind.REPEAT, Kind.SKIP):
            changes.pop("to_class", None)
        if change.kind != Kind.SUSPENSION:
            changes.pop("starts_on", None)
        if change.kind not in (Kind.SUSPENSION, Kind.EXTENSION):
            changes.pop("ends_on", None)
        outside = _clean_outside(change.kind, {**{f: getattr(change, f) for f in OUTSIDE_FIELDS}, **changes})
        for field in OUTSIDE_FIELDS:
            changes.pop(field, None)
        changes.update({field: value for field, value in outside.items() if value != getattr(change, field)})
        if change.kind == Kind.TRANSFER and "to_class" in changes:
            new_class = changes["to_class"]
            if new_class is None or new_class.grade.school_id != change.to_school_id:
                raise TransferError(_("Choose a class of your own school."))
        if changes.get("to_class") is not None:
            # The class decides the grade and the school it belongs to.
            changes["to_grade"] = changes["to_class"].grade
            changes["to_school"] = changes["to_class"].grade.school
        changed = save_changes(change, changes, by=by, reason=reason_for_change, check=check_rules)
        if changed:
            record_event("transfers.request.updated", actor=by, obj=change, fields=sorted(changed))
    return change


def add_evidence(change, *, by, uploaded_file, kind):
    """Check a scan by its content (JPG, PNG or PDF, at most 10 MB), store it privately, attach it."""
    if kind not in EvidenceType.values:
        raise TransferError(_("Choose what the document is."))
    clean = clean_evidence(uploaded_file)
    with transaction.atomic():
        change = _editable(change, by)
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
        change = _editable(evidence.change, by)
        label = str(EvidenceType(evidence.kind).label)
        evidence.delete_with_file()
        record_event("transfers.evidence.removed", actor=by, obj=change, document=label)


def submit_request(change, *, by, comment=""):
    """Send a draft for review, or a returned request again (the engine's one path, `send`)."""
    approvals.send(change.approval, by=by, comment=comment)
    return StatusChangeRequest.objects.select_related("approval").get(pk=change.pk)


def withdraw_request(change, *, by, comment=""):
    """The applicant takes the request back while it is open; nothing of the record changes."""
    approvals.withdraw(change.approval, by=by, comment=comment)
    return StatusChangeRequest.objects.select_related("approval").get(pk=change.pk)


EVIDENCE_OPENED = "transfers.evidence.opened"


def unopened_evidence(approval_list, user):
    """{approval pk: how many of its evidence files `user` has not opened} (the engine's hook that
    keeps such requests out of a bulk approval). Two queries for any number of requests, one when
    none has evidence."""
    changes, files = {}, {}
    for change_id, approval_id, evidence_id in Evidence.objects.filter(
        change__approval__in=approval_list
    ).values_list("change_id", "change__approval_id", "pk"):
        changes[change_id] = approval_id
        files.setdefault(change_id, set()).add(evidence_id)
    if not files:
        return {}
    opened = AuditEvent.objects.filter(
        action=EVIDENCE_OPENED,
        actor_id=user.pk,
        content_type=ContentType.objects.get_for_model(StatusChangeRequest),
        object_id__in=[str(pk) for pk in files],
    ).values_list("data", flat=True)
    seen = {data.get("evidence") for data in opened}
    return {changes[change_id]: len(ids - seen) for change_id, ids in files.items() if ids - seen}


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
    check_rules(change)


def request_label(approval):
    """The queue's label, taken again at every (re)submission."""
    return subject_label(_change_of(approval).student)


def request_context(approval):
    return case_context(_change_of(approval))


def apply_change(approval, by):
    """The last step approved: change the record in the same transaction as the decision."""
    change = _change_of(approval, lock=True)
    student = lock_student(change.student)
    today = timezone.localdate()
    if student.school_id != change.from_school_id or student.status not in allowed_statuses(change.kind):
        raise TransferError(
            _("The record of %(name)s has changed since the request was made (now %(status)s at %(school)s).")
            % {"name": student.name, "status": student.get_status_display(), "school": student.school.name}
        )
    check_calendar(change, student, today, starting=False)
    APPLY[change.kind](change, student, by=by, today=today)
    change.applied_on = today
    stamp(change, by=by)
    change.save(update_fields=["applied_on"])


def _event(change, student, *, by, today, event=None, reason="", occurred_on=None, **placement):
    record_status_event(
        student,
        event=event or KIND_EVENTS[change.kind],
        by=by,
        occurred_on=occurred_on or today,
        reason=reason or f"{change.get_kind_display()}：{change.explanation}",
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
    _event(change, student, by=by, today=today)
    _event(
        change,
        student,
        by=by,
        today=today,
        event=Event.TRANSFERRED_IN,
        school=change.to_school,
        grade=change.to_grade,
        school_class=change.to_class,
    )


def _apply_transfer_out(change, student, *, by, today):
    # The record closes here as 转出, naming where the student went; it stays at the school, locked,
    # visible and printable (the 转学联系表 the family carries to the new school).
    reason = _("Transferred out of the system to %(place)s: %(explanation)s") % {
        "place": change.outside_place,
        "explanation": change.explanation,
    }
    _event(change, student, by=by, today=today, reason=reason)


def _apply_transfer_in(change, student, *, by, today):
    # The entered record, with the number it brought, is enrolled where the school placed it (the
    # school may have corrected the class while the request was returned).
    reason = _("Transferred in from %(place)s: %(explanation)s") % {
        "place": change.outside_place,
        "explanation": change.explanation,
    }
    _event(change, student, by=by, today=today, reason=reason)
    change.to_grade, change.to_class = student.grade, student.school_class
    change.save(update_fields=["to_grade", "to_class"])


def _apply_suspension(change, student, *, by, today):
    # The record's date is the start the request gave, not the day of the approval: a suspension
    # approved late (or early) still begins when the family asked (issue #18, item 7).
    _event(change, student, by=by, today=today, occurred_on=change.starts_on)
    suspension = Suspension(
        student=student,
        change=change,
        reason=change.reason,
        starts_on=change.starts_on,
        ends_on=change.ends_on,
    )
    stamp(suspension, by=by)
    suspension.save()


def _apply_extension(change, student, *, by, today):
    current = Suspension.objects.select_for_update().current().get(student=student)
    reason = _("Suspension extended to %(date)s: %(reason)s") % {
        "date": change.ends_on.isoformat(),
        "reason": change.explanation,
    }
    _event(change, student, by=by, today=today, reason=reason)
    current.ends_on = change.ends_on
    stamp(current, by=by, reason=reason)
    current.save(update_fields=["ends_on"])


def _apply_placement(change, student, *, by, today):
    """复学, 留级, 跳级: enrolled in the chosen grade and class of the same school."""
    if change.kind == Kind.RESUMPTION:
        _end_suspension(student, by=by, today=today)
    _event(change, student, by=by, today=today, grade=change.to_grade, school_class=change.to_class)


def _apply_departure(change, student, *, by, today):
    """退学, 出国, 死亡, 其他离校: the record stays, locked, at the school."""
    _end_suspension(student, by=by, today=today)
    _event(change, student, by=by, today=today)


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
    Kind.TRANSFER_OUT: _apply_transfer_out,
    Kind.TRANSFER_IN: _apply_transfer_in,
}


def note_closed(approval, by):
    """A rejection or withdrawal: the student's timeline at the applying school says so, with the
    reason; nothing of the record changes."""
    change = _change_of(approval)
    reason = approvals.last_comment(approval)
    record_event(
        f"{approval.kind}.{approval.state}", actor=by, obj=change.student, node=approval.school, reason=reason
    )
    if change.kind == Kind.TRANSFER_IN:
        _cancel_entry(change, by=by, reason=reason, action=f"{approval.kind}.{approval.state}")


def _cancel_entry(change, *, by, reason, action):
    """A transfer in refused or withdrawn: the record entered for it is cancelled (注册已取消) and gives
    back the number it reserved, which belongs to the record at the sending side."""
    student = lock_student(change.student)
    if student.status != Status.REGISTERING:
        return
    record_status_event(
        student, event=Event.CANCELLED, by=by, occurred_on=timezone.localdate(), reason=reason, action=action
    )
    save_changes(student, {"number": None}, by=by, reason=reason)


# --- reminders ----------------------------------------------------------------------------------------


def suspensions_of(school):
    """The current suspensions of a school's students, the earliest end first."""
    return (
        Suspension.objects.current()
        .filter(student__school=school, student__status=Status.SUSPENDED)
        .select_related("student__grade__school", "student__school_class", "change")
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
