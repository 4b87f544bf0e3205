"""Use cases of the student record: registration, direct edits, family members and the status history.

Each locks what it changes, checks its rules (validation.py for the record itself, here the ones
that need the database: duplicates, class room, locking), saves the named fields with history and
writes an audit event. `record_status_event` is the one place that writes a StatusEvent.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.approvals import open_request_for
from registrar.audit import changed_values, record_event, save_changes, stamp
from registrar.calendar import graduation_freeze_applies, graduation_freeze_message
from registrar.models import Grade, SchoolClass
from rules.reading import rules_for
from students.duplicates import duplicate_message
from students.errors import StudentError
from students.identity import normalise_id_number, normalise_name
from students.lifecycle import NEW, Event
from students.lifecycle import check as check_lifecycle
from students.models import (
    LIVE_STATUSES,
    LOCKED_STATUSES,
    Guardian,
    ProblemRecord,
    Status,
    StatusEvent,
    Student,
)
from students.numbers import issue_number, refuse_second_number
from students.permissions import ensure_covers, ensure_registrar_of
from students.privacy import mask_number
from students.validation import (
    CORRECTABLE_FIELDS,
    EDITABLE_FIELDS,
    GUARDIAN_FIELDS,
    RECORD_FIELDS,
    field_label,
    fill_from_id,
    key_fields,
    normalise_guardian,
    normalise_record,
    record_data,
    validate_changes,
    validate_guardians,
    validate_record,
)

__all__ = [
    "StudentError",
    "apply_key_changes",
    "check_class_room",
    "class_enrolment",
    "create_student",
    "duplicate_message",
    "ensure_student_free",
    "find_live_duplicate",
    "lock_student",
    "record_status_event",
    "register_student",
    "replace_guardians",
    "revise_registration",
    "subject_key",
    "subject_label",
    "update_student",
]


def refuse(errors):
    """A StudentError carrying every problem of a checked record."""
    messages = [message for field_messages in errors.values() for message in field_messages]
    raise StudentError(" ".join(messages), errors)


def ensure_unlocked(student):
    if student.status in LOCKED_STATUSES:
        raise StudentError(_("This student has graduated or left school: the record is locked."))


def ensure_not_frozen(student, on=None):
    """Graduating students' records are frozen after the freeze date of their stage (domain §10)."""
    if graduation_freeze_applies(student.school, student.grade.level, on):
        raise StudentError(graduation_freeze_message(student.school, student.grade.level, student.name, on))


def lock_student(student):
    """The student's row, locked until the transaction ends: every service that changes a student
    (or decides on a request about one) takes this lock first, so two offices acting at once on
    the same student are put one after the other."""
    return (
        Student.objects.select_for_update(of=("self",))
        .select_related("school", "grade__school", "school_class__grade__school")
        .get(pk=student.pk)
    )


# Duplicates (严禁双学籍) ---------------------------------------------------------------------------


def find_live_duplicate(*, id_number, name, gender, birth_date, exclude=None):
    """The live registration of the same person.

    The same ID number; or, when there is none, the same 姓名, 性别 and 出生日期 without an ID number.
    """
    live = Student.objects.live().select_related("school", "grade__school", "school_class")
    if exclude is not None and exclude.pk:
        live = live.exclude(pk=exclude.pk)
    number = normalise_id_number(id_number)
    if number:
        return live.filter(id_number=number).first()
    name = normalise_name(name)
    if not (name and gender and birth_date):
        return None
    return live.filter(id_number="", name=name, gender=gender, birth_date=birth_date).first()


def _refuse_duplicate(other, user):
    raise StudentError(duplicate_message(other, user), {"__all__": [duplicate_message(other, user)]})


