"""The admission list (录取名单) of a receiving school: 学籍号 or 身份证件号, 姓名, 年级, 班级 per row.

Read by the roster's reader (students/roster: the same workbook limits, header search and cell
converters) and checked as a whole: a row whose number matches a graduate of this system (with the
same name) is taken in; a row that matches nobody is a person new to this system. When the list
carries the roster template's columns (the whole record), those rows go through the roster import
into the ordinary registration review, in the same transaction; a list of the four columns alone
only counts them, to be registered as new students. Any bad row and nothing is written; the error
workbook is the roster's.
"""

import tempfile
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook

from intake.errors import IntakeError
from intake.models import Source
from intake.services import admit, check_can_take
from registrar.audit import record_event
from registrar.models import SchoolClass
from students.identity import normalise_name
from students.models import Student
from students.roster.database import class_key
from students.roster.importer import commit, prepare
from students.roster.normalise import CellError, converter_for, empty_value
from students.roster.reader import read_roster
from students.roster.template import REQUIRED_KEYS
from students.roster.validate import Problem
from students.roster.workbooks import RosterFileError
from students.services import class_enrolment

CHECKED_ACTION = "intake.admission_list.checked"
WANTED = ("number", "id_number", "name", "grade", "school_class")


class AdmissionListInvalid(IntakeError):
    def __init__(self, plan):
        super().__init__(
            _("The admission list has problems in %(count)d rows: nothing was written.")
            % {"count": len(plan.invalid_rows)}
            if plan.invalid_rows
            else "；".join(plan.file_errors)
        )
        self.plan = plan


@dataclass
class AdmissionRow:
    number: int
    values: dict
    cells: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    student: Student | None = None
    school_class: SchoolClass | None = None

    def problem(self, keys, message):
        self.problems.append(Problem(tuple(keys), message))


@dataclass
class AdmissionPlan:
    """What the check found; shaped as the roster's plan where the error workbook reads it."""

    source: object
    school: object
    headers: list = field(default_factory=list)
    columns: list = field(default_factory=list)
    file_errors: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    # The roster import's plan of the rows new to this system (a list with the record's columns).
    registration: object = None

    @property
    def invalid_rows(self):
        return [row for row in self.rows if row.problems]

    @property
    def is_valid(self):
        return not self.file_errors and not self.invalid_rows

    @property
    def matched(self):
        return [row for row in self.rows if row.student is not None]

    @property
    def unmatched(self):
        return [row for row in self.rows if row.student is None and not row.problems]

    def problem_messages(self):
        listed = [(0, [message]) for message in self.file_errors]
        return listed + [(row.number, [p.message for p in row.problems]) for row in self.invalid_rows]


def check_admission_list(source, *, school, by):
    """Read and check the whole list against the database; the plan says what would be written."""
    plan = AdmissionPlan(source=source, school=school)
    try:
        sheet = read_roster(source)
    except RosterFileError as error:
        plan.file_errors.append(error.message)
        return plan
    plan.headers, plan.columns = sheet.headers, sheet.columns
    keys = {column.key for _position, column in sheet.columns}
    missing = [
        label
        for key, label in (("name", "姓名"), ("grade", "年级"), ("school_class", "班级"))
        if key not in keys
    ]
    if not keys & {"number", "id_number"}:
        missing.insert(0, "学籍号/身份证件号")
    if missing:
        plan.file_errors.append(
            _("The admission list lacks the columns %(columns)s.") % {"columns": "、".join(missing)}
        )
        return plan
    columns = [(position, column) for position, column in sheet.columns if column.key in WANTED]
    for number, cells in sheet.rows():
        plan.rows.append(_read_row(number, cells, columns))
    _match(plan, by=by)
    record_event(
        CHECKED_ACTION,
        actor=by,
        node=school,
        rows=len(plan.rows),
        matched=len(plan.matched),
        invalid=len(plan.invalid_rows),
    )
    return plan


def _read_row(number, cells, columns):
    row = AdmissionRow(number=number, values={}, cells=list(cells))
    for position, column in columns:
        cell = cells[position] if position < len(cells) else ""
        if cell == "" or cell is None or (isinstance(cell, str) and not cell.strip()):
            row.values[column.key] = empty_value(column)
            continue
        try:
            row.values[column.key] = converter_for(column)(cell)
        except CellError as error:
            row.values[column.key] = error.value
            row.problem((column.key,), error.message)
    for key, label in (("name", "姓名"), ("grade", "年级"), ("school_class", "班级")):
        if not row.values.get(key) and key not in {k for p in row.problems for k in p.keys}:
            row.problem((key,), _("%(column)s is required.") % {"column": label})
    if not row.values.get("number") and not row.values.get("id_number"):
        row.problem(("number", "id_number"), _("Give the registration number or the ID number."))
    return row


