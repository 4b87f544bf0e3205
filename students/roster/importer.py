"""Importing a roster file: check it, then write all of it in one transaction, or nothing.

- `check_file(source, scope=…)` reads the file and checks each row on its own; `prepare` adds the
  check against the database and returns the Plan (rows, problems, actions).
- `commit(plan, by=…, register=…)` re-checks the plan against the database under lock and writes
  it (writing.py): new students with their family members, history rows and status events; changed
  non-key fields of students already there. `register=True` (the administrator's command) issues the
  学籍号 at once; otherwise a new student without a number enters the registration review.
- The command line: `import_file` (checked and written as a stream) with the command's batch
  record (`commit_with_batch`, `command_batch`).
Both raise RosterInvalid (validate.py) having written nothing. The browser's batches are batches.py.
"""

import time
from pathlib import PurePosixPath

from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.audit import record_event
from registrar.models import Organisation
from students.models import ImportBatch
from students.roster import bulk
from students.roster.apart import checked_file
from students.roster.database import check_database
from students.roster.validate import (
    NEW,
    UNCHANGED,
    UPDATE,
    RosterInvalid,
    collector_paused,
    finish_rows,
)
from students.roster.writing import IMPORT_ACTION, Clock, Stream, Writer

# --- checking -------------------------------------------------------------------------------------


def check_file(
    source,
    *,
    scope,
    by=None,
    today=None,
    create_classes=False,
    progress=None,
    processes=0,
    national_load=False,
):
    """Read and check each row on its own (no database but the schools in scope).

    `processes` ≥ 1 lets a large file be read and checked in forked processes (the command line only).
    """
    started = time.perf_counter()
    options = {
        "scope": scope,
        "by": by,
        "today": today,
        "create_classes": create_classes,
        "national_load": national_load,
    }
    with checked_file(source, processes=processes, **options) as (plan, chunks):
        plan.timings["reading the file"] = time.perf_counter() - started
        if chunks is None:
            return plan
        with Clock(plan.timings)("checking rows"):
            for rows in chunks:
                plan.rows += rows
                if progress is not None:
                    progress(len(plan.rows))
            finish_rows(plan)
    return plan


def prepare(source, **options):
    """The whole check of a file: each row (check_file, with its options), then the file against the
    database."""
    plan = check_file(source, **options)
    check_database(plan)
    return plan


def commit(plan, *, by, register, reason="", batch=None, chunks=None, read_aside=False):
    """Write a checked plan in one transaction, or raise RosterInvalid and write nothing.

    The schools are locked and the database checks run again first: the file was checked a while
    ago and another import may have filled a class since. `plan.timings` gets the time of each step.

    With `chunks` (an iterator of lists of checked rows, from `checked_chunks`) the plan's rows are
    still being checked: each chunk is checked against the database and its new students written
    as it arrives, so that writing overlaps the checking (see Stream); `read_aside`: its reads go
    through a connection of their own (bulk.ReadingAside; only when no transaction was open before).
    """
    reason = reason or _("Roster import")
    clock = Clock(plan.timings)
    with transaction.atomic(), bulk.fast_writes(), collector_paused():
        if chunks is None:
            school_ids = {row.school.pk for row in plan.rows if row.school is not None}
        else:
            school_ids = {school.pk for school in plan.schools.values()}
        list(Organisation.objects.select_for_update().filter(pk__in=sorted(school_ids)).order_by("pk"))
        writer = Writer(plan, by=by, register=register, reason=reason)
        streamed = False
        if chunks is not None:
            stream = Stream(plan, writer, clock, read_aside=read_aside)
            streamed = stream.run(chunks)
            writer = stream.writer
        if not streamed:
            with clock("database checks"):
                check_database(plan)
            if not plan.is_valid:
                raise RosterInvalid(plan)
            writer.create_classes()
            with clock("registration numbers"):
                writer.issue_numbers()
            if not plan.is_valid:
                raise RosterInvalid(plan)
            with clock("writing"):
                writer.write_new()
        with clock("writing"):
            writer.write_updates()
        if batch is not None:
            fill_counts(batch, plan)
            batch.state = ImportBatch.State.DONE
            batch.finished_at = timezone.now()
            batch.summary = {**batch.summary, "classes_created": [str(c) for c in writer.classes_created]}
            batch.save()
        record_event(
            IMPORT_ACTION,
            actor=by,
            obj=batch,
            node=plan.scope,
            reason=reason,
            new=plan.count(NEW),
            updated=plan.count(UPDATE),
            unchanged=plan.count(UNCHANGED),
            registered=register,
        )
        writer.enter_review()
    return writer


# --- the command line -----------------------------------------------------------------------------


def import_file(source, *, scope, by=None, register=True, reason="", processes=0, create_classes=False):
    """The command line's import: read and check the file (in `processes` forked processes if it is
    large, see apart.py) and write it.

    The rows are written as they are checked (see Stream). Returns (plan, batch), or raises
    RosterInvalid having written nothing. The file is copied into private storage with the batch record.
    """
    started = time.perf_counter()
    options = {"scope": scope, "by": by, "create_classes": create_classes, "national_load": register}
    with checked_file(source, processes=processes, **options) as (plan, chunks):
        plan.timings["reading the file"] = time.perf_counter() - started
        if chunks is None:
            raise RosterInvalid(plan)
        reason = reason or _("Roster import: %(file)s") % {"file": PurePosixPath(str(source)).name}
        batch = commit_with_batch(
            source,
            plan,
            by=by,
            register=register,
            reason=reason,
            chunks=chunks,
            read_aside=bulk.can_read_aside(),
        )
    return plan, batch


def commit_with_batch(source, plan, *, by, register, reason, chunks=None, read_aside=False):
    """Write `plan` with the command's batch record; whatever stops it, the copy of the file goes too
    (the batch row goes with the transaction)."""
    batch = ImportBatch(node=plan.scope, created_by=by, source=ImportBatch.Source.COMMAND, register=register)
    try:
        with transaction.atomic():
            command_batch(batch, source, plan)
            commit(
                plan,
                by=by,
                register=register,
                reason=reason,
                batch=batch,
                chunks=chunks,
                read_aside=read_aside,
            )
            written = time.perf_counter()
    except BaseException:
        if batch.file:
            batch.file.storage.delete(batch.file.name)
        raise
    # The COMMIT itself: PostgreSQL checks the deferred foreign keys of every row written then.
    plan.timings["commit"] = time.perf_counter() - written
    return batch


def command_batch(batch, source, plan):
    """Save the batch record of a command-line import, the file copied into private storage."""
    batch.original_name = PurePosixPath(str(source)).name[:255]
    with open(source, "rb") as handle:
        batch.file.save(batch.original_name, File(handle), save=False)
    batch.summary = {"warnings": plan.warnings}
    fill_counts(batch, plan)
    batch.state = ImportBatch.State.RUNNING
    batch.save()
    return batch


def fill_counts(batch, plan):
    batch.total_rows = len(plan.rows)
    batch.new_count = plan.count(NEW)
    batch.updated_count = plan.count(UPDATE)
    batch.unchanged_count = plan.count(UNCHANGED)
    batch.invalid_count = len(plan.invalid_rows)