def _save_guarding_duplicates(student, *, by, update_fields=None):
    """Save; when a live-registration constraint refuses it, say where the other registration is.

    The partial unique constraints back the duplicate check made before: two offices may register
    the same person at the same moment, and only the database sees both. The savepoint keeps the
    caller's transaction usable on PostgreSQL after the refusal.
    """
    try:
        with transaction.atomic():
            student.save(update_fields=update_fields)
    except IntegrityError:
        other = find_live_duplicate(
            id_number=student.id_number,
            name=student.name,
            gender=student.gender,
            birth_date=student.birth_date,
            exclude=student,
        )
        if other is None:
            raise
        _refuse_duplicate(other, by)


# Classes and their room (班额) ---------------------------------------------------------------------


def class_enrolment(school_class):
    """Live students (in review, enrolled, suspended) in the class."""
    return Student.objects.live().filter(school_class=school_class).count()


def check_class_room(school_class, adding=1):
    """Refuse when `adding` more students would take the class beyond its 班额.

    The class row is locked first, so two registrations into the last place cannot both pass; the
    lock lasts until the caller's transaction ends.
    """
    with transaction.atomic():
        classes = SchoolClass.objects.select_for_update(of=("self",)).select_related("grade__school")
        locked = classes.get(pk=school_class.pk)
        count = class_enrolment(locked)
        if count + adding > locked.capacity:
            raise StudentError(
                _("%(class)s is full: it holds at most %(capacity)s students and has %(count)s.")
                % {"class": str(locked), "capacity": locked.capacity, "count": count}
            )
    return locked


def _resolve_grade(school, grade):
    if isinstance(grade, int) and not isinstance(grade, bool):
        return Grade.objects.filter(school=school, level=grade).select_related("school").first() or grade
    return grade


# Registration ---------------------------------------------------------------------------------------


def create_student(*, by, school, data, guardians):
    """Enter a registration (status: in review, no number yet) with its family members.

    `data` is keyed by Student field names (validation.RECORD_FIELDS), `guardians` is a list of
    dicts keyed by Guardian field names. Refused with StudentError (its `errors` by field) when a
    rule fails, the person already holds a live registration, or the class is full.
    """
    ensure_registrar_of(by, school)
    unknown = set(data) - set(RECORD_FIELDS) - {"school_class"}
    if unknown:
        raise ValueError(f"not fields of a registration: {sorted(unknown)}")
    data = fill_from_id(normalise_record(data))
    data["grade"] = _resolve_grade(school, data.get("grade"))
    guardians = [normalise_guardian(guardian) for guardian in guardians]
    errors = validate_record(data, guardians, school=school)
    if not errors and not isinstance(data["grade"], Grade):
        errors = {"grade": [_("This grade does not exist at the school yet.")]}
    if errors:
        refuse(errors)

    with transaction.atomic():
        other = find_live_duplicate(
            id_number=data.get("id_number"),
            name=data["name"],
            gender=data["gender"],
            birth_date=data["birth_date"],
        )
        if other is not None:
            _refuse_duplicate(other, by)
        check_class_room(data["school_class"])
        student = Student(school=school, status=Status.REGISTERING, number=None, **data)
        # Told at entry rather than at the county's approval, where issue_number refuses it too.
        refuse_second_number(student, by=by)
        stamp(student, by=by)
        _save_guarding_duplicates(student, by=by)
        for order, guardian_data in enumerate(guardians, start=1):
            guardian = Guardian(student=student, order=order, **_guardian_fields(guardian_data))
            stamp(guardian, by=by)
            guardian.save()
        record_status_event(
            student,
            event=Event.ENTERED,
            by=by,
            occurred_on=timezone.localdate(),
            action="students.registration.created",
        )
        record_event("students.registration.created", actor=by, obj=student)
    return student


def _guardian_fields(data):
    fields = {field: data.get(field) for field in GUARDIAN_FIELDS if field in data}
    for field in ("id_type", "id_number"):
        fields[field] = fields.get(field) or ""
    if fields.get("is_guardian") is None:
        fields["is_guardian"] = True
    return fields


