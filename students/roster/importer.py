"""Importing a roster file: check it, then write all of it in one transaction, or nothing.

- `prepare(source, scope=…)` reads and checks the file and returns a Plan (rows, problems, actions).
- `commit(plan, by=…, register=…)` re-checks the plan against the database under lock and writes
  it: new students with their family members, history rows and status events; changed non-key
  fields of students already there. `register=True` (the administrator's command) issues the 学籍号
  at once; otherwise a new student without a number enters the registration review.
- `write_error_workbook(plan, target)`: the invalid rows as uploaded, with 行号 and 错误原因.
- The browser's batches: `upload_roster`, `confirm_batch`, `run_batch` (the background task's body).
"""

import io
import logging
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import PurePosixPath

from django.core.files.base import ContentFile, File
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

from registrar.audit import record_event
from registrar.choices import NodeKind
from registrar.errors import DomainError
from registrar.models import Grade, Organisation
from registrar.services import RegistrarError, create_class, missing_grade_levels, sync_grades
from students import codes, lifecycle
from students.errors import StudentError
from students.models import RESIDENT_ID, Event, Guardian, ImportBatch, StatusEvent, Student
from students.numbers import JNumbers
from students.permissions import ensure_registrar_of
from students.privacy import mask_id
from students.roster import bulk
from students.roster.database import DatabaseChecker, check_database, chunks
from students.roster.exporter import safe_cell
from students.roster.reader import RosterFileError, read_roster
from students.roster.template import GRADE_LABELS, GUARDIAN_FIELDS
from students.roster.validate import (
    NEW,
    UNCHANGED,
    UPDATE,
    Plan,
    add,
    check_rows,
    checked_chunks,
    collector_paused,
    duplicate_keys,
    finish_rows,
    start_plan,
)

logger = logging.getLogger(__name__)

IMPORT_ACTION = "students.roster.imported"
# What the page says when a job fails for a reason that is no rule of ours; the log has the details.
UNEXPECTED_FAILURE = gettext_lazy(
    "The import stopped on an unexpected problem and nothing was written. Please try again later; "
    "if it happens again, tell the administrator."
)
SAMPLE_ROWS = 10
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
ERROR_FONT = Font(color="9C0006")
HEADER_FILL = PatternFill("solid", fgColor="DDE6F3")


class RosterInvalid(StudentError):
    """The file has problems: nothing was written. `plan` holds every row's problems."""

    def __init__(self, plan):
        self.plan = plan
        invalid = len(plan.invalid_rows)
        if plan.file_errors:
            message = " ".join(plan.file_errors)
        else:
            message = _("%(count)d rows have problems; nothing was imported.") % {"count": invalid}
        super().__init__(message)


# --- checking -------------------------------------------------------------------------------------


def check_file(source, *, scope, by=None, today=None, create_classes=False, progress=None, processes=1):
    """Read and check each row on its own (no database but the schools in scope).

    `processes` > 1 lets a large file be checked by forked processes (the command line only).
    """
    started = time.perf_counter()
    try:
        sheet = read_roster(source)
    except RosterFileError as error:
        plan = Plan(source=source, scope=scope, by=by, today=today or timezone.localdate())
        plan.file_errors.append(error.message)
        return plan
    plan = start_plan(sheet, scope=scope, by=by, today=today, create_classes=create_classes)
    plan.timings["reading the file"] = time.perf_counter() - started
    with Clock(plan.timings)("checking rows"):
        return check_rows(sheet, plan, progress=progress, processes=processes)


def prepare(source, *, scope, by=None, today=None, create_classes=False, progress=None, processes=1):
    """The whole check of a file: each row, then the file against the database."""
    plan = check_file(
        source,
        scope=scope,
        by=by,
        today=today,
        create_classes=create_classes,
        progress=progress,
        processes=processes,
    )
    check_database(plan)
    return plan


# --- writing --------------------------------------------------------------------------------------


