"""Pages of the school year's turn: the schools to promote, a school's preview and its run (a background
job with a progress page, undone by the same authority before term starts), the class mapping upload,
next year's classes and the 班主任 of each class. Thin: fetch through the scoped helpers, check the
form, call the service, say what happened."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registrar.access import get_school_for, require_role
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.models import Organisation, SchoolClass
from registrar.navigation import NavItem
from schoolyear import classes as year_classes
from schoolyear import mapping as class_mapping
from schoolyear.authority import authority_for, may_promote_in
from schoolyear.forms import MappingUploadForm, NextClassFormSet, TeachersForm
from schoolyear.models import ClassMapping, PromotionRun
from schoolyear.promotion import PROMOTION_STEPS, build_plan, start_promotion, undo_deadline, undo_promotion
from schoolyear.tasks import queue_run

# Who sees the promotion pages: the school's office and the bureaus above it (not class teachers).
VIEWERS = (
    Role.SCHOOL_REGISTRAR,
    Role.PRINCIPAL,
    Role.COUNTY_REVIEWER,
    Role.CITY_REVIEWER,
    Role.PROVINCE_ADMIN,
)
RUNNERS = (Role.PROVINCE_ADMIN, Role.COUNTY_REVIEWER)
PAGE_SIZE = 50


def nav_items(user):
    if user.node_id is None or not user.has_role(*VIEWERS):
        return []
    return [NavItem(gettext_lazy("School year"), reverse("schoolyear:home"))]


def _own_registrar(user, code):
    """The school of `code`, for its own registrar only (others in scope: 403)."""
    school = get_school_for(user, code, roles=(Role.SCHOOL_REGISTRAR,))
    if user.node_id != school.pk:
        raise PermissionDenied
    return school


def _get_run_for(user, pk):
    run = get_object_or_404(
        PromotionRun.objects.visible_to(user).select_related(
            "school", "authority", "created_by", "undone_by"
        ),
        pk=pk,
    )
    require_role(user, VIEWERS)
    return run


@require_GET
def home(request):
    require_role(request.user, VIEWERS)
    latest = PromotionRun.objects.filter(school=OuterRef("pk")).order_by("-created_at", "-id")
    schools = (
        Organisation.objects.visible_to(request.user)
        .schools()
        .annotate(run_state=Subquery(latest.values("state")[:1]), run_pk=Subquery(latest.values("pk")[:1]))
        .order_by("path")
    )
    page = Paginator(schools, PAGE_SIZE).get_page(request.GET.get("page"))
    states = dict(PromotionRun.State.choices)
    for school in page:
        school.run_label = states.get(school.run_state, "")
    node = request.user.node
    return render(
        request,
        "schoolyear/home.html",
        {
            "page": page,
            "node": node,
            "may_promote": may_promote_in(request.user, node),
            "is_registrar": node.is_school and request.user.has_role(Role.SCHOOL_REGISTRAR),
        },
    )


@require_GET
def preview(request, code):
    school = get_school_for(request.user, code, roles=VIEWERS)
    plan = build_plan(school)
    runs = PromotionRun.objects.filter(school=school).select_related("created_by")[:10]
    mappings = ClassMapping.objects.filter(school=school).select_related(
        "from_class__grade", "to_class__grade"
    )
    for mapping in mappings:
        mapping.from_class.grade.school = school
        mapping.to_class.grade.school = school
    return render(
        request,
        "schoolyear/preview.html",
        {
            "school": school,
            "plan": plan,
            "runs": runs,
            "mappings": mappings,
            "may_run": authority_for(request.user, school) is not None,
            "is_own_registrar": request.user.has_role(Role.SCHOOL_REGISTRAR)
            and request.user.node_id == school.pk,
        },
    )


@require_POST
def run_start(request, code):
    school = get_school_for(request.user, code, roles=RUNNERS)
    if authority_for(request.user, school) is None:
        raise PermissionDenied
    try:
        run = start_promotion(school, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("schoolyear:preview", code=school.code)
    queue_run(run)
    messages.success(request, _("The promotion of %(school)s has started.") % {"school": school.name})
    return redirect(run)


@require_GET
def run_detail(request, pk):
    run = _get_run_for(request.user, pk)
    may_undo = (
        run.state == PromotionRun.State.DONE
        and authority_for(request.user, run.school) is not None
        and request.user.node_id == run.authority_id
    )
    return render(
        request,
        "schoolyear/run.html",
        {
            "run": run,
            "steps": PROMOTION_STEPS,
            "in_progress": not run.is_finished,
            "may_undo": may_undo,
            "undo_until": undo_deadline(run) if run.state == PromotionRun.State.DONE else None,
        },
    )


@require_http_methods(["GET", "POST"])
def run_undo(request, pk):
    run = _get_run_for(request.user, pk)
    if authority_for(request.user, run.school) is None:
        raise PermissionDenied
    if request.method == "POST":
        try:
            undo_promotion(run, by=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The promotion was undone: every student is back where they were."))
        return redirect(run)
    return render(
        request,
        "registrar/confirm.html",
        {
            "title": _("Undo the promotion"),
            "question": _(
                "Every student of this promotion goes back to the grade, class and number they had:"
            ),
            "items": [
                str(run),
                _("%(count)d students") % {"count": run.promoted_count},
            ],
            "confirm_label": _("Undo the promotion"),
            "cancel_url": run.get_absolute_url(),
            "empty_message": "",
        },
    )


@require_http_methods(["GET", "POST"])
def mapping(request, code):
    school = _own_registrar(request.user, code)
    form = MappingUploadForm()
    errors = []
    if request.method == "POST":
        if request.POST.get("clear"):
            removed = class_mapping.clear_mapping(school, by=request.user)
            messages.success(
                request, _("The class mapping was removed (%(count)d rows).") % {"count": removed}
            )
            return redirect("schoolyear:mapping", code=school.code)
        form = MappingUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                check = class_mapping.save_mapping(
                    school, by=request.user, source=upload, original_name=upload.name
                )
            except DomainError as error:
                messages.error(request, error.message)
                errors = error.errors.get("rows", [])
            else:
                messages.success(
                    request, _("The class mapping was saved (%(count)d rows).") % {"count": len(check.pairs)}
                )
                return redirect("schoolyear:mapping", code=school.code)
    mappings = ClassMapping.objects.filter(school=school).select_related(
        "from_class__grade", "to_class__grade"
    )
    for row in mappings:
        row.from_class.grade.school = school
        row.to_class.grade.school = school
    return render(
        request,
        "schoolyear/mapping.html",
        {"school": school, "form": form, "errors": errors, "mappings": mappings},
    )


@require_http_methods(["GET", "POST"])
def next_classes(request, code):
    school = _own_registrar(request.user, code)
    proposal = year_classes.propose_classes(school)
    grades = {grade.level: grade for grade in school.grades.all()}
    initial = [
        {"grade": row.grade.level, "keep": row.is_new, "name": row.name, "capacity": row.capacity}
        for row in proposal
    ]
    formset = NextClassFormSet(request.POST or None, initial=initial)
    if request.method == "POST" and formset.is_valid():
        rows = [
            (
                grades[form.cleaned_data["grade"]],
                form.cleaned_data["name"].strip(),
                form.cleaned_data["capacity"],
            )
            for form in formset
            if form.cleaned_data.get("keep") and form.cleaned_data.get("grade") in grades
        ]
        try:
            created, updated = year_classes.create_next_year_classes(school, by=request.user, rows=rows)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Next year's classes: %(created)d created, %(updated)d with a new capacity.")
                % {"created": len(created), "updated": len(updated)},
            )
            return redirect("schoolyear:classes", code=school.code)
    rows = list(zip(proposal, formset.forms, strict=False)) if len(formset.forms) == len(proposal) else []
    for grade in grades.values():
        grade.school = school
    return render(request, "schoolyear/classes.html", {"school": school, "formset": formset, "rows": rows})


@require_http_methods(["GET", "POST"])
def teachers(request, code):
    school = _own_registrar(request.user, code)
    classes = list(
        SchoolClass.objects.filter(grade__school=school)
        .select_related("grade")
        .prefetch_related("class_teachers")
        .order_by("grade__level", "name")
    )
    for school_class in classes:
        school_class.grade.school = school
    staff = year_classes.class_teachers_of(school)
    form = TeachersForm(request.POST or None, classes=classes, teachers=staff)
    if request.method == "POST" and form.is_valid():
        try:
            changed = year_classes.assign_class_teachers(
                school, by=request.user, assignments=form.assignments(staff)
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, _("Class teachers saved: %(count)d classes changed.") % {"count": len(changed)}
            )
            return redirect("schoolyear:teachers", code=school.code)
    return render(
        request,
        "schoolyear/teachers.html",
        {"school": school, "form": form, "teachers": staff, "now": timezone.now()},
    )
