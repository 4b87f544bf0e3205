"""Student pages: the roster (花名册), the student page with its timeline, and the printable 学籍卡."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from registrar.audit import record_event
from students.access import get_student_for
from students.filters import RosterFilterForm, roster_queryset
from students.timeline import student_timeline

ROSTER_PAGE_SIZE = 50
PRINT_LIMIT = 2000


def roster(request):
    form = RosterFilterForm(request.GET or None, user=request.user)
    students = form.filter(roster_queryset(request.user))
    page = Paginator(students, ROSTER_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "students/roster.html",
        {"form": form, "page": page, "school": form.school, "query": query.urlencode()},
    )


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
    # Views of a full record (with the whole ID number) are logged (domain §9).
    record_event("students.student.viewed", actor=request.user, obj=student)
    return render(
        request,
        "students/detail.html",
        {
            "student": student,
            "guardians": student.guardians.all(),
            "timeline": student_timeline(student, request.user),
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
    from registrar.uploads import serve_private_file

    student = get_student_for(request.user, pk)
    if not student.photo:
        raise Http404
    return serve_private_file(
        request, student.photo, filename=f"{student.name}.jpg", content_type="image/jpeg"
    )
