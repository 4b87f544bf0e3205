"""Reading the roster workbooks offices send (xlsx, xls, ods) with python-calamine.

The header row is found by its column names, anywhere in the first rows (title rows above it are
common); columns may come in any order, and columns we do not know are reported, not refused.
"""

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from python_calamine import CalamineError, CalamineWorkbook

from students.errors import StudentError
from students.roster.template import COLUMNS, REQUIRED_KEYS

# The header must be within this many rows from the top.
HEADER_SEARCH_ROWS = 30
# A row with at least this many known column names is the header.
HEADER_MIN_MATCHES = 3
HEADER_NOISE = str.maketrans("", "", " \t\r\n*★※")


class RosterFileError(StudentError):
    """The file as a whole cannot be read: not a workbook, no header, required columns missing."""


def header_key(text):
    """A header cell as compared: NFKC (（）／ → ()/), no spaces, no required-marks or (必填)."""
    text = unicodedata.normalize("NFKC", str(text or "")).translate(HEADER_NOISE)
    for suffix in ("(必填)", "(选填)", "(可选)"):
        text = text.replace(suffix, "")
    return text


HEADERS = {}
for _column in COLUMNS:
    for _text in (_column.header, *_column.aliases):
        HEADERS[header_key(_text)] = _column


@dataclass
class RosterSheet:
    """The first sheet's header and a way to iterate its data rows."""

    path: object
    sheet_name: str
    header_row: int
    # (position in the row, Column) for each recognised column, in the file's order.
    columns: list
    # (position, header text) of the columns we do not know.
    unknown: list
    headers: list
    # Rows in the sheet, counted from the first (as Excel numbers them) to the last used one.
    height: int = 0
    rows_iter: object = field(repr=False, default=None)
    # The python-calamine sheet, for reading a range of rows again (a forked process does).
    source_sheet: object = field(repr=False, default=None)

    def release(self):
        """Let the parsed sheet go (the processes forked to check it keep their copies)."""
        self.rows_iter = None
        self.source_sheet = None

    def rows(self):
        """(row number in the sheet, cells) for every data row that is not entirely empty."""
        return self._data_rows(self.rows_iter)

    def rows_between(self, low, high):
        """The data rows numbered low ≤ number < high, read afresh from the sheet."""
        for number, cells in self._data_rows(_numbered(self.source_sheet)):
            if number >= high:
                return
            if number >= low:
                yield number, cells

    def _data_rows(self, numbered):
        width = len(self.headers)
        for number, cells in numbered:
            if number <= self.header_row:
                continue
            if not any(cell != "" and (cell.__class__ is not str or cell.strip()) for cell in cells):
                continue
            if len(cells) < width:
                cells = [*cells, *[""] * (width - len(cells))]
            yield number, cells


def open_workbook(source):
    if not hasattr(source, "read") and not Path(source).is_file():
        raise RosterFileError(_("No such file: %(file)s") % {"file": source})
    try:
        if hasattr(source, "read"):
            source.seek(0)
            return CalamineWorkbook.from_filelike(source)
        return CalamineWorkbook.from_path(str(source))
    except (CalamineError, OSError, ValueError) as error:
        raise RosterFileError(
            _("The file is not an Excel workbook (.xlsx or .xls) that can be read: %(error)s")
            % {"error": error}
        ) from error


def first_sheet(workbook):
    """The first visible worksheet: templates keep their code lists in a hidden sheet after it."""
    for metadata in workbook.sheets_metadata:
        if str(metadata.visible).endswith("Visible") and str(metadata.typ).endswith("WorkSheet"):
            return workbook.get_sheet_by_name(metadata.name)
    return workbook.get_sheet_by_index(0)


def _numbered(sheet):
    # iter_rows starts at the sheet's first row: the index is the row number Excel shows, minus one.
    for index, cells in enumerate(sheet.iter_rows()):
        yield index + 1, cells


def read_roster(source):
    """Open `source` (a path or a binary file) and find its header row; raises RosterFileError."""
    workbook = open_workbook(source)
    try:
        sheet = first_sheet(workbook)
    except (CalamineError, ValueError) as error:
        raise RosterFileError(_("The workbook has no sheet that can be read.")) from error
    rows = _numbered(sheet)
    for number, cells in rows:
        if number > HEADER_SEARCH_ROWS:
            break
        found = [(position, HEADERS.get(header_key(cell))) for position, cell in enumerate(cells)]
        known = [(position, column) for position, column in found if column is not None]
        if len(known) < HEADER_MIN_MATCHES:
            continue
        duplicates = sorted(
            {column.header for _position, column in known if sum(1 for _p, c in known if c is column) > 1}
        )
        if duplicates:
            raise RosterFileError(
                _("Row %(row)d: the columns %(columns)s appear more than once.")
                % {"row": number, "columns": "、".join(duplicates)}
            )
        headers = [str(cell).strip() if cell is not None else "" for cell in cells]
        # Trailing empty header cells are not columns.
        while headers and not headers[-1]:
            headers.pop()
        unknown = [
            (position, headers[position])
            for position, column in found
            if column is None and position < len(headers) and headers[position]
        ]
        return RosterSheet(
            path=source,
            sheet_name=sheet.name,
            header_row=number,
            columns=known,
            unknown=unknown,
            headers=headers,
            height=sheet.end[0] + 1 if sheet.end else number,
            rows_iter=rows,
            source_sheet=sheet,
        )
    raise RosterFileError(
        _("No header row found in the first %(count)d rows: the first sheet needs the columns %(columns)s.")
        % {
            "count": HEADER_SEARCH_ROWS,
            "columns": "、".join(column.header for column in COLUMNS if column.key in REQUIRED_KEYS),
        }
    )
