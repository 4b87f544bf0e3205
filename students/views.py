"""Student pages: the roster (花名册), the student page with its timeline, and the printable 学籍卡."""

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from registrar import approvals
from registrar.access import get_school_for
from registrar.approvals import get_approval_for
from registrar.audit import record_event
from registrar.choices import NodeKind, Role
from registrar.errors import DomainError
from registrar.models import ApprovalRequest
from registrar.uploads import clean_photo
from students import registration, services
from students.access import get_student_for
from students.filters import SORTS, RosterFilterForm, RosterPaginator, roster_queryset
from students.forms import GuardianFormSet, StudentEditForm, StudentForm, add_record_errors
from students.models import KEY_FIELDS, Status, Student
from students.timeline import student_timeline

ROSTER_PAGE_SIZE = 50
PRINT_LIMIT = 2000


def roster(request):
    form = RosterFilterForm(request.GET or None, user=request.user)
    students = form.filter(roster_queryset(request.user))
    per = (getattr(form, "cleaned_data", None) or {}).get("per") or ROSTER_PAGE_SIZE
    paginator = RosterPaginator(students, per, counts=form.counts(), by_school=form.school is None)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "students/roster.html",
        {
            "form": form,
            "page": page,
            "school": form.school,
            "query": query.urlencode(),
            "sorts": sort_links(form, query) if form.school is not None else {},
        },
    )


def sort_links(form, query):
    """For each sortable column: the query that sorts by it (again: the other way), and its state."""
    column, downwards = form.sorted_by
    links = {}
    for key in SORTS:
        linked = query.copy()
        current = key == column
        linked["sort"] = f"-{key}" if current and not downwards else key
        state = ("descending" if downwards else "ascending") if current else ""
        links[key] = {"query": linked.urlencode(), "state": state}
    return links


def roster_print(request):
    """The 花名册 for printing on A4: the current filter, at most PRINT_LIMIT rows, masked IDs."""
    form = RosterFilterForm(request.GET or None, user=request.user)
    students = list(form.filter(roster_queryset(request.user))[: PRINT_LIMIT + 1])
    truncated = len(students) > PRINT_LIMIT
    return render(
        request,
        "students/roster_print.html",
        {
            "form": form,
            "students": students[:PRINT_LIMIT],
            "truncated": truncated,
            "limit": PRINT_LIMIT,
            "school": form.school,
            "printed_at": timezone.now(),
        },
    )


def detail(request, pk):
    student = get_student_for(request.user, pk)
    can_edit = (
        request.user.has_role(Role.SCHOOL_REGISTRAR)
        and request.user.node_id == student.school_id
        and not student.is_locked
        and (student.status != "registering" or registration.can_revise(student))
    )
    # Views of a full record (with the whole ID number) are logged (domain §9).
    record_event("students.student.viewed", actor=request.user, obj=student)
    # The review's page is for those who take part in approvals (not class teachers).
    sees_registration = (
        student.registration_id is not None
        and ApprovalRequest.objects.visible_to(request.user).filter(pk=student.registration_id).exists()
    )
    return render(
        request,
        "students/detail.html",
        {
            "student": student,
            "guardians": student.guardians.all(),
            "timeline": student_timeline(student, request.user),
            "can_edit": can_edit,
            "sees_registration": sees_registration,
            "returned_alone": registration.returned_alone(student),
        },
    )


def card(request, pk):
    """学籍卡: one A4 page with every field, guardians and the status history."""
    student = get_student_for(request.user, pk)
    record_event("students.student.printed", actor=request.user, obj=student)
    events = student.status_events.select_related("school", "grade__school", "school_class", "approved_by")
    return render(
        request,
        "students/card.html",
        {
            "student": student,
            "guardians": student.guardians.all(),
            "events": events,
            "printed_at": timezone.now(),
        },
    )


def photo(request, pk):
    return serve_photo(request, get_student_for(request.user, pk))


def serve_photo(request, student):
    """The student's photo, for a user already allowed to see it; every view is logged."""
    from registrar.uploads import serve_private_file

    if not student.photo:
        raise Http404
    record_event("students.photo.viewed", actor=request.user, obj=student)
    return serve_private_file(
        request, student.photo, filename=f"{student.name}.jpg", content_type="image/jpeg"
    )


@require_http_methods(["GET", "POST"])
def create(request):
    """新生注册: one form with the family list; saving puts the registration in review."""
    school = request.user.node
    if school is None or not school.is_school:
        raise Http404
    school = get_school_for(request.user, school.code, roles=[Role.SCHOOL_REGISTRAR])
    form = StudentForm(request.POST or None, school=school)
    family = GuardianFormSet(request.POST or None, instance=Student(), prefix="guardians")
    if request.method == "POST" and form.is_valid() and family.is_valid():
        try:
            student = registration.enter_student(
                by=request.user, school=school, data=form.record_data(), guardians=family.guardian_data()
            )
        except DomainError as error:
            add_record_errors(error.errors or {"__all__": [error.message]}, form, family)
        else:
            messages.success(
                request, _("%(name)s is registered and waits for review.") % {"name": student.name}
            )
            return redirect(student)
    return render(
        request,
        "students/form.html",
        {"form": form, "family": family, "school": school, "title": _("New student")},
    )