def _find(row):
    """The graduate the row points at: by 学籍号, else by ID number (a record holding a number)."""
    number, id_number = row.values.get("number"), row.values.get("id_number")
    records = Student.objects.select_related("school", "grade__school", "school_class")
    if number:
        return records.filter(number=number).first()
    return records.filter(id_number=id_number, number__isnull=False).order_by("-pk").first()


def _match(plan, *, by):
    school = plan.school
    classes = {}
    for row in plan.rows:
        if row.problems:
            continue
        student = _find(row)
        if student is None:
            continue  # a person new to this system: registration, not intake
        if normalise_name(row.values["name"]) != student.name or (
            row.values.get("id_number") and row.values["id_number"] != student.id_number
        ):
            row.problem(
                ("number", "id_number", "name"),
                _("No graduate of this system has this registration number (or ID number) and this name."),
            )
            continue
        try:
            grade = check_can_take(student, school, by=by)
        except IntakeError as error:
            row.problem(("number", "id_number"), error.message)
            continue
        if row.values["grade"] != grade.level:
            row.problem(
                ("grade",),
                _("%(name)s comes into %(grade)s, the first grade of the new stage.")
                % {"name": student.name, "grade": grade.name},
            )
            continue
        if grade.pk not in classes:
            classes[grade.pk] = {class_key(c.name): c for c in grade.classes.select_related("grade__school")}
        school_class = classes[grade.pk].get(class_key(row.values["school_class"]))
        if school_class is None:
            names = "、".join(c.name for c in classes[grade.pk].values()) or _("none")
            row.problem(
                ("school_class",),
                _("%(grade)s has no class %(name)s (its classes: %(classes)s).")
                % {"grade": grade.name, "name": row.values["school_class"], "classes": names},
            )
            continue
        row.student, row.school_class = student, school_class
    _check_twice(plan)
    _check_room(plan)


def _check_twice(plan):
    seen = Counter(row.student.pk for row in plan.matched)
    for row in plan.matched:
        if seen[row.student.pk] > 1:
            rows = "、".join(
                str(other.number) for other in plan.matched if other.student.pk == row.student.pk
            )
            row.problem(("number", "id_number"), _("The same student is in rows %(rows)s.") % {"rows": rows})
    for row in plan.rows:
        if row.problems:
            row.student = None


def _check_room(plan):
    wanted = Counter(row.school_class for row in plan.matched)
    for school_class, count in wanted.items():
        room = school_class.capacity - class_enrolment(school_class)
        if count > room:
            for row in [row for row in plan.matched if row.school_class == school_class][room:]:
                row.problem(
                    ("school_class",),
                    _("%(class)s is full: it holds at most %(capacity)s students.")
                    % {"class": str(school_class), "capacity": school_class.capacity},
                )
            for row in plan.rows:
                if row.problems:
                    row.student = None


def carries_records(plan):
    """Whether the list has every required column of the roster template (the whole record)."""
    keys = {column.key for _position, column in plan.columns}
    return set(REQUIRED_KEYS) <= keys


def check_new_people(plan, *, by):
    """The rows new to this system through the roster import's check (a list with the record's
    columns): their problems land on the list's own rows. Sets plan.registration."""
    rows = plan.unmatched
    if not rows or not carries_records(plan):
        return
    by_number = {}
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("录取名单")
    sheet.append(plan.headers)
    for written, row in enumerate(rows, start=2):
        sheet.append(row.cells[: len(plan.headers)])
        by_number[written] = row
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        workbook.save(handle.name)
        registration = prepare(handle.name, scope=plan.school, by=by)
    registration.source = plan.source
    plan.file_errors += registration.file_errors
    for roster_row in registration.invalid_rows:
        by_number[roster_row.number].problems += roster_row.problems
    plan.registration = registration


def import_admission_list(source, *, school, by):
    """Check the list; take its matched graduates in (one request) and put the people new to this
    system into registration review (a list with the record's columns), or raise
    AdmissionListInvalid and write nothing. Returns (plan, intake or None)."""
    plan = check_admission_list(source, school=school, by=by)
    if plan.is_valid:
        check_new_people(plan, by=by)
    if not plan.is_valid:
        raise AdmissionListInvalid(plan)
    with transaction.atomic():
        intake = None
        if plan.matched:
            placements = [(row.student, row.school_class) for row in plan.matched]
            intake = admit(placements, by=by, school=school, source=Source.ADMISSION_LIST)
        if plan.registration is not None:
            commit(plan.registration, by=by, register=False)
    return plan, intake


def summary(plan):
    """What a checked list holds, or did, in a sentence."""
    counts = {"rows": len(plan.rows), "matched": len(plan.matched), "new": len(plan.unmatched)}
    if plan.registration is not None:
        return (
            _(
                "%(rows)d rows: %(matched)d graduates of this system taken in, %(new)d people new to this "
                "system entered the registration review."
            )
            % counts
        )
    return (
        _(
            "%(rows)d rows: %(matched)d graduates of this system to take in, %(new)d people new to this "
            "system to register as new students (新生注册 or the roster import, reviewed by the county)."
        )
        % counts
    )
