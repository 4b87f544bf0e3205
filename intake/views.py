"""Pages of intake (升学): the overview, the lookup of one graduate, the admission list, and an
intake with its review. Thin: fetch through the scoping helpers, check the form, call the service,
say what happened."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from intake import admission, services
from intake.forms import AdmissionListForm, FindGraduateForm, PlacementForm
from intake.models import Intake, Source
from registrar.access import require_role
from registrar.audit import record_event
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.navigation import NavItem

# Who works with intake: the receiving school's office and the bureaus that review it.
ROLES = (Role.SCHOOL_REGISTRAR, Role.PRINCIPAL, Role.COUNTY_REVIEWER, Role.CITY_REVIEWER, Role.PROVINCE_ADMIN)
SHOWN_PROBLEMS = 50


def nav_items(user):
    if user.node_id is None or not user.has_role(*ROLES):
        return []
    return [NavItem(gettext_lazy("Intake"), reverse("intake:home"))]


@require_GET
def home(request):
    """The intakes the user's node covers; a school's registrar also finds graduates and imports lists."""
    require_role(request.user, ROLES)
    intakes = (
        Intake.objects.visible_to(request.user)
        .select_related("school", "approval")
        .order_by("-created_at", "-pk")[:100]
    )
    node = request.user.node
    can_take = node is not None and node.is_school and request.user.has_role(Role.SCHOOL_REGISTRAR)
    return render(request, "intake/home.html", {"intakes": intakes, "can_take": can_take})


@require_http_methods(["GET", "POST"])
def find(request):
    """Find a graduate by 学籍号 + 姓名 + ID number, then choose the class that waits for them."""
    school = services.registrar_school(request.user)
    found, grade, form = None, None, None
    # Only ever posted: ID numbers stay out of URLs and server logs.
    finder = FindGraduateForm(request.POST or None)
    if finder.is_valid():
        try:
            found = services.find_graduate(**finder.lookup(), by=request.user, school=school)
            grade = services.entry_grade(school, found.grade.segment)
        except DomainError as error:
            finder.add_error(None, error.message)
            found = None
    if found is not None:
        bound = "school_class" in request.POST
        form = PlacementForm(request.POST if bound else None, initial=finder.lookup(), grade=grade)
        if bound and form.is_valid():
            try:
                intake = services.admit(
                    [(found, form.cleaned_data["school_class"])], by=request.user, school=school
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request, _("%(name)s's intake was submitted for review.") % {"name": found.name}
                )
                return redirect(intake)
    return render(
        request,
        "intake/find.html",
        {"finder": finder, "found": found, "grade": grade, "form": form, "school": school},
    )


@require_http_methods(["GET", "POST"])
def admission_list(request):
    """Upload the admission list: checked whole; every matched graduate taken in at once, or nothing."""
    school = services.registrar_school(request.user)
    form = AdmissionListForm(request.POST or None, request.FILES or None)
    plan = None
    if request.method == "POST" and form.is_valid():
        try:
            plan, intake = admission.import_admission_list(
                form.cleaned_data["file"], school=school, by=request.user
            )
        except admission.AdmissionListInvalid as error:
            plan = error.plan
            form.add_error(None, error.message)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, admission.summary(plan))
            if intake is not None:
                return redirect(intake)
            return redirect("intake:home")
    problems = plan.problem_messages()[:SHOWN_PROBLEMS] if plan is not None else []
    return render(
        request, "intake/admission_list.html", {"form": form, "school": school, "problems": problems}
    )


@require_GET
def detail(request, pk):
    """An intake: its students, where they come from and go, and the review panel."""
    intake = get_object_or_404(
        Intake.objects.visible_to(request.user).select_related("school", "approval__current_step__node"),
        pk=pk,
    )
    require_role(request.user, ROLES)
    entries = list(services.entries_of(intake))
    record_event("intake.viewed", actor=request.user, obj=intake, node=intake.school)
    return render(
        request,
        "intake/detail.html",
        {"intake": intake, "approval": intake.approval, "entries": entries, "sources": Source},
    )
