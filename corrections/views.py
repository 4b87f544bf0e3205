"""Pages of key-data corrections: start one from the student page, follow the school's requests,
answer a return, withdraw, review (one by one with the evidence, or ticked in a batch), and the
submission packet."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from corrections import rules, services
from corrections.forms import CorrectionForm, EvidenceForm, ListFilterForm
from corrections.models import Correction, Evidence, FieldChange
from corrections.packet import packet_response
from problems.services import link_correction
from registrar import approvals
from registrar.access import require_role
from registrar.choices import Role
from registrar.dashboard import WaitingItem
from registrar.errors import DomainError
from registrar.forms import CommentForm
from registrar.limits import TooManyLookups
from registrar.models import ApprovalRequest, ApprovalState
from registrar.navigation import NavItem
from registrar.uploads import ViewerFile, serve_private_file
from students.access import get_student_for
from students.filters import student_search
from students.models import ProblemRecord

PAGE_SIZE = 25
# Who works with corrections: the school that applies and decides first, the bureaus above it.
ROLES = (
    Role.SCHOOL_REGISTRAR,
    Role.PRINCIPAL,
    Role.TOWNSHIP_REVIEWER,
    Role.COUNTY_REVIEWER,
    Role.CITY_REVIEWER,
    Role.PROVINCE_ADMIN,
)


# --- navigation and dashboard ---------------------------------------------------------------------------


def nav_items(user):
    if user.node_id is None or not user.has_role(*ROLES):
        return []
    return [NavItem(gettext_lazy("Key-data corrections"), reverse("corrections:list"))]


def waiting_items(user):
    if user.node_id is None:
        return []
    items = []
    if user.node.is_school and user.has_role(Role.SCHOOL_REGISTRAR):
        drafts = ApprovalRequest.objects.filter(
            kind=services.KIND, applicant_node=user.node, state=ApprovalState.DRAFT
        ).count()
        items.append(
            WaitingItem(
                _("Key-data corrections not submitted yet"),
                drafts,
                reverse("corrections:list") + f"?state={ApprovalState.DRAFT}",
            )
        )
    waiting = ApprovalRequest.objects.waiting_for(user).filter(kind=services.KIND).count()
    items.append(
        WaitingItem(_("Key-data corrections waiting for my review"), waiting, reverse("corrections:review"))
    )
    return items


def problem_of(request, student):
    """变更: the open problem record of `student` this correction is opened for (?problem=pk)."""
    pk = request.GET.get("problem", "")
    if not pk.isdigit():
        return None
    return ProblemRecord.objects.unresolved().involving(student).filter(pk=int(pk)).first()


# --- access -------------------------------------------------------------------------------------------


def get_correction_for(user, pk, *, roles=()):
    """The request if the user's node covers it (else 404); 403 without one of `roles`."""
    queryset = Correction.objects.visible_to(user).select_related(
        "approval__school",
        "approval__applicant",
        "student__school",
        "student__grade__school",
        "student__school_class",
    )
    correction = get_object_or_404(queryset, pk=pk)
    require_role(user, roles)
    return correction


def _error(request, error):
    messages.error(request, error.message)


# --- starting and editing ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def create(request, student_pk):
    """Start a correction from the student page: the new values and their reasons."""
    student = get_student_for(request.user, student_pk, roles=[Role.SCHOOL_REGISTRAR])
    if request.user.node_id != student.school_id:
        raise PermissionDenied
    blockers = services.blockers(student)
    form = CorrectionForm(request.POST or None, student=student, in_force=rules.rules_in_force(student))
    problem = problem_of(request, student)
    if request.method == "POST" and not blockers and form.is_valid():
        try:
            with transaction.atomic():
                correction = services.create_correction(
                    student,
                    by=request.user,
                    changes=form.changes,
                    note=form.cleaned_data["note"],
                    late_explanation=form.cleaned_data["late_explanation"],
                )
                if problem is not None:
                    link_correction(problem, correction, by=request.user)
        except DomainError as error:
            form.add_service_errors(error.errors or {"__all__": [error.message]})
        else:
            messages.success(
                request, _("The request is saved as a draft: attach the evidence, then submit it.")
            )
            return redirect(correction)
    return render(
        request,
        "corrections/form.html",
        {
            "form": form,
            "student": student,
            "blockers": blockers,
            "linked_problem": problem,
            "title": _("Correct the key data of %(name)s") % {"name": student.name},
        },
    )