def register_student(student, *, by, occurred_on=None, approved_by=None):
    """The final registration: the 学籍号 is issued and the student is enrolled.

    Called by the review chain's last approval, or directly by an administrator's bulk path.
    """
    with transaction.atomic():
        student = lock_student(student)
        ensure_covers(by, student.school)
        if student.status != Status.REGISTERING:
            raise StudentError(_("Only a registration in review can be approved."))
        number = issue_number(student, by=by, reason=_("Registration approved"))
        record_status_event(
            student,
            event=Event.REGISTERED,
            by=by,
            occurred_on=occurred_on or timezone.localdate(),
            action="students.registration.approved",
            approved_by=approved_by or by,
        )
        record_event("students.registration.approved", actor=by, obj=student, number=number)
    return student


def revise_registration(student, *, by, changes, reason=""):
    """Correct a registration still in review (returned for revision, say): key fields too.

    Before approval there is no 学籍号 and the record is not yet formal, so a mistyped name or ID
    is put right here; once registered, key fields change only through a key-data correction.
    The whole record is checked again, the duplicate check included.
    """
    with transaction.atomic():
        student = lock_student(student)
        ensure_registrar_of(by, student.school)
        if student.status != Status.REGISTERING:
            raise StudentError(_("Only a registration in review can be revised."))
        unknown = set(changes) - set(RECORD_FIELDS)
        if unknown:
            raise ValueError(f"not fields of a registration: {sorted(unknown)}")
        changes = normalise_record(changes)
        if "id_number" in changes or "id_type" in changes:
            # Sex and birth date follow a new valid resident ID unless given with it.
            facts = fill_from_id(
                {
                    "id_type": changes.get("id_type", student.id_type),
                    "id_number": changes.get("id_number", student.id_number),
                }
            )
            for field in ("gender", "birth_date"):
                if facts.get(field) and not changes.get(field):
                    changes[field] = facts[field]
        if "grade" in changes:
            changes["grade"] = _resolve_grade(student.school, changes["grade"])
        changed = changed_values(student, changes)
        if not changed:
            return student
        members = student.guardians.all()
        family = [{field: getattr(member, field) for field in GUARDIAN_FIELDS} for member in members]
        merged = {**record_data(student), **changed}
        errors = validate_record(merged, family, school=student.school)
        if errors:
            refuse(errors)
        other = find_live_duplicate(
            id_number=merged.get("id_number"),
            name=merged["name"],
            gender=merged["gender"],
            birth_date=merged["birth_date"],
            exclude=student,
        )
        if other is not None:
            _refuse_duplicate(other, by)
        if "school_class" in changed:
            check_class_room(changed["school_class"])
        logged = save_changes(
            student,
            changed,
            by=by,
            reason=reason,
            save=lambda fields: _save_guarding_duplicates(student, by=by, update_fields=fields),
        )
        record_event("students.registration.revised", actor=by, obj=student, reason=reason, changes=logged)
    return student


# Direct edits -------------------------------------------------------------------------------------


def update_student(student, *, by, changes, reason="", administrator=False):
    """Edit non-key fields directly, with history. Key fields go through a key-data correction.

    The school's registrar edits on the student's page; `administrator=True` is the administration's
    form, open to the staff whose node covers the school.
    """
    with transaction.atomic():
        student = lock_student(student)
        (ensure_covers if administrator else ensure_registrar_of)(by, student.school)
        ensure_unlocked(student)
        ensure_not_frozen(student)
        key = [field for field in changes if field in key_fields(rules_for(student.school))]
        if key:
            raise StudentError(
                _("Key fields (%(fields)s) change only through a key-data correction.")
                % {"fields": "、".join(field_label(field) for field in key)}
            )
        other = [field for field in changes if field not in EDITABLE_FIELDS]
        if other:
            raise StudentError(
                _("%(fields)s cannot be edited here.") % {"fields": "、".join(field_label(f) for f in other)}
            )
        changes = normalise_record(changes)
        changed = changed_values(student, changes)
        if not changed:
            return student
        errors = validate_changes(student, changed)
        if errors:
            refuse(errors)
        if "school_class" in changed and student.is_live:
            check_class_room(changed["school_class"])
        logged = save_changes(student, changed, by=by, reason=reason)
        record_event("students.student.updated", actor=by, obj=student, reason=reason, changes=logged)
    return student


