"""Use cases of the graduation list (毕业结业名单) on the approval engine (kind `graduation.list`).

The school registrar proposes the list from the audit (可毕业 → 毕业, 结业 → 结业; a 肄业 is added by
hand), sets each student's destination (去向), and submits; the principal, then the county (the city
for senior and vocational schooling and the schools a city runs) review it; a reviewer may take single
students out with a reason, or return the list. The last approval (`apply_list`, in the decision's
transaction) writes each student's status through `students.services.record_status_event`, issues a
certificate number for each, and so locks the records (毕业, 结业 and 肄业 are locked statuses).
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from graduation import certificates
from graduation.audit import audit, final_grades, graduation_year
from graduation.defaults import DEFAULT_FORMATS
from graduation.errors import GraduationError
from graduation.models import Certificate, CertificateKind, Destination, Entry, GraduationList, Outcome
from graduation.rules import Verdict, may_drop_out, rule_set_for
from registrar import approvals
from registrar.audit import record_event, save_changes, stamp
from registrar.choices import Role, Segment
from registrar.models import Organisation
from students.models import Event, Student
from students.services import lock_student, record_status_event, subject_key

LIST_KIND = "graduation.list"
OUTCOME_EVENTS = {
    Outcome.GRADUATED: Event.GRADUATED,
    Outcome.COMPLETED: Event.COMPLETED,
    Outcome.DROPPED_OUT: Event.DROPPED_OUT,
}
OUTCOME_CERTIFICATES = {
    Outcome.GRADUATED: CertificateKind.GRADUATION,
    Outcome.COMPLETED: CertificateKind.COMPLETION,
    Outcome.DROPPED_OUT: CertificateKind.DROPOUT,
}
# What the audit proposes for each verdict.
PROPOSED = {Verdict.ELIGIBLE: Outcome.GRADUATED, Verdict.COMPLETION: Outcome.COMPLETED}


def ensure_registrar(user, school):
    """Only the registrar of the school proposes and edits its list."""
    if not (user.node_id == school.pk and user.has_role(Role.SCHOOL_REGISTRAR)):
        raise PermissionDenied


def list_key(school, segment):
    """One open list per school and stage."""
    return f"graduation:{school.pk}:{segment}"


def graduating_segments(school):
    return sorted({grade.segment for grade in final_grades([school])}, key=list(Segment).index)


def list_label(approval):
    graduation_list = approval.graduation_list
    count = graduation_list.entries.filter(removed_at__isnull=True).count()
    return _("%(school)s %(year)s %(stage)s graduation list (%(count)s students)") % {
        "school": graduation_list.school.name,
        "year": graduation_list.year,
        "stage": Segment(graduation_list.segment).label,
        "count": count,
    }


def list_context(approval):
    return {"segment": approval.graduation_list.segment}


# --- proposing and editing ------------------------------------------------------------------------------


@transaction.atomic
def propose_list(school, *, by, segment, on=None):
    """A draft list of every student the audit finds eligible (毕业) or not eligible (结业)."""
    ensure_registrar(by, school)
    on = on or timezone.localdate()
    if segment not in graduating_segments(school):
        raise GraduationError(_("The school has no graduating grade of this stage."))
    open_list = approvals.open_request_for(list_key(school, segment))
    if open_list is not None:
        raise GraduationError(
            _("A graduation list of this stage is already in progress (%(state)s): finish it first.")
            % {"state": open_list.get_state_display()}
        )
    rows = [row for row in audit(school, on=on).filter(segment=segment).rows if row.verdict in PROPOSED]
    rows = [row for row in rows if not row.listed]
    if not rows:
        raise GraduationError(_("No student can be proposed: the audit finds none eligible or completing."))
    year = graduation_year(on)
    label = _("%(school)s %(year)s %(stage)s graduation list (%(count)s students)") % {
        "school": school.name,
        "year": year,
        "stage": Segment(segment).label,
        "count": len(rows),
    }
    approval = approvals.create_request(
        LIST_KIND,
        by=by,
        school=school,
        subject_label=label,
        context={"segment": segment},
        subject_key=list_key(school, segment),
    )
    graduation_list = GraduationList(
        approval=approval, school=school, segment=segment, year=year, created_by=by
    )
    stamp(graduation_list, by=by)
    graduation_list.save()
    Entry.objects.bulk_create(
        [
            Entry(graduation_list=graduation_list, student_id=row.pk, outcome=PROPOSED[row.verdict])
            for row in rows
        ]
    )
    # While the list is open, each student on it has a request in progress (在办业务): no transfer or
    # other change starts for them meanwhile.
    approvals.add_subjects(approval, [subject_key(row) for row in rows])
    record_event("graduation.list.proposed", actor=by, obj=graduation_list, count=len(rows))
    return graduation_list


def _locked_list(graduation_list, by):
    approvals.lock_for_edit(graduation_list.approval, by=by)
    return GraduationList.objects.select_related("school", "approval").get(pk=graduation_list.pk)


def _entry_problem(row, outcome):
    """Why `outcome` cannot be proposed for the audited `row` ("" when it can)."""
    if outcome == Outcome.DROPPED_OUT:
        if may_drop_out(row.facts):
            return ""
        return _(
            "%(name)s cannot leave after study (肄业): only a high-school student in school for a year or "
            "more, with no request or problem record in the way."
        ) % {"name": row.name}
    if outcome == Outcome.GRADUATED and row.verdict != Verdict.ELIGIBLE:
        return _("%(name)s is not eligible to graduate: %(reasons)s") % {
            "name": row.name,
            "reasons": _("; ").join(row.judgement.reasons),
        }
    if outcome == Outcome.COMPLETED and row.verdict != Verdict.COMPLETION:
        if row.verdict == Verdict.ELIGIBLE:
            return _("%(name)s is eligible to graduate: a completion is only for those who are not.") % {
                "name": row.name
            }
        return _("%(name)s cannot complete now: %(reasons)s") % {
            "name": row.name,
            "reasons": _("; ").join(row.judgement.reasons),
        }
    return ""


def check_entries(graduation_list, entries, *, on=None):
    """Every entry's student judged again now: raises GraduationError naming each one that may not
    have the proposed outcome (a student who left the grade, a new request, a result changed …)."""
    if not entries:
        raise GraduationError(_("The list has no student on it."))
    students = Student.objects.filter(
        pk__in=[entry.student_id for entry in entries], school=graduation_list.school
    )
    rows = {row.pk: row for row in audit(graduation_list.school, on=on, students=students).rows}
    problems = []
    for entry in entries:
        row = rows.get(entry.student_id)
        if row is None or row.segment != graduation_list.segment:
            problems.append(
                _("%(name)s is no longer in school in the graduating grade.") % {"name": entry.student.name}
            )
            continue
        problem = _entry_problem(row, entry.outcome)
        if problem:
            problems.append(problem)
    if problems:
        raise GraduationError(" ".join(problems), {"__all__": problems})
    return rows


def active_entries(graduation_list):
    return list(
        graduation_list.entries.filter(removed_at__isnull=True)
        .select_related("student")
        .order_by("student_id")
    )


def validate_submit(approval):
    graduation_list = approval.graduation_list
    check_entries(graduation_list, active_entries(graduation_list))


def update_entries(graduation_list, *, by, changes):
    """The registrar's edit of a draft or returned list: {entry pk: {"outcome", "destination",
    "destination_school"}}; each outcome checked against the audit. All or nothing."""
    with transaction.atomic():
        graduation_list = _locked_list(graduation_list, by)
        entries = {entry.pk: entry for entry in graduation_list.entries.select_related("student")}
        changed = []
        for pk, values in changes.items():
            entry = entries.get(pk)
            if entry is None:
                continue
            if values.get("destination", "") not in ("", *Destination.values):
                raise GraduationError(_("Unknown destination."))
            if values.get("outcome", entry.outcome) not in Outcome.values:
                raise GraduationError(_("Unknown outcome."))
            logged = save_changes(entry, values, by=by, reason=_("Graduation list edited"))
            if logged:
                changed.append((entry, logged))
        moved = [entry for entry, logged in changed if "outcome" in logged]
        if moved:
            check_entries(graduation_list, moved)
        for entry, logged in changed:
            record_event("graduation.entry.changed", actor=by, obj=entry.student, changes=logged)
    return len(changed)


def add_student(graduation_list, *, by, student, outcome):
    """Put a student of the school's graduating grade on the list (e.g. for 肄业)."""
    with transaction.atomic():
        graduation_list = _locked_list(graduation_list, by)
        if Entry.objects.filter(graduation_list=graduation_list, student=student).exists():
            raise GraduationError(_("%(name)s is already on the list.") % {"name": student.name})
        entry = Entry(graduation_list=graduation_list, student=student, outcome=outcome)
        check_entries(graduation_list, [entry])
        stamp(entry, by=by)
        entry.save()
        approvals.add_subjects(graduation_list.approval, [subject_key(student)])
        record_event("graduation.entry.added", actor=by, obj=student, outcome=outcome)
    return entry


