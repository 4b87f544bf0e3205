"""Checking a roster file row by row: every rule of the record, without the database.

`check_part` reads each row, turns its cells into values (normalise.py) and checks them with
check_record, the rules of validate_record that the registration form uses too (the converters have
already tidied the values as validate_record would); then the file's own duplicates. The
only query is for the schools in scope. The file against the database is database.py.
"""

import gc
import multiprocessing
import os
import queue
import threading
import traceback
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter

from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.choices import NodeKind
from registrar.models import Grade, Organisation, SchoolClass
from students.errors import StudentError
from students.models import KEY_FIELDS
from students.roster.normalise import CellError, converter_for, empty_value
from students.roster.template import BY_KEY, COLUMNS, GRADE_LABELS, GUARDIAN_FIELDS, Kind
from students.validation import NORMALISERS, check_record, fill_from_id, normalise_name, normalise_value

NEW = "new"
UPDATE = "update"
UNCHANGED = "unchanged"

PLACEMENT_KEYS = ("school", "grade", "school_class")
GUARDIAN_KEYS = tuple(f"guardian{order}_{name}" for order in (1, 2) for name in GUARDIAN_FIELDS)
# Columns that are Student fields, written as they are.
STUDENT_KEYS = tuple(
    column.key for column in COLUMNS if column.key not in PLACEMENT_KEYS and column.key not in GUARDIAN_KEYS
)
# Non-key fields an import may change on a student it matches.
UPDATABLE_KEYS = tuple(key for key in STUDENT_KEYS if key not in KEY_FIELDS and key != "number")


@dataclass(frozen=True)
class Problem:
    keys: tuple
    message: str


class Row:
    """One data row: its values in the order of the file's known columns, and what the checks found."""

    __slots__ = (
        "action",
        "changes",
        "failed",
        "grade",
        "guardian_changes",
        "level",
        "number",
        "problems",
        "school",
        "school_class",
        "student",
        "values",
    )

    def __init__(self, number, values, problems, failed):
        self.number = number
        self.values = values
        self.problems = problems
        self.failed = failed
        self.school = None
        self.level = None
        self.grade = None
        self.school_class = None
        self.action = None
        self.student = None
        self.changes = None
        self.guardian_changes = None


@dataclass
class NewClass:
    """A class the file names and the command may create (--create-classes)."""

    school: Organisation
    level: int
    name: str
    grade: Grade = None
    capacity: int = 0
    created: SchoolClass = None

    @property
    def pk(self):
        return self.created.pk if self.created else None

    @property
    def grade_id(self):
        return self.created.grade_id if self.created else None

    def __str__(self):
        return f"{GRADE_LABELS.get(self.level, self.level)}{self.name}"


@dataclass
class Plan:
    """What a roster file would do: its rows with their problems or actions, and the file's own problems."""

    source: object
    scope: Organisation
    by: object = None
    today: date = None
    create_classes: bool = False
    # 导入国家系统已有学籍 (import_roster --national-load): the file's 学籍号 are the national system's
    # and are kept, L numbers included; otherwise new students enter the registration review.
    national_load: bool = False
    columns: list = field(default_factory=list)
    headers: list = field(default_factory=list)
    unknown: list = field(default_factory=list)
    header_row: int = 0
    sheet_height: int = 0
    rows: list = field(default_factory=list)
    file_errors: list = field(default_factory=list)
    index: dict = field(default_factory=dict)
    schools: dict = field(default_factory=dict)
    new_classes: dict = field(default_factory=dict)
    new_grades: set = field(default_factory=set)
    # Seconds each step took (reading, checks, writing), for the command's -v 2 and the benchmark.
    timings: dict = field(default_factory=dict)

    def value(self, row, key, default=""):
        position = self.index.get(key)
        return default if position is None else row.values[position]

    def has(self, key):
        return key in self.index

    def getter(self, key, default=""):
        """`value` of `key` as a function of the row, the column looked up once (for a loop over
        a county's rows)."""
        position = self.index.get(key)
        if position is None:
            return lambda row: default
        return lambda row: row.values[position]

    @property
    def invalid_rows(self):
        return [row for row in self.rows if row.problems]

    @property
    def is_valid(self):
        return not self.file_errors and not any(row.problems for row in self.rows)

    def count(self, action):
        """Rows that would be written with `action` (a row with problems is counted among the
        invalid ones only, so that the counts add up to the rows of the file)."""
        return sum(1 for row in self.rows if row.action == action and not row.problems)

    @property
    def warnings(self):
        if not self.unknown:
            return []
        return [
            _("These columns are not part of the roster and were not read: %(columns)s")
            % {"columns": "、".join(header for _position, header in self.unknown)}
        ]

    def problem_messages(self):
        """[(row number, [messages])] in row order; file problems first, with row number 0."""
        listed = [(0, list(self.file_errors))] if self.file_errors else []
        listed += [(row.number, [problem.message for problem in row.problems]) for row in self.invalid_rows]
        return listed


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


