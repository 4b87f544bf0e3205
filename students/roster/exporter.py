"""Exporting the roster to xlsx: the template's columns with 学籍号 and 学校标识码 filled in.

What is exported reads back through the import unchanged (export → import reproduces the roster).
Cell text that a spreadsheet could take for a formula (= + - @ at the start) is written as text,
never as a formula. Every export is logged: who, which filter, how many rows.
"""

import tempfile

from django.db.models import Prefetch
from django.http import FileResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from registrar.audit import record_event
from registrar.choices import Role, Segment
from students import codes
from students.filters import RosterFilterForm, roster_queryset
from students.models import Guardian
from students.privacy import mask_id, mask_number
from students.roster.template import COLUMNS, GRADE_LABELS, TEXT_FORMAT, Kind

EXPORT_ACTION = "students.roster.exported"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER_FILL = PatternFill("solid", fgColor="DDE6F3")
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


def student_values(student, guardians, *, masked=False):
    """One roster row for `student`, in the order of COLUMNS, then its 学籍状态 (an export's column
    the template does not read). `masked`: ID numbers and 学籍号 (which embeds one) as in lists."""
    values = []
    for column in COLUMNS:
        key = column.key
        if key.startswith("guardian"):
            order, name = key[len("guardian") :].split("_", 1)
            index = int(order) - 1
            guardian = guardians[index] if index < len(guardians) else None
            value = getattr(guardian, name) if guardian is not None else ""
            if masked and name == "id_number":
                value = mask_id(value)
            values.append(_label(column.table, value) if column.table else value)
            continue
        if key == "school":
            values.append(student.school.code)
        elif key == "grade":
            values.append(grade_label(student))
        elif key == "school_class":
            values.append(student.school_class.name)
        elif key == "number":
            values.append((mask_number(student.number) if masked else student.number) or "")
        elif key == "id_number" and masked:
            values.append(mask_id(student.id_number))
        elif column.kind == Kind.CODE:
            values.append(_label(column.table, getattr(student, key)))
        elif column.kind == Kind.DATE:
            value = getattr(student, key)
            values.append(value.isoformat() if value else "")
        elif column.kind == Kind.MONTH:
            value = getattr(student, key)
            values.append(f"{value:%Y-%m}" if value else "")
        elif column.kind == Kind.BOOL:
            values.append("是" if getattr(student, key) else "否")
        else:
            values.append(getattr(student, key) or "")
    values.append(student.get_status_display())
    return values


def roster_rows(students, *, masked=False):
    """Student rows for the export, with their school, grade, class and family members in few queries."""
    guardians = Prefetch("guardians", queryset=Guardian.objects.order_by("order", "id"))
    students = students.select_related("school", "grade__school", "school_class").prefetch_related(guardians)
    for student in students.iterator(chunk_size=ITERATOR_CHUNK):
        yield student_values(student, list(student.guardians.all()), masked=masked)


# After the template's columns: what the record's state is (a 休学 filter's export says who).
STATUS_HEADER = "学籍状态"
# Files are exchanged with offices and the national system: always in the standard's Chinese labels,
# whatever the language of the page that asked for them.
FILE_LANGUAGE = "zh-hans"


@translation.override(FILE_LANGUAGE)
def write_roster(students, target, *, masked=False):
    """Write the students as a roster workbook to `target` (a path or a binary file); returns the count.

    The header row stays in view as the user scrolls; `masked` writes ID numbers as lists show them.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("花名册")
    sheet.freeze_panes = "A2"
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(column.width, len(column.header) * 2 + 2)
        if column.is_text_format:
            sheet.column_dimensions[letter].number_format = TEXT_FORMAT
    header = []
    for column in COLUMNS:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        header.append(cell)
    status = WriteOnlyCell(sheet, value=STATUS_HEADER)
    status.font = Font(bold=True)
    status.fill = HEADER_FILL
    sheet.append([*header, status])
    count = 0
    for values in roster_rows(students, masked=masked):
        sheet.append([safe_value(sheet, value) for value in values])
        count += 1
    workbook.save(target)
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
