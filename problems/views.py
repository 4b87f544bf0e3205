"""Pages of problem records (问题学籍): the queue per school and per county, a record with its
parties and the evidence of the match, the school's resolutions (佐证, 删除 on the engine, 变更 as a
linked key-data correction), arbitration by the county or city, and the detection runs."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from problems import runs, services
from problems.forms import ArbitrationForm, EvidenceForm, ListFilterForm, ResolutionForm
from problems.models import DetectionRun, Evidence, Method, Resolution
from registrar import approvals
from registrar.access import require_role
from registrar.audit import record_event
from registrar.choices import NodeKind, Role
from registrar.dashboard import WaitingItem
from registrar.errors import DomainError
from registrar.navigation import NavItem
from registrar.uploads import ViewerFile, serve_private_file
from students.models import ProblemKind, ProblemRecord, ProblemState

PAGE_SIZE = 50
# Who works with problem records: the school's office and the bureaus above it; class teachers do not.
ROLES = (Role.SCHOOL_REGISTRAR, Role.PRINCIPAL, Role.COUNTY_REVIEWER, Role.CITY_REVIEWER, Role.PROVINCE_ADMIN)
SUMMARY_NODES = (NodeKind.SCHOOL, NodeKind.COUNTY)


# --- navigation and dashboard ---------------------------------------------------------------------------


def nav_items(user):
    if user.node_id is None or not user.has_role(*ROLES):
        return []
    return [NavItem(gettext_lazy("Problem records"), reverse("problems:list"))]


def _open_count(user):
    return ProblemRecord.objects.visible_to(user).unresolved().count()


def waiting_items(user):
    if user.node_id is None or not user.node.is_school or not user.has_role(Role.SCHOOL_REGISTRAR):
        return []
    return [WaitingItem(_("Problem records to resolve"), _open_count(user), reverse("problems:list"))]


def summary_items(user):
    """The dashboard's count of open problem records, for a school or a county."""
    if user.node_id is None or user.node.kind not in SUMMARY_NODES or not user.has_role(*ROLES):
        return []
    return [(_("Open problem records"), _open_count(user), reverse("problems:list"))]


# --- access -------------------------------------------------------------------------------------------


def get_problem_for(user, pk, *, roles=ROLES):
    queryset = ProblemRecord.objects.visible_to(user).select_related(
        "student__school",
        "student__grade",
        "student__school_class",
        "other_student__school",
        "other_student__grade",
        "other_student__school_class",
        "resolved_by",
    )
    problem = get_object_or_404(queryset, pk=pk)
    require_role(user, roles)
    return problem


def get_resolution_for(user, pk, *, roles=ROLES):
    queryset = Resolution.objects.visible_to(user).select_related(
        "approval__school",
        "approval__applicant",
        "problem__student__school",
        "problem__other_student__school",
        "record_to_delete__school",
    )
    resolution = get_object_or_404(queryset, pk=pk)
    require_role(user, roles)
    return resolution


def _errors(request, error):
    messages.error(request, error.message)


# --- the queue ----------------------------------------------------------------------------------------------


@require_GET
def problem_list(request):
    require_role(request.user, ROLES)
    form = ListFilterForm(request.GET or None, user=request.user)
    records = ProblemRecord.objects.visible_to(request.user)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    state = data.get("state", ProblemState.OPEN) if form.is_bound else ProblemState.OPEN
    if state:
        records = records.filter(state=state)
    if data.get("kind"):
        records = records.filter(kind=data["kind"])
    if data.get("school"):
        records = records.filter(student__school=data["school"]) | records.filter(
            other_student__school=data["school"]
        )
    counts = dict(records.values_list("kind").annotate(count=Count("pk")).order_by())
    records = records.select_related("student__school", "other_student__school").order_by(
        "-detected_at", "-pk"
    )
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    node = request.user.node
    may_detect = node is not None and runs.may_run_detection(request.user, node)
    query = urlencode({key: value for key, value in request.GET.items() if key != "page" and value})
    return render(
        request,
        "problems/list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "kind_counts": [(kind.label, counts.get(kind.value, 0)) for kind in ProblemKind],
            "may_detect": may_detect,
            "runs": DetectionRun.objects.visible_to(request.user).select_related("node", "started_by")[:5]
            if may_detect
            else [],
        },
    )


