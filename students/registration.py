"""学籍注册审核: a new student's registration goes school registrar → principal → county (city for
high school) on the approval engine; only the last approval issues the 学籍号 and enrols the student.

One request covers one entered student or a whole imported batch of one school and stage: the
reviewer approves the batch at once, returns it with a reason for correction, or takes single
students out of it with a reason (`take_out`) while the rest goes on; such a student waits, still in
registration, until the school corrects them and submits them again.
"""

from itertools import groupby

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registrar.approvals import (
    ApprovalError,
    ApprovalKind,
    create_request,
    is_editable,
    last_comment,
    lock_for_decision,
    submit,
)
from registrar.audit import record_event, save_changes, stamp
from registrar.models import AuditEvent
from students import lifecycle
from students.errors import StudentError
from students.models import Event, Status, Student
from students.services import (
    create_student,
    lock_student,
    record_status_event,
    register_student,
    replace_guardians,
    revise_registration,
)

KIND = "students.registration"


def _label(students):
    first = students[0]
    if len(students) == 1:
        return _("New student %(name)s, %(grade)s %(class)s") % {
            "name": first.name,
            "grade": first.grade.name,
            "class": first.school_class.name,
        }
    return _("%(count)d new students (%(name)s and others)") % {"count": len(students), "name": first.name}


def submit_for_review(students, *, by):
    """Put registrations in review: one request per school and stage segment. Returns the requests."""
    students = sorted(
        Student.objects.filter(pk__in=[student.pk for student in students]).select_related(
            "school", "grade__school", "school_class"
        ),
        key=lambda student: (student.school_id, student.grade.segment, student.pk),
    )
    approvals = []
    with transaction.atomic():
        for (_school_id, segment), group in groupby(students, key=lambda s: (s.school_id, s.grade.segment)):
            group = list(group)
            waiting = [student for student in group if student.status == Status.REGISTERING]
            if len(waiting) != len(group) or any(student.registration_id for student in group):
                raise StudentError(_("Only new registrations that are not yet in review can be submitted."))
            approval = create_request(
                KIND,
                by=by,
                school=group[0].school,
                subject_label=_label(group),
                context={"segment": str(segment)},
            )
            Student.objects.filter(pk__in=[student.pk for student in group]).update(registration=approval)
            approvals.append(submit(approval, by=by))
    return approvals


def enter_student(*, by, school, data, guardians):
    """新生注册 from the form: the entry and its review request together, or neither."""
    with transaction.atomic():
        student = create_student(by=by, school=school, data=data, guardians=guardians)
        submit_for_review([student], by=by)
    return student


def can_revise(student):
    """A registration is corrected while it is not yet, or no longer, in a reviewer's hands."""
    if student.status != Status.REGISTERING:
        return False
    approval = student.registration
    return approval is None or is_editable(approval)


def revise(student, *, by, changes, guardians, reason=""):
    """Correct a registration returned for revision (key fields included), with its family list."""
    with transaction.atomic():
        student = (
            Student.objects.select_for_update(of=("self",)).select_related("registration").get(pk=student.pk)
        )
        if not can_revise(student):
            raise StudentError(
                _("This registration is with a reviewer: it can be corrected once it is returned.")
            )
        student = revise_registration(student, by=by, changes=changes, reason=reason)
        return replace_guardians(student, by=by, guardians=guardians, reason=reason)


def take_out(approval, student, *, by, reason):
    """A reviewer returns one student of a batch to the school, with the reason, while the rest of
    the batch goes on (issue #18, item 6): the student leaves the request and waits, still in
    registration, for the school to correct and submit them again. Only the holder of the current
    step may do it, as they may return the whole batch."""
    reason = (reason or "").strip()
    with transaction.atomic():
        approval = lock_for_decision(approval, by=by)
        step = approval.current_step
        if not reason:
            raise ApprovalError(_("Give the reason for returning this student."))
        student = lock_student(student)
        if student.registration_id != approval.pk or student.status != Status.REGISTERING:
            raise ApprovalError(_("%(name)s is no longer in this registration.") % {"name": student.name})
        remaining = list(students_of(approval).exclude(pk=student.pk))
        if not remaining:
            raise ApprovalError(
                _("%(name)s is the last student of this registration: return the whole registration instead.")
                % {"name": student.name}
            )
        save_changes(student, {"registration": None}, by=by, reason=reason)
        approval.subject_label = _label(remaining)[:200]
        stamp(approval, by=by, reason=reason)
        approval.save(update_fields=["subject_label"])
        record_event(
            "students.registration.taken_out",
            actor=by,
            obj=student,
            reason=reason,
            approval=approval.pk,
            step=step.position,
        )
    return student


def returned_alone(student):
    """The audit event of the student's return from a batch, while they wait to be submitted again."""
    if student.status != Status.REGISTERING or student.registration_id is not None:
        return None
    return (
        AuditEvent.objects.for_object(student)
        .filter(action="students.registration.taken_out")
        .select_related("actor")
        .order_by("-created_at", "-pk")
        .first()
    )


def students_of(approval):
    return Student.objects.filter(registration=approval).select_related(
        "school", "grade__school", "school_class"
    )


def _validate_submit(approval):
    """Every student of the batch must still be a registration the review can approve."""
    students = list(Student.objects.filter(registration=approval).only("pk", "name", "status"))
    if not students:
        raise ApprovalError(_("This registration holds no student."))
    moved_on = [student for student in students if not lifecycle.allows(student.status, Event.REGISTERED)]
    if moved_on:
        raise ApprovalError(
            _("Some students of this registration are no longer in review: %(names)s.")
            % {"names": "、".join(student.name for student in moved_on[:10])}
        )


def _approved(approval, by):
    today = timezone.localdate()
    for student in students_of(approval).filter(status=Status.REGISTERING):
        register_student(student, by=by, occurred_on=today, approved_by=by)


def _cancel(approval, by, *, action):
    today = timezone.localdate()
    reason = last_comment(approval)
    for student in students_of(approval).filter(status=Status.REGISTERING):
        record_status_event(
            student, event=Event.CANCELLED, by=by, occurred_on=today, reason=reason, action=action
        )
        record_event(action, actor=by, obj=student, reason=reason)


def _rejected(approval, by):
    _cancel(approval, by, action="students.registration.rejected")


def _withdrawn(approval, by):
    _cancel(approval, by, action="students.registration.withdrawn")


REGISTRATION = ApprovalKind(
    name=KIND,
    label=gettext_lazy("Student registration"),
    on_approved=_approved,
    on_rejected=_rejected,
    on_withdrawn=_withdrawn,
    validate_submit=_validate_submit,
    get_absolute_url=lambda approval: reverse("students:registration", args=[approval.pk]),
)
