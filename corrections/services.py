"""Use cases of key-data corrections (关键数据变更, domain §7).

A school registrar makes a request for one student: the fields to correct (old → new, each with its
reason), then the evidence images; submitting checks everything before any reviewer sees it. The
chain (principal, then the county, or the city for senior schools) runs on the approval engine; its
last approval applies the change to the record in the same transaction (`apply_correction`), keeps
the 学籍号, and leaves the old → new in the record's history.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from corrections import rules
from corrections.errors import CorrectionError
from corrections.models import Correction, Evidence, FieldChange, Group
from corrections.rules import EvidenceKind, Reason
from registrar import approvals, chains
from registrar.audit import record_event, stamp
from registrar.choices import Role
from registrar.errors import ApprovalError, DomainError
from registrar.uploads import clean_evidence
from students import lifecycle
from students.identity import RESIDENT_ID, check_id, is_valid_resident_id, resident_id_facts
from students.models import LIVE_STATUSES, Event, Status, Student
from students.services import (
    apply_key_changes,
    duplicate_message,
    ensure_student_free,
    find_live_duplicate,
    lock_student,
    subject_key,
    subject_label,
)
from students.validation import normalise_record, validate_changes

KIND = "corrections.correction"
# Called as hook(correction, by) once a correction is applied, in its transaction: problems/ closes
# the problem records the correction was opened for (变更).
APPLIED_HOOKS = []


def register_applied_hook(hook):
    if hook not in APPLIED_HOOKS:
        APPLIED_HOOKS.append(hook)


# The chain key of a late correction submitted as an exception (rules/defaults.py).
LATE_CHAIN = "corrections.late_correction"

# Only a registered student in school has key data to correct (the lifecycle table says which
# statuses): a registration still in review is revised instead, and a record that ended is locked.
CORRECTABLE_STATUSES = lifecycle.sources(Event.KEY_DATA_CORRECTED)
GRADUATE_STATUSES = (Status.GRADUATED, Status.COMPLETED, Status.DROPPED_OUT)
EVIDENCE_MIN_SIZE = (200, 200)
MAX_EVIDENCE = 20
# The fields whose change is checked against the ID number and the other records.
IDENTITY_FIELDS = ("id_type", "id_number", "gender", "birth_date")


def refuse(errors):
    messages = [message for field_messages in errors.values() for message in field_messages]
    raise CorrectionError(" ".join(messages), errors)


def _calendar():
    from registrar import calendar

    return calendar


# --- the student: status, windows, open requests ----------------------------------------------------


def first_term_end(student):
    return _calendar().first_term_end(student.school, student.enrolled_on)


def is_new_student(student, today):
    """新生: a student still in the first term after enrolment (the calendar of the school's area)."""
    return today <= first_term_end(student)


def student_group(student, today):
    if student.status in GRADUATE_STATUSES:
        return Group.GRADUATE
    return Group.NEW if is_new_student(student, today) else Group.ENROLLED


def check_student(student, *, today):
    """Refuse a student whose record may not be corrected now, with the reason."""
    if student.status in GRADUATE_STATUSES:
        raise CorrectionError(
            _(
                "%(name)s has left school as %(status)s: a graduate's key data can be corrected only "
                "after an authority's reversal of the graduation (毕业生回退)."
            )
            % {"name": student.name, "status": student.get_status_display()}
        )
    if student.status == Status.REGISTERING:
        raise CorrectionError(
            _("The registration of %(name)s is still in review: correct it by revising the registration.")
            % {"name": student.name}
        )
    if student.status not in CORRECTABLE_STATUSES:
        raise CorrectionError(
            _("The record of %(name)s is closed (%(status)s): its key data can no longer be corrected.")
            % {"name": student.name, "status": student.get_status_display()}
        )
    if is_frozen(student, today) and not _calendar().calendar_for(student.school).corrections_when_frozen:
        raise CorrectionError(
            _(
                "%(name)s is in the graduating year, whose data are frozen for graduation: key data "
                "can no longer be corrected this school year."
            )
            % {"name": student.name}
        )


def is_frozen(student, today=None):
    """A graduating student after the freeze date: corrected only through the province's exception
    path (`corrections_when_frozen`), with the page of the graduate registration form as evidence."""
    return _calendar().graduation_freeze_applies(student.school, student.grade.level, today)


def ensure_free(student, *, exclude_approval=None):
    # A correction (变更) is how a school resolves a problem record such as a wrong ID number: problem
    # records do not block it.
    ensure_student_free(student, exclude_approval=exclude_approval, problems_block=False)


def blockers(student, *, today=None):
    """Why no correction can be started for `student` now (an empty list when one can)."""
    today = today or timezone.localdate()
    problems = []
    for check in (lambda: check_student(student, today=today), lambda: ensure_free(student)):
        try:
            check()
        except DomainError as error:
            problems.append(error.message)
    return problems


def ensure_applicant(user, student):
    """Only the registrar of the student's own school makes and edits its corrections."""
    if not (user.has_role(Role.SCHOOL_REGISTRAR) and user.node_id == student.school_id):
        raise PermissionDenied


# --- the changes ------------------------------------------------------------------------------------


def normalise_changes(student, changes, in_force):
    """[{field, old, new, reason}] in the order of the correction fields, from {field: (new, reason)}.

    `new` is the Python value (a code, a date …); unknown fields are a programming error.
    """
    fields = rules.correction_fields(in_force)
    unknown = set(changes) - set(fields)
    if unknown:
        raise ValueError(f"not correction fields: {sorted(unknown)}")
    values = normalise_record({field: value for field, (value, _reason) in changes.items()})
    rows = []
    for field in fields:
        if field not in changes:
            continue
        rows.append(
            {
                "field": field,
                "old": getattr(student, field),
                "new": values[field],
                "reason": changes[field][1],
            }
        )
    return rows


def _merged(student, rows):
    merged = {field: getattr(student, field) for field in (*IDENTITY_FIELDS, "name")}
    merged.update({row["field"]: row["new"] for row in rows})
    return merged


def _add(errors, field, message):
    errors.setdefault(field, []).append(message)


def _check_rows(student, rows, errors, *, today, in_force, late=False):
    for row in rows:
        field, label = row["field"], rules.label(row["field"])
        if row["reason"] not in Reason.values:
            _add(errors, field, _("Choose the reason for correcting %(field)s.") % {"field": label})
        if rules.to_text(field, row["new"]) == rules.to_text(field, row["old"]):
            _add(errors, field, _("The new %(field)s is the same as the current one.") % {"field": label})
    fields = {row["field"] for row in rows}
    if not rows:
        _add(errors, "__all__", _("Enter at least one field to correct."))
    if {"name", "id_number"} <= fields:
        _add(
            errors,
            "__all__",
            _(
                "The name and the ID number cannot be corrected in one request: correct one, and the "
                "other in a request of its own once the first is approved."
            ),
        )
    late_errors = [row for row in rows if row["reason"] == Reason.INPUT_ERROR]
    if (
        late_errors
        and in_force.input_errors_first_term_only()
        and not is_new_student(student, today)
        and not late
    ):
        for row in late_errors:
            _add(
                errors,
                row["field"],
                _(
                    "An input error is corrected within the first term after enrolment (until %(date)s). "
                    "Since then only changes in life (信息变更) are accepted, or a late correction as an "
                    "exception, with a written explanation, which the county approves."
                )
                % {"date": first_term_end(student).isoformat()},
            )


def _check_values(student, rows, errors, *, today):
    """Each new value as the record's own rules see it, the ID with the sex and birth date it carries."""
    fields = {row["field"] for row in rows}
    plain = {row["field"]: row["new"] for row in rows if row["field"] not in ("id_type", "id_number")}
    for field, messages in validate_changes(student, plain, today=today).items():
        for message in messages:
            _add(errors, field, message)
    merged = _merged(student, rows)
    if fields & {"id_type", "id_number"}:
        for message in check_id(merged["id_type"], merged["id_number"], today=today):
            _add(errors, "id_number" if "id_number" in fields else "id_type", message)
    if not fields & set(IDENTITY_FIELDS) or errors.get("id_number") or errors.get("id_type"):
        return
    if merged["id_type"] != RESIDENT_ID or not is_valid_resident_id(merged["id_number"]):
        return
    # A valid resident ID determines the date of birth and the sex: the record must agree with it.
    birth_date, gender = resident_id_facts(merged["id_number"])
    expected = {
        "birth_date": (birth_date, birth_date.isoformat()),
        "gender": (gender, rules.display("gender", gender)),
    }
    for field, (value, shown) in expected.items():
        if rules.to_text(field, merged[field]) == rules.to_text(field, value):
            continue
        _add(
            errors,
            field if field in fields else "id_number",
            _(
                "The ID number gives %(field)s %(expected)s, but the record would say %(actual)s: correct "
                "%(field)s and the ID number together in this request."
            )
            % {
                "field": rules.label(field),
                "expected": shown,
                "actual": rules.display(field, rules.to_text(field, merged[field])),
            },
        )


def other_holder_message(other, user):
    """Another record (live or ended) already holds the ID number: said as far as `user` may see."""
    if other.status in LIVE_STATUSES:
        return duplicate_message(other, user)
    if user is not None and Student.objects.visible_to(user).filter(pk=other.pk).exists():
        return _(
            "The record of %(name)s at %(school)s (registration number %(number)s, %(status)s) already "
            "holds this ID number. One person has one record: please check."
        ) % {
            "name": other.name,
            "school": other.school.name,
            "number": other.number or _("not issued yet"),
            "status": other.get_status_display(),
        }
    return _(
        "Another student record already holds this ID number. One person has one record: please "
        "contact your education bureau."
    )


def check_duplicates(student, rows, *, by):
    """The message when another record holds the new ID (or, without an ID, the same person); else ""."""
    fields = {row["field"] for row in rows}
    if not fields & {"name", *IDENTITY_FIELDS}:
        return ""
    merged = _merged(student, rows)
    other = find_live_duplicate(
        id_number=merged["id_number"],
        name=merged["name"],
        gender=merged["gender"],
        birth_date=merged["birth_date"],
        exclude=student,
    )
    if other is None and "id_number" in fields and merged["id_number"]:
        other = (
            Student.objects.exclude(pk=student.pk)
            .exclude(status=Status.CANCELLED)
            .filter(id_number=merged["id_number"])
            .select_related("school")
            .first()
        )
    return other_holder_message(other, by) if other is not None else ""


def check_changes(student, rows, *, by, today, in_force, late_explanation=""):
    """Every problem of the changes under the rules `in_force`, {field or "__all__": [message, …]};
    {} when all is well. A late input error passes with a written explanation (the county decides)."""
    errors = {}
    _check_rows(student, rows, errors, today=today, in_force=in_force, late=bool(late_explanation.strip()))
    if not errors:
        _check_values(student, rows, errors, today=today)
    if not errors:
        message = check_duplicates(student, rows, by=by)
        if message:
            _add(errors, "id_number" if "id_number" in {row["field"] for row in rows} else "__all__", message)
    return errors


def _write_changes(correction, rows):
    FieldChange.objects.filter(correction=correction).delete()
    FieldChange.objects.bulk_create(
        [
            FieldChange(
                correction=correction,
                position=position,
                field=row["field"],
                old_value=rules.to_text(row["field"], row["old"]),
                new_value=rules.to_text(row["field"], row["new"]),
                reason=row["reason"],
            )
            for position, row in enumerate(rows, start=1)
        ]
    )


def _change_data(correction):
    return {change.field: [change.old_value, change.new_value] for change in correction.changes.all()}


def create_correction(student, *, by, changes, note="", late_explanation="", today=None):
    """A new request in draft for `student`: `changes` is {field: (new value, Reason)}.

    Refused with CorrectionError (its `errors` by field) when the student may not be corrected now,
    has another open request, or a change breaks a rule; PermissionDenied for anyone but the
    registrar of the student's school. Evidence is added next (`add_evidence`), then it is submitted.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        student = lock_student(student)
        ensure_applicant(by, student)
        check_student(student, today=today)
        ensure_free(student)
        in_force = rules.rules_in_force(student)
        rows = normalise_changes(student, changes, in_force)
        late_explanation = late_explanation.strip()
        errors = check_changes(
            student, rows, by=by, today=today, in_force=in_force, late_explanation=late_explanation
        )
        if errors:
            refuse(errors)
        approval = approvals.create_request(
            KIND,
            by=by,
            school=student.school,
            subject_label=subject_label(student),
            subject_key=subject_key(student),
            context={"segment": student.grade.segment},
        )
        correction = Correction(
            approval=approval,
            student=student,
            group=student_group(student, today),
            note=note.strip(),
            late_explanation=late_explanation,
        )
        stamp(correction, by=by)
        correction.save()
        _write_changes(correction, rows)
    return correction


def _editable(correction, by):
    """The request, locked, if `by` may change it now."""
    approval = approvals.lock_for_edit(correction.approval, by=by)
    correction = Correction.objects.select_related("student__school", "student__grade").get(pk=correction.pk)
    ensure_applicant(by, correction.student)
    correction.approval = approval
    return correction


def chain_key(approval, context):
    """A late correction goes the way the province sets for exceptions (by default: the principal,
    then the county's explicit approval, whatever the stage)."""
    kind = LATE_CHAIN if approval.correction.late_explanation else KIND
    return chains.chain_key(kind, segment=context.get("segment"))


def update_correction(correction, *, by, changes, note="", late_explanation="", today=None):
    """Change the fields of a draft or of a request returned for revision (the evidence stays)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        correction = _editable(correction, by)
        student = lock_student(correction.student)
        in_force = rules.rules_in_force(student, correction.approval)
        rows = normalise_changes(student, changes, in_force)
        late_explanation = late_explanation.strip()
        errors = check_changes(
            student, rows, by=by, today=today, in_force=in_force, late_explanation=late_explanation
        )
        if errors:
            refuse(errors)
        before = _change_data(correction)
        _write_changes(correction, rows)
        correction.note = note.strip()
        correction.late_explanation = late_explanation
        stamp(correction, by=by)
        correction.save(update_fields=["note", "late_explanation"])
        record_event(
            "corrections.correction.revised",
            actor=by,
            obj=correction,
            before=before,
            after=_change_data(correction),
        )
    return correction


def add_evidence(correction, *, by, kind, uploaded_file):
    """Attach one evidence image: checked by its content, oriented, stripped of metadata, stored privately.

    Returns the Evidence; its `notices` say what the user should know (e.g. stored as PNG).
    """
    if kind not in EvidenceKind.values:
        raise CorrectionError(_("Choose what the image shows."))
    clean = clean_evidence(uploaded_file, allow_pdf=False, min_size=EVIDENCE_MIN_SIZE)
    with transaction.atomic():
        correction = _editable(correction, by)
        if correction.evidence.count() >= MAX_EVIDENCE:
            raise CorrectionError(
                _("A request holds at most %(count)s images: remove one first.") % {"count": MAX_EVIDENCE}
            )
        evidence = Evidence.from_clean_file(clean, correction=correction, kind=kind, uploaded_by=by)
        evidence.save()
        record_event(
            "corrections.evidence.added",
            actor=by,
            obj=correction,
            evidence=evidence.pk,
            kind=kind,
            size=evidence.size,
            sha256=evidence.sha256,
        )
    evidence.notices = clean.notices
    return evidence


def remove_evidence(evidence, *, by):
    with transaction.atomic():
        correction = _editable(evidence.correction, by)
        evidence = Evidence.objects.get(pk=evidence.pk, correction=correction)
        record_event(
            "corrections.evidence.removed", actor=by, obj=correction, evidence=evidence.pk, kind=evidence.kind
        )
        evidence.delete_with_file()


# --- readiness and submission -------------------------------------------------------------------------


def requirements_of(correction):
    # A graduate (after a reversal), or a graduating student corrected through the freeze's exception.
    graduate = correction.student.status in GRADUATE_STATUSES or is_frozen(correction.student)
    pairs = [(change.field, change.reason) for change in correction.changes.all()]
    in_force = rules.rules_in_force(correction.student, correction.approval)
    return rules.required_evidence(pairs, in_force, graduate=graduate)


def evidence_checklist(correction):
    """[(Requirement, met)] for the request page."""
    present = {evidence.kind for evidence in correction.evidence.all()}
    return [(requirement, requirement.met_by(present)) for requirement in requirements_of(correction)]


def submit_problems(correction, *, today=None):
    """Everything that keeps the request from going to a reviewer, as messages; [] when it may go."""
    today = today or timezone.localdate()
    student = correction.student
    problems = []
    try:
        check_student(student, today=today)
        ensure_free(student, exclude_approval=correction.approval)
    except DomainError as error:
        return [error.message]
    changes = list(correction.changes.all())
    stale = [
        change
        for change in changes
        if rules.to_text(change.field, getattr(student, change.field)) != change.old_value
    ]
    if stale:
        return [
            _("The %(field)s of the record changed after this request was made: edit the request again.")
            % {"field": "、".join(change.label for change in stale)}
        ]
    rows = [
        {
            "field": change.field,
            "old": getattr(student, change.field),
            "new": rules.from_text(change.field, change.new_value),
            "reason": change.reason,
        }
        for change in changes
    ]
    in_force = rules.rules_in_force(student, correction.approval)
    errors = check_changes(
        student,
        rows,
        by=correction.approval.applicant,
        today=today,
        in_force=in_force,
        late_explanation=correction.late_explanation,
    )
    problems += [message for messages in errors.values() for message in messages]
    missing = rules.missing_evidence(
        requirements_of(correction), [evidence.kind for evidence in correction.evidence.all()]
    )
    if missing:
        problems.append(
            _("Attach the evidence still missing: %(items)s.")
            % {"items": "；".join(requirement.label for requirement in missing)}
        )
    return problems


def validate_submit(approval):
    """The engine's check before (re)submission: nothing goes to a reviewer that breaks a rule."""
    correction = Correction.objects.select_related("student__school", "student__grade").get(approval=approval)
    problems = submit_problems(correction)
    if problems:
        raise ApprovalError(" ".join(problems))


def on_submitted(approval, by):
    """The packet's group follows the student as they are at each submission."""
    correction = Correction.objects.select_related("student__school").get(approval=approval)
    group = student_group(correction.student, timezone.localdate())
    if group != correction.group:
        correction.group = group
        stamp(correction, by=by)
        correction.save(update_fields=["group"])


def submit_correction(correction, *, by, comment=""):
    """Send a draft for review, or a returned request again (the engine's one path, `send`)."""
    return approvals.send(correction.approval, by=by, comment=comment)


def withdraw_correction(correction, *, by, comment=""):
    return approvals.withdraw(correction.approval, by=by, comment=comment)


# --- applying the approved change ----------------------------------------------------------------------


def history_reason(correction):
    """The reason on the record's history row (at most 100 characters, the history table's limit)."""
    reasons = "、".join(
        f"{change.label}（{change.get_reason_display()}）" for change in correction.changes.all()
    )
    text = _("Key-data correction #%(pk)s: %(reasons)s") % {"pk": correction.pk, "reasons": reasons}
    return text[:100]


def apply_correction(approval, by):
    """The engine's on_approved hook: write the new values into the record, in the decision's
    transaction, through the one writer of key fields (`students.services.apply_key_changes`).
    Anything that no longer holds (the record changed, another record took the ID) raises a
    DomainError, and the final approval is undone with it."""
    correction = Correction.objects.select_related("student").get(approval=approval)
    student = lock_student(correction.student)
    if student.status not in CORRECTABLE_STATUSES:
        raise CorrectionError(
            _("The record of %(name)s is now %(status)s: the correction cannot be applied.")
            % {"name": student.name, "status": student.get_status_display()}
        )
    changes = list(correction.changes.all())
    for change in changes:
        current = rules.to_text(change.field, getattr(student, change.field))
        if current != change.old_value:
            raise CorrectionError(
                _(
                    "The %(field)s of the record is now %(current)s, no longer %(old)s as when the request "
                    "was made: return the request for revision."
                )
                % {
                    "field": change.label,
                    "current": rules.display(change.field, current),
                    "old": change.old_display,
                }
            )
    rows = [
        {
            "field": change.field,
            "old": change.old_value,
            "new": rules.from_text(change.field, change.new_value),
        }
        for change in changes
    ]
    message = check_duplicates(student, rows, by=by)
    if message:
        raise CorrectionError(message)
    reason = history_reason(correction)
    apply_key_changes(student, {row["field"]: row["new"] for row in rows}, by=by, reason=reason)
    record_event(
        "corrections.correction.applied",
        actor=by,
        obj=student,
        reason=reason,
        correction=correction.pk,
        url=reverse("corrections:detail", args=[correction.pk]),
        changes=_change_data(correction),
        reasons={change.field: change.reason for change in changes},
        evidence=[
            {"id": evidence.pk, "kind": evidence.kind, "name": evidence.download_name}
            for evidence in correction.evidence.all()
        ],
    )
    correction.applied_at = timezone.now()
    stamp(correction, by=by, reason=reason)
    correction.save(update_fields=["applied_at"])
    for hook in APPLIED_HOOKS:
        hook(correction, by)
