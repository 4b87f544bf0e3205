"""Pages of the shared core: dashboard, organisation tree, classes, history."""

from collections import defaultdict

from django.contrib import messages
from django.db.models import Count, Prefetch
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from registrar import services
from registrar.access import get_class_for, get_node_for, get_school_for
from registrar.audit import object_timeline
from registrar.choices import NodeKind, Role
from registrar.dashboard import (
    my_requests_in_review,
    next_in_queue,
    overview,
    schools_without_classes,
    summaries,
    waiting_items,
)
from registrar.forms import ClassEditForm, ClassForm
from registrar.models import Grade, Organisation, SchoolClass, User


def dashboard(request):
    return render(
        request,
        "registrar/dashboard.html",
        {
            "waiting": waiting_items(request.user),
            "overview": overview(request.user),
            "next_in_queue": next_in_queue(request.user),
            "in_review": my_requests_in_review(request.user),
            "summaries": summaries(request.user),
        },
    )


def _node_context(user, node, **extra):
    """The node and the path down to it, as far as the user may see."""
    visible = set(
        Organisation.objects.visible_to(user)
        .filter(code__in=node.path.split("/"))
        .values_list("code", flat=True)
    )
    breadcrumbs = [ancestor for ancestor in node.ancestors() if ancestor.code in visible]
    return {"node": node, "breadcrumbs": breadcrumbs, **extra}


def node_detail(request, code):
    node = get_node_for(request.user, code)
    context = _node_context(request.user, node)
    if node.is_school:
        context.update(_school_context(request.user, node))
        return render(request, "registrar/school_detail.html", context)
    context.update(_region_context(request.user, node, only_empty=request.GET.get("empty") == "1"))
    return render(request, "registrar/region_detail.html", context)


def _school_context(user, school):
    teachers = Prefetch("class_teachers", queryset=User.objects.order_by("full_name", "username"))
    classes = Prefetch("classes", queryset=SchoolClass.objects.order_by("name").prefetch_related(teachers))
    grades = Grade.objects.filter(school=school).select_related("school").prefetch_related(classes)
    can_manage = user.has_role(Role.SCHOOL_REGISTRAR) and user.node_id == school.pk
    return {
        "grades": grades,
        "can_manage": can_manage,
        "missing_levels": services.missing_grade_levels(school) if can_manage else [],
    }


def _region_context(user, node, *, only_empty):
    if only_empty:
        schools = schools_without_classes(user).filter(path__startswith=node.path).select_related("parent")
        return {"empty_schools": schools, "only_empty": True}
    children = list(node.children.order_by("code"))
    schools = Organisation.objects.filter(path__startswith=node.path, kind=NodeKind.SCHOOL).annotate(
        class_count=Count("grades__classes")
    )
    counts = defaultdict(lambda: {"schools": 0, "classes": 0})
    for school in schools.values("path", "class_count"):
        for child in children:
            if school["path"].startswith(child.path):
                counts[child.pk]["schools"] += 1
                counts[child.pk]["classes"] += school["class_count"]
    rows = [{"node": child, **counts[child.pk]} for child in children]
    return {"rows": rows, "only_empty": False}


def node_history(request, code):
    node = get_node_for(request.user, code)
    return render(
        request,
        "registrar/history.html",
        _node_context(
            request.user,
            node,
            object=node,
            timeline=object_timeline(node, request.user, hidden_fields=("path",)),
        ),
    )


@require_http_methods(["GET", "POST"])
def sync_grades(request, code):
    school = get_school_for(request.user, code, roles=[Role.SCHOOL_REGISTRAR])
    levels = services.missing_grade_levels(school)
    if request.method == "POST":
        try:
            created = services.sync_grades(school, by=request.user)
        except services.RegistrarError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("%(count)d grades set up.") % {"count": len(created)})
        return redirect("registrar:node", code=school.code)
    names = [Grade(school=school, level=level).name for level in levels]
    return render(
        request,
        "registrar/confirm.html",
        _node_context(
            request.user,
            school,
            title=_("Set up grades"),
            question=_("Set up these grades of %(school)s from its school system %(system)s?")
            % {"school": school.name, "system": school.school_system or "—"},
            items=names,
            empty_message=_("Every grade of this school already exists."),
            confirm_label=_("Set up grades"),
            cancel_url=school.get_absolute_url(),
        ),
    )


@require_http_methods(["GET", "POST"])
def class_create(request, code):
    school = get_school_for(request.user, code, roles=[Role.SCHOOL_REGISTRAR])
    form = ClassForm(request.POST or None, school=school)
    if request.method == "POST" and form.is_valid():
        try:
            school_class = services.create_class(
                form.cleaned_data["grade"],
                by=request.user,
                name=form.cleaned_data["name"],
                capacity=form.cleaned_data["capacity"],
            )
        except services.RegistrarError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Class %(name)s created.") % {"name": school_class})
            return redirect("registrar:node", code=school.code)
    return render(
        request,
        "registrar/class_form.html",
        _node_context(request.user, school, form=form, title=_("New class")),
    )


@require_http_methods(["GET", "POST"])
def class_edit(request, pk):
    school_class = get_class_for(request.user, pk, roles=[Role.SCHOOL_REGISTRAR])
    school = school_class.school
    initial = {"name": school_class.name, "capacity": school_class.capacity}
    form = ClassEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_class(school_class, by=request.user, **form.cleaned_data)
        except services.RegistrarError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Class %(name)s saved.") % {"name": school_class})
            return redirect("registrar:node", code=school.code)
    return render(
        request,
        "registrar/class_form.html",
        _node_context(
            request.user, school, form=form, title=_("Edit class %(name)s") % {"name": school_class}
        ),
    )


def class_history(request, pk):
    school_class = get_class_for(request.user, pk)
    return render(
        request,
        "registrar/history.html",
        _node_context(
            request.user,
            school_class.school,
            object=school_class,
            timeline=object_timeline(school_class, request.user),
        ),
    )