@require_POST
def detect(request):
    node = request.user.node
    if node is None or not runs.may_run_detection(request.user, node):
        raise PermissionDenied
    try:
        run = runs.start_detection(node, by=request.user)
    except DomainError as error:
        _errors(request, error)
        return redirect("problems:list")
    messages.success(request, _("The detection has started; this page shows its result."))
    return redirect(run)


@require_GET
def run(request, pk):
    run = get_object_or_404(
        DetectionRun.objects.visible_to(request.user).select_related("node", "started_by"), pk=pk
    )
    require_role(request.user, (Role.COUNTY_REVIEWER, Role.CITY_REVIEWER, Role.PROVINCE_ADMIN))
    by_kind = run.summary.get("by_kind", {})
    return render(
        request,
        "problems/run.html",
        {"run": run, "by_kind": [(kind.label, by_kind.get(kind.value, 0)) for kind in ProblemKind]},
    )


# --- a record -----------------------------------------------------------------------------------------------


MATCH_LABELS = {
    "same_number": gettext_lazy("the same ID number"),
    "same_first_17": gettext_lazy(
        "the same first 17 digits of the ID number (an old 15-digit ID or another check digit)"
    ),
    "name_sex_birth": gettext_lazy("the same name, sex and date of birth, both without an ID number"),
    "former_number": gettext_lazy("an ID number one record held before a change is the other's"),
}
REASON_LABELS = {
    "format": gettext_lazy("not 17 digits and a check digit"),
    "check_digit": gettext_lazy("wrong check digit"),
    "impossible_date": gettext_lazy("the birth date in it does not exist"),
    "birth_date": gettext_lazy("the birth date in it differs from the record's"),
    "sex": gettext_lazy("the sex it encodes differs from the record's"),
    "region": gettext_lazy("unknown region code"),
    "age": gettext_lazy("the age is far from the grade"),
}


def evidence_lines(problem):
    evidence = problem.evidence or {}
    lines = []
    if evidence.get("match"):
        lines.append(str(MATCH_LABELS.get(evidence["match"], evidence["match"])))
    lines += [str(REASON_LABELS.get(reason, reason)) for reason in evidence.get("reasons", [])]
    return lines


@require_GET
def detail(request, pk):
    problem = get_problem_for(request.user, pk)
    user = request.user
    school = services.applying_school(problem, user)
    may_resolve = services.may_resolve(problem, user)
    may_arbitrate = services.may_arbitrate(problem, user)
    resolutions = list(
        Resolution.objects.filter(problem=problem)
        .visible_to(user)
        .select_related("approval", "record_to_delete")
    )
    own_students = [
        student for student in problem.students if school is not None and student.school_id == school.pk
    ]
    return render(
        request,
        "problems/detail.html",
        {
            "problem": problem,
            "evidence_lines": evidence_lines(problem),
            "resolutions": resolutions,
            "may_resolve": may_resolve,
            "resolution_form": ResolutionForm(problem=problem, school=school) if may_resolve else None,
            "change_students": own_students if may_resolve else [],
            "may_arbitrate": may_arbitrate,
            "arbitration_form": ArbitrationForm(problem=problem) if may_arbitrate else None,
            "arbiter": services.arbiter_for(problem) if problem.other_student_id else None,
        },
    )


@require_POST
def resolve(request, pk):
    problem = get_problem_for(request.user, pk, roles=[Role.SCHOOL_REGISTRAR])
    school = services.applying_school(problem, request.user)
    if school is None:
        raise PermissionDenied
    form = ResolutionForm(request.POST, problem=problem, school=school)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect(problem)
    target = (
        form.own.get(form.cleaned_data["record_to_delete"]) if form.cleaned_data["record_to_delete"] else None
    )
    try:
        resolution = services.create_resolution(
            problem,
            by=request.user,
            method=form.cleaned_data["method"],
            explanation=form.cleaned_data["explanation"],
            record_to_delete=target,
        )
    except DomainError as error:
        _errors(request, error)
        return redirect(problem)
    if resolution.method == Method.CONFIRM:
        messages.success(request, _("Saved as a draft: attach the evidence images, then submit it."))
    else:
        messages.success(request, _("Saved as a draft: submit it for review."))
    return redirect(resolution)