def commit(plan, *, by, register, reason="", batch=None, chunks=None):
    """Write a checked plan in one transaction, or raise RosterInvalid and write nothing.

    The schools are locked and the database checks run again first: the file was checked a while
    ago and another import may have filled a class since. `plan.timings` gets the time of each step.

    With `chunks` (an iterator of lists of checked rows, from `checked_chunks`) the plan's rows are
    still being checked: each chunk is checked against the database and its new students written
    as it arrives, so that writing overlaps the checking (see Stream).
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
            stream = Stream(plan, writer, clock)
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


class Stream:
    """Checks chunks of rows against the database and writes their new students as they arrive.

    A county's file is checked by forked processes; meanwhile the database writes the rows they have
    finished (and, on PostgreSQL, checks their foreign keys at once rather than all at the commit).
    On PostgreSQL the writing is done by a second thread (bulk.WritingBehind) while this one checks
    and makes the rows of the next chunk.
    Writing ahead is optimistic: it goes on only while every row so far is valid, has no twin
    earlier in the file and gets its 学籍号. At the first problem everything written ahead is rolled
    back to a savepoint and the remaining chunks are only collected: the plan is then checked and
    written (or refused) as a whole, exactly as without a stream, so the problems reported are the same.
    """

    def __init__(self, plan, writer, clock):
        self.plan = plan
        self.writer = writer
        self.clock = clock
        self.writing = True
        self.checker = None
        self.seen = (set(), set(), set())

    def run(self, chunks):
        """Take every chunk; True when the whole plan is checked and its new students are written."""
        plan = self.plan
        schools = {school.pk: school for school in plan.schools.values()}
        with self.clock("database checks"):
            self.checker = DatabaseChecker(plan, schools)
        with bulk.streaming_writes():
            savepoint = transaction.savepoint()
            with bulk.WritingBehind() as self.behind:
                with self.clock("checking rows"):
                    chunks = iter(chunks)
                    while True:
                        with self.clock("waiting for checked rows"):
                            rows = next(chunks, None)
                        if rows is None:
                            break
                        plan.rows += rows
                        if self.writing and not self.write_ahead(rows):
                            self.stop_writing(savepoint)
                finish_rows(plan)
                if self.writing:
                    with self.clock("waiting for the writes"):
                        written = self.written()
                    if not written:
                        self.stop_writing(savepoint)
            if self.writing and plan.is_valid:
                self.checker.check_room(plan.rows)
                if not plan.is_valid:
                    raise RosterInvalid(plan)
                transaction.savepoint_commit(savepoint)
                return True
            if self.writing:
                self.stop_writing(savepoint)
            return False

    def stop_writing(self, savepoint):
        """Undo everything written ahead; the plan is then checked and written as a whole."""
        self.behind.failure()
        transaction.savepoint_rollback(savepoint)
        self.writing = False
        writer = self.writer
        self.writer = Writer(self.plan, by=writer.by, register=writer.register, reason=writer.reason)

    def written(self):
        """Wait for the writes submitted; False if one was refused (see write_ahead)."""
        try:
            self.behind.drain()
        except IntegrityError:
            return False
        return True

    def write_ahead(self, rows):
        """Check `rows` against the database and hand their new students to the writing thread;
        False at the first problem."""
        if any(row.problems for row in rows) or self.repeats(rows):
            return False
        try:
            return self._write_ahead(rows)
        except DatabaseError as error:
            # A write refused, say a 学籍号 of the file's own that another row was given: the whole
            # check says which. If it was an earlier chunk's, this chunk's queries failed after it.
            failure = self.behind.failure()
            if isinstance(failure or error, IntegrityError):
                return False
            if failure is not None:
                raise failure from error
            raise

    def _write_ahead(self, rows):
        writer = self.writer
        with self.clock("database checks"):
            self.checker.place_rows(rows)
            self.checker.match_rows(rows)
        if any(row.problems for row in rows):
            return False
        for row in rows:
            if row.action == UNCHANGED:
                row.student = None
        new = [row for row in rows if row.action == NEW]
        if writer.wants_classes():
            # Creating a class takes a savepoint of its own: not while the thread writes.
            self.behind.drain()
            writer.create_classes()
        with self.clock("registration numbers"):
            writer.issue_numbers(new)
        if any(row.problems for row in new):
            return False
        with self.clock("making the rows to write"):
            jobs = list(writer.new_student_jobs(new))
        for job in jobs:
            self.behind.submit(self.timed(job))
        return True

    def timed(self, job):
        def write():
            with self.clock("writing"):
                job()

        return write

    def repeats(self, rows):
        """Whether a row repeats the ID number, 学籍号 or person of an earlier row (check_duplicates
        says so at the end); such a row would find its twin, just written, in the database."""
        for row in rows:
            keys = duplicate_keys(self.plan, row)
            if keys is None:
                continue
            if any(key and key in seen for key, seen in zip(keys, self.seen, strict=True)):
                return True
            for key, seen in zip(keys, self.seen, strict=True):
                if key:
                    seen.add(key)
        return False


class Clock:
    """Adds the seconds a `with clock(name):` block takes to `timings[name]`."""

    def __init__(self, timings):
        self.timings = timings

    @contextmanager
    def __call__(self, name):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0) + time.perf_counter() - started


# --- the command line -----------------------------------------------------------------------------


def import_file(source, *, scope, by=None, register=True, reason="", processes=1, create_classes=False):
    """The command line's import: check the file (in `processes` processes if large) and write it.

    The rows are written as they are checked (see Stream). Returns (plan, batch), or raises
    RosterInvalid having written nothing. The file is copied into private storage with the batch record.
    """
    started = time.perf_counter()
    try:
        sheet = read_roster(source)
    except RosterFileError as error:
        plan = Plan(source=source, scope=scope, by=by, today=timezone.localdate())
        plan.file_errors.append(error.message)
        raise RosterInvalid(plan) from error
    plan = start_plan(sheet, scope=scope, by=by, create_classes=create_classes)
    plan.timings["reading the file"] = time.perf_counter() - started
    if plan.file_errors:
        raise RosterInvalid(plan)
    reason = reason or _("Roster import: %(file)s") % {"file": PurePosixPath(str(source)).name}
    with checked_chunks(sheet, plan, processes=processes) as chunks:
        batch = commit_with_batch(source, plan, by=by, register=register, reason=reason, chunks=chunks)
    return plan, batch


def commit_checked(source, plan, *, by, register, reason=""):
    """Write a plan from `check_file` with the command's batch record; raises RosterInvalid."""
    reason = reason or _("Roster import: %(file)s") % {"file": PurePosixPath(str(source)).name}
    if not plan.is_valid:
        # Bad rows already: report the database's side too, and keep no copy of the file.
        check_database(plan)
        raise RosterInvalid(plan)
    return commit_with_batch(source, plan, by=by, register=register, reason=reason)


