"""问题学籍: writing the detection's findings, the school's resolutions, arbitration.

Every state change of a problem record is here: `close_problem` is the one writer of its state.
"""

import time
from collections import Counter

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from problems import detection
from problems.errors import ProblemError
from problems.models import CorrectionLink, Evidence, Method, Resolution
from registrar import approvals
from registrar.audit import record_event, stamp
from registrar.choices import NodeKind, Role
from registrar.errors import ApprovalError
from registrar.uploads import clean_evidence
from students import lifecycle
from students.models import (
    Event,
    ProblemKind,
    ProblemOutcome,
    ProblemRecord,
    ProblemState,
)
from students.services import lock_student, record_status_event, subject_label

KIND = "problems.resolution"
MAX_EVIDENCE = 10
EVIDENCE_MIN_SIZE = (200, 200)
# Kinds where two registrations claim one person: the bureau may decide which stands (仲裁).
PAIR_KINDS = (ProblemKind.DUPLICATE_ID, ProblemKind.DUPLICATE_PERSON, ProblemKind.CHANGED_ID)
REVIEWER_ROLES = (Role.COUNTY_REVIEWER, Role.CITY_REVIEWER, Role.PROVINCE_ADMIN)


# --- detection -------------------------------------------------------------------------------------


def _scope_q(path):
    if not path:
        return Q()
    return Q(student__school__path__startswith=path) | Q(other_student__school__path__startswith=path)


def sync_findings(findings, *, scope_path="", by=None, now=None):
    """Write the findings that are new and close the open detected records no longer found.

    Returns {"found", "created", "cleared", "by_kind"}. One transaction: a run that fails leaves the
    records as they were.
    """
    now = now or timezone.now()
    by_fingerprint = {finding.fingerprint: finding for finding in findings}
    with transaction.atomic():
        existing = dict(
            ProblemRecord.objects.unresolved()
            .exclude(fingerprint="")
            .filter(_scope_q(scope_path))
            .values_list("fingerprint", "pk")
        )
        new = [
            ProblemRecord(
                student_id=finding.student_id,
                other_student_id=finding.other_id,
                kind=finding.kind,
                evidence=finding.evidence,
                fingerprint=fingerprint,
            )
            for fingerprint, finding in by_fingerprint.items()
            if fingerprint not in existing
        ]
        # Another run may have written the same finding meanwhile: the constraint keeps one.
        already = set(
            ProblemRecord.objects.unresolved()
            .filter(fingerprint__in=[record.fingerprint for record in new])
            .values_list("fingerprint", flat=True)
        )
        new = [record for record in new if record.fingerprint not in already]
        bulk_create_with_history(new, ProblemRecord, batch_size=1000, default_user=by)
        gone = list(
            ProblemRecord.objects.filter(
                pk__in=[pk for fp, pk in existing.items() if fp not in by_fingerprint]
            )
        )
        for record in gone:
            record.state = ProblemState.RESOLVED
            record.outcome = ProblemOutcome.CLEARED
            record.resolved_at = now
            record.resolution = _("No longer found by the detection.")
        if gone:
            bulk_update_with_history(
                gone,
                ProblemRecord,
                ["state", "outcome", "resolved_at", "resolution"],
                batch_size=1000,
                default_user=by,
                default_change_reason=_("No longer found by the detection."),
            )
    return {
        "found": len(by_fingerprint),
        "created": len(new),
        "cleared": len(gone),
        "by_kind": dict(Counter(str(finding.kind) for finding in by_fingerprint.values())),
    }


def detect_problems(node=None, *, by=None):
    """Detect and write, over `node` (the whole system when None); the summary with its duration."""
    started = time.monotonic()
    scope_path = node.path if node is not None else ""
    findings = detection.detect(scope_path)
    summary = sync_findings(findings, scope_path=scope_path, by=by)
    summary["seconds"] = round(time.monotonic() - started, 2)
    record_event("problems.detection.run", actor=by, node=node, **summary)
    return summary


