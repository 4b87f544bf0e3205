"""Pages of the reports: each shows its tables and charts, prints on A4 and, with
`?download=xlsx`, comes as an Excel workbook (logged). Access is checked by reports.access first."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from registrar.models import Organisation
from reports import changes as change_reports
from reports import excel
from reports.access import get_board_node, get_report_grade, get_report_node, may_see_board, may_see_reports
from reports.forms import ChangeListForm, PeriodForm
from reports.queues import queue_board
from reports.students import report_url, student_report
from reports.units import schools_under

CHANGE_LIST_PAGE_SIZE = 50
DOWNLOAD = "xlsx"


def _wants_download(request):
    return request.GET.get("download") == DOWNLOAD


def _breadcrumbs(user, node, url_of):
    """The node's ancestors the user may see, each linked to the same report of that node."""
    codes = node.path.rstrip("/").split("/")[:-1]
    visible = Organisation.objects.visible_to(user).filter(code__in=codes).order_by("path")
    return [(ancestor.name, url_of(ancestor)) for ancestor in visible]


def _context(request, node, active, **extra):
    return {
        "node": node,
        "active": active,
        "may_see_board": may_see_board(request.user),
        "made_at": timezone.localtime(),
        **extra,
    }


@require_GET
def index(request):
    if not may_see_reports(request.user):
        raise PermissionDenied
    return redirect("reports:students", code=request.user.node.code)


def _as_of():
    return _("As of %(moment)s") % {"moment": date_format(timezone.localtime(), "Y-m-d H:i")}


@require_GET
def students(request, code):
    node = get_report_node(request.user, code)
    return _students_page(request, node, None)


@require_GET
def students_grade(request, code, level):
    grade = get_report_grade(request.user, code, level)
    return _students_page(request, grade.school, grade)


def _students_page(request, node, grade):
    report = student_report(request.user, node, grade=grade)
    title = _("Student statistics")
    if _wants_download(request):
        subject = node if grade is None else grade.school
        return excel.report_response(
            user=request.user,
            node=subject,
            title=f"{title} {grade.name}" if grade else title,
            period_text=_as_of(),
            tables=[report.status, report.in_school, report.chart.table],
            filename=title,
        )
    breadcrumbs = _breadcrumbs(request.user, node, report_url)
    if grade is not None:
        breadcrumbs.append((node.name, report_url(node)))
    return render(
        request,
        "reports/students.html",
        _context(request, node, "students", report=report, grade=grade, breadcrumbs=breadcrumbs, title=title),
    )


@require_GET
def changes(request, code):
    node = get_report_node(request.user, code)
    form = PeriodForm(request.GET or None, node=node)
    period = form.period
    report = change_reports.change_report(node, period) if period else None
    title = _("Status change report")
    if report is not None and _wants_download(request):
        return excel.report_response(
            user=request.user,
            node=node,
            title=title,
            period_text=str(period),
            tables=[report.changes, report.outcomes, report.chart.table],
            filename=title,
        )
    return render(
        request,
        "reports/changes.html",
        _context(
            request,
            node,
            "changes",
            form=form,
            report=report,
            period=period,
            title=title,
            breadcrumbs=_breadcrumbs(
                request.user, node, lambda ancestor: change_reports.report_url(ancestor, period)
            )
            if period
            else [],
            list_url=change_reports.list_url(node, period) if period else "",
        ),
    )


@require_GET
def change_list(request, code):
    user = request.user
    node = get_report_node(user, code)
    schools = schools_under(node) & Organisation.objects.visible_to(user)
    form = ChangeListForm(request.GET or None, node=node, schools=schools)
    period = form.period
    title = _("Status change roster")
    context = _context(request, node, "change_list", form=form, period=period, title=title, breadcrumbs=[])
    if period is None:
        return render(request, "reports/change_list.html", context)
    changes = change_reports.change_list(node, period, **form.filters())
    if _wants_download(request):
        return excel.report_response(
            user=user,
            node=node,
            title=title,
            period_text=_describe_filters(period, form),
            tables=[change_reports.change_table(changes, title=title)],
            filename=title,
        )
    page = Paginator(changes, CHANGE_LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context.update(
        page=page,
        table=change_reports.change_table(list(page.object_list), title=title),
        query=query.urlencode(),
        description=_describe_filters(period, form),
        breadcrumbs=_breadcrumbs(user, node, lambda ancestor: change_reports.list_url(ancestor, period)),
    )
    return render(request, "reports/change_list.html", context)


def _describe_filters(period, form):
    parts = [str(period)]
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data.get("school"):
            parts.append(data["school"].name)
        if data.get("grade"):
            parts.append(dict(form.fields["grade"].choices)[data["grade"]])
        if data.get("kind"):
            parts.append(dict(form.fields["kind"].choices)[data["kind"]])
    return "；".join(str(part) for part in parts)


@require_GET
def queues(request, code):
    node = get_board_node(request.user, code)
    board = queue_board(node)
    title = _("Queue board")
    since = _("Decisions since %(date)s (90 days); requests in progress on %(today)s") % {
        "date": board.since.isoformat(),
        "today": board.today.isoformat(),
    }
    if _wants_download(request):
        return excel.report_response(
            user=request.user,
            node=node,
            title=title,
            period_text=since,
            tables=[board.schools, board.offices, board.reviewers],
            filename=title,
        )
    return render(
        request,
        "reports/queues.html",
        _context(
            request,
            node,
            "queues",
            board=board,
            title=title,
            since=since,
            breadcrumbs=_breadcrumbs(request.user, node, lambda n: reverse("reports:queues", args=[n.code])),
        ),
    )