@require_http_methods(["GET", "POST"])
def edit(request, pk):
    """Change the fields of a draft, or of a request returned for revision."""
    correction = get_correction_for(request.user, pk, roles=[Role.SCHOOL_REGISTRAR])
    if not approvals.may_edit(correction.approval, request.user):
        messages.error(
            request, _("This request can be changed only as a draft or when returned for revision.")
        )
        return redirect(correction)
    student = correction.student
    form = CorrectionForm(
        request.POST or None,
        student=student,
        in_force=rules.rules_in_force(student, correction.approval),
        initial=CorrectionForm.initial_for(correction),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_correction(
                correction,
                by=request.user,
                changes=form.changes,
                note=form.cleaned_data["note"],
                late_explanation=form.cleaned_data["late_explanation"],
            )
        except DomainError as error:
            form.add_service_errors(error.errors or {"__all__": [error.message]})
        else:
            messages.success(request, _("The request is saved."))
            return redirect(correction)
    return render(
        request,
        "corrections/form.html",
        {
            "form": form,
            "student": student,
            "correction": correction,
            "blockers": [],
            "title": _("Edit the correction of %(name)s") % {"name": student.name},
        },
    )


# --- the request page -----------------------------------------------------------------------------------


def _viewer_files(correction, evidence):
    return [
        ViewerFile.for_upload(
            item,
            reverse("corrections:evidence_file", args=[correction.pk, item.pk]),
            reverse("corrections:evidence_file", args=[correction.pk, item.pk]) + "?download=1",
        )
        for item in evidence
    ]


@require_GET
def detail(request, pk):
    """The request: old → new side by side, the evidence with the viewer, and the approval panel."""
    correction = get_correction_for(request.user, pk)
    prefetch_related_objects(
        [correction],
        Prefetch("changes", queryset=FieldChange.objects.order_by("position", "id")),
        Prefetch("evidence", queryset=Evidence.objects.order_by("uploaded_at", "id")),
    )
    evidence = list(correction.evidence.all())
    files = _viewer_files(correction, evidence)
    may_edit = approvals.may_edit(correction.approval, request.user)
    returned = approvals.return_decision(correction.approval)
    problems = services.submit_problems(correction) if may_edit else []
    return render(
        request,
        "corrections/detail.html",
        {
            "correction": correction,
            "approval": correction.approval,
            "student": correction.student,
            "changes": correction.changes.all(),
            "evidence": evidence,
            "files": files,
            "checklist": services.evidence_checklist(correction),
            "may_edit": may_edit,
            "may_withdraw": approvals.WITHDRAW
            in approvals.available_actions(correction.approval, request.user),
            "evidence_form": EvidenceForm(initial={"kind": _first_missing_kind(correction)})
            if may_edit
            else None,
            "returned": returned,
            "problems": problems,
        },
    )


def _first_missing_kind(correction):
    for requirement, met in services.evidence_checklist(correction):
        if not met:
            return requirement.kinds[0]
    return None


@require_POST
def evidence_add(request, pk):
    correction = get_correction_for(request.user, pk, roles=[Role.SCHOOL_REGISTRAR])
    form = EvidenceForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect(reverse("corrections:detail", args=[correction.pk]) + "#evidence")
    try:
        evidence = services.add_evidence(
            correction,
            by=request.user,
            kind=form.cleaned_data["kind"],
            uploaded_file=form.cleaned_data["file"],
        )
    except DomainError as error:
        _error(request, error)
    else:
        messages.success(request, _("Added: %(name)s") % {"name": evidence.get_kind_display()})
        for notice in evidence.notices:
            messages.info(request, notice)
    return redirect(reverse("corrections:detail", args=[correction.pk]) + "#evidence")


@require_POST
def evidence_delete(request, pk, evidence_pk):
    correction = get_correction_for(request.user, pk, roles=[Role.SCHOOL_REGISTRAR])
    evidence = get_object_or_404(Evidence, pk=evidence_pk, correction=correction)
    try:
        services.remove_evidence(evidence, by=request.user)
    except DomainError as error:
        _error(request, error)
    else:
        messages.success(request, _("Removed: %(name)s") % {"name": evidence.get_kind_display()})
    return redirect(reverse("corrections:detail", args=[correction.pk]) + "#evidence")


@require_GET
def evidence_file(request, pk, evidence_pk):
    """One evidence image, streamed to a user who may see the request."""
    correction = get_correction_for(request.user, pk)
    evidence = get_object_or_404(Evidence, pk=evidence_pk, correction=correction)
    return serve_private_file(
        request,
        evidence.file,
        filename=evidence.download_name,
        content_type=evidence.content_type,
        inline=not request.GET.get("download"),
    )


@require_http_methods(["GET", "POST"])
def withdraw(request, pk):
    """GET asks for confirmation (and an optional reason); POST withdraws the request."""
    correction = get_correction_for(request.user, pk, roles=[Role.SCHOOL_REGISTRAR])
    if approvals.WITHDRAW not in approvals.available_actions(correction.approval, request.user):
        messages.error(request, _("This request cannot be withdrawn now."))
        return redirect(correction)
    form = CommentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.withdraw_correction(correction, by=request.user, comment=form.cleaned_data["comment"])
        except DomainError as error:
            _error(request, error)
        else:
            messages.success(request, _("The request is withdrawn."))
        return redirect(correction)
    return render(request, "corrections/withdraw.html", {"correction": correction, "form": form})


# --- lists -------------------------------------------------------------------------------------------------


def _with_changes(queryset):
    return queryset.select_related(
        "student", "approval__school", "approval__current_step__node"
    ).prefetch_related(Prefetch("changes", queryset=FieldChange.objects.order_by("position", "id")))


@require_GET
def correction_list(request):
    """My school's corrections (or those of the schools below my node), newest first; ticked ones go
    into the packet."""
    require_role(request.user, ROLES)
    form = ListFilterForm(request.GET or None)
    corrections = Correction.objects.visible_to(request.user)
    if form.is_valid():
        data = form.cleaned_data
        if data["state"]:
            corrections = corrections.filter(approval__state=data["state"])
        if data["group"]:
            corrections = corrections.filter(group=data["group"])
        if data["q"]:
            try:
                corrections = corrections.filter(
                    student_search(request.user, data["q"], corrections, path="student__")
                )
            except TooManyLookups as error:
                messages.error(request, error.message)
                corrections = corrections.none()
    corrections = _with_changes(corrections).order_by("-created_at", "-pk")
    page = Paginator(corrections, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "corrections/list.html",
        {"form": form, "page": page, "query": query.urlencode(), "tab": "all"},
    )


@require_GET
def review(request):
    """Corrections waiting for my decision, with their changes: each is decided on its own page."""
    waiting = ApprovalRequest.objects.waiting_for(request.user).filter(kind=services.KIND)
    corrections = _with_changes(Correction.objects.filter(approval__in=waiting)).order_by(
        "approval__current_step__due_date", "approval__current_step__started_at", "pk"
    )
    page = Paginator(corrections, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for correction in page.object_list:
        step = correction.approval.current_step
        correction.overdue = step is not None and step.due_date is not None and today > step.due_date
    return render(request, "corrections/review.html", {"page": page, "tab": "review"})


@require_POST
def packet(request):
    """The submission packet of the ticked requests: a zip of the summary workbook and the images."""
    require_role(request.user, ROLES)
    pks = [int(value) for value in request.POST.getlist("selected") if value.isdigit()]
    response = packet_response(request.user, pks) if pks else None
    if response is None:
        messages.warning(request, _("Tick the requests to put in the packet first."))
        query = request.POST.get("query", "")
        return redirect(reverse("corrections:list") + (f"?{query}" if query else ""))
    return response