# --- closing a record ------------------------------------------------------------------------------------


def _lock_problem(problem):
    return (
        ProblemRecord.objects.select_for_update(of=("self",))
        .select_related("student__school", "other_student__school")
        .get(pk=problem.pk)
    )


def _ensure_open(problem):
    if not problem.is_open:
        raise ProblemError(
            _("Problem record #%(pk)s is already closed (%(outcome)s).")
            % {"pk": problem.pk, "outcome": problem.get_outcome_display() or problem.get_state_display()}
        )


def close_problem(problem, *, by, outcome, text):
    """The one writer of a problem record's closing: locked, still open, saved, on both timelines."""
    problem = _lock_problem(problem)
    _ensure_open(problem)
    problem.state = ProblemState.RESOLVED
    problem.outcome = outcome
    problem.resolution = text
    problem.resolved_at = timezone.now()
    problem.resolved_by = by if by is not None and by.is_authenticated else None
    stamp(problem, by=by, reason=problem.get_outcome_display())
    problem.save(update_fields=["state", "outcome", "resolution", "resolved_at", "resolved_by"])
    for student in problem.students:
        record_event(
            "problems.problem.closed",
            actor=by,
            obj=student,
            reason=text,
            problem=problem.pk,
            kind=problem.kind,
            outcome=outcome,
            url=reverse("problems:detail", args=[problem.pk]),
        )
    return problem


def _void(student, *, by, reason, outcome):
    """Close a false registration (已注销) and every open problem it is party to."""
    record_status_event(
        student,
        event=Event.VOIDED,
        by=by,
        occurred_on=timezone.localdate(),
        reason=reason[:200],
        approved_by=by,
    )
    for problem in ProblemRecord.objects.unresolved().involving(student):
        close_problem(problem, by=by, outcome=outcome, text=reason)


# --- the school's resolutions on the engine -----------------------------------------------------------


def applying_school(problem, user):
    """The school of `user` among the problem's parties, or None."""
    for student in problem.students:
        if user.node_id == student.school_id:
            return student.school
    return None


def may_resolve(problem, user):
    return (
        problem.is_open
        and user.has_role(Role.SCHOOL_REGISTRAR)
        and applying_school(problem, user) is not None
    )


def _subject_key(problem):
    return f"problem:{problem.pk}"


def create_resolution(problem, *, by, method, explanation, record_to_delete=None):
    """A 佐证 or 删除 in draft, by the registrar of one of the problem's schools."""
    explanation = (explanation or "").strip()
    with transaction.atomic():
        problem = _lock_problem(problem)
        school = applying_school(problem, by)
        if school is None or not by.has_role(Role.SCHOOL_REGISTRAR):
            raise PermissionDenied
        _ensure_open(problem)
        if method not in Method.values:
            raise ProblemError(_("Choose 佐证 or 删除."))
        if not explanation:
            raise ProblemError(_("Write the explanation."))
        if method == Method.DELETE:
            _check_deletable(problem, record_to_delete, school)
        else:
            record_to_delete = None
        open_request = approvals.open_request_for(_subject_key(problem))
        if open_request is not None:
            raise ProblemError(
                _("This problem record already has a resolution in progress (%(state)s).")
                % {"state": open_request.get_state_display()}
            )
        approval = approvals.create_request(
            KIND,
            by=by,
            school=school,
            subject_label=f"{problem.get_kind_display()} · {subject_label(problem.student)}",
            subject_key=_subject_key(problem),
        )
        resolution = Resolution(
            approval=approval,
            problem=problem,
            method=method,
            explanation=explanation,
            record_to_delete=record_to_delete,
        )
        stamp(resolution, by=by)
        resolution.save()
    return resolution


