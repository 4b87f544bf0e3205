"""Exporting the roster to xlsx: the template's columns with 学籍号 and 学校标识码 filled in.

What is exported reads back through the import unchanged (export → import reproduces the roster).
Cell text that a spreadsheet could take for a formula (= + - @ at the start) is written as text,
never as a formula. Every export is logged: who, which filter, how many rows.
"""

import queue
import tempfile
import threading
from contextlib import nullcontext
from operator import itemgetter

from django.db import connections, transaction
from django.db.models import Case, CharField, F, Func, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Substr
from django.http import FileResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell

from registrar.audit import record_event
from registrar.choices import Role, Segment
from registrar.models import Organisation as School
from students import codes
from students.filters import RosterFilterForm, roster_queryset
from students.models import Guardian, Status
from students.privacy import mask_id, mask_number
from students.roster.template import COLUMNS, GRADE_LABELS, Kind
from students.roster.xlsx_stream import StreamingSheet

EXPORT_ACTION = "students.roster.exported"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER_FILL = "DDE6F3"
VOCATIONAL_LABELS = {10: "中职一年级", 11: "中职二年级", 12: "中职三年级"}
ITERATOR_CHUNK = 2000
# Chunks read ahead by the reading thread, at most.
READ_AHEAD = 3


def safe_cell(sheet, value):
    """A write-only cell; text that looks like a formula stays text (data type s, quote prefix)."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def safe_value(sheet, value):
    """The value itself when harmless (faster to write), else a guarded cell."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return safe_cell(sheet, value)
    return value


def status_whens():
    return [When(status=value, then=Value(str(label))) for value, label in Status.choices]


class GradeLabels(dict):
    """{(school id, level): the grade's name}; a school's segments are asked once per school."""

    def __missing__(self, key):
        school_id, level = key
        if level >= 10 and School.objects.get(pk=school_id).segment_of_level(level) == Segment.VOCATIONAL:
            label = VOCATIONAL_LABELS[level]
        else:
            label = GRADE_LABELS[level]
        self[key] = label
        return label


HEAD = ("id", "grade__school_id", "grade__level")
GUARDIAN_FIELDS = ("name", "relation", "phone", "id_type", "id_number")
GUARDIANS = 2
NO_FAMILY = ("",) * (GUARDIANS * len(GUARDIAN_FIELDS))
TEXT = CharField()


def labelled(field, table):
    """The label of the code in `field` (the code itself when the table lacks it), worked out by
    the database: a county's export has 1.5 million code cells."""
    whens = [When(**{field: row["code"]}, then=Value(row["label"])) for row in codes.table(table).rows]
    return Case(*whens, When(**{field: ""}, then=Value("")), default=F(field), output_field=TEXT)


def yes_no(field):
    return Case(When(**{field: True}, then=Value("是")), default=Value("否"), output_field=TEXT)


class IsoDate(Func):
    """A date as text, 2015-09-01: SQLite keeps dates so; PostgreSQL is told the format rather than
    left to its DateStyle."""

    template = "CAST(%(expressions)s AS text)"
    output_field = TEXT

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s, 'YYYY-MM-DD')")


def iso_date(field, length=10):
    """A date as text, 2015-09-01 (or 2015-09 with length 7), by the database."""
    return Substr(IsoDate(field), 1, length) if length < 10 else IsoDate(field)


def column_value(column):
    """The expression that reads `column` as the text of its cell (None: the grade, named in Python).
    A family member's column reads the Guardian field of its name."""
    key, kind = column.key, column.kind
    field = key.split("_", 1)[1] if key.startswith("guardian") else key
    if key == "grade":
        return None
    if key == "school":
        return F("grade__school__code")
    if key == "school_class":
        return F("school_class__name")
    if kind == Kind.CODE:
        return labelled(field, column.table)
    if kind == Kind.DATE:
        return iso_date(field)
    if kind == Kind.MONTH:
        return iso_date(field, 7)
    if kind == Kind.BOOL:
        return yes_no(field)
    if key == "number":
        return Coalesce(field, Value(""), output_field=TEXT)
    return F(field)


