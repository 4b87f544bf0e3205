"""Large roster exports in the background: asked in the browser, written by a django-tasks job
(`manage.py db_worker`), followed on a progress page, downloaded when done.

A job is its creator's: it exports what they may see (students.roster.exporter.export_queryset,
masked as for them), and only they, while still at the node they asked from, follow it and
download the file. The file is kept privately (MEDIA_ROOT, a random name, streamed after the
access check) and removed EXPORT_KEEP_HOURS after it was written: at the next export anyone asks
for, and at once when its page or download is asked for later.
"""

import logging
import tempfile
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_tasks import task

from registrar.audit import record_event
from students.models import RosterExport
from students.roster import exporter

logger = logging.getLogger(__name__)

DOWNLOADED_ACTION = "students.roster.export_downloaded"
UNEXPECTED_FAILURE = gettext_lazy(
    "The file could not be written because of an unexpected problem. Please try again later; "
    "if it happens again, tell the administrator."
)
MOVED = gettext_lazy("The file was not written: your organisation changed since you asked for it.")


def background_rows():
    """Exports of more students than this go to a background job."""
    return settings.REGISTRAR["EXPORT_BACKGROUND_ROWS"]


def kept_for():
    return timedelta(hours=settings.REGISTRAR["EXPORT_KEEP_HOURS"])


def get_export_for(user, pk):
    """The export `pk` if `user` asked for it from the node they are still at; 404 for anyone else
    (an outsider, or a colleague: the file holds what its creator may see)."""
    return get_object_or_404(
        RosterExport.objects.select_related("node"), pk=pk, created_by=user, node=user.node
    )


def start_export(user, params):
    """Queue the export of the roster page's filter (`params`, its GET parameters) for `user`."""
    remove_expired()
    params = {key: params.get(key) for key in params}
    job = RosterExport.objects.create(
        created_by=user,
        node=user.node,
        params=params,
        description=str(exporter.describe_filter(user, params))[:500],
        masked=not exporter.needs_full_ids(user),
        filename=exporter.export_name(user, params),
        total_rows=exporter.export_queryset(user, params).count(),
    )
    try:
        result = write_export.enqueue(job.pk)
    except Exception:
        logger.exception("Roster export %s could not be queued", job.pk)
        fail(job, UNEXPECTED_FAILURE)
        return job
    RosterExport.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])
    return job


def run_export(export_id):
    """The job's body: write the file, keep it, log the export. Whatever goes wrong, the job ends
    failed with a message its page shows (the details in the log)."""
    job = RosterExport.objects.select_related("created_by", "node").get(pk=export_id)
    if job.state != RosterExport.State.QUEUED:
        return job.state
    RosterExport.objects.filter(pk=job.pk).update(state=RosterExport.State.RUNNING, rows_done=0)
    user = job.created_by
    if user.node_id != job.node_id or not user.is_active:
        fail(job, MOVED)
        return RosterExport.State.FAILED

    def progress(done):
        RosterExport.objects.filter(pk=job.pk).update(rows_done=done)

    try:
        # The user's scope and masking as they are now, never wider than when they asked.
        masked = job.masked or not exporter.needs_full_ids(user)
        students = exporter.export_queryset(user, job.params)
        with tempfile.TemporaryFile() as handle:
            count = exporter.write_roster(students, handle, masked=masked, progress=progress)
            handle.seek(0)
            job.file.save(job.filename, File(handle), save=False)
        job.state = RosterExport.State.DONE
        job.rows_done = job.total_rows = count
        job.masked = masked
        job.finished_at = timezone.now()
        job.save(update_fields=["file", "state", "rows_done", "total_rows", "masked", "finished_at"])
        record_event(
            exporter.EXPORT_ACTION,
            actor=user,
            obj=job,
            node=job.node,
            filter=job.description,
            params=job.params,
            rows=count,
            masked=masked,
        )
    except Exception:
        logger.exception("Roster export %s failed", job.pk)
        if job.file:
            job.file.delete(save=False)
        fail(job, UNEXPECTED_FAILURE)
    return RosterExport.objects.values_list("state", flat=True).get(pk=job.pk)


def fail(job, message):
    RosterExport.objects.filter(pk=job.pk).update(
        state=RosterExport.State.FAILED, message=str(message), finished_at=timezone.now(), file=""
    )


def is_due(job, now=None):
    """Whether the job's file has been kept long enough."""
    return job.finished_at is not None and job.finished_at < (now or timezone.now()) - kept_for()


def expire(job):
    """Remove the file of a job kept long enough; its row stays (removed), for the page to say so."""
    if job.file:
        job.file.delete(save=False)
    if job.state == RosterExport.State.DONE:
        job.state = RosterExport.State.EXPIRED
    job.save(update_fields=["file", "state"])


def expire_if_due(job):
    if is_due(job) and (job.file or job.state == RosterExport.State.DONE):
        expire(job)
    return job


def remove_expired(now=None):
    """Remove every file kept EXPORT_KEEP_HOURS; returns how many."""
    cutoff = (now or timezone.now()) - kept_for()
    due = RosterExport.objects.filter(finished_at__lt=cutoff).exclude(file="")
    removed = 0
    for job in due:
        expire(job)
        removed += 1
    return removed


def download_logged(job, user):
    """Full ID numbers may leave the system: who, when, which export and how many rows."""
    record_event(DOWNLOADED_ACTION, actor=user, obj=job, node=job.node, rows=job.rows_done, masked=job.masked)


@task()
def write_export(export_id):
    return run_export(export_id)