def delete_entry(entry, *, by):
    """The registrar strikes a student off a draft or returned list."""
    with transaction.atomic():
        _locked_list(entry.graduation_list, by)
        stamp(entry, by=by)
        entry.delete()
        approvals.remove_subject(entry.graduation_list.approval, subject_key(entry.student))
        record_event("graduation.entry.deleted", actor=by, obj=entry.student)


def take_out(entry, *, by, reason):
    """A reviewer of the current step takes one student out of the list, with the reason; the rest
    of the list goes on."""
    reason = (reason or "").strip()
    with transaction.atomic():
        approval = approvals.lock_for_decision(entry.graduation_list.approval, by=by)
        if not reason:
            raise GraduationError(_("Give the reason for taking the student out of the list."))
        entry = Entry.objects.select_for_update().select_related("student").get(pk=entry.pk)
        if entry.is_removed:
            raise GraduationError(
                _("%(name)s was already taken out of the list.") % {"name": entry.student.name}
            )
        if not entry.graduation_list.entries.filter(removed_at__isnull=True).exclude(pk=entry.pk).exists():
            raise GraduationError(
                _("The last student cannot be taken out: return or reject the list instead.")
            )
        save_changes(
            entry,
            {"removed_at": timezone.now(), "removed_by": by, "removed_reason": reason},
            by=by,
            reason=reason,
        )
        approvals.remove_subject(approval, subject_key(entry.student))
        record_event("graduation.entry.taken_out", actor=by, obj=entry.student, reason=reason)
    return entry