def add(row, keys, message):
    row.problems.append(Problem(tuple(keys), message))


def schools_in_scope(scope):
    """The schools a file for `scope` may name: fresh copies, which this import may annotate."""
    schools = Organisation.objects.schools().filter(path__startswith=scope.path)
    return {school.code: school for school in schools}


def start_plan(sheet, *, scope, by=None, today=None, create_classes=False, national_load=False):
    plan = Plan(
        source=sheet.path,
        scope=scope,
        by=by,
        today=today or timezone.localdate(),
        create_classes=create_classes,
        national_load=national_load,
        columns=list(sheet.columns),
        headers=list(sheet.headers),
        unknown=list(sheet.unknown),
        header_row=sheet.header_row,
        sheet_height=sheet.height,
    )
    plan.index = {column.key: position for position, (_cell, column) in enumerate(plan.columns)}
    missing = [column.header for column in COLUMNS if column.required and column.key not in plan.index]
    if scope.kind != NodeKind.SCHOOL and "school" not in plan.index:
        missing.insert(0, BY_KEY["school"].header)
    if missing:
        plan.file_errors.append(
            _("Row %(row)d: the header lacks the required columns %(columns)s.")
            % {"row": sheet.header_row, "columns": "、".join(missing)}
        )
    return plan


# --- each row on its own --------------------------------------------------------------------------


def finish_rows(plan):
    """What can only be said of the whole file: duplicates inside it, or that it has no rows."""
    plan.rows.sort(key=attrgetter("number"))
    check_duplicates(plan)
    if not plan.rows and not plan.file_errors:
        plan.file_errors.append(_("The file has no data rows under its header."))


@contextmanager
def checked_chunks(sheet, plan, *, processes=0):
    """An iterator of lists of checked Rows, PARALLEL_CHUNK rows at a time (finish_rows puts them
    in file order).

    With `processes` ≥ 1 a large file (a county's) is checked by that many forked processes while
    this one writes (validate_record costs about a twentieth of a millisecond a row, and a county
    has 100,000). The processes inherit the parsed sheet; each checks one range of rows and sends
    its rows back chunk by chunk as it goes, so the caller can write the first chunks while the rest
    are checked.
    The processes are forked on entering, so enter before opening a transaction. Only the command
    line asks for it: a web or task worker process is never forked.
    """
    global _FORKED_PLAN
    plan.schools = schools_in_scope(plan.scope)
    workers = parallel_workers(sheet, processes)
    # Millions of small objects and no cycles among them: the cyclic collector would only slow this down.
    with collector_paused():
        if workers < 1:
            yield chunked_rows(check_part(plan, sheet.rows()), PARALLEL_CHUNK)
            return
        from django.db import connections

        # A forked process must not inherit (and later close) the parent's database connection.
        connections.close_all()
        context = multiprocessing.get_context("fork")
        _FORKED_PLAN = plan, sheet
        started = []
        try:
            for bounds in row_ranges(plan, workers):
                channel = context.Queue()
                process = context.Process(target=check_range, args=(bounds, channel), daemon=True)
                process.start()
                started.append((process, channel))
            # The processes have their copies of the parsed sheet; this one needs it no more (the
            # sheet of a county takes over 100 MB, and the writing is still to come).
            _FORKED_PLAN = None
            sheet.release()
            del sheet
            yield receiving(plan, started)
        finally:
            _FORKED_PLAN = None
            for process, _channel in started:
                if process.is_alive():
                    process.terminate()
                process.join()


@contextmanager
def collector_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_part(plan, rows):
    """Check (row number, cells) pairs; yields Rows."""
    converters = [
        (cell_position, column.key, converter_for(column), empty_value(column))
        for cell_position, column in plan.columns
    ]
    quick = [(cell_position, convert, empty) for cell_position, _key, convert, empty in converters]
    checker = RowChecker(plan)
    for number, cells in rows:
        try:
            # Most rows have no unreadable cell: convert them all in one go.
            values = [
                empty if (cell := cells[position]) == "" else convert(cell)
                for position, convert, empty in quick
            ]
            problems = []
            failed = None
        except CellError:
            values, problems, failed = convert_slowly(converters, cells)
        row = Row(number, values, problems, failed)
        checker.check(row)
        row.values = tuple(values)
        yield row


