"""After graduation (domain §10, source 002): 缓发 (a certificate withheld, with the reason; the right
lapses a year after), 结业换毕业 (a completion exchanged for graduation once the make-up exams are
passed, within a year; kind `graduation.exchange`) and 毕业生回退 (an authority reverses a wrong
graduation; kind `graduation.reversal`). The two cases run on the approval engine; their last
approval writes the status through `students.services.record_status_event` and voids the old
certificate number, which is never given again.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from graduation.audit import judge_student
from graduation.errors import GraduationError
from graduation.models import RIGHT_LAPSES_AFTER, CaseKind, Certificate, CertificateCase, CertificateKind
from graduation.rules import standard_failures
from graduation.services import ensure_registrar, issue_certificate
from registrar import approvals
from registrar.audit import record_event, save_changes, stamp
from students.lifecycle import LEAVERS
from students.models import Event, Status
from students.services import (
    ensure_student_free,
    lock_student,
    record_status_event,
    subject_key,
    subject_label,
)

CASE_KINDS = {CaseKind.EXCHANGE: "graduation.exchange", CaseKind.REVERSAL: "graduation.reversal"}


def _lock_certificate(certificate):
    return (
        Certificate.objects.select_for_update()
        .select_related("student__school", "student__grade")
        .get(pk=certificate.pk)
    )


# --- 缓发 ------------------------------------------------------------------------------


def withhold_certificate(certificate, *, by, reason, on=None):
    reason = (reason or "").strip()
    with transaction.atomic():
        certificate = _lock_certificate(certificate)
        ensure_registrar(by, certificate.school)
        if not reason:
            raise GraduationError(_("Give the reason for withholding the certificate."))
        if not certificate.is_valid:
            raise GraduationError(_("This certificate was voided."))
        if certificate.is_withheld:
            raise GraduationError(_("This certificate is already withheld."))
        on = on or timezone.localdate()
        save_changes(certificate, {"withheld_on": on, "withheld_reason": reason}, by=by, reason=reason)
        record_event(
            "graduation.certificate.withheld",
            actor=by,
            obj=certificate.student,
            reason=reason,
            number=certificate.number,
        )
    return certificate


def release_certificate(certificate, *, by, on=None):
    """The reason for withholding is settled: the certificate may be collected, within the year."""
    with transaction.atomic():
        certificate = _lock_certificate(certificate)
        ensure_registrar(by, certificate.school)
        if not certificate.is_withheld:
            raise GraduationError(_("This certificate is not withheld."))
        on = on or timezone.localdate()
        if on > certificate.right_lapses_on:
            raise GraduationError(
                _("The right to this certificate lapsed on %(date)s, a year after it was withheld.")
                % {"date": certificate.right_lapses_on.isoformat()}
            )
        save_changes(certificate, {"withheld_on": None, "withheld_reason": ""}, by=by, reason=_("Released"))
        record_event(
            "graduation.certificate.released", actor=by, obj=certificate.student, number=certificate.number
        )
    return certificate


# --- 结业换毕业 and 毕业生回退 ------------------------------------------------------------------------------


def case_problem(kind, certificate, *, on=None, exclude_approval=None):
    """Why the case cannot go ahead now ("" when it can)."""
    on = on or timezone.localdate()
    student = certificate.student
    if not certificate.is_valid:
        return _("This certificate was voided.")
    if kind == CaseKind.EXCHANGE:
        if certificate.kind != CertificateKind.COMPLETION or student.status != Status.COMPLETED:
            return _("Only a completion (结业) can be exchanged for graduation.")
        if on > certificate.issued_on + RIGHT_LAPSES_AFTER:
            return _("A completion can be exchanged within a year: this one was issued on %(date)s.") % {
                "date": certificate.issued_on.isoformat()
            }
        rules, facts, _judgement = judge_student(student, on=on, exclude_approval=exclude_approval)
        failures = standard_failures(rules, facts)
        if failures:
            return _("%(name)s does not meet the standard yet: %(reasons)s") % {
                "name": student.name,
                "reasons": _("; ").join(reason for _check, reason in failures),
            }
        return ""
    if student.status not in LEAVERS:
        return _("%(name)s is %(status)s: only a graduation, completion or leaving can be reversed.") % {
            "name": student.name,
            "status": student.get_status_display(),
        }
    return ""


def start_case(kind, certificate, *, by, reason):
    """A draft case (exchange or reversal) for the certificate's student."""
    kind = CaseKind(kind)
    reason = (reason or "").strip()
    with transaction.atomic():
        certificate = _lock_certificate(certificate)
        student = lock_student(certificate.student)
        ensure_registrar(by, student.school)
        if not reason:
            raise GraduationError(_("Give the reason."))
        problem = case_problem(kind, certificate)
        if problem:
            raise GraduationError(problem)
        ensure_student_free(student, problems_block=False)
        approval = approvals.create_request(
            CASE_KINDS[kind],
            by=by,
            school=student.school,
            subject_label=subject_label(student),
            context={"segment": student.grade.segment},
            subject_key=subject_key(student),
        )
        case = CertificateCase(
            approval=approval,
            kind=kind,
            student=student,
            certificate=certificate,
            reason=reason,
            created_by=by,
        )
        stamp(case, by=by)
        case.save()
        record_event(
            f"{CASE_KINDS[kind]}.started", actor=by, obj=student, reason=reason, number=certificate.number
        )
    return case


def validate_case(approval):
    case = approval.certificate_case
    problem = case_problem(case.kind, case.certificate, exclude_approval=approval)
    if problem:
        raise GraduationError(problem)


def case_context(approval):
    return {"segment": approval.certificate_case.student.grade.segment}


def apply_case(approval, by):
    """The engine's on_approved of both kinds, in the decision's transaction."""
    case = CertificateCase.objects.select_for_update().select_related("student__grade").get(approval=approval)
    certificate = _lock_certificate(case.certificate)
    student = lock_student(case.student)
    today = timezone.localdate()
    problem = case_problem(case.kind, certificate, on=today, exclude_approval=approval)
    if problem:
        raise GraduationError(problem)
    url = case.get_absolute_url()
    event = Event.CERTIFICATE_EXCHANGED if case.kind == CaseKind.EXCHANGE else Event.GRADUATION_REVERSED
    record_status_event(
        student,
        event=event,
        by=by,
        occurred_on=today,
        reason=case.reason,
        action=f"{approval.kind}.approved",
        approved_by=by,
    )
    void = _("Exchanged for a graduation certificate") if case.kind == CaseKind.EXCHANGE else case.reason
    save_changes(certificate, {"voided_on": today, "void_reason": void}, by=by, reason=void)
    data = {"voided": certificate.number, "url": url}
    if case.kind == CaseKind.EXCHANGE:
        case.new_certificate = issue_certificate(
            student,
            by=by,
            kind=CertificateKind.GRADUATION,
            school=certificate.school,
            segment=student.grade.segment,
            year=certificate.year,
            on=today,
        )
        stamp(case, by=by)
        case.save(update_fields=["new_certificate"])
        data["certificate"] = case.new_certificate.number
    record_event(f"{approval.kind}.applied", actor=by, obj=student, reason=case.reason, **data)


def case_label(approval):
    case = approval.certificate_case
    return f"{case.get_kind_display()} · {subject_label(case.student)}"