def _check_deletable(problem, student, school):
    if student is None or student.pk not in {party.pk for party in problem.students}:
        raise ProblemError(_("Choose the record to delete among the records of this problem."))
    if student.school_id != school.pk:
        raise ProblemError(
            _("A school deletes only its own records: %(name)s is registered at %(school)s.")
            % {
                "name": student.name,
                "school": student.school.name,
            }
        )
    if problem.kind == ProblemKind.INVALID_ID:
        raise ProblemError(_("An invalid ID number is corrected (变更), not deleted."))


def _editable(resolution, by):
    approval = approvals.lock_for_edit(resolution.approval, by=by)
    resolution = Resolution.objects.select_related("problem").get(pk=resolution.pk)
    resolution.approval = approval
    return resolution


def add_evidence(resolution, *, by, uploaded_file):
    """One evidence image of a 佐证: checked by its content, stripped of metadata, stored privately."""
    clean = clean_evidence(uploaded_file, allow_pdf=False, min_size=EVIDENCE_MIN_SIZE)
    with transaction.atomic():
        resolution = _editable(resolution, by)
        if resolution.evidence.count() >= MAX_EVIDENCE:
            raise ProblemError(_("At most %(count)s evidence images.") % {"count": MAX_EVIDENCE})
        evidence = Evidence.from_clean_file(clean, resolution=resolution, uploaded_by=by)
        evidence.save()
        record_event(
            "problems.evidence.added",
            actor=by,
            obj=resolution,
            evidence=evidence.pk,
            size=evidence.size,
            sha256=evidence.sha256,
        )
    evidence.notices = clean.notices
    return evidence


def remove_evidence(evidence, *, by):
    with transaction.atomic():
        resolution = _editable(evidence.resolution, by)
        evidence = Evidence.objects.get(pk=evidence.pk, resolution=resolution)
        record_event("problems.evidence.removed", actor=by, obj=resolution, evidence=evidence.pk)
        evidence.delete_with_file()


def submit_problems(resolution):
    """What keeps the resolution from going to the reviewer, as messages."""
    problem = resolution.problem
    if not problem.is_open:
        return [_("Problem record #%(pk)s is already closed.") % {"pk": problem.pk}]
    if resolution.method == Method.CONFIRM and not resolution.evidence.exists():
        return [_("Attach at least one evidence image (身份证, 户口本 …) that proves the record right.")]
    if resolution.method == Method.DELETE and not lifecycle.allows(
        resolution.record_to_delete.status, Event.VOIDED
    ):
        return [
            _("%(name)s is %(status)s: only a live registration is deleted.")
            % {
                "name": resolution.record_to_delete.name,
                "status": resolution.record_to_delete.get_status_display(),
            }
        ]
    return []


def validate_submit(approval):
    resolution = Resolution.objects.select_related("problem", "record_to_delete").get(approval=approval)
    problems = submit_problems(resolution)
    if problems:
        raise ApprovalError(" ".join(problems))


def submit_resolution(resolution, *, by, comment=""):
    return approvals.send(resolution.approval, by=by, comment=comment)


def withdraw_resolution(resolution, *, by, comment=""):
    return approvals.withdraw(resolution.approval, by=by, comment=comment)


def apply_resolution(approval, by):
    """The engine's on_approved hook: 佐证 closes the record; 删除 closes the false registration
    (a lifecycle event, its history kept) and the record with it."""
    resolution = Resolution.objects.select_related("problem", "record_to_delete").get(approval=approval)
    problem = _lock_problem(resolution.problem)
    _ensure_open(problem)
    if resolution.method == Method.CONFIRM:
        close_problem(problem, by=by, outcome=ProblemOutcome.CONFIRMED, text=resolution.explanation)
    else:
        student = lock_student(resolution.record_to_delete)
        close_problem(problem, by=by, outcome=ProblemOutcome.DELETED, text=resolution.explanation)
        _void(student, by=by, reason=resolution.explanation, outcome=ProblemOutcome.DELETED)


def resolution_label(approval):
    resolution = Resolution.objects.select_related("problem__student").get(approval=approval)
    return f"{resolution.get_method_display()} · {subject_label(resolution.problem.student)}"