def commit_with_batch(source, plan, *, by, register, reason, chunks=None):
    with transaction.atomic():
        batch = command_batch(source, plan, by=by, register=register)
        try:
            commit(plan, by=by, register=register, reason=reason, batch=batch, chunks=chunks)
        except (RosterInvalid, StudentError):
            if batch.file:
                batch.file.storage.delete(batch.file.name)
            raise
        written = time.perf_counter()
    # The COMMIT itself: PostgreSQL checks the deferred foreign keys of every row written then.
    plan.timings["commit"] = time.perf_counter() - written
    return batch


def command_batch(source, plan, *, by, register):
    """The batch record of a command-line import, the file copied into private storage."""
    batch = ImportBatch(node=plan.scope, created_by=by, source=ImportBatch.Source.COMMAND, register=register)
    batch.original_name = PurePosixPath(str(source)).name[:255]
    with open(source, "rb") as handle:
        batch.file.save(batch.original_name, File(handle), save=False)
    batch.summary = {"warnings": plan.warnings}
    fill_counts(batch, plan)
    batch.state = ImportBatch.State.RUNNING
    batch.save()
    return batch


WRITE_CHUNK = 5000


class NewStudentLayout:
    """Where each value of a new student goes in the rows of the five tables written for it.

    Tuples are built by position rather than through dicts: a county has 100,000 rows.
    """

    def __init__(self, writer):
        plan = writer.plan
        now = bulk.datetime_value(writer.now)
        student_columns = bulk.columns_of(Student)
        attnames = [attname for attname, _column in student_columns]
        self.position = position = {attname: index for index, attname in enumerate(attnames)}
        self.student_columns = [column for _attname, column in student_columns]
        base = []
        for field in Student._meta.concrete_fields:
            default = field.get_default()
            base.append(str(default) if isinstance(default, str) else default)
        base[position["created_at"]] = now
        base[position["updated_at"]] = now
        self.base = base
        self.copy = [(plan.index[key], position[key]) for key in plan.index if key in position]

        self.history_values = writer.history(Student, "+")
        self.guardian_history_values = writer.history(Guardian, "+")
        event_columns = dict(bulk.columns_of(StatusEvent, exclude=("id",)))
        # The bulk path asks the lifecycle table as record_status_event does: a new student's first
        # event enrols them (a number was given) or enters their registration for review.
        self.enrolled = str(lifecycle.check(lifecycle.NEW, Event.IMPORTED_ENROLLED))
        self.registering = str(lifecycle.check(lifecycle.NEW, Event.ENTERED))
        approver = (
            bulk.Sql(f'CASE WHEN "status" = %s THEN {int(writer.user_id)} END', [self.enrolled])
            if writer.user_id
            else None
        )
        event_values = {
            "student_id": bulk.Column("id"),
            "event": bulk.Sql(
                'CASE WHEN "status" = %s THEN %s ELSE %s END',
                [self.enrolled, Event.IMPORTED_ENROLLED.value, Event.ENTERED.value],
            ),
            "from_status": "",
            "to_status": bulk.Column("status"),
            "occurred_on": bulk.date_value(writer.today),
            "school_id": bulk.Column("school_id"),
            "grade_id": bulk.Column("grade_id"),
            "school_class_id": bulk.Column("school_class_id"),
            "reason": writer.reason,
            "action": IMPORT_ACTION,
            "approved_by_id": approver,
            "created_at": bulk.Column("created_at"),
        }
        self.event_values = {event_columns[attname]: value for attname, value in event_values.items()}
        self.guardian_positions = [
            (
                order,
                [
                    (name, plan.index[f"guardian{order}_{name}"])
                    for name in GUARDIAN_FIELDS
                    if plan.has(f"guardian{order}_{name}")
                ],
            )
            for order in (1, 2)
        ]

    def student(self, row, student_id, number):
        record = self.base.copy()
        values = row.values
        for source, target in self.copy:
            record[target] = values[source]
        position = self.position
        record[position["id"]] = student_id
        record[position["number"]] = number
        record[position["status"]] = self.enrolled if number else self.registering
        record[position["school_id"]] = row.school.pk
        record[position["grade_id"]] = row.school_class.grade_id
        record[position["school_class_id"]] = row.school_class.pk
        return tuple(record)

    def guardians(self, row, student_id):
        found = []
        values = row.values
        for order, positions in self.guardian_positions:
            data = {name: values[index] for name, index in positions}
            if any(data.values()):
                found.append((student_id, order, data))
        return found