# --- the last approval ------------------------------------------------------------------------------


def province_of(school):
    return Organisation.objects.filter(code=school.path.split("/", 1)[0]).first()


def number_format(school, segment, kind):
    field = certificates.FORMAT_FIELD[kind]
    own, default = rule_set_for(province_of(school), segment)
    return (own and getattr(own, field)) or (default and getattr(default, field)) or DEFAULT_FORMATS[field]


def issue_certificate(student, *, by, kind, school, segment, year, on, pattern=None):
    """A new certificate with the next number of the province's format."""
    pattern = pattern or number_format(school, segment, kind)
    number = certificates.issue_number(pattern, school=school, year=year, province=province_of(school))
    certificate = Certificate(
        number=number, kind=kind, student=student, school=school, year=year, issued_on=on
    )
    stamp(certificate, by=by)
    certificate.save()
    return certificate


def apply_list(approval, by):
    """The engine's on_approved: every student on the list gets the status, a certificate number and
    the lock, in the decision's transaction; any refusal undoes the whole decision."""
    graduation_list = (
        GraduationList.objects.select_for_update().select_related("school").get(approval=approval)
    )
    entries = active_entries(graduation_list)
    today = timezone.localdate()
    check_entries(graduation_list, entries, on=today)
    school = graduation_list.school
    formats = {kind: number_format(school, graduation_list.segment, kind) for kind in CertificateKind.values}
    url = graduation_list.get_absolute_url()
    for entry in entries:
        student = lock_student(entry.student)
        outcome = Outcome(entry.outcome)
        record_status_event(
            student,
            event=OUTCOME_EVENTS[outcome],
            by=by,
            occurred_on=today,
            reason=_("Graduation list #%(pk)s approved") % {"pk": graduation_list.pk},
            action="graduation.list.approved",
            approved_by=by,
        )
        kind = OUTCOME_CERTIFICATES[outcome]
        entry.certificate = issue_certificate(
            student,
            by=by,
            kind=kind,
            school=school,
            segment=graduation_list.segment,
            year=graduation_list.year,
            on=today,
            pattern=formats[kind],
        )
        stamp(entry, by=by)
        entry.save(update_fields=["certificate"])
        record_event(
            "graduation.student.left",
            actor=by,
            obj=student,
            outcome=outcome.value,
            certificate=entry.certificate.number,
            destination=entry.destination,
            url=url,
        )
    graduation_list.applied_at = timezone.now()
    stamp(graduation_list, by=by)
    graduation_list.save(update_fields=["applied_at"])
    record_event("graduation.list.applied", actor=by, obj=graduation_list, count=len(entries))
