"""Reading the roster workbooks offices send (.xlsx, .xls) with python-calamine, once workbooks.py has
checked that the file is one and within the limits (an .xls is read by legacy.py).

The header row is found by its column names, anywhere in the first rows (title rows above it are
common); columns may come in any order, and columns we do not know are reported, not refused.
"""

import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from python_calamine import CalamineWorkbook

from students.roster.legacy import read_xls
from students.roster.template import BY_KEY, COLUMNS, REQUIRED_KEYS
from students.roster.workbooks import XLS, Limits, RosterFileError, check_workbook, damaged
from students.roster.xls_child import first_sheet

logger = logging.getLogger(__name__)

# The header must be within this many rows from the top.
HEADER_SEARCH_ROWS = 30
# A row with at least this many known column names is the header.
HEADER_MIN_MATCHES = 3
HEADER_NOISE = str.maketrans("", "", " \t\r\n*★※")


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

    def header(self):
        """What was found of the header, as plain values (to send from one process to another)."""
        return {
            "sheet_name": self.sheet_name,
            "header_row": self.header_row,
            "columns": [(position, column.key) for position, column in self.columns],
            "unknown": self.unknown,
            "headers": self.headers,
            "height": self.height,
        }

    @classmethod
    def from_header(cls, path, header):
        """The RosterSheet of `header` (see header()), without its rows."""
        columns = [(position, BY_KEY[key]) for position, key in header["columns"]]
        return cls(path=path, **{**header, "columns": columns})

    def release(self):
        """Let the parsed sheet go (the processes forked to check it keep their copies)."""
        self.rows_iter = None
        self.source_sheet = None

    def rows(self):
        """(row number in the sheet, cells) for every data row that is not entirely empty."""
        return self._data_rows(self.rows_iter)

    def rows_between(self, low, high):
        """The data rows numbered low ≤ number < high, read afresh from the sheet."""
        yield from self._data_rows(between(numbered(self.source_sheet), low, high))

    def _data_rows(self, rows):
        width = len(self.headers)
        for number, cells in rows:
            if number <= self.header_row:
                continue
            if not any(cell != "" and (cell.__class__ is not str or cell.strip()) for cell in cells):
                continue
            if len(cells) < width:
                cells = [*cells, *[""] * (width - len(cells))]
            yield number, cells


def open_sheet(source):
    """The sheet to read: the first visible worksheet, once the file has passed workbooks.py."""
    if not hasattr(source, "read") and not Path(source).is_file():
        raise RosterFileError(_("No such file: %(file)s") % {"file": source})
    limits = Limits.current()
    if check_workbook(source, limits) == XLS:
        return read_xls(source, limits)
    return parse_xlsx(source)


def parse_xlsx(source):
    """The sheet to read of an .xlsx, parsed whole by python-calamine: only once check_workbook has
    passed the file, or in a process whose memory is limited while it checks (apart.py)."""
    try:
        if hasattr(source, "read"):
            source.seek(0)
            workbook = CalamineWorkbook.from_filelike(source)
        elif Path(source).suffix.lower() == ".xlsx":
            workbook = CalamineWorkbook.from_path(str(source))
        else:
            # calamine picks its reader by the name's extension; this is an .xlsx whatever it is called.
            with open(source, "rb") as handle:
                workbook = CalamineWorkbook.from_filelike(handle)
        return first_sheet(workbook)
    except BaseException as error:
        # calamine's errors, and its panics (PanicException derives from BaseException): the file is
        # damaged; the library's own words go to the log, not to the page.
        if not isinstance(error, Exception) and type(error).__name__ != "PanicException":
            raise
        logger.info("Roster workbook refused as damaged: %r", error)
        raise damaged() from error


def between(rows, low, high):
    """The (number, cells) pairs of `rows`, numbered from the top, with low ≤ number < high."""
    # The rows before `low` are only passed over (calamine gives them from the top).
    for number, cells in rows:
        if number >= high:
            return
        if number >= low:
            yield number, cells


def numbered(sheet):
    # iter_rows starts at the sheet's first row: the index is the row number Excel shows, minus one.
    for index, cells in enumerate(sheet.iter_rows()):
        yield index + 1, cells


def read_roster(source):
    """Open `source` (a path or a binary file) and find its header row; raises RosterFileError."""
    return find_header(open_sheet(source), source)


def find_header(sheet, source):
    """The RosterSheet of a parsed `sheet`: its header row found; raises RosterFileError."""
    rows = numbered(sheet)
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