class Writer:
    """Turns a valid plan into rows of the database, in bulk."""

    def __init__(self, plan, *, by, register, reason):
        self.plan = plan
        self.by = by
        self.user_id = by.pk if by is not None and by.is_authenticated else None
        self.register = register
        self.reason = reason
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.numbers = {}
        self.used_numbers = set()
        # Noted in it, the file's own J numbers: a new one must not take a sequence the file gives.
        self.j_numbers = JNumbers()
        self.layout = None
        self.student_ids = bulk.Ids(Student)
        self.guardian_ids = bulk.Ids(Guardian)
        self.classes_created = []
        self.registering_ids = []

    @property
    def new_rows(self):
        return [row for row in self.plan.rows if row.action == NEW]

    @property
    def update_rows(self):
        return [row for row in self.plan.rows if row.action == UPDATE]

    def history(self, model, kind):
        """The `insert_select` values of `model`'s history rows written by this import (kind +, ~ or -)."""
        return bulk.history_values(
            model, when=bulk.datetime_value(self.now), reason=self.reason, kind=kind, user_id=self.user_id
        )

    # classes and numbers

    def wants_classes(self):
        return any(new.created is None for new in self.plan.new_classes.values())

    def create_classes(self):
        """--create-classes: grades the school teaches but has not set up, and the classes named."""
        plan = self.plan
        wanted = [new for new in plan.new_classes.values() if new.created is None]
        if not wanted:
            return
        schools = {new.school.pk: new.school for new in wanted}
        for school_id, school in schools.items():
            if any(key[0] == school_id for key in plan.new_grades) and missing_grade_levels(school):
                sync_grades(school, by=self.by)
        grades = {
            (grade.school_id, grade.level): grade
            for grade in Grade.objects.filter(school__in=list(schools)).select_related("school")
        }
        for new in wanted:
            try:
                new.created = create_class(grades[(new.school.pk, new.level)], by=self.by, name=new.name)
            except RegistrarError as error:
                raise StudentError(error.message) from error
            self.classes_created.append(new.created)

    def issue_numbers(self, rows=None):
        """学籍号 for new rows: the file's own, or (register) G + resident ID, else the next J number.

        May be called chunk by chunk: the numbers handed out so far are remembered.
        """
        plan = self.plan
        rows = self.new_rows if rows is None else rows
        given = {row: plan.value(row, "number") for row in rows if plan.value(row, "number")}
        self.numbers.update(given)
        self.used_numbers.update(given.values())
        for number in given.values():
            self.j_numbers.note(number)
        if not self.register:
            return
        wanting = [row for row in rows if row not in given]
        candidates = {}
        for row in wanting:
            id_number = plan.value(row, "id_number")
            # The plan is valid, so check_id has accepted every resident ID in it.
            if plan.value(row, "id_type") == RESIDENT_ID and id_number:
                candidates[row] = "G" + id_number
        taken = set()
        for chunk in chunks(set(candidates.values())):
            issued = Student.objects.filter(bulk.any_of("number", chunk))
            taken.update(issued.values_list("number", flat=True))
        j_rows = []
        for row in wanting:
            candidate = candidates.get(row)
            if candidate and candidate not in taken and candidate not in self.used_numbers:
                self.used_numbers.add(candidate)
                self.numbers[row] = candidate
            else:
                j_rows.append(row)
        if not j_rows:
            return
        self.j_numbers.prepare((row.school, plan.value(row, "birth_date", None)) for row in j_rows)
        for row in j_rows:
            try:
                number = self.j_numbers.next(row.school, plan.value(row, "birth_date", None))
            except StudentError as error:
                add(row, (), error.message)
                continue
            self.used_numbers.add(number)
            self.numbers[row] = number

    # new students

    def write_new(self, rows=None):
        """Insert the new students and their family members in chunks; their history rows and status
        events are then copied from them inside the database."""
        for job in self.new_student_jobs(rows):
            job()

    def new_student_jobs(self, rows=None):
        """The writing of the new students, a chunk at a time: each job's rows are made when it is
        taken and written when it is called."""
        rows = self.new_rows if rows is None else rows
        if rows and self.layout is None:
            self.layout = NewStudentLayout(self)
        for start in range(0, len(rows), WRITE_CHUNK):
            yield self._new_students(rows[start : start + WRITE_CHUNK])

    def _new_students(self, rows):
        """The writing of `rows`' students and family members, ready to run."""
        layout = self.layout
        ids = self.student_ids.take(len(rows))
        students, guardians = [], []
        for row, student_id in zip(rows, ids, strict=True):
            number = self.numbers.get(row)
            if not number:
                self.registering_ids.append(student_id)
            students.append(layout.student(row, student_id, number))
            guardians += layout.guardians(row, student_id)
        guardian_rows, guardian_ids = self._guardian_rows(guardians)
        # History rows and status events are copied from the rows just written, in one round trip.
        copies = [
            bulk.insert_select_statement(Student.history.model, layout.history_values, Student, ids),
            bulk.insert_select_statement(StatusEvent, layout.event_values, Student, ids),
        ]
        if guardian_ids:
            copies.append(
                bulk.insert_select_statement(
                    Guardian.history.model, layout.guardian_history_values, Guardian, guardian_ids
                )
            )

        def write():
            bulk.insert_rows(Student, layout.student_columns, students)
            self._insert_guardian_rows(guardian_rows)
            bulk.execute_all(copies)

        return write

    def _insert_guardians(self, guardians):
        """`guardians`: (student id, order, {field: value}) for each new family member."""
        rows, ids = self._guardian_rows(guardians)
        self._insert_guardian_rows(rows)
        bulk.insert_select(Guardian.history.model, self.history(Guardian, "+"), Guardian, ids)

    def _guardian_rows(self, guardians):
        """The table rows of new family members (in the order of the table's columns), and their ids."""
        if not guardians:
            return [], []
        ids = self.guardian_ids.take(len(guardians))
        attnames = [attname for attname, _column in bulk.columns_of(Guardian)]
        rows = []
        for guardian_id, (student_id, order, data) in zip(ids, guardians, strict=True):
            values = self._guardian_values(guardian_id, student_id, order, data)
            rows.append(tuple(values[attname] for attname in attnames))
        return rows, ids

    @staticmethod
    def _insert_guardian_rows(rows):
        bulk.insert_rows(Guardian, [column for _attname, column in bulk.columns_of(Guardian)], rows)

    @staticmethod
    def _guardian_values(guardian_id, student_id, order, data):
        return {
            "id": guardian_id,
            "student_id": student_id,
            "order": order,
            "name": data.get("name", ""),
            "relation": data.get("relation", ""),
            "phone": data.get("phone", ""),
            "id_type": data.get("id_type", "") or "",
            "id_number": data.get("id_number", "") or "",
            "is_guardian": True,
        }

    # students already there

    def write_updates(self):
        """Changed non-key fields of students already there, with a history row each."""
        rows = self.update_rows
        if not rows:
            return
        now = bulk.datetime_value(self.now)
        groups = defaultdict(list)
        for row in rows:
            if not row.changes:
                continue
            changes = {key: new for key, (_old, new) in row.changes.items()}
            if "school_class_id" in changes:
                changes["school_class_id"] = changes["school_class_id"].pk
            changes["updated_at"] = now
            fields = tuple(sorted(changes))
            groups[fields].append((*[changes[key] for key in fields], row.student["id"]))
        for fields, values in groups.items():
            bulk.update_rows(Student, [Student._meta.get_field(field).column for field in fields], values)
        changed = [row.student["id"] for row in rows if row.changes]
        history = self.history(Student, "~")
        for chunk in chunks(changed):
            bulk.insert_select(Student.history.model, history, Student, chunk)
        self._write_guardian_changes(rows)

    def _write_guardian_changes(self, rows):
        creates, updates, deletes = [], [], []
        for row in rows:
            for operation in row.guardian_changes or ():
                kind = operation[0]
                if kind == "create":
                    creates.append((row.student["id"], operation[1], operation[2]))
                elif kind == "update":
                    updates.append(operation[1:])
                else:
                    deletes.append(operation[1])

        if deletes:
            # The history row of a deletion keeps the member's last values: written before the row goes.
            bulk.insert_select(Guardian.history.model, self.history(Guardian, "-"), Guardian, deletes)
            bulk.delete_rows(Guardian, deletes)
        if updates:
            groups = defaultdict(list)
            for guardian_id, changes in updates:
                fields = tuple(sorted(changes))
                groups[fields].append((*[changes[key] for key in fields], guardian_id))
            for fields, values in groups.items():
                bulk.update_rows(Guardian, list(fields), values)
            updated = [pk for pk, _changes in updates]
            bulk.insert_select(Guardian.history.model, self.history(Guardian, "~"), Guardian, updated)
        self._insert_guardians(creates)

    def enter_review(self):
        """Students without a 学籍号 enter the registration review chain, where there is one."""
        if not self.registering_ids:
            return
        try:
            from students.registration import submit_for_review
        except ImportError:
            return
        students = list(Student.objects.filter(pk__in=self.registering_ids).select_related("school"))
        submit_for_review(students, by=self.by)


