"""Checking a roster file: every row by every rule of the record, then the whole file against the database.

`check_rows` reads and checks each row on its own (no query but one for the schools in scope);
`check_database` then looks at the whole file at once with a handful of queries: the schools'
grades and classes, how many live students each class holds, and the students the file's
学籍号, ID numbers and names already belong to. A row is new, an update of a student of its school,
or unchanged; anything else is a problem of that row.
"""

import gc
import multiprocessing
import os
import unicodedata
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.choices import NodeKind
from registrar.models import Grade, Organisation, SchoolClass, default_capacity
from students import codes
from students.models import KEY_FIELDS, LIVE_STATUSES, LOCKED_STATUSES, Guardian, Status, Student
from students.roster.normalise import CellError, converter_for, empty_value
from students.roster.template import BY_KEY, COLUMNS, GRADE_LABELS, GUARDIAN_FIELDS
from students.validation import fill_from_id, validate_record

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
# Queries with IN lists are cut into pieces of this size (SQLite and psycopg limit the parameters).
CHUNK = 5000
PROGRESS_EVERY = 500


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

    def value(self, row, key, default=""):
        position = self.index.get(key)
        return default if position is None else row.values[position]

    def has(self, key):
        return key in self.index

    @property
    def invalid_rows(self):
        return [row for row in self.rows if row.problems]

    @property
    def is_valid(self):
        return not self.file_errors and not any(row.problems for row in self.rows)

    def count(self, action):
        return sum(1 for row in self.rows if row.action == action)

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


def add(row, keys, message):
    row.problems.append(Problem(tuple(keys), message))


def schools_in_scope(scope):
    """The schools a file for `scope` may name: fresh copies, which this import may annotate."""
    schools = Organisation.objects.schools().filter(path__startswith=scope.path)
    return {school.code: school for school in schools}