def convert_slowly(converters, cells):
    """Cell by cell, noting each cell that cannot be read."""
    values = []
    problems = []
    failed = set()
    for position, key, convert, empty in converters:
        cell = cells[position]
        if cell == "":
            values.append(empty)
            continue
        try:
            values.append(convert(cell))
        except CellError as error:
            values.append(empty if error.value is None else error.value)
            problems.append(Problem((key,), error.message))
            failed.add(key)
    return values, problems, failed


# Below this many rows one process checks the file: starting more costs more than it saves.
PARALLEL_MIN_ROWS = 20_000
# Rows handed on at a time, and written at a time by the command's stream: each chunk costs a few
# statements and round trips, so that 5,000-row chunks write a county's file 2 s faster than
# 1,000-row ones, while the first is still checked in a third of a second.
PARALLEL_CHUNK = 5000
# The first PARALLEL_CHUNK rows go in chunks of 1,000, so that the writing (which the whole import
# waits for on PostgreSQL) starts sooner and is not then left waiting for a full second chunk: 1,000
# rows are written in a twentieth of a second, 5,000 checked in a sixth. (Chunks of other sizes, a
# ramp of 2,000 and 4,000, made statements of other sizes, which SQLite's statement cache kept: 40 MB.)
FIRST_CHUNK = 1000
# How long the parent waits for a forked process that has died without a word (seconds).
SILENCE_LIMIT = 5
MOST_PROCESSES = 8
CHECKING_NICENESS = 10
_FORKED_PLAN = None


def forked_plan(plan, sheet):
    """The plan and sheet the processes forked next check (check_range)."""
    global _FORKED_PLAN
    _FORKED_PLAN = plan, sheet


def parallel_workers(sheet, processes):
    """How many processes to fork to check `sheet` (0: check it in this one)."""
    if processes < 1 or sheet.height < PARALLEL_MIN_ROWS or not can_fork():
        return 0
    return min(processes, MOST_PROCESSES)


def can_fork():
    """Whether this process may fork the import's processes: the system forks, and no transaction is
    open (a forked process must not share the database connection, which cannot be closed inside one)."""
    from django.db import connections

    if not hasattr(os, "fork"):
        return False
    return not any(connection.in_atomic_block for connection in connections.all(initialized_only=True))


def chunked_rows(iterable, size, first=None):
    """Lists of `size` items; if `first` is given, the first `size` items in lists of `first`."""
    chunk = []
    wanted = min(first or size, size)
    taken = 0
    for item in iterable:
        chunk.append(item)
        if len(chunk) == wanted:
            yield chunk
            taken += wanted
            chunk = []
            if taken >= size:
                wanted = size
    if chunk:
        yield chunk


