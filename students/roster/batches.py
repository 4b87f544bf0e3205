"""Roster batches in the browser: upload → check (in the background) → confirm → import (in the
background) → result. The jobs are django-tasks, run by `manage.py db_worker`.

A batch never hangs: whatever goes wrong in a job, the batch ends failed (or invalid) with a reason
its page shows, and nothing is written.
"""

import logging
import time
from pathlib import PurePosixPath

from django.core.files.base import ContentFile, File
from django.db import OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tasks import task

from registrar.audit import record_event
from registrar.choices import NodeKind
from registrar.errors import DomainError
from students import codes
from students.errors import StudentError
from students.models import ImportBatch
from students.permissions import ensure_registrar_of
from students.privacy import mask_id
from students.roster.error_workbook import error_workbook_bytes
from students.roster.importer import check_file, commit, fill_counts, prepare
from students.roster.template import GRADE_LABELS
from students.roster.validate import RosterInvalid

logger = logging.getLogger(__name__)

SAMPLE_ROWS = 10
# Rows of problems kept on the batch (the page lists them; the error workbook holds every one), and
# the length of each text kept: a hostile file must not fill the database through its messages.
KEPT_ERRORS = 500
KEPT_TEXT = 300
# What the page says when a job fails for a reason that is no rule of ours; the log has the details.
# SQLite answers "database is locked" when another process keeps the write lock longer than the
# connection waits (settings: OPTIONS["timeout"]): a few tries with growing pauses, then the batch
# fails with a message rather than stay queued for ever.
LOCKED_TRIES = 4
LOCKED_PAUSE_SECONDS = 5
LOCKED_FAILURE = gettext_lazy(
    "The database stayed busy, so nothing was imported. Upload the file again later."
)
UNEXPECTED_FAILURE = gettext_lazy(
    "The import stopped on an unexpected problem and nothing was written. Please try again later; "
    "if it happens again, tell the administrator."
)
UNEXPECTED_CHECK_FAILURE = gettext_lazy(
    "The file could not be checked because of an unexpected problem. Please upload it again later; "
    "if it happens again, tell the administrator."
)


# What record_check sets on a batch. Jobs save only what they set: the queue writes task_id meanwhile.
CHECK_FIELDS = (
    "total_rows",
    "new_count",
    "updated_count",
    "unchanged_count",
    "invalid_count",
    "summary",
    "errors",
    "error_file",
)


def shorten(text, length=KEPT_TEXT):
    text = str(text)
    return text if len(text) <= length else text[: length - 1] + "…"


def sample_rows(plan, limit=SAMPLE_ROWS):
    """The first rows as the preview shows them (ID numbers masked)."""
    sample = []
    for row in plan.rows[:limit]:
        gender = plan.value(row, "gender")
        birth_date = plan.value(row, "birth_date", None)
        sample.append(
            {
                "row": row.number,
                "name": shorten(plan.value(row, "name"), 50),
                "gender": codes.table("gender").label_of(gender) if gender else "",
                "birth_date": birth_date.isoformat() if birth_date else "",
                "id_number": mask_id(shorten(plan.value(row, "id_number"), 30)),
                "grade": GRADE_LABELS.get(row.level, "") if row.level else "",
                "school_class": shorten(plan.value(row, "school_class"), 50),
                "action": row.action or "",
                "ok": not row.problems,
            }
        )
    return sample


def record_check(batch, plan):
    """Keep what a check found on the batch: counts, sample rows, warnings, the first problems (the
    error workbook holds every one)."""
    fill_counts(batch, plan)
    listed = plan.problem_messages()
    batch.summary = {
        **batch.summary,
        "warnings": [shorten(warning) for warning in plan.warnings],
        "sample": sample_rows(plan),
        "errors_total": len(listed),
        # The lines of the error workbook: the file's problems, then each invalid row.
        "error_file_rows": len(plan.file_errors) + len(plan.invalid_rows),
    }
    batch.errors = [
        {"row": number, "messages": [shorten(message) for message in messages]}
        for number, messages in listed[:KEPT_ERRORS]
    ]
    if not plan.is_valid:
        previous = batch.error_file.name
        name = f"{PurePosixPath(batch.original_name).stem or 'roster'}-errors.xlsx"
        batch.error_file.save(name, ContentFile(error_workbook_bytes(plan)), save=False)
        if previous:
            # The workbook of an earlier check (the import checks the file again) goes once this is saved.
            storage = batch.error_file.storage
            transaction.on_commit(lambda: storage.delete(previous))


def upload_roster(school, *, by, uploaded_file):
    """Keep an uploaded roster privately and queue its check: the file is parsed by the background
    job (check_batch), never in the web request. The batch page follows the check."""
    ensure_registrar_of(by, school)
    if school.kind != NodeKind.SCHOOL:
        raise StudentError(_("Only a school imports a roster in the browser."))
    batch = ImportBatch(
        node=school,
        created_by=by,
        source=ImportBatch.Source.WEB,
        register=False,
        state=ImportBatch.State.CHECKING,
    )
    batch.original_name = PurePosixPath(uploaded_file.name or "").name[:255]
    batch.file.save(batch.original_name or "roster.xlsx", File(uploaded_file), save=False)
    try:
        batch.save()
    except BaseException:
        # No batch, no file: nothing of the upload is left in storage.
        batch.file.storage.delete(batch.file.name)
        raise
    queue(check_batch, batch, UNEXPECTED_CHECK_FAILURE)
    return batch


