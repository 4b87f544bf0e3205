"""The error workbook: the invalid rows of a file as uploaded, with 行号 and 错误原因, the offending
cells in red."""

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

from students.roster.exporter import safe_cell
from students.roster.reader import read_roster

ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
ERROR_FONT = Font(color="9C0006")
HEADER_FILL = PatternFill("solid", fgColor="DDE6F3")


def write_error_workbook(plan, target):
    """The invalid rows as uploaded, with 行号 and 错误原因, the offending cells highlighted."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("错误清单")
    # 行号 and 错误原因 first, beside each other and in view while the row scrolls (issue #18, item 11).
    sheet.freeze_panes = "C2"
    sheet.column_dimensions["B"].width = 60
    headers = plan.headers
    positions = {column.key: cell_position for cell_position, column in plan.columns}
    sheet.append(
        [
            _header_cell(sheet, "行号"),
            _header_cell(sheet, "错误原因"),
            *[_header_cell(sheet, header) for header in headers],
        ]
    )
    if plan.file_errors:
        for message in plan.file_errors:
            sheet.append(["", message, *[""] * len(headers)])
    invalid = {row.number: row for row in plan.rows if row.problems}
    if invalid:
        source = read_roster(plan.source)
        for number, cells in source.rows():
            row = invalid.get(number)
            if row is None:
                continue
            marked = {positions[key] for problem in row.problems for key in problem.keys if key in positions}
            reasons = WriteOnlyCell(sheet, value="；".join(problem.message for problem in row.problems))
            reasons.alignment = Alignment(wrap_text=True, vertical="top")
            line = [number, reasons]
            for cell_position in range(len(headers)):
                value = cells[cell_position] if cell_position < len(cells) else ""
                cell = safe_cell(sheet, value)
                if cell_position in marked:
                    cell.fill = ERROR_FILL
                    cell.font = ERROR_FONT
                line.append(cell)
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


# Problems printed on a terminal; the error workbook holds them all.
SHOWN_PROBLEMS = 30


def report_problems(plan, errors, stderr):
    """A command's report of a refused file: the first problems on `stderr`, and the error workbook
    written to `errors` when given (import_roster, import_intake)."""
    listed = plan.problem_messages()
    for number, messages in listed[:SHOWN_PROBLEMS]:
        prefix = _("Row %(row)d") % {"row": number} if number else _("File")
        stderr.write(f"{prefix}: {'；'.join(messages)}")
    if len(listed) > SHOWN_PROBLEMS:
        stderr.write(_("… and %(count)d more rows with problems.") % {"count": len(listed) - SHOWN_PROBLEMS})
    if errors:
        write_error_workbook(plan, errors)
        stderr.write(_("The error workbook is %(file)s.") % {"file": errors})
