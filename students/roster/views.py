"""Roster pages: the template, upload → preview → confirm → progress → result, and the export
(at once, or for a large one a background job → progress → download).

Only the school's 学籍管理员 imports (a county-wide import is the administrator's command line);
the school's 学籍管理员 and the bureaus whose node covers the school may look at its import batches
(not class teachers nor principals: the files hold full ID numbers). Files are streamed after the
access check, never served by URL; a download of an error workbook is logged.
"""

import io

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registrar.access import get_school_for, require_role
from registrar.audit import record_event
from registrar.choices import Role
from students.errors import StudentError
from students.models import ImportBatch, RosterExport
from students.roster import batches as roster_batches
from students.roster import export_jobs, exporter
from students.roster.forms import RosterUploadForm
from students.roster.template import write_template

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# Import batches and their error workbooks hold the file's full ID numbers, guardians' IDs and phones:
# they are for the school's registrar and the bureaus above, not for class teachers or principals.
BATCH_ROLES = (Role.SCHOOL_REGISTRAR, Role.COUNTY_REVIEWER, Role.CITY_REVIEWER, Role.PROVINCE_ADMIN)
ERRORS_DOWNLOADED = "students.roster.error_workbook_downloaded"


def get_batch_for(user, pk, *, roles=BATCH_ROLES):
    batch = get_object_or_404(
        ImportBatch.objects.visible_to(user).select_related("node", "created_by"), pk=pk
    )
    require_role(user, roles)
    return batch


def _xlsx(handle, filename):
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX)
    response["Cache-Control"] = "private, no-store"
    return response


def template(request):
    buffer = io.BytesIO()
    write_template(buffer)
    buffer.seek(0)
    return _xlsx(buffer, "学生花名册模板.xlsx")


@require_http_methods(["GET", "POST"])
def export(request):
    """The roster page's current filter as xlsx (the same GET parameters).

    A filter that cannot be applied (a school outside the user's node, a class of another school …)
    is refused with its reason, back on the roster page, rather than dropped: leaving it out would
    export more than was asked for (a whole county instead of one school). An export of more than
    EXPORT_BACKGROUND_ROWS students is offered as a background job (GET: what it holds; POST: the
    job is queued and its page follows it).
    """
    problems = exporter.filter_problems(request.user, request.GET)
    if problems:
        for problem in problems:
            messages.error(request, _("The roster was not exported: %(problem)s") % {"problem": problem})
        return redirect(f"{reverse('students:roster')}?{request.GET.urlencode()}")
    if request.method == "POST":
        return redirect(export_jobs.start_export(request.user, request.GET))
    count = exporter.export_queryset(request.user, request.GET).count()
    if count > export_jobs.background_rows():
        return render(
            request,
            "students/roster/export_start.html",
            {
                "count": count,
                "description": exporter.describe_filter(request.user, request.GET),
                "query": request.GET.urlencode(),
            },
        )
    return exporter.export_response(request.user, request.GET)


def export_job(request, pk):
    job = export_jobs.expire_if_due(export_jobs.get_export_for(request.user, pk))
    return render(
        request,
        "students/roster/export_job.html",
        {
            "job": job,
            "in_progress": not job.is_finished,
            "kept_hours": settings.REGISTRAR["EXPORT_KEEP_HOURS"],
        },
    )


def export_progress(request, pk):
    job = export_jobs.get_export_for(request.user, pk)
    return JsonResponse(
        {
            "state": job.state,
            "state_display": job.get_state_display(),
            "done": job.rows_done,
            "total": job.total_rows,
            "finished": job.is_finished,
        }
    )


def export_download(request, pk):
    job = export_jobs.expire_if_due(export_jobs.get_export_for(request.user, pk))
    if job.state != RosterExport.State.DONE or not job.file:
        raise Http404
    try:
        handle = job.file.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    export_jobs.download_logged(job, request.user)
    return _xlsx(handle, job.filename)


def batches(request):
    require_role(request.user, BATCH_ROLES)
    node = request.user.node
    can_upload = node is not None and node.is_school and request.user.has_role(Role.SCHOOL_REGISTRAR)
    listed = ImportBatch.objects.visible_to(request.user).select_related("node", "created_by")[:100]
    return render(
        request,
        "students/roster/batches.html",
        {"batches": listed, "upload_school": node if can_upload else None},
    )


@require_http_methods(["GET", "POST"])
def upload(request, code):
    school = get_school_for(request.user, code, roles=[Role.SCHOOL_REGISTRAR])
    form = RosterUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = roster_batches.upload_roster(
                school, by=request.user, uploaded_file=form.cleaned_data["file"]
            )
        except StudentError as error:
            form.add_error(None, error.message)
        else:
            return redirect(batch)
    return render(request, "students/roster/upload.html", {"form": form, "school": school, "node": school})


def batch(request, pk):
    batch = get_batch_for(request.user, pk)
    can_confirm = (
        batch.state == ImportBatch.State.READY
        and request.user.has_role(Role.SCHOOL_REGISTRAR)
        and request.user.node_id == batch.node_id
    )
    errors = batch.errors
    return render(
        request,
        "students/roster/batch.html",
        {
            "batch": batch,
            "node": batch.node,
            "can_confirm": can_confirm,
            "errors": errors,
            "errors_hidden": batch.summary.get("errors_total", len(errors)) - len(errors),
            "sample": batch.summary.get("sample", []),
            "warnings": batch.summary.get("warnings", []),
            "in_progress": in_progress(batch),
        },
    )


@require_POST
def confirm(request, pk):
    batch = get_batch_for(request.user, pk, roles=[Role.SCHOOL_REGISTRAR])
    try:
        roster_batches.confirm_batch(batch, by=request.user)
    except StudentError as error:
        messages.error(request, error.message)
    return redirect(batch)


def in_progress(batch):
    """Whether a job is at work on the batch: its page then shows the progress and polls."""
    return not batch.is_finished and batch.state != ImportBatch.State.READY


def progress(request, pk):
    batch = get_batch_for(request.user, pk)
    return JsonResponse(
        {
            "state": batch.state,
            "state_display": batch.get_state_display(),
            "done": batch.rows_done,
            "total": batch.total_rows,
            # The polling page reloads when this turns true: a checked file waiting to be confirmed
            # ends the check's progress as much as a finished import does.
            "finished": not in_progress(batch),
        }
    )


def errors(request, pk):
    batch = get_batch_for(request.user, pk)
    if not batch.error_file:
        raise Http404
    try:
        handle = batch.error_file.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    # Full ID numbers leave the system: who, when, which file and how many rows.
    record_event(
        ERRORS_DOWNLOADED,
        actor=request.user,
        obj=batch,
        rows=batch.summary.get("error_file_rows", batch.invalid_count),
    )
    stem = (batch.original_name.rsplit(".", 1)[0] or "roster")[:100]
    return _xlsx(handle, _("%(name)s-errors.xlsx") % {"name": stem})