def run_check(batch_id):
    """The background check of an uploaded file: what an import would do, or every problem.

    A file refused by the limits of workbooks.py, or with bad rows, leaves the batch invalid with
    its reasons; anything unexpected leaves it failed with a plain message (details in the log).
    """
    batch = ImportBatch.objects.select_related("node", "created_by").get(pk=batch_id)
    if batch.state != ImportBatch.State.CHECKING:
        return batch.state

    def progress(done):
        ImportBatch.objects.filter(pk=batch.pk).update(rows_done=done)

    try:
        plan = prepare(batch.file.path, scope=batch.node, by=batch.created_by, progress=progress)
        with transaction.atomic():
            record_check(batch, plan)
            batch.state = ImportBatch.State.READY if plan.is_valid else ImportBatch.State.INVALID
            batch.rows_done = len(plan.rows)
            if not plan.is_valid:
                batch.finished_at = timezone.now()
            batch.save(update_fields=[*CHECK_FIELDS, "state", "rows_done", "finished_at"])
            record_event(
                "students.roster.checked",
                actor=batch.created_by,
                obj=batch,
                node=batch.node,
                valid=plan.is_valid,
            )
    except DomainError as error:
        fail_batch(batch, message=error.message, state=ImportBatch.State.INVALID)
    except Exception:
        logger.exception("Roster check %s failed", batch.pk)
        fail_batch(batch, message=UNEXPECTED_CHECK_FAILURE)
    return ImportBatch.objects.values_list("state", flat=True).get(pk=batch.pk)


def confirm_batch(batch, *, by):
    """Queue a checked batch for import in the background."""
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().select_related("node").get(pk=batch.pk)
        ensure_registrar_of(by, batch.node)
        if batch.state != ImportBatch.State.READY:
            raise StudentError(_("This file has already been imported or has problems."))
        batch.state = ImportBatch.State.QUEUED
        batch.save(update_fields=["state"])
    queue(import_batch, batch, UNEXPECTED_FAILURE)
    return batch


def queue(job, batch, failure):
    """Hand `batch` to a background job; a queue that cannot take it fails the batch at once, saying
    `failure`, rather than leaving it waiting for ever."""
    try:
        result = job.enqueue(batch.pk)
    except Exception:
        logger.exception("Roster batch %s could not be queued", batch.pk)
        fail_batch(batch, message=failure)
        return
    ImportBatch.objects.filter(pk=batch.pk).update(task_id=str(result.id)[:64])


def run_batch(batch_id):
    """The background import: check the kept file again (with progress), then write it or explain.

    Whatever goes wrong, the batch ends failed with a reason its page shows, and nothing is written
    (the commit is one transaction): the rows' problems, a broken rule's message, or, for anything
    unexpected, a plain message on the page and the details in the log.
    """
    batch = ImportBatch.objects.select_related("node", "created_by").get(pk=batch_id)
    if batch.state not in (ImportBatch.State.QUEUED, ImportBatch.State.RUNNING):
        return batch.state
    ImportBatch.objects.filter(pk=batch.pk).update(state=ImportBatch.State.RUNNING, rows_done=0)
    for attempt in range(1, LOCKED_TRIES + 1):
        try:
            _import_batch(batch)
        except RosterInvalid as error:
            fail_batch(batch, plan=error.plan)
        except DomainError as error:
            fail_batch(batch, message=error.message)
        except OperationalError as error:
            if is_locked(error) and attempt < LOCKED_TRIES:
                # SQLite's write lock held by another process longer than the connection waits:
                # the import is one transaction, so trying again is safe.
                logger.warning(
                    "Roster import %s: the database is locked; try %d of %d", batch.pk, attempt, LOCKED_TRIES
                )
                time.sleep(LOCKED_PAUSE_SECONDS * attempt)
                continue
            logger.exception("Roster import %s failed", batch.pk)
            fail_batch(batch, message=LOCKED_FAILURE if is_locked(error) else UNEXPECTED_FAILURE)
        except Exception:
            logger.exception("Roster import %s failed", batch.pk)
            fail_batch(batch, message=UNEXPECTED_FAILURE)
        break
    return ImportBatch.objects.values_list("state", flat=True).get(pk=batch.pk)


def is_locked(error):
    return "database is locked" in str(error).lower()


def _import_batch(batch):
    def progress(done):
        ImportBatch.objects.filter(pk=batch.pk).update(rows_done=done)

    by = batch.created_by
    plan = check_file(batch.file.path, scope=batch.node, by=by, progress=progress)
    ImportBatch.objects.filter(pk=batch.pk).update(rows_done=len(plan.rows))
    if plan.file_errors:
        raise RosterInvalid(plan)
    commit(
        plan,
        by=by,
        register=batch.register,
        reason=_("Roster import: %(file)s") % {"file": batch.original_name},
        batch=batch,
    )


def fail_batch(batch, *, message="", plan=None, state=ImportBatch.State.FAILED):
    """End `batch` (failed, or invalid): with the rows' problems of `plan` (and its error workbook),
    or `message`."""
    batch.refresh_from_db()
    if plan is not None:
        try:
            with transaction.atomic():
                record_check(batch, plan)
                finish(batch, state)
            return
        except Exception:
            logger.exception("Roster batch %s: the problems could not be recorded", batch.pk)
            batch.refresh_from_db()
            message = UNEXPECTED_FAILURE
    batch.errors = [{"row": 0, "messages": [shorten(message, 1000)]}]
    batch.summary = {**batch.summary, "errors_total": 1}
    finish(batch, state)


def finish(batch, state):
    batch.state = state
    batch.finished_at = timezone.now()
    batch.save(update_fields=[*CHECK_FIELDS, "state", "finished_at"])


@task()
def check_batch(batch_id):
    return run_check(batch_id)


@task()
def import_batch(batch_id):
    return run_batch(batch_id)