# --- 变更: a linked key-data correction -----------------------------------------------------------------


def link_correction(problem, correction, *, by):
    """Link the correction the registrar opened from the problem's page (变更)."""
    problem = _lock_problem(problem)
    _ensure_open(problem)
    if correction.student_id not in {student.pk for student in problem.students}:
        raise ProblemError(_("The correction is not about a record of this problem."))
    link, created = CorrectionLink.objects.get_or_create(problem=problem, correction=correction)
    if created:
        record_event(
            "problems.correction.linked",
            actor=by,
            obj=correction.student,
            problem=problem.pk,
            correction=correction.pk,
        )
    return link


def close_for_correction(correction, by):
    """corrections' apply hook: the problems that this correction was opened for close as 变更."""
    for link in CorrectionLink.objects.filter(correction=correction).select_related("problem"):
        if link.problem.is_open:
            close_problem(
                link.problem,
                by=by,
                outcome=ProblemOutcome.CORRECTED,
                text=_("Key-data correction #%(pk)s applied.") % {"pk": correction.pk},
            )


# --- 仲裁 -------------------------------------------------------------------------------------------------


def _area(school):
    """The county above a school, or its city when the city runs the school directly."""
    ancestors = school.ancestors()
    county = next((node for node in ancestors if node.kind == NodeKind.COUNTY), None)
    city = next((node for node in ancestors if node.kind == NodeKind.CITY), None)
    return county, city


def arbiter_for(problem):
    """The node that decides between the two schools: their county, or their city when the
    schools are in different counties (source 003, 第五条 and 第六条); None when they are in
    different cities (the province's own procedure) or the problem is not about two registrations."""
    if problem.kind not in PAIR_KINDS or problem.other_student is None:
        return None
    first_county, first_city = _area(problem.student.school)
    second_county, second_city = _area(problem.other_student.school)
    if first_county is not None and first_county == second_county:
        return first_county
    if first_city is not None and first_city == second_city:
        return first_city
    return None


def may_arbitrate(problem, user):
    arbiter = arbiter_for(problem)
    return (
        problem.is_open
        and arbiter is not None
        and user.node_id == arbiter.pk
        and user.has_role(Role.COUNTY_REVIEWER, Role.CITY_REVIEWER)
    )


def arbitrate(problem, *, by, keep, reason):
    """The bureau decides which registration stands: the other is closed (已注销) with the reason,
    the record closes as 仲裁, and both schools read the outcome on the record's page and timelines."""
    reason = (reason or "").strip()
    with transaction.atomic():
        problem = _lock_problem(problem)
        if arbiter_for(problem) is None or not may_arbitrate(problem, by):
            _ensure_open(problem)
            raise PermissionDenied
        if not reason:
            raise ProblemError(_("Write the reason of the decision."))
        parties = {student.pk: student for student in problem.students}
        if keep is None or keep.pk not in parties:
            raise ProblemError(_("Choose the registration that stands among the two of this problem."))
        loser = lock_student(next(student for pk, student in parties.items() if pk != keep.pk))
        if not lifecycle.allows(loser.status, Event.VOIDED):
            raise ProblemError(
                _("The record at %(school)s is %(status)s and stays locked: keep it, and close the other.")
                % {"school": loser.school.name, "status": loser.get_status_display()}
            )
        text = _(
            "Arbitration: the registration at %(keep)s stands; the one at %(lose)s is closed. %(reason)s"
        ) % {
            "keep": keep.school.name,
            "lose": loser.school.name,
            "reason": reason,
        }
        if approvals.open_request_for(_subject_key(problem)) is not None:
            raise ProblemError(
                _(
                    "A resolution of this record is in progress: wait for its review or ask the school "
                    "to withdraw it."
                )
            )
        close_problem(problem, by=by, outcome=ProblemOutcome.ARBITRATED, text=text)
        _void(loser, by=by, reason=text, outcome=ProblemOutcome.ARBITRATED)
    return problem
