"""升学 (intake): a school takes over the records of students who graduated in this system.

A receiving school's registrar finds a graduate (学籍号 + 姓名 + 身份证件号, logged and counted like
the transfers' lookup) or imports its admission list (intake/admission.py); the students chosen go
into one request on the approval engine, reviewed by the chain registration uses (county; city for
普通高中). The last approval re-enrols each one as the same record with the same 学籍号: the
lifecycle's ADMITTED event (毕业 → 在校) at the new school, in grade 1 of the new stage, and the
previous school's 去向 becomes 升学 to this school.

While the request is open the students are its subjects (在办业务): a second school asking for one of
them is refused, told only what it may see.
"""

from collections import Counter

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from graduation.models import Destination, Entry
from intake.errors import IntakeError
from intake.models import Intake, IntakeEntry, Source
from registrar import chains
from registrar.approvals import (
    ApprovalError,
    ApprovalKind,
    add_subjects,
    create_request,
    open_request_for,
    submit,
)
from registrar.audit import record_event, save_changes
from registrar.choices import Role, Segment
from registrar.limits import check_lookup, record_lookup
from registrar.models import Grade, Organisation, grade_name
from students import lifecycle
from students.identity import normalise_id_number, normalise_name, school_year_start
from students.models import Event, ProblemRecord, Status, Student
from students.privacy import mask_number
from students.registration import KIND as REGISTRATION_KIND
from students.services import check_class_room, lock_student, record_status_event, subject_key

KIND = "intake.intake"
LOOKUP_ACTION = "intake.graduate.looked_up"

# The stage a graduate of each stage goes on to.
NEXT_SEGMENTS = {
    Segment.PRIMARY: (Segment.JUNIOR,),
    Segment.JUNIOR: (Segment.SENIOR, Segment.VOCATIONAL),
}
# 入学方式 codes of compulsory education; a high school's intake takes 普通入学 instead of them.
COMPULSORY_ADMISSION = ("11", "12")
DEFAULT_ADMISSION = {Segment.JUNIOR: "11", Segment.SENIOR: "21", Segment.VOCATIONAL: "21"}


def registrar_school(user):
    """The school whose registrar the user is: the only one who takes students in."""
    if user.node_id is None or not user.node.is_school or not user.has_role(Role.SCHOOL_REGISTRAR):
        raise PermissionDenied
    return user.node


# --- where a graduate goes ------------------------------------------------------------------------------


def entry_grade(school, previous_segment):
    """Grade 1 of the stage after `previous_segment` at `school`; IntakeError when it has none."""
    wanted = NEXT_SEGMENTS.get(previous_segment, ())
    levels = [level for level in school.grade_levels() if school.segment_of_level(level) in wanted]
    if not levels:
        raise IntakeError(
            _("%(school)s does not teach the stage that follows %(stage)s: it cannot take this graduate in.")
            % {"school": school.name, "stage": Segment(previous_segment).label}
        )
    level = min(levels)
    grade = Grade.objects.filter(school=school, level=level).select_related("school").first()
    if grade is None:
        raise IntakeError(
            _("%(school)s has not set up %(grade)s yet: set up its grades first.")
            % {"school": school.name, "grade": grade_name(level, school.segment_of_level(level))}
        )
    return grade


def check_can_take(student, school, *, by):
    """Refuse (IntakeError) unless `school` may take `student` in now; the grade waiting for them."""
    if student.status != Status.GRADUATED:
        if student.status in (Status.ENROLLED, Status.SUSPENDED):
            if student.school_id == school.pk:
                raise IntakeError(_("%(name)s is already at your school.") % {"name": student.name})
            raise IntakeError(
                _("%(name)s has not graduated: a student still in school comes in by transfer (转学).")
                % {"name": student.name}
            )
        raise IntakeError(
            _("%(name)s's record is %(status)s: only a graduate is taken in at the next stage.")
            % {"name": student.name, "status": Status(student.status).label}
        )
    grade = entry_grade(school, student.grade.segment)
    other = open_request_for(subject_key(student))
    if other is not None:
        raise IntakeError(taken_message(student, other, by))
    if ProblemRecord.objects.unresolved().involving(student).exists():
        raise IntakeError(
            _(
                "%(name)s has an unresolved problem record: the school that holds the record "
                "resolves it first."
            )
            % {"name": student.name}
        )
    return grade


def taken_message(student, other, user):
    """Another request holds the student (another school's intake, say): named only if the user sees it."""
    if other.kind == KIND and other.school_id is not None:
        # The command line (no user) sees everything.
        if user is None or Organisation.objects.visible_to(user).filter(pk=other.school_id).exists():
            return _("%(name)s is already being taken in by %(school)s (%(state)s).") % {
                "name": student.name,
                "school": other.school.name,
                "state": other.get_state_display(),
            }
        return _(
            "%(name)s is already being taken in by another school. One student goes to one school: "
            "please contact your education bureau."
        ) % {"name": student.name}
    return _("%(name)s has a request in progress elsewhere: it must end before an intake.") % {
        "name": student.name
    }


# --- the lookup ---------------------------------------------------------------------------------------


def find_graduate(*, number, name, id_number, by, school):
    """The graduate whose 学籍号, 姓名 and 身份证件号 all match, when `school` may take them in.

    The three must agree exactly, and the message does not say which one differs. Every lookup is
    logged and counted per user (registrar/limits.py)."""
    check_lookup(by, LOOKUP_ACTION)
    number = normalise_id_number(number)
    name = normalise_name(name)
    id_number = normalise_id_number(id_number)
    student = None
    if number and name and id_number:
        student = (
            Student.objects.filter(number=number, name=name, id_number=id_number)
            .select_related("school", "grade__school", "school_class")
            .first()
        )
    record_lookup(by, LOOKUP_ACTION, number=mask_number(number), found=student is not None)
    if student is None:
        raise IntakeError(
            _("No student matches this registration number, name and ID number. Check them on the papers.")
        )
    check_can_take(student, school, by=by)
    return student