@require_POST
def arbitrate(request, pk):
    problem = get_problem_for(request.user, pk, roles=[Role.COUNTY_REVIEWER, Role.CITY_REVIEWER])
    if not services.may_arbitrate(problem, request.user):
        raise PermissionDenied
    form = ArbitrationForm(request.POST, problem=problem)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect(problem)
    try:
        services.arbitrate(
            problem,
            by=request.user,
            keep=form.parties[form.cleaned_data["keep"]],
            reason=form.cleaned_data["reason"],
        )
    except DomainError as error:
        _errors(request, error)
    else:
        messages.success(
            request, _("Decided: the other registration is closed and both schools see the outcome.")
        )
    return redirect(problem)


# --- a resolution ---------------------------------------------------------------------------------


def _viewer_files(resolution, evidence):
    return [
        ViewerFile.for_upload(
            item,
            reverse("problems:evidence_file", args=[resolution.pk, item.pk]),
            reverse("problems:evidence_file", args=[resolution.pk, item.pk]) + "?download=1",
        )
        for item in evidence
    ]


@require_GET
def resolution(request, pk):
    resolution = get_resolution_for(request.user, pk)
    evidence = list(resolution.evidence.order_by("uploaded_at", "id"))
    may_edit = approvals.may_edit(resolution.approval, request.user)
    return render(
        request,
        "problems/resolution.html",
        {
            "resolution": resolution,
            "approval": resolution.approval,
            "problem": resolution.problem,
            "evidence": evidence,
            "files": _viewer_files(resolution, evidence),
            "may_edit": may_edit,
            "evidence_form": EvidenceForm() if may_edit and resolution.method == Method.CONFIRM else None,
            "submit_problems": services.submit_problems(resolution) if may_edit else [],
            "returned": approvals.return_decision(resolution.approval),
        },
    )


@require_POST
def evidence_add(request, pk):
    resolution = get_resolution_for(request.user, pk, roles=[Role.SCHOOL_REGISTRAR])
    form = EvidenceForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    else:
        try:
            evidence = services.add_evidence(
                resolution, by=request.user, uploaded_file=form.cleaned_data["file"]
            )
        except DomainError as error:
            _errors(request, error)
        else:
            messages.success(
                request, _("Added: %(name)s") % {"name": evidence.original_name or evidence.download_name}
            )
            for notice in evidence.notices:
                messages.info(request, notice)
    return redirect(reverse("problems:resolution", args=[resolution.pk]) + "#evidence")


@require_POST
def evidence_delete(request, pk, evidence_pk):
    resolution = get_resolution_for(request.user, pk, roles=[Role.SCHOOL_REGISTRAR])
    evidence = get_object_or_404(Evidence, pk=evidence_pk, resolution=resolution)
    try:
        services.remove_evidence(evidence, by=request.user)
    except DomainError as error:
        _errors(request, error)
    else:
        messages.success(
            request, _("Removed: %(name)s") % {"name": evidence.original_name or evidence.download_name}
        )
    return redirect(reverse("problems:resolution", args=[resolution.pk]) + "#evidence")


@require_GET
def evidence_file(request, pk, evidence_pk):
    """One evidence image, streamed to a user who may see the resolution; each opening is logged."""
    resolution = get_resolution_for(request.user, pk)
    evidence = get_object_or_404(Evidence, pk=evidence_pk, resolution=resolution)
    record_event("problems.evidence.opened", actor=request.user, obj=resolution, evidence=evidence.pk)
    return serve_private_file(
        request,
        evidence.file,
        filename=evidence.download_name,
        content_type=evidence.content_type,
        inline=not request.GET.get("download"),
    )
