"""Writing a checked plan: new students in bulk (Writer, NewStudentLayout), and the command line's
stream (Stream) that writes each chunk of rows as soon as it is checked. `Clock` times the steps.
"""

import time
from collections import defaultdict
from contextlib import contextmanager

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from registrar.models import Grade
from registrar.services import RegistrarError, create_class, missing_grade_levels, sync_grades
from students import lifecycle
from students.errors import StudentError
from students.models import RESIDENT_ID, Event, Guardian, StatusEvent, Student
from students.numbers import JNumbers
from students.registration import submit_for_review
from students.roster import bulk
from students.roster.database import DatabaseChecker, chunks
from students.roster.template import GUARDIAN_FIELDS
from students.roster.validate import (
    NEW,
    UNCHANGED,
    UPDATE,
    DuplicateKeys,
    RosterInvalid,
    add,
    finish_rows,
)

IMPORT_ACTION = "students.roster.imported"


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

    def __init__(self, plan, writer, clock, *, read_aside=False):
        self.plan = plan
        self.writer = writer
        self.clock = clock
        # bulk.ReadingAside: the chunks' reads on a connection of their own (bulk.can_read_aside).
        self.read_aside = read_aside
        self.aside = None
        self.writing = True
        self.checker = None
        self.seen = (set(), set(), set())
        self.keys_of = DuplicateKeys(plan)

    def run(self, chunks):
        """Take every chunk; True when the whole plan is checked and its new students are written."""
        plan = self.plan
        schools = {school.pk: school for school in plan.schools.values()}
        with self.clock("database checks"):
            self.checker = DatabaseChecker(plan, schools)
        with bulk.streaming_writes():
            savepoint = transaction.savepoint()
            with bulk.WritingBehind() as self.behind, bulk.ReadingAside(self.read_aside) as self.aside:
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
            self.aside.run(self.checker.match_rows, rows)
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
            self.aside.run(writer.issue_numbers, new)
        if any(row.problems for row in new):
            return False
        with self.clock("making the rows to write"):
            jobs = self.aside.run(lambda: list(writer.new_student_jobs(new)))
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
        keys_of = self.keys_of
        ids, numbers, people = self.seen
        for row in rows:
            keys = keys_of(row)
            if keys is None:
                continue
            id_number, number, person = keys
            if id_number in ids or number in numbers or person in people:
                return True
            if id_number:
                ids.add(id_number)
            if number:
                numbers.add(number)
            if person:
                people.add(person)
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


WRITE_CHUNK = 5000
# Guardian's columns in table order, as _guardian_values names them.
GUARDIAN_ATTNAMES = [
    *("id", "student_id", "order", "name", "relation", "phone", "id_type", "id_number", "is_guardian")
]


# A new student's fields set row by row besides the file's columns.
ROW_FIELDS = ("id", "number", "status", "school_id", "grade_id", "school_class_id")


class NewStudentLayout:
    """Where each value of a new student goes in the rows of the five tables written for it.

    Tuples are built by position rather than through dicts: a county has 100,000 rows.
    """

    def __init__(self, writer):
        plan = writer.plan
        now = bulk.datetime_value(writer.now)
        # Each row's own values (the file's columns, where it goes, its number), in the table's order;
        # every other column is the same for all (its default, the time of the import) and goes to
        # bulk.insert_rows as a constant.
        own = {*ROW_FIELDS, *plan.index}
        self.student_columns, self.student_constants, own_attnames = [], {}, []
        for field in Student._meta.concrete_fields:
            if field.attname in own:
                self.student_columns.append(field.column)
                own_attnames.append(field.attname)
            elif field.attname in ("created_at", "updated_at"):
                self.student_constants[field.column] = now
            else:
                default = field.get_default()
                self.student_constants[field.column] = str(default) if isinstance(default, str) else default
        self.position = position = {attname: index for index, attname in enumerate(own_attnames)}
        # Every position is set for each row.
        self.base = [None] * len(own_attnames)
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
        """学籍号 for new rows when registering at once (the national load): the file's own, else
        G + resident ID, else the next J number. Otherwise none: a student new to this system enters
        the registration review even when the file carries a number (registration is not skipped).

        May be called chunk by chunk: the numbers handed out so far are remembered.
        """
        if not self.register:
            return
        plan = self.plan
        rows = self.new_rows if rows is None else rows
        number_of = plan.getter("number")
        given = {}
        wanting = []
        for row in rows:
            number = number_of(row)
            if number:
                given[row] = number
            else:
                wanting.append(row)
        self.numbers.update(given)
        self.used_numbers.update(given.values())
        for number in given.values():
            self.j_numbers.note(number)
        candidates = {}
        id_number_of, id_type_of = plan.getter("id_number"), plan.getter("id_type")
        for row in wanting:
            id_number = id_number_of(row)
            # The plan is valid, so check_id has accepted every resident ID in it.
            if id_number and id_type_of(row) == RESIDENT_ID:
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
            bulk.insert_rows(Student, layout.student_columns, students, layout.student_constants)
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
        if attnames == GUARDIAN_ATTNAMES:
            # The values in the table's order at once: a county has 100,000 family members.
            rows = [
                (
                    guardian_id,
                    student_id,
                    order,
                    data.get("name", ""),
                    data.get("relation", ""),
                    data.get("phone", ""),
                    data.get("id_type", "") or "",
                    data.get("id_number", "") or "",
                    True,
                )
                for guardian_id, (student_id, order, data) in zip(ids, guardians, strict=True)
            ]
            return rows, ids
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
        students = list(Student.objects.filter(pk__in=self.registering_ids).select_related("school"))
        submit_for_review(students, by=self.by)