def start_plan(sheet, *, scope, by=None, today=None, create_classes=False):
    plan = Plan(
        source=sheet.path,
        scope=scope,
        by=by,
        today=today or timezone.localdate(),
        create_classes=create_classes,
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


def check_rows(sheet, plan, *, progress=None, workers=None):
    """Read and check every data row of `sheet` into `plan.rows`. No query but the schools in scope.

    A large file (a county's) is checked by several processes at once, each taking a range of
    rows: validate_record costs about a tenth of a millisecond a row, and a county has 100,000.
    """
    if plan.file_errors:
        return plan
    plan.schools = schools_in_scope(plan.scope)
    workers = workers if workers is not None else parallel_workers(sheet)
    # Millions of small objects and no cycles among them: the cyclic collector would only slow this down.
    with collector_paused():
        if workers > 1:
            plan.rows = check_in_parallel(plan, sheet, workers, progress)
        else:
            plan.rows = list(check_part(plan, sheet.rows(), progress=progress))
    check_duplicates(plan)
    if not plan.rows:
        plan.file_errors.append(_("The file has no data rows under its header."))
    return plan


@contextmanager
def collector_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_part(plan, rows, *, progress=None):
    """Check (row number, cells) pairs; yields Rows."""
    converters = [
        (cell_position, column.key, converter_for(column), empty_value(column))
        for cell_position, column in plan.columns
    ]
    quick = [(cell_position, convert, empty) for cell_position, _key, convert, empty in converters]
    checker = RowChecker(plan)
    for count, (number, cells) in enumerate(rows, start=1):
        try:
            # Most rows have no unreadable cell: convert them all in one go.
            values = [
                empty if cells[position] == "" else convert(cells[position])
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
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)


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


def parallel_workers(sheet):
    from django.conf import settings
    from django.db import connections

    wanted = settings.REGISTRAR.get("IMPORT_PROCESSES") or os.cpu_count() or 1
    if wanted < 2 or sheet.height < PARALLEL_MIN_ROWS or not hasattr(os, "fork"):
        return 1
    # Forked processes must not share a database connection; inside a transaction we cannot close it.
    if any(connection.in_atomic_block for connection in connections.all(initialized_only=True)):
        return 1
    return min(wanted, 8)


_FORKED_PLAN = None
# Rows handed to a worker process at a time.
PARALLEL_CHUNK = 1000


def check_in_parallel(plan, sheet, workers, progress):
    """The parent reads the file once and hands chunks of rows to `workers` forked processes.

    Rows come back in order, packed small (no model instances); the parent re-links the schools.
    """
    global _FORKED_PLAN
    from django.db import connections

    connections.close_all()
    _FORKED_PLAN = plan
    context = multiprocessing.get_context("fork")
    rows = []
    try:
        with context.Pool(processes=workers) as pool:
            for packed_rows in pool.imap(_check_chunk, _chunked(sheet.rows(), PARALLEL_CHUNK)):
                rows += [_unpack(plan, packed) for packed in packed_rows]
                if progress is not None:
                    progress(len(rows))
    finally:
        _FORKED_PLAN = None
    return rows


def _chunked(iterable, size):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _check_chunk(numbered_rows):
    """In a forked process: check a chunk of (row number, cells); compact results."""
    return [
        (row.number, row.values, row.problems, row.failed, row.school.code if row.school else None, row.level)
        for row in check_part(_FORKED_PLAN, numbered_rows)
    ]


def _unpack(plan, packed):
    number, values, problems, failed, school_code, level = packed
    row = Row(number, values, problems, failed)
    row.school = plan.schools.get(school_code) if school_code else None
    row.level = level
    return row


# validate_record needs a school; a row whose school is unknown is checked against one teaching
# nothing, and what it says about the grade is left out (the school code's own problem says enough).
UNKNOWN_SCHOOL = Organisation(kind=NodeKind.SCHOOL, stages=[], school_system="")


class RowChecker:
    def __init__(self, plan):
        self.plan = plan
        index = plan.index
        self.student_positions = [(key, index[key]) for key in STUDENT_KEYS if key in index]
        self.guardian_positions = [
            [
                (name, index[f"guardian{order}_{name}"])
                for name in GUARDIAN_FIELDS
                if f"guardian{order}_{name}" in index
            ]
            for order in (1, 2)
        ]
        self.today = plan.today

    def check(self, row):
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
        school = row.school if row.school is not None else UNKNOWN_SCHOOL
        errors = validate_record(data, self.guardians(values), school=school, today=self.today)
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
        for order, positions in enumerate(self.guardian_positions, start=1):
            guardian = {name: values[position] for name, position in positions}
            if order > 1 and not any(guardian.values()):
                continue
            guardian["is_guardian"] = True
            guardians.append(guardian)
        return guardians


def check_duplicates(plan):
    """The same ID number, 学籍号 or (without either) person twice in the file."""
    ids = defaultdict(list)
    numbers = defaultdict(list)
    people = defaultdict(list)
    for row in plan.rows:
        failed = row.failed or ()
        id_number = plan.value(row, "id_number")
        if "id_number" in failed:
            continue
        if id_number:
            ids[id_number].append(row)
        number = plan.value(row, "number")
        if number:
            numbers[number].append(row)
        name = plan.value(row, "name")
        birth_date = plan.value(row, "birth_date", None)
        if not id_number and name and birth_date:
            people[(name, plan.value(row, "gender"), birth_date)].append(row)
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


# --- the whole file against the database ----------------------------------------------------------


def class_key(name):
    """1班, (1)班, （1）班 and 1 name the same class."""
    text = unicodedata.normalize("NFKC", name or "").replace(" ", "")
    text = text.replace("(", "").replace(")", "")
    return text[:-1] if text.endswith("班") and len(text) > 1 else text


def chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


# What the import needs to know of a student it finds: enough to match, compare and name the school.
EXISTING_FIELDS = (
    "id",
    "status",
    "school_id",
    "grade_id",
    "school_class_id",
    "school__name",
    "school__path",
    "grade__level",
    "school_class__name",
    *STUDENT_KEYS,
)


class Existing(dict):
    """A student found in the database, as a dict of EXISTING_FIELDS."""

    @property
    def is_live(self):
        return self["status"] in LIVE_STATUSES


def find_existing(plan):
    """The students the file's 学籍号, ID numbers and (for rows without either) names point at."""
    rows = [row for row in plan.rows if row.school is not None]
    numbers = {plan.value(row, "number") for row in rows} - {""}
    ids = {plan.value(row, "id_number") for row in rows} - {""}
    names = {
        plan.value(row, "name")
        for row in rows
        if not plan.value(row, "id_number") and not plan.value(row, "number")
    } - {""}
    by_number = {}
    by_id = defaultdict(list)
    by_person = defaultdict(list)
    # A cancelled registration never was one: the person may be registered anew.
    queryset = Student.objects.exclude(status=Status.CANCELLED).values(*EXISTING_FIELDS)
    for chunk in chunks(numbers):
        for values in queryset.filter(number__in=chunk):
            by_number[values["number"]] = Existing(values)
    for chunk in chunks(ids):
        for values in queryset.filter(id_number__in=chunk):
            by_id[values["id_number"]].append(Existing(values))
    for chunk in chunks(names):
        for values in queryset.filter(id_number="", name__in=chunk):
            by_person[(values["name"], values["gender"], values["birth_date"])].append(Existing(values))
    return by_number, by_id, by_person


def school_phrase(existing, user):
    """The other school by name if the user may see it; else only that it is outside their area."""
    if sees(user, existing["school__path"]):
        return existing["school__name"]
    return _("a school outside your area")


def sees(user, path):
    """Whether `user` may see the node at `path` (the command line, `user` None, sees everything)."""
    return user is None or user.is_superuser or bool(user.node_id and path.startswith(user.node.path))


def region_names(existing_records):
    """City and county names of the schools of `existing_records`, in one query."""
    codes = {code for found in existing_records for code in found["school__path"].strip("/").split("/")[1:-1]}
    return dict(
        Organisation.objects.filter(code__in=codes)
        .exclude(kind=NodeKind.TOWNSHIP)
        .values_list("code", "name")
    )


def duplicate_message(found, user, names):
    """Where the other live registration is, said only as far as `user` may see (as the student pages say it).

    Inside the user's scope: school, grade, class, 学籍号 and status. In the same province: only the
    city and county, so they know whose bureau to call. Further away: only that another school holds it.
    """
    path = found["school__path"]
    if sees(user, path):
        return _(
            "%(name)s already holds a live registration at %(school)s, %(grade)s %(class)s "
            "(registration number %(number)s, %(status)s). One student may hold only one registration."
        ) % {
            "name": found["name"],
            "school": found["school__name"],
            "grade": GRADE_LABELS.get(found["grade__level"], ""),
            "class": found["school_class__name"],
            "number": found["number"] or _("not issued yet"),
            "status": Status(found["status"]).label,
        }
    codes = path.strip("/").split("/")
    if user.node_id and user.node.path.split("/")[0] == codes[0]:
        region = "".join(names.get(code, "") for code in codes[1:-1])
        return _(
            "This student already holds a live registration at a school in %(region)s. One student may "
            "hold only one registration: please contact the education bureau there."
        ) % {"region": region}
    return _(
        "This student already holds a live registration at another school. One student may hold only "
        "one registration: please contact your education bureau."
    )


def check_database(plan):
    """Check the whole file against the database: placement, class room, students already there.

    Clears and recomputes what an earlier call found, so it can run again inside the writing
    transaction. A handful of queries whatever the size of the file.
    """
    for row in plan.rows:
        row.problems = [problem for problem in row.problems if not isinstance(problem, DbProblem)]
        row.action = row.student = row.changes = row.guardian_changes = None
        row.grade = row.school_class = None
    plan.new_classes = {}
    plan.new_grades = set()
    if plan.file_errors:
        return plan
    schools = {row.school.pk: row.school for row in plan.rows if row.school is not None}
    if not schools:
        return plan
    checker = DatabaseChecker(plan, schools)
    checker.place_rows()
    checker.match_rows()
    checker.check_room()
    return plan


class DbProblem(Problem):
    """A problem found against the database: recomputed each time check_database runs."""


def add_db(row, keys, message):
    row.problems.append(DbProblem(tuple(keys), message))


class DatabaseChecker:
    def __init__(self, plan, schools):
        self.plan = plan
        self.schools = schools
        self.grades = {
            (grade.school_id, grade.level): grade
            for grade in Grade.objects.filter(school__in=list(schools)).select_related("school")
        }
        self.classes = defaultdict(dict)
        self.class_names = defaultdict(list)
        for school_class in SchoolClass.objects.filter(grade__school__in=list(schools)).select_related(
            "grade"
        ):
            self.classes[school_class.grade_id][class_key(school_class.name)] = school_class
            self.class_names[school_class.grade_id].append(school_class.name)
        self.live_counts = dict(
            Student.objects.filter(school__in=list(schools), status__in=LIVE_STATUSES)
            .values_list("school_class_id")
            .annotate(count=Count("id"))
            .order_by()
        )

    def place_rows(self):
        plan = self.plan
        for row in plan.rows:
            school, level = row.school, row.level
            if school is None or level is None or (row.failed and "grade" in row.failed):
                continue
            if level not in school.grade_levels():
                continue  # validate_record said so
            grade = self.grades.get((school.pk, level))
            if grade is None and not plan.create_classes:
                add_db(
                    row,
                    ("grade",),
                    _("%(school)s has not set up %(grade)s yet: set up its grades first.")
                    % {"school": school.name, "grade": GRADE_LABELS[level]},
                )
                continue
            row.grade = grade
            name = plan.value(row, "school_class")
            if not name:
                continue
            school_class = self.classes[grade.pk].get(class_key(name)) if grade else None
            if school_class is not None:
                row.school_class = school_class
            elif plan.create_classes:
                key = (school.pk, level, class_key(name))
                if key not in plan.new_classes:
                    segment = school.segment_of_level(level)
                    plan.new_classes[key] = NewClass(
                        school=school, level=level, name=name, grade=grade, capacity=default_capacity(segment)
                    )
                    if grade is None:
                        plan.new_grades.add((school.pk, level))
                row.school_class = plan.new_classes[key]
            else:
                existing = "、".join(self.class_names[grade.pk]) or _("none")
                add_db(
                    row,
                    ("school_class",),
                    _("%(school)s has no class %(name)s in %(grade)s (its classes: %(classes)s).")
                    % {
                        "school": school.name,
                        "name": name,
                        "grade": GRADE_LABELS[level],
                        "classes": existing,
                    },
                )

    def match_rows(self):
        plan = self.plan
        by_number, by_id, by_person = find_existing(plan)
        found = [*by_number.values(), *[f for group in (*by_id.values(), *by_person.values()) for f in group]]
        self.region_names = region_names(
            [f for f in found if f.is_live and not sees(plan.by, f["school__path"])]
        )
        for row in plan.rows:
            if row.school is None:
                continue
            failed = row.failed or ()
            if "id_number" in failed or "number" in failed:
                continue
            own = self.match(row, by_number, by_id, by_person)
            if own is None:
                row.action = NEW
            else:
                self.compare(row, own)
        self.compare_guardians([row for row in plan.rows if row.action in (UPDATE, UNCHANGED)])

    def compare_guardians(self, rows):
        """Guardian 1 and 2 of the file against the student's first two family members."""
        plan = self.plan
        orders = [
            (order, [name for name in GUARDIAN_FIELDS if plan.has(f"guardian{order}_{name}")])
            for order in (1, 2)
        ]
        orders = [(order, names) for order, names in orders if names]
        if not rows or not orders:
            return
        current = defaultdict(list)
        for chunk in chunks([row.student["id"] for row in rows]):
            for values in Guardian.objects.filter(student_id__in=chunk).order_by("order", "id").values():
                current[values["student_id"]].append(values)
        for row in rows:
            existing = current.get(row.student["id"], [])
            next_order = max((guardian["order"] for guardian in existing), default=0) + 1
            operations = []
            for order, names in orders:
                data = {name: plan.value(row, f"guardian{order}_{name}") for name in names}
                found = existing[order - 1] if len(existing) >= order else None
                if not any(data.values()):
                    # Guardian 1 is required (validate_record says so); an emptied guardian 2 goes.
                    if found is not None and order > 1:
                        operations.append(("delete", found["id"]))
                    continue
                if found is None:
                    operations.append(("create", next_order, data))
                    next_order += 1
                    continue
                changed = {
                    name: value for name, value in data.items() if (found[name] or "") != (value or "")
                }
                if changed:
                    operations.append(("update", found["id"], changed))
            row.guardian_changes = operations
            if operations:
                row.action = UPDATE

    def match(self, row, by_number, by_id, by_person):
        plan = self.plan
        user = plan.by
        school = row.school
        number = plan.value(row, "number")
        id_number = plan.value(row, "id_number")
        own = None
        if number and number in by_number:
            found = by_number[number]
            if found["school_id"] == school.pk:
                own = found
            else:
                add_db(
                    row,
                    ("number",),
                    _(
                        "The registration number %(number)s belongs to a student of %(school)s. A student "
                        "coming from another school comes in by transfer (转学)."
                    )
                    % {"number": number, "school": school_phrase(found, user)},
                )
                return None
        candidates = by_id.get(id_number, []) if id_number else []
        if not id_number and not number:
            person = (plan.value(row, "name"), plan.value(row, "gender"), plan.value(row, "birth_date", None))
            candidates = by_person.get(person, [])
        here = [found for found in candidates if found["school_id"] == school.pk]
        # A live record before a locked one: the live one is the student the school has now.
        here.sort(key=lambda found: not found.is_live)
        if here:
            if own is not None and here[0]["id"] != own["id"] and not any(f["id"] == own["id"] for f in here):
                add_db(
                    row,
                    ("number", "id_number"),
                    _(
                        "The registration number and the ID number belong to two different students "
                        "of this school."
                    ),
                )
                return None
            own = own or here[0]
        elsewhere = [found for found in candidates if found["school_id"] != school.pk and found.is_live]
        if elsewhere and (own is None or own.is_live):
            add_db(
                row,
                ("id_number",) if id_number else ("name", "gender", "birth_date"),
                duplicate_message(elsewhere[0], user, self.region_names),
            )
            return None
        return own

    def compare(self, row, own):
        plan = self.plan
        row.student = own
        if own["status"] in LOCKED_STATUSES:
            add_db(
                row,
                (),
                _("%(name)s's record is closed (%(status)s): an import does not change it.")
                % {"name": own["name"], "status": Status(own["status"]).label},
            )
            return
        differing = []
        for key in KEY_FIELDS:
            if key in plan.index and plan.value(row, key, None) != own[key] and key not in (row.failed or ()):
                differing.append(key)
        if differing:
            add_db(
                row,
                differing,
                _(
                    "%(fields)s differ from the record (%(values)s). Key data is changed only through a "
                    "key-data correction (关键数据变更), with evidence."
                )
                % {
                    "fields": "、".join(BY_KEY[key].header for key in differing),
                    "values": "；".join(
                        f"{BY_KEY[key].header}：{display(key, own[key])}" for key in differing
                    ),
                },
            )
        number = plan.value(row, "number")
        if number and own["number"] != number:
            add_db(
                row,
                ("number",),
                _("The student's registration number is %(number)s; a registration number never changes.")
                % {"number": own["number"] or _("not issued yet")},
            )
        if row.grade is not None and own["grade_id"] != row.grade.pk:
            add_db(
                row,
                ("grade",),
                _(
                    "The student is in %(grade)s. A change of grade is a status change (留级 or 跳级) "
                    "or the yearly promotion, not an import."
                )
                % {"grade": GRADE_LABELS.get(own["grade__level"], own["grade__level"])},
            )
        if differing or row.problems:
            row.action = None
            return
        changes = {}
        for key in UPDATABLE_KEYS:
            if key in plan.index:
                new = plan.value(row, key, None)
                if new != own[key]:
                    changes[key] = (own[key], new)
        if row.school_class is not None and own["school_class_id"] != row.school_class.pk:
            changes["school_class_id"] = (own["school_class_id"], row.school_class)
        row.changes = changes
        row.action = UPDATE if changes else UNCHANGED

    def check_room(self):
        """Each class holds at most its capacity: its live students plus the file's newcomers."""
        plan = self.plan
        adding = defaultdict(list)
        leaving = defaultdict(int)
        for row in plan.rows:
            if row.school_class is None:
                continue
            if row.action == NEW:
                adding[id(row.school_class)].append(row)
            elif row.action == UPDATE and "school_class_id" in row.changes:
                adding[id(row.school_class)].append(row)
                leaving[row.student["school_class_id"]] += 1
        for rows in adding.values():
            school_class = rows[0].school_class
            holds = self.live_counts.get(school_class.pk, 0) if school_class.pk else 0
            room = school_class.capacity - holds + leaving.get(school_class.pk, 0)
            if len(rows) <= room:
                continue
            message = _(
                "%(school)s %(class)s is full: its capacity is %(capacity)d, it holds %(holds)d students "
                "and the file adds %(adding)d."
            ) % {
                "school": rows[0].school.name,
                "class": class_label(school_class),
                "capacity": school_class.capacity,
                "holds": holds,
                "adding": len(rows),
            }
            for row in rows[max(room, 0) :]:
                add_db(row, ("school_class",), message)


def class_label(school_class):
    if isinstance(school_class, NewClass):
        return str(school_class)
    return f"{GRADE_LABELS.get(school_class.grade.level, '')}{school_class.name}"


def display(key, value):
    column = BY_KEY[key]
    if value in (None, ""):
        return "—"
    if column.table:
        return codes.table(column.table).label_of(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