def apply_key_changes(student, values, *, by, reason):
    """Write approved key-data values ({field: value}) into the record, with history; never the
    学籍号, which stays as issued (domain §4, §7).

    The one writer of key fields once a student is registered: a key-data correction's last approval
    calls it in the decision's transaction. The lifecycle table says which statuses may be corrected;
    the live-registration constraints back the duplicate checks the correction made before (a
    registration of the same ID committed a moment ago is refused with where it is). Returns
    {field: [before, after]} for the caller's audit event.
    """
    # The fields the correction's own rules made key fields (rules may have changed since it started).
    unknown = set(values) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise ValueError(f"not key fields: {sorted(unknown)}")
    with transaction.atomic():
        current = lock_student(student)
        check_lifecycle(current.status, Event.KEY_DATA_CORRECTED, name=current.name)
        logged = save_changes(
            current,
            values,
            by=by,
            reason=reason,
            save=lambda fields: _save_guarding_duplicates(current, by=by, update_fields=fields),
        )
    for field in values:
        setattr(student, field, getattr(current, field))
    return logged


def replace_guardians(student, *, by, guardians, reason=""):
    """Make the family list what `guardians` says: members kept in order, updated, added or removed."""
    with transaction.atomic():
        student = lock_student(student)
        ensure_registrar_of(by, student.school)
        ensure_unlocked(student)
        ensure_not_frozen(student)
        guardians = [normalise_guardian(guardian) for guardian in guardians]
        errors = dict(validate_guardians(guardians, student_has_id=bool(student.id_number)))
        errors = {field: messages for field, messages in errors.items() if messages}
        if errors:
            refuse(errors)
        existing = list(student.guardians.select_for_update().order_by("order", "id"))
        next_order = max((guardian.order for guardian in existing), default=0) + 1
        touched = False
        for index, guardian_data in enumerate(guardians):
            fields = _guardian_fields(guardian_data)
            if index < len(existing):
                guardian = existing[index]
                changed = [field for field, value in fields.items() if getattr(guardian, field) != value]
                if not changed:
                    continue
                for field in changed:
                    setattr(guardian, field, fields[field])
                stamp(guardian, by=by, reason=reason)
                guardian.save(update_fields=changed)
            else:
                guardian = Guardian(student=student, order=next_order, **fields)
                next_order += 1
                stamp(guardian, by=by, reason=reason)
                guardian.save()
            touched = True
        for guardian in existing[len(guardians) :]:
            stamp(guardian, by=by, reason=reason)
            guardian.delete()
            touched = True
        if touched:
            record_event(
                "students.guardians.replaced", actor=by, obj=student, reason=reason, count=len(guardians)
            )
    return student


# Status history -----------------------------------------------------------------------------------