def fill_counts(batch, plan):
    batch.total_rows = len(plan.rows)
    batch.new_count = plan.count(NEW)
    batch.updated_count = plan.count(UPDATE)
    batch.unchanged_count = plan.count(UNCHANGED)
    batch.invalid_count = len(plan.invalid_rows)


# --- the error workbook ---------------------------------------------------------------------------


def write_error_workbook(plan, target):
    """The invalid rows as uploaded, with 行号 and 错误原因, the offending cells highlighted."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("错误清单")
    headers = plan.headers
    positions = {column.key: cell_position for cell_position, column in plan.columns}
    sheet.append(
        [
            _header_cell(sheet, "行号"),
            *[_header_cell(sheet, header) for header in headers],
            _header_cell(sheet, "错误原因"),
        ]
    )
    if plan.file_errors:
        for message in plan.file_errors:
            sheet.append(["", *[""] * len(headers), message])
    invalid = {row.number: row for row in plan.rows if row.problems}
    if invalid:
        source = read_roster(plan.source)
        for number, cells in source.rows():
            row = invalid.get(number)
            if row is None:
                continue
            marked = {positions[key] for problem in row.problems for key in problem.keys if key in positions}
            line = [number]
            for cell_position in range(len(headers)):
                value = cells[cell_position] if cell_position < len(cells) else ""
                cell = safe_cell(sheet, value)
                if cell_position in marked:
                    cell.fill = ERROR_FILL
                    cell.font = ERROR_FONT
                line.append(cell)
            reasons = WriteOnlyCell(sheet, value="；".join(problem.message for problem in row.problems))
            reasons.alignment = Alignment(wrap_text=True, vertical="top")
            line.append(reasons)
            sheet.append(line)
    workbook.save(target)
    return target


def _header_cell(sheet, value):
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = Font(bold=True)
    cell.fill = HEADER_FILL
    return cell


def error_workbook_bytes(plan):
    buffer = io.BytesIO()
    write_error_workbook(plan, buffer)
    return buffer.getvalue()


# --- batches in the browser -----------------------------------------------------------------------


def sample_rows(plan, limit=SAMPLE_ROWS):
    """The first rows as the preview shows them (ID numbers masked)."""
    sample = []
    for row in plan.rows[:limit]:
        gender = plan.value(row, "gender")
        birth_date = plan.value(row, "birth_date", None)
        school_class = plan.value(row, "school_class")
        sample.append(
            {
                "row": row.number,
                "name": plan.value(row, "name"),
                "gender": codes.table("gender").label_of(gender) if gender else "",
                "birth_date": birth_date.isoformat() if birth_date else "",
                "id_number": mask_id(plan.value(row, "id_number")),
                "grade": GRADE_LABELS.get(row.level, "") if row.level else "",
                "school_class": school_class,
                "action": row.action or "",
                "ok": not row.problems,
            }
        )
    return sample


def record_check(batch, plan):
    """Keep what a check found on the batch: counts, sample rows, warnings, every problem."""
    fill_counts(batch, plan)
    batch.summary = {
        **batch.summary,
        "warnings": plan.warnings,
        "sample": sample_rows(plan),
    }
    batch.errors = [{"row": number, "messages": messages} for number, messages in plan.problem_messages()]
    if not plan.is_valid:
        name = f"{PurePosixPath(batch.original_name).stem or 'roster'}-errors.xlsx"
        batch.error_file.save(name, ContentFile(error_workbook_bytes(plan)), save=False)


def upload_roster(school, *, by, uploaded_file):
    """Keep an uploaded roster privately and check it; the batch says what an import would do."""
    ensure_registrar_of(by, school)
    if school.kind != NodeKind.SCHOOL:
        raise StudentError(_("Only a school imports a roster in the browser."))
    batch = ImportBatch(node=school, created_by=by, source=ImportBatch.Source.WEB, register=False)
    batch.original_name = PurePosixPath(uploaded_file.name or "").name[:255]
    batch.file.save(batch.original_name or "roster.xlsx", File(uploaded_file), save=False)
    plan = prepare(batch.file.path, scope=school, by=by)
    record_check(batch, plan)
    batch.state = ImportBatch.State.READY if plan.is_valid else ImportBatch.State.INVALID
    if not plan.is_valid:
        batch.finished_at = timezone.now()
    batch.save()
    record_event("students.roster.checked", actor=by, obj=batch, node=school, valid=plan.is_valid)
    return batch


def confirm_batch(batch, *, by):
    """Queue a checked batch for import in the background."""
    from students.roster.tasks import import_batch

    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().select_related("node").get(pk=batch.pk)
        ensure_registrar_of(by, batch.node)
        if batch.state != ImportBatch.State.READY:
            raise StudentError(_("This file has already been imported or has problems."))
        batch.state = ImportBatch.State.QUEUED
        batch.save(update_fields=["state"])
    try:
        result = import_batch.enqueue(batch.pk)
    except Exception:
        # A queue that cannot take the job must not leave the batch waiting for ever.
        logger.exception("Roster import %s could not be queued", batch.pk)
        fail_batch(batch, message=UNEXPECTED_FAILURE)
        return batch
    ImportBatch.objects.filter(pk=batch.pk).update(task_id=str(result.id)[:64])
    return batch


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
    try:
        _import_batch(batch)
    except RosterInvalid as error:
        fail_batch(batch, plan=error.plan)
    except DomainError as error:
        fail_batch(batch, message=error.message)
    except Exception:
        logger.exception("Roster import %s failed", batch.pk)
        fail_batch(batch, message=UNEXPECTED_FAILURE)
    return ImportBatch.objects.values_list("state", flat=True).get(pk=batch.pk)


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


def fail_batch(batch, *, message="", plan=None):
    """End `batch` as failed: with the rows' problems of `plan` (and its error workbook), or `message`."""
    batch.refresh_from_db()
    if plan is not None:
        try:
            with transaction.atomic():
                record_check(batch, plan)
        except Exception:
            logger.exception("Roster import %s: the problems could not be recorded", batch.pk)
            plan, message = None, UNEXPECTED_FAILURE
    if plan is None:
        batch.errors = [{"row": 0, "messages": [str(message)]}]
    batch.state = ImportBatch.State.FAILED
    batch.finished_at = timezone.now()
    batch.save()