# --- the request --------------------------------------------------------------------------------------


def _label(school, students):
    first = students[0]
    if len(students) == 1:
        return _("Intake of %(name)s at %(school)s") % {"name": first.name, "school": school.name}
    return _("Intake of %(count)d graduates at %(school)s (%(name)s and others)") % {
        "count": len(students),
        "name": first.name,
        "school": school.name,
    }


def admit(placements, *, by, school, source=Source.LOOKUP):
    """Take graduates in: `placements` is [(student, school_class)]. One request, submitted at once
    to the registration's review; all or nothing. Returns the Intake."""
    if registrar_school(by).pk != school.pk:
        raise PermissionDenied
    if not placements:
        raise IntakeError(_("Choose at least one graduate to take in."))
    with transaction.atomic():
        # The students' rows are locked in one order: two schools asking at once are put one after
        # the other, and the second finds the first one's request.
        locked = []
        for student, school_class in sorted(placements, key=lambda pair: pair[0].pk):
            student = lock_student(student)
            grade = check_can_take(student, school, by=by)
            if school_class.grade_id != grade.pk:
                raise IntakeError(
                    _("%(name)s goes into %(grade)s: choose one of its classes.")
                    % {"name": student.name, "grade": grade.name}
                )
            locked.append((student, grade, school_class))
        if len({student.pk for student, _grade, _class in locked}) != len(locked):
            raise IntakeError(_("A student is listed twice."))
        for school_class, count in Counter(school_class for _s, _g, school_class in locked).items():
            check_class_room(school_class, adding=count)
        segment = locked[0][1].segment
        approval = create_request(
            KIND,
            by=by,
            school=school,
            subject_label=_label(school, [student for student, _g, _c in locked]),
            context={"segment": str(segment)},
        )
        intake = Intake.objects.create(
            approval=approval, school=school, segment=segment, source=source, created_by=by
        )
        IntakeEntry.objects.bulk_create(
            [
                IntakeEntry(
                    intake=intake,
                    student=student,
                    previous_school_id=student.school_id,
                    grade=grade,
                    school_class=school_class,
                )
                for student, grade, school_class in locked
            ]
        )
        add_subjects(approval, [subject_key(student) for student, _g, _c in locked])
        record_event("intake.intake.started", actor=by, obj=intake, students=len(locked), source=source)
        intake.approval = submit(approval, by=by)
    return intake


def entries_of(intake):
    return intake.entries.select_related(
        "student__grade__school", "student__school_class", "previous_school", "grade__school", "school_class"
    )


def _chain_key(approval, context):
    """The review registration uses: its chain (configured or default) for the new stage."""
    return chains.chain_key(REGISTRATION_KIND, segment=context.get("segment"))


def _validate_submit(approval):
    entries = list(entries_of(approval.intake))
    if not entries:
        raise ApprovalError(_("This intake holds no student."))
    moved_on = [
        entry.student for entry in entries if not lifecycle.allows(entry.student.status, Event.ADMITTED)
    ]
    if moved_on:
        raise ApprovalError(
            _("Some students of this intake are no longer graduates waiting for it: %(names)s.")
            % {"names": "、".join(student.name for student in moved_on[:10])}
        )


def _approved(approval, by):
    """Re-enrol every student of the intake: the same record and number at the new school."""
    intake = approval.intake
    today = timezone.localdate()
    reason = _("Intake at %(school)s") % {"school": intake.school.name}
    for entry in entries_of(intake):
        student = lock_student(entry.student)
        record_status_event(
            student,
            event=Event.ADMITTED,
            by=by,
            occurred_on=today,
            reason=reason,
            action="intake.student.admitted",
            approved_by=by,
            school=intake.school,
            grade=entry.grade,
            school_class=entry.school_class,
        )
        save_changes(student, _new_stage_fields(student, entry.grade.segment, today), by=by, reason=reason)
        _record_destination(student, intake.school, by=by, reason=reason)
        record_event(
            "intake.student.admitted",
            actor=by,
            obj=student,
            node=intake.school,
            reason=reason,
            previous_school=entry.previous_school.code,
            number=mask_number(student.number),
        )
    intake.applied_at = timezone.now()
    intake.save(update_fields=["applied_at"])


def _new_stage_fields(student, segment, today):
    """入学年月 of the new stage (the start of this school year), and an 入学方式 that fits it."""
    fields = {"enrolled_on": school_year_start(today)}
    compulsory = student.admission in COMPULSORY_ADMISSION
    if (segment == Segment.JUNIOR) != compulsory:
        fields["admission"] = DEFAULT_ADMISSION[segment]
    return fields


def _record_destination(student, school, *, by, reason):
    """The previous school's 去向 (on its graduation list) becomes 升学 to this school."""
    entry = (
        Entry.objects.filter(student=student, removed_at__isnull=True, certificate__isnull=False)
        .order_by("-graduation_list__year", "-pk")
        .first()
    )
    if entry is not None:
        changes = {"destination": Destination.FURTHER_STUDY, "destination_school": school.name[:100]}
        save_changes(entry, changes, by=by, reason=reason)


INTAKE = ApprovalKind(
    name=KIND,
    label=gettext_lazy("Intake at the next stage"),
    on_approved=_approved,
    validate_submit=_validate_submit,
    chain_key=_chain_key,
    get_absolute_url=lambda approval: reverse("intake:detail", args=[approval.intake.pk]),
)