class RowPlan:
    """How a roster row is made, decided once per export rather than once per cell (a county's
    export has nearly five million cells): the database reads each column as the text of its cell
    (labels of codes, dates, 是/否, the status), Python adds the family members (a second query per
    chunk), names the grade and masks ID numbers when asked.

    A student is read as a tuple (HEAD, then the columns of `students`), the family's values are
    added (NO_FAMILY when there are none), and `order` puts the columns in the template's order.
    """

    def __init__(self, *, masked):
        student_columns = [c for c in COLUMNS if not c.key.startswith("guardian") and c.key != "grade"]
        guardian_columns = [c for c in COLUMNS if c.key.startswith("guardian")]
        self.students = [column_value(column) for column in student_columns]
        self.students.append(Case(*status_whens(), default=F("status"), output_field=TEXT))
        self.guardians = [column_value(c) for c in guardian_columns if c.key.startswith("guardian1_")]
        family_start = len(HEAD) + len(self.students)
        position = {column.key: len(HEAD) + n for n, column in enumerate(student_columns)}
        position.update({column.key: family_start + n for n, column in enumerate(guardian_columns)})
        position["grade"] = HEAD.index("grade__level")  # replaced by its name
        self.order = itemgetter(*(position[column.key] for column in COLUMNS), family_start - 1)
        self.grade_index = next(n for n, column in enumerate(COLUMNS) if column.key == "grade")
        self.masked = [n for n, column in enumerate(COLUMNS) if column.kind == Kind.ID] if masked else []
        self.number_index = next(n for n, column in enumerate(COLUMNS) if column.key == "number")
        self.mask_number = masked
        self.grades = GradeLabels()

    def make(self, values, family):
        """One roster row (a list) of the values read and the student's family members."""
        row = list(self.order(values + family))
        row[self.grade_index] = self.grades[values[1], values[2]]
        for index in self.masked:
            row[index] = mask_id(row[index])
        if self.mask_number:
            row[self.number_index] = mask_number(row[self.number_index])
        return row


def roster_rows(students, *, masked=False):
    """Student rows for the export, read as tuples of text (not model instances: a county's hundred
    thousand students), with their family members; two queries per ITERATOR_CHUNK students."""
    plan = RowPlan(masked=masked)
    make = plan.make
    for chunk, family in _read(plan, students):
        for row in chunk:
            yield make(row, family.get(row[0], NO_FAMILY))


def _read_chunks(plan, students):
    """(students, their family) chunk by chunk."""
    values = students.values_list(*HEAD, *plan.students)
    for chunk in _chunks(values.iterator(chunk_size=ITERATOR_CHUNK)):
        yield chunk, _family(plan, [row[0] for row in chunk])


def _read(plan, students):
    """What _read_chunks gives, read in a second thread on its own connection when it can be: the
    database works (SQLite in its library, PostgreSQL in its server) while this thread makes and
    writes rows. Inside a transaction (a test's) another connection would not see its rows, nor a
    second connection an in-memory database: then in this thread."""
    connection = connections[students.db]
    in_memory = connection.vendor == "sqlite" and connection.is_in_memory_db()
    if connection.in_atomic_block or in_memory:
        yield from _read_chunks(plan, students)
        return
    reader = ChunkReader(plan, students)
    reader.start()
    try:
        yield from reader.chunks()
    finally:
        reader.stop()


class ChunkReader(threading.Thread):
    """Reads _read_chunks into a short queue (memory stays flat); any failure is raised again in
    the thread that takes the chunks."""

    DONE = object()

    def __init__(self, plan, students):
        super().__init__(name="roster-export-reader", daemon=True)
        self.plan, self.students = plan, students
        self.queue = queue.Queue(maxsize=READ_AHEAD)
        self.stopped = threading.Event()

    def run(self):
        try:
            # In a transaction, PostgreSQL streams the server-side cursor (outside one Django
            # declares it WITH HOLD: every row is worked out before the first is sent). Not on
            # SQLite: its transactions take the write lock (settings: IMMEDIATE).
            postgresql = connections[self.students.db].vendor == "postgresql"
            with transaction.atomic(using=self.students.db) if postgresql else nullcontext():
                for item in _read_chunks(self.plan, self.students):
                    if not self._put(item):
                        return
            self._put(self.DONE)
        except BaseException as error:
            self._put(error)
        finally:
            connections.close_all()  # this thread's own

    def _put(self, item):
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def chunks(self):
        while (item := self.queue.get()) is not self.DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self):
        self.stopped.set()
        self.join()


def _family(plan, student_ids):
    """{student id: the values of their first GUARDIANS family members, in NO_FAMILY's shape}."""
    family = {}
    # The ids (integers read from the database) written into the SQL: Django's preparation of two
    # thousand parameters a chunk cost more than the query itself.
    listed = RawSQL(",".join(f"{student_id:d}" for student_id in student_ids), [])
    members = Guardian.objects.filter(student_id__in=listed).order_by("student_id", "order", "id")
    for student_id, *member in members.values_list("student_id", *plan.guardians):
        family.setdefault(student_id, []).extend(member)
    size = len(NO_FAMILY)
    return {
        student_id: tuple(values[:size]) + NO_FAMILY[len(values) :] for student_id, values in family.items()
    }