def row_ranges(plan, workers, from_row=None):
    """(low, high) row numbers splitting the data rows (from `from_row` on, if given) into one range
    per process.

    One range each: a range is read from the top of the sheet, so more would read rows again and again.
    """
    first, end = max(plan.header_row + 1, from_row or 0), plan.sheet_height + 1
    size = max((end - first + workers - 1) // workers, 1)
    return [(low, min(low + size, end)) for low in range(first, end, size)]


def check_range(bounds, channel):
    """In a forked process: check the rows in `bounds` of the inherited sheet, sending compact
    chunks of them to `channel`, then ("done", None); ("failed", traceback) if anything breaks."""
    try:
        # Behind the writing (this import's process and the database server's), which the whole
        # import waits for, while the checks have time to spare: PostgreSQL 0.8 s faster (median of
        # six interleaved runs of a county's file on two cores), SQLite the same.
        os.nice(CHECKING_NICENESS)
        plan, sheet = _FORKED_PLAN
        rows = check_part(plan, sheet.rows_between(*bounds))
        for chunk in chunked_rows(rows, PARALLEL_CHUNK, first=FIRST_CHUNK):
            shared = Sharing()
            channel.put(("rows", [_pack(row, shared) for row in chunk]))
        channel.put(("done", None))
    except BaseException:
        channel.put(("failed", traceback.format_exc()))
    finally:
        channel.close()
        channel.join_thread()


def _received(process, channel):
    """The chunks a forked process sends, in order, until it is done."""
    silent = 0
    while True:
        try:
            kind, payload = channel.get(timeout=1)
        except queue.Empty:
            # A process that died without a word (killed for memory, say) must not hang the import.
            silent = silent + 1 if process.exitcode is not None else 0
            if silent >= SILENCE_LIMIT:
                raise RuntimeError(
                    f"A process checking the roster ended with status {process.exitcode}."
                ) from None
            continue
        if kind == "rows":
            yield payload
        elif kind == "done":
            return
        else:
            raise RuntimeError(f"A process checking the roster failed:\n{payload}")


class Sharing:
    """In a chunk, one object for each distinct value of a column (湖北省武汉市江岸区, a class name …).

    A row's cells are each a new object; shared, a chunk of thousands of rows travels (pickle sends
    an object once) and stays in memory with one copy of each repeated value.
    """

    def __init__(self):
        self.columns = {}

    def values(self, values):
        columns = self.columns
        shared = []
        for position, value in enumerate(values):
            # Only text and dates: 1 == True, and a number must not come back as a flag.
            if value.__class__ is str or value.__class__ is date:
                seen = columns.get(position)
                if seen is None:
                    seen = columns[position] = {}
                value = seen.setdefault(value, value)
            shared.append(value)
        return tuple(shared)


def _pack(row, shared):
    """A checked row as plain values, to travel between processes (the school by its code)."""
    school_code = row.school.code if row.school is not None else None
    return row.number, shared.values(row.values), row.problems, row.failed, school_code, row.level


def receiving(plan, started):
    """The chunks of every process as they come. Each process's chunks are taken off its channel at
    once by a thread of this process: a process that has checked its rows ends there and then, rather
    than wait with its rows (and its copy of the sheet) until the import has written the rows before."""
    arrived = queue.Queue()

    def receive(process, channel):
        try:
            for packed in _received(process, channel):
                arrived.put(("rows", packed))
        except BaseException as error:  # handed to the importing thread
            arrived.put(("failed", error))
        finally:
            arrived.put(("done", None))

    threads = [
        threading.Thread(target=receive, args=pair, name="roster-receiver", daemon=True) for pair in started
    ]
    for thread in threads:
        thread.start()
    running = len(threads)
    while running:
        kind, payload = arrived.get()
        if kind == "rows":
            yield [_unpack(plan, row) for row in payload]
        elif kind == "failed":
            raise payload
        else:
            running -= 1


def _unpack(plan, packed):
    number, values, problems, failed, school_code, level = packed
    row = Row(number, values, problems, failed)
    row.school = plan.schools.get(school_code) if school_code else None
    row.level = level
    return row


# validate_record needs a school; a row whose school is unknown is checked against one teaching
# nothing, and what it says about the grade is left out (the school code's own problem says enough).
UNKNOWN_SCHOOL = Organisation(kind=NodeKind.SCHOOL, stages=[], school_system="")


# Kinds of column whose converted values (normalise.py) normalise_record leaves as they are, in a
# field it tidies as text (clean_text): plain_text's output has nothing invisible and no outer space
# (half_width adds neither), codes and 学籍号 are ASCII, the rest are not text. Their values go to
# check_record as they are; any other field goes through normalise_value (an ID number, a phone,
# the class name). tests/test_roster_checks.py compares both ways on awkward cells.
CLEAN_KINDS = frozenset(
    (Kind.NAME, Kind.TEXT, Kind.DIGITS, Kind.CODE, Kind.NUMBER, Kind.DATE, Kind.MONTH, Kind.GRADE, Kind.BOOL)
)


def needs_normalising(key, field):
    """Whether the value of the column `key`, in the record's `field`, needs normalise_value."""
    return BY_KEY[key].kind not in CLEAN_KINDS or NORMALISERS.get(field, normalise_name) is not normalise_name


class RowChecker:
    """Checks a row by check_record, the rules of validate_record, normalising only what the cells'
    converters have not already (the same record, with a fraction of the work)."""

    def __init__(self, plan):
        self.plan = plan
        index = plan.index
        self.student_positions = [(key, index[key]) for key in STUDENT_KEYS if key in index]
        # school_class: data always holds it, from a column or as "".
        self.student_normalised = [
            key for key, _position in self.student_positions if needs_normalising(key, key)
        ]
        self.student_normalised.append("school_class")
        self.guardian_positions = [
            [
                (name, index[f"guardian{order}_{name}"])
                for name in GUARDIAN_FIELDS
                if f"guardian{order}_{name}" in index
            ]
            for order in (1, 2)
        ]
        # (order, positions, the fields to normalise); without columns the second is always left out.
        self.guardian_columns = [
            (
                order,
                positions,
                [name for name, _position in positions if needs_normalising(f"guardian{order}_{name}", name)],
            )
            for order, positions in enumerate(self.guardian_positions, start=1)
            if order == 1 or positions
        ]
        self.today = plan.today

    def check(self, row):
        data, guardians = self.record(row)
        school = row.school if row.school is not None else UNKNOWN_SCHOOL
        errors = check_record(data, guardians, school=school, today=self.today)
        if not errors:
            return
        failed = row.failed or ()
        for error_key, messages in errors.items():
            keys = column_keys(error_key)
            if any(key in failed for key in keys):
                continue
            if row.school is None and "grade" in keys:
                continue
            for message in messages:
                row.problems.append(Problem(keys, message))

    def record(self, row):
        """The row's record and family, placed and normalised, as check_record takes them (an empty
        性别 or 出生日期 filled from a valid resident ID, in the row's values too)."""
        plan = self.plan
        self.place(row)
        values = row.values
        data = {key: values[position] for key, position in self.student_positions}
        data["grade"] = row.level if row.school is not None else None
        data["school_class"] = plan.value(row, "school_class")
        # A valid resident ID determines 性别 and 出生日期: an empty cell takes them from it.
        if not data.get("gender") or not data.get("birth_date"):
            fill_from_id(data)
            for key in ("gender", "birth_date"):
                if key in plan.index and data.get(key):
                    values[plan.index[key]] = data[key]
        for key in self.student_normalised:
            data[key] = normalise_value(key, data[key])
        return data, self.guardians(values)

    def place(self, row):
        plan = self.plan
        code = plan.value(row, "school")
        if row.failed and "school" in row.failed:
            pass
        elif code:
            school = plan.schools.get(code)
            if school is None:
                if plan.scope.kind == NodeKind.SCHOOL:
                    add(
                        row,
                        ("school",),
                        _("The school code %(code)s is not this school's (%(school)s, %(own)s).")
                        % {"code": code, "school": plan.scope.name, "own": plan.scope.code},
                    )
                else:
                    add(
                        row,
                        ("school",),
                        _("There is no school with the code %(code)s in %(scope)s.")
                        % {"code": code, "scope": plan.scope.name},
                    )
            row.school = school
        elif plan.scope.kind == NodeKind.SCHOOL:
            row.school = plan.schools[plan.scope.code]
        else:
            add(
                row,
                ("school",),
                _("Fill in the school code: a file for a whole county or city names each student's school."),
            )
        row.level = plan.value(row, "grade", None)

    def guardians(self, values):
        guardians = []
        for order, positions, normalised in self.guardian_columns:
            guardian = {name: values[position] for name, position in positions}
            if order > 1 and not any(guardian.values()):
                continue
            for name in normalised:
                guardian[name] = normalise_value(name, guardian[name])
            guardian["is_guardian"] = True
            guardians.append(guardian)
        return guardians


class DuplicateKeys:
    """What makes two rows of a plan the same student: called with a row, (ID number, 学籍号, person),
    each "" or None when the row has none; None altogether when its ID number could not be read."""

    def __init__(self, plan):
        self.id_number = plan.getter("id_number")
        self.name = plan.getter("name")
        self.birth_date = plan.getter("birth_date", None)
        self.gender = plan.getter("gender")
        self.number = plan.getter("number")

    def __call__(self, row):
        if row.failed and "id_number" in row.failed:
            return None
        id_number = self.id_number(row)
        person = None
        if not id_number:
            name = self.name(row)
            birth_date = self.birth_date(row)
            if name and birth_date:
                person = (name, self.gender(row), birth_date)
        return id_number, self.number(row), person


def check_duplicates(plan):
    """The same ID number, 学籍号 or (without either) person twice in the file."""
    ids, numbers, people = found = (defaultdict(list), defaultdict(list), defaultdict(list))
    keys_of = DuplicateKeys(plan)
    for row in plan.rows:
        keys = keys_of(row)
        if keys is None:
            continue
        for key, group in zip(keys, found, strict=True):
            if key:
                group[key].append(row)
    for groups, keys, message in (
        (ids, ("id_number",), _("The same ID number is in rows %(rows)s.")),
        (numbers, ("number",), _("The same registration number is in rows %(rows)s.")),
        (
            people,
            ("name", "gender", "birth_date"),
            _(
                "Rows %(rows)s have the same name, sex and date of birth and no ID number: "
                "the same student twice?"
            ),
        ),
    ):
        for rows in groups.values():
            if len(rows) > 1:
                listed = "、".join(str(row.number) for row in rows)
                for row in rows:
                    add(row, keys, message % {"rows": listed})


def column_keys(error_key):
    """The file columns an error of validate_record is about."""
    if error_key.startswith("guardians-"):
        _prefix, index, name = error_key.split("-", 2)
        return (f"guardian{int(index) + 1}_{name}",)
    if error_key == "guardians":
        return ("guardian1_name",)
    if error_key in BY_KEY:
        return (error_key,)
    return ()