@require_http_methods(["GET", "POST"])
def edit(request, pk):
    """Direct editing: non-key fields of a registered student, every field of a returned registration."""
    student = get_student_for(request.user, pk, roles=[Role.SCHOOL_REGISTRAR])
    if request.user.node_id != student.school_id:
        raise Http404
    context = {
        "student": student,
        "school": student.school,
        "title": _("Edit %(name)s") % {"name": student.name},
    }
    if student.is_locked:
        messages.error(request, _("This record is locked: the student has graduated or left."))
        return redirect(student)
    revising = student.status == "registering"
    if revising and not registration.can_revise(student):
        messages.error(
            request, _("This registration is with a reviewer: it can be corrected once it is returned.")
        )
        return redirect(student)
    if revising:
        initial = {field: getattr(student, field) for field in StudentForm._meta.fields}
        form = StudentForm(request.POST or None, school=student.school, initial=initial)
        form.fields["reason"] = forms.CharField(label=gettext_lazy("Reason"), max_length=200, required=False)
    else:
        form = StudentEditForm(request.POST or None, instance=student)
        context["key_fields"] = [
            (Student._meta.get_field(name).verbose_name, student, name) for name in KEY_FIELDS
        ]
    family = GuardianFormSet(request.POST or None, instance=student, prefix="guardians")
    if request.method == "POST" and form.is_valid() and family.is_valid():
        reason = form.cleaned_data.get("reason", "")
        try:
            if revising:
                changes = {
                    field: value
                    for field, value in form.record_data().items()
                    if getattr(student, field) != value
                }
                registration.revise(
                    student, by=request.user, changes=changes, guardians=family.guardian_data(), reason=reason
                )
            else:
                services.edit_student(
                    student,
                    by=request.user,
                    changes=form.changes(),
                    guardians=family.guardian_data(),
                    reason=reason,
                )
        except DomainError as error:
            add_record_errors(error.errors or {"__all__": [error.message]}, form, family)
        else:
            messages.success(request, _("%(name)s saved.") % {"name": student.name})
            return redirect(student)
    context.update(form=form, family=family, revising=revising)
    return render(request, "students/form.html", context)


def registration_request(request, pk):
    """The registration under review: its students and the decisions panel; the holder of the
    current step may return single students with a reason."""
    approval = get_approval_for(request.user, pk)
    if approval.kind != registration.KIND:
        raise Http404
    students = registration.students_of(approval).order_by("grade__level", "school_class__name", "name")
    record_event("students.registration.viewed", actor=request.user, obj=approval, node=approval.school)
    may_take_out = (
        approvals.APPROVE in approvals.available_actions(approval, request.user) and len(students) > 1
    )
    return render(
        request,
        "students/registration.html",
        {"approval": approval, "students": students, "may_take_out": may_take_out},
    )


@require_POST
def registration_take_out(request, pk, student_pk):
    """Return one student of the batch to the school with a reason; the rest goes on."""
    approval = get_approval_for(request.user, pk)
    if approval.kind != registration.KIND:
        raise Http404
    student = get_object_or_404(registration.students_of(approval), pk=student_pk)
    try:
        registration.take_out(approval, student, by=request.user, reason=request.POST.get("reason", ""))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(name)s was returned to the school; the rest of the registration goes on.")
            % {"name": student.name},
        )
    return redirect("students:registration", pk=approval.pk)


@require_POST
def submit_registration(request, pk):
    """Submit again a student who was returned alone from a registration review."""
    student = get_student_for(request.user, pk, roles=[Role.SCHOOL_REGISTRAR])
    if request.user.node_id != student.school_id:
        raise Http404
    try:
        registration.submit_for_review([student], by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("%(name)s was submitted for registration review.") % {"name": student.name}
        )
    return redirect(student)


class PhotoForm(forms.Form):
    photo = forms.FileField(
        label=gettext_lazy("Photo"), help_text=gettext_lazy("JPG or PNG, a recent portrait")
    )


@require_http_methods(["GET", "POST"])
def photo_upload(request, pk):
    student = get_student_for(request.user, pk, roles=[Role.SCHOOL_REGISTRAR])
    if request.user.node_id != student.school_id:
        raise Http404
    form = PhotoForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_photo(student, by=request.user, clean_file=clean_photo(form.cleaned_data["photo"]))
        except DomainError as error:
            form.add_error("photo", error.message)
        else:
            messages.success(request, _("Photo saved."))
            return redirect(student)
    return render(
        request,
        "students/photo_form.html",
        {"form": form, "student": student, "title": _("Photo of %(name)s") % {"name": student.name}},
    )


def summary_items(user):
    """The dashboard's students by status, for a school (a class teacher: their classes) or a
    county; a city or province reads them in the statistics, where a million rows are counted once
    for all the figures instead of on every visit to the dashboard."""
    node = user.node
    if node is None or node.kind not in (NodeKind.SCHOOL, NodeKind.COUNTY):
        return []
    counts = dict(
        Student.objects.visible_to(user).values_list("status").annotate(count=Count("pk")).order_by()
    )
    roster = reverse("students:roster")
    return [
        (status.label, counts[status.value], f"{roster}?status={status.value}")
        for status in Status
        if counts.get(status.value)
    ]