def record_status_event(
    student,
    *,
    event,
    by,
    occurred_on,
    reason="",
    action="",
    approved_by=None,
    school=None,
    grade=None,
    school_class=None,
):
    """Write one StatusEvent and bring Student.status, school, grade and class in line with it.

    The one writer of a student's status: registration, transfers, suspensions, graduation,
    promotion and reversals all come through here (the roster import's bulk writer asks the same
    table). The new status is the one `event` leads to in the lifecycle table
    (students/lifecycle.py); an event the current status does not allow is refused, whoever asks.
    It also checks that the new placement hangs together (the grade of the school, the class of the
    grade), that the class has room when a student arrives, and that the person does not end up
    with two live registrations. Whether the case allows the change (evidence, windows …) is the
    workflow's business; it writes no AuditEvent: the caller records its own action. `student` is
    updated in place.
    """
    with transaction.atomic():
        current = lock_student(student)
        has_events = StatusEvent.objects.filter(student=current).exists()
        # A record's first event starts from no status at all.
        previous_status = current.status if has_events else NEW
        to_status = check_lifecycle(previous_status, event, name=current.name)
        new_school = school or current.school
        new_grade = grade or (current.grade if new_school.pk == current.school_id else None)
        if new_grade is None:
            raise StudentError(_("A move to another school needs the grade there."))
        if new_grade.school_id != new_school.pk:
            raise StudentError(_("This grade does not belong to the school."))
        new_class = school_class or (current.school_class if new_grade.pk == current.grade_id else None)
        if new_class is None:
            raise StudentError(_("Choose the class in the new grade."))
        if new_class.grade_id != new_grade.pk:
            raise StudentError(_("The class does not belong to the chosen grade."))

        arriving = to_status in LIVE_STATUSES and (
            current.status not in LIVE_STATUSES or new_class.pk != current.school_class_id
        )
        if arriving:
            check_class_room(new_class)
        updates = {
            "status": to_status,
            "school": new_school,
            "grade": new_grade,
            "school_class": new_class,
        }
        changed = changed_values(current, updates)
        save_changes(
            current,
            changed,
            by=by,
            reason=reason,
            save=lambda fields: _save_guarding_duplicates(current, by=by, update_fields=fields),
        )
        status_event = StatusEvent.objects.create(
            student=current,
            event=event,
            from_status=previous_status,
            to_status=to_status,
            occurred_on=occurred_on,
            school=new_school,
            grade=new_grade,
            school_class=new_class,
            reason=reason,
            action=action,
            approved_by=approved_by if approved_by is not None and approved_by.is_authenticated else None,
        )
    for field in changed:
        setattr(student, field, updates[field])
    return status_event


def subject_label(student):
    """The name of a request about `student` in queues: the name and the masked 学籍号 (a G number
    embeds the ID number, and lists show no full ID numbers)."""
    return f"{student.name} {mask_number(student.number)}"


def subject_key(student):
    """The key of approval requests about this student (在办业务 is one open request per key)."""
    return f"student:{student.pk}"


def ensure_student_free(student, *, exclude_approval=None, problems_block=True):
    """Refuse a new change while another request is open or a problem record is unresolved (domain §6, §8).

    A key-data correction is one way to resolve a problem record (变更), so it passes
    `problems_block=False`."""
    open_request = open_request_for(subject_key(student), exclude=exclude_approval)
    if open_request is not None:
        raise StudentError(
            _("%(name)s already has a request in progress (%(label)s, %(state)s): finish or withdraw it.")
            % {
                "name": student.name,
                "label": open_request.subject_label,
                "state": open_request.get_state_display(),
            }
        )
    # Either party of a pair is blocked (problems/blocks.py asks the same question for promotion).
    problem = (
        ProblemRecord.objects.unresolved().involving(student).order_by("detected_at", "pk").first()
        if problems_block
        else None
    )
    if problem is not None:
        raise StudentError(
            _("%(name)s has an unresolved problem record (%(problem)s, #%(pk)s): resolve it first.")
            % {"name": student.name, "problem": problem.get_kind_display(), "pk": problem.pk}
        )


def edit_student(student, *, by, changes, guardians, reason=""):
    """The edit page's save: non-key fields and the family list together, or neither."""
    with transaction.atomic():
        student = update_student(student, by=by, changes=changes, reason=reason)
        return replace_guardians(student, by=by, guardians=guardians, reason=reason)


def set_photo(student, *, by, clean_file):
    """Replace the photo with an upload already checked and re-encoded by registrar.uploads.clean_photo."""
    from registrar.uploads import save_clean_file

    with transaction.atomic():
        student = lock_student(student)
        ensure_registrar_of(by, student.school)
        ensure_unlocked(student)
        old = student.photo.name if student.photo else ""
        save_clean_file(student, clean_file, field_name="photo")
        stamp(student, by=by, reason=_("Photo replaced"))
        student.save(update_fields=["photo", "updated_at"])
        record_event("students.photo.replaced", actor=by, obj=student)
    if old:
        # The old file goes only once the new one is committed.
        storage = student.photo.storage
        transaction.on_commit(lambda: storage.delete(old))
    return student
