"""Reports as Excel workbooks: one sheet per table, each headed by the report's title, the unit
(name and code), the period and the time the file was made, so that a printed or forwarded sheet
still says what it counts. Cell text that a spreadsheet could take for a formula is written as
text (the roster exporter's guard). Every download is logged."""

import re
import tempfile

from django.http import FileResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from registrar.audit import record_event
from students.roster.exporter import safe_cell, safe_value

EXPORT_ACTION = "reports.exported"
HEADER_FILL = PatternFill("solid", fgColor="DDE6F3")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Characters Excel refuses in a sheet's name.
SHEET_NAME_RE = re.compile(r"[\[\]:*?/\\]")


def sheet_name(text, taken):
    base = SHEET_NAME_RE.sub(" ", str(text)).strip()[:28] or "Sheet"
    name, number = base, 2
    while name in taken:
        name, number = f"{base} {number}", number + 1
    taken.add(name)
    return name


def _value(sheet, value):
    """Numbers as numbers; any text (translated labels too) through the formula guard."""
    if isinstance(value, Promise):
        value = str(value)
    return safe_value(sheet, value) if isinstance(value, str) else value


def _bold(sheet, value, fill=None):
    cell = safe_cell(sheet, str(value) if isinstance(value, Promise) else value)
    cell.font = Font(bold=True)
    if fill is not None:
        cell.fill = fill
    return cell


def write_table(sheet, table, heading):
    """The heading lines, then the table: the unit's code beside its name when rows have one."""
    for line in heading:
        sheet.append([_bold(sheet, line[0]), *(_value(sheet, value) for value in line[1:])])
    sheet.append([_bold(sheet, table.title)])
    if table.note:
        sheet.append([_value(sheet, table.note)])
    with_codes = any(row.code for row in table.rows)
    header = [
        table.row_heading,
        *([_("Code")] if with_codes else []),
        *(column.label for column in table.columns),
    ]
    sheet.append([_bold(sheet, label, HEADER_FILL) for label in header])
    count = 0
    for row in table.rows:
        values = table.values_of(row)
        sheet.append(
            [
                _value(sheet, row.label),
                *([row.code] if with_codes else []),
                *(_value(sheet, value) for value in values),
            ]
        )
        count += 1
    if table.total is not None:
        values = [_value(sheet, table.total.values.get(column.key, "")) for column in table.columns]
        sheet.append([_bold(sheet, table.total.label), *([""] if with_codes else []), *values])
    return count


def report_response(*, user, node, title, period_text, tables, filename):
    """The tables as one workbook (a sheet each), streamed from a temporary file; the download logged."""
    made = timezone.localtime()
    heading = [
        (title,),
        (_("Unit"), f"{node.name}（{node.code}）"),
        (_("Period"), period_text),
        (_("Made at"), f"{made:%Y-%m-%d %H:%M}"),
    ]
    workbook = Workbook(write_only=True)
    taken = set()
    rows = 0
    for table in tables:
        sheet = workbook.create_sheet(sheet_name(table.sheet or table.title, taken))
        sheet.column_dimensions["A"].width = 28
        rows += write_table(sheet, table, heading)
    # FileResponse streams the file in chunks and closes it when the response is done.
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    workbook.save(handle)
    handle.seek(0)
    record_event(EXPORT_ACTION, actor=user, node=node, report=str(title), period=str(period_text), rows=rows)
    response = FileResponse(handle, as_attachment=True, filename=f"{filename}-{node.code}-{made:%Y%m%d}.xlsx")
    response["Content-Type"] = XLSX
    response["Cache-Control"] = "private, no-store"
    return response