def _chunks(iterable):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == ITERATOR_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# After the template's columns: what the record's state is (a 休学 filter's export says who).
STATUS_HEADER = "学籍状态"
# Files are exchanged with offices and the national system: always in the standard's Chinese labels,
# whatever the language of the page that asked for them.
FILE_LANGUAGE = "zh-hans"


@translation.override(FILE_LANGUAGE)
def write_roster(students, target, *, masked=False, progress=None):
    """Write the students as a roster workbook to `target` (a path or a binary file); returns the count.

    Streamed (students/roster/xlsx_stream.py): memory does not grow with the rows. The header row
    stays in view as the user scrolls; `masked` writes ID numbers as lists show them. `progress`,
    when given, is called with the count written every ITERATOR_CHUNK students.
    """
    columns = [
        (column.header, max(column.width, len(column.header) * 2 + 2), column.is_text_format)
        for column in COLUMNS
    ]
    columns.append((STATUS_HEADER, len(STATUS_HEADER) * 2 + 2, False))
    count = 0
    with StreamingSheet(
        target, name="花名册", columns=columns, fill=HEADER_FILL, formula_starts=FORMULA_STARTS
    ) as sheet:
        for values in roster_rows(students, masked=masked):
            sheet.append(values)
            count += 1
            if progress is not None and count % ITERATOR_CHUNK == 0:
                progress(count)
    return count


def export_queryset(user, params):
    """The students the roster page shows for these GET parameters (school, grade, class, status, q)."""
    form = RosterFilterForm(params or None, user=user)
    students = form.filter(roster_queryset(user))
    # A filter that cannot be applied exports nothing rather than more than was asked for.
    return students if not params or form.is_valid() else students.none()


def filter_problems(user, params):
    """Why these roster filters cannot be applied, one message per problem; [] when they can."""
    from students.filters import RosterFilterForm

    form = RosterFilterForm(params or None, user=user)
    if not params or form.is_valid():
        return []
    return [
        f"{form.fields[field].label}：{message}" if field in form.fields else message
        for field, errors in form.errors.items()
        for message in errors
    ]


def describe_filter(user, params):
    form = RosterFilterForm(params or None, user=user)
    form.is_valid()
    return form.describe() or _("all students you may see")


def needs_full_ids(user):
    """The roles whose work needs whole ID numbers in a file: the school's registrar (who imports it
    back) and the bureaus above. Principals and class teachers get them masked (issue #18, item 17)."""
    return user.is_superuser or user.has_role(
        Role.SCHOOL_REGISTRAR, Role.COUNTY_REVIEWER, Role.CITY_REVIEWER, Role.PROVINCE_ADMIN
    )


@translation.override(FILE_LANGUAGE)
def export_name(user, params):
    """花名册-<the school or node>-<the filter>-<date>.xlsx: a name that says what the file holds."""
    form = RosterFilterForm(params or None, user=user)
    form.is_valid()
    place = form.school.name if form.school is not None else (user.node.name if user.node else "")
    data = getattr(form, "cleaned_data", {}) or {}
    parts = ["花名册", place]
    if data.get("grade"):
        parts.append(str(dict(form.fields["grade"].choices).get(data["grade"], data["grade"])))
    if data.get("school_class"):
        parts.append(data["school_class"].name)
    if data.get("status"):
        parts.append(str(dict(form.fields["status"].choices).get(data["status"], data["status"])))
    parts.append(f"{timezone.localdate():%Y%m%d}")
    return "-".join(part for part in parts if part) + ".xlsx"


def export_response(user, params):
    """The filtered roster as an xlsx download, streamed from a temporary file; logged."""
    students = export_queryset(user, params)
    masked = not needs_full_ids(user)
    # FileResponse streams the file in chunks and closes it when the response is done.
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    count = write_roster(students, handle, masked=masked)
    handle.seek(0)
    description = describe_filter(user, params)
    record_event(
        EXPORT_ACTION,
        actor=user,
        node=user.node,
        filter=description,
        params={key: params.get(key) for key in params},
        rows=count,
        masked=masked,
    )
    name = export_name(user, params)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=name,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "private, no-store"
    return response
