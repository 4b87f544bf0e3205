"""Exporting the roster to xlsx: the template's columns with 学籍号 and 学校标识码 filled in.

What is exported reads back through the import unchanged (export → import reproduces the roster).
Cell text that a spreadsheet could take for a formula (= + - @ at the start) is written as text,
never as a formula. Every export is logged: who, which filter, how many rows.
"""

import tempfile
from types import SimpleNamespace

from django.http import FileResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell

from registrar.audit import record_event
from registrar.choices import Role, Segment
from registrar.models import Grade, SchoolClass
from students import codes
from students.filters import RosterFilterForm, roster_queryset
from students.models import Guardian, Status, Student
from students.privacy import mask_id, mask_number
from students.roster.template import COLUMNS, GRADE_LABELS, Kind
from students.roster.xlsx_stream import StreamingSheet

EXPORT_ACTION = "students.roster.exported"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER_FILL = "DDE6F3"
VOCATIONAL_LABELS = {10: "中职一年级", 11: "中职二年级", 12: "中职三年级"}
ITERATOR_CHUNK = 2000


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


def grade_label(student):
    level = student.grade.level
    if level >= 10 and student.school.segment_of_level(level) == Segment.VOCATIONAL:
        return VOCATIONAL_LABELS[level]
    return GRADE_LABELS[level]


def _label(table, code):
    return codes.table(table).label_of(code) if code else ""


def status_labels():
    """{status: its label} in the current language (a record's get_status_display() builds the
    choices again for every call: a second per thousand students)."""
    return {value: str(label) for value, label in Status.choices}


def _getter(column, masked):
    """A function (student, guardians) → the text of `column`, decided once per export rather than
    once per cell (a county's export has nearly five million cells)."""
    key, table = column.key, column.table
    labels = {}

    def label(code):
        # A code table's labels looked up once per export (a column has a handful of codes).
        if code not in labels:
            labels[code] = _label(table, code)
        return labels[code]

    if key.startswith("guardian"):
        order, name = key[len("guardian") :].split("_", 1)
        index = int(order) - 1
        shown = mask_id if masked and name == "id_number" else (label if table else str)

        def guardian_value(student, guardians):
            return shown(getattr(guardians[index], name)) if index < len(guardians) else ""

        return guardian_value
    if key == "school":
        return lambda student, guardians: student.school.code
    if key == "grade":
        return lambda student, guardians: grade_label(student)
    if key == "school_class":
        return lambda student, guardians: student.school_class.name
    if key == "number":
        if masked:
            return lambda student, guardians: mask_number(student.number) or ""
        return lambda student, guardians: student.number or ""
    if key == "id_number" and masked:
        return lambda student, guardians: mask_id(student.id_number)
    if column.kind == Kind.CODE:
        return lambda student, guardians: label(getattr(student, key))
    if column.kind == Kind.DATE:
        return lambda student, guardians: value.isoformat() if (value := getattr(student, key)) else ""
    if column.kind == Kind.MONTH:
        return lambda student, guardians: f"{value:%Y-%m}" if (value := getattr(student, key)) else ""
    if column.kind == Kind.BOOL:
        return lambda student, guardians: "是" if getattr(student, key) else "否"
    return lambda student, guardians: getattr(student, key) or ""


def row_maker(*, masked=False):
    """A function (student, guardians) → one roster row, in the order of COLUMNS, then its 学籍状态
    (an export's column the template does not read). `masked`: ID numbers and 学籍号 (which embeds
    one) as lists show them."""
    getters = [_getter(column, masked) for column in COLUMNS]
    statuses = status_labels()

    def make(student, guardians):
        values = [getter(student, guardians) for getter in getters]
        values.append(statuses[student.status])
        return values

    return make


def roster_rows(students, *, masked=False):
    """Student rows for the export, read as plain values (not model instances: a county's hundred
    thousand students), with their school, grade, class and family members; a fixed number of
    queries per ITERATOR_CHUNK students."""
    fields = [field.attname for field in Student._meta.concrete_fields]
    guardian_fields = [field.attname for field in Guardian._meta.concrete_fields]
    make_row = row_maker(masked=masked)
    grades, classes = {}, {}
    for chunk in _chunks(students.values_list(*fields).iterator(chunk_size=ITERATOR_CHUNK)):
        rows = [SimpleNamespace(**dict(zip(fields, values, strict=True))) for values in chunk]
        _fetch_missing(grades, Grade.objects.select_related("school"), {row.grade_id for row in rows})
        _fetch_missing(classes, SchoolClass.objects.all(), {row.school_class_id for row in rows})
        family = {}
        members = Guardian.objects.filter(student_id__in=[row.id for row in rows]).order_by("order", "id")
        for values in members.values_list(*guardian_fields):
            member = SimpleNamespace(**dict(zip(guardian_fields, values, strict=True)))
            family.setdefault(member.student_id, []).append(member)
        for row in rows:
            row.grade = grades[row.grade_id]
            row.school = row.grade.school
            row.school_class = classes[row.school_class_id]
            yield make_row(row, family.get(row.id, []))


def _chunks(iterable):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == ITERATOR_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _fetch_missing(known, queryset, wanted):
    """Add to `known` ({pk: object}) the objects of `wanted` pks it lacks, in one query."""
    missing = wanted - known.keys()
    if missing:
        known.update(queryset.in_bulk(missing))


# After the template's columns: what the record's state is (a 休学 filter's export says who).
STATUS_HEADER = "学籍状态"
# Files are exchanged with offices and the national system: always in the standard's Chinese labels,
# whatever the language of the page that asked for them.
FILE_LANGUAGE = "zh-hans"


@translation.override(FILE_LANGUAGE)
def write_roster(students, target, *, masked=False):
    """Write the students as a roster workbook to `target` (a path or a binary file); returns the count.

    Streamed (students/roster/xlsx_stream.py): memory does not grow with the rows. The header row
    stays in view as the user scrolls; `masked` writes ID numbers as lists show them.
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
