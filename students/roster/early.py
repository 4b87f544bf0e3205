"""The first rows of a large .xlsx, read and checked by the importing process while the reader
(apart.py) parses the whole sheet: the time it would otherwise spend waiting.

A county's sheet takes calamine 2-4 s to parse and the workbook check takes this process about
half of that; for the rest this process waited with a core idle, and the process checking the rows
then checked every row, the longest chain of work in the import once the writing was lighter.
Here a copy of the workbook is cut after a whole row about FIRST_PART of the way into the sheet's
XML, parsed by calamine (the same reading as the whole) and its rows checked in this process: for
a county's file 10,170 rows, in 0.8 s to copy and parse and 1.1 s to check on a two-core VM. Only
for a file check_workbook has passed.

The reader checks the copy against the whole: it sends back whether its own rows above the cut are
exactly the copy's (`rows_digest`). They are unless the file is written oddly (a row numbered above
the cut written after it, say), and then the reader checks every row as before and the copy's are
let go.
"""

import hashlib
import io
import logging
import zipfile
import zlib

from python_calamine import CalamineWorkbook

from students.roster.reader import find_header, numbered
from students.roster.validate import (
    FIRST_CHUNK,
    PARALLEL_CHUNK,
    check_part,
    chunked_rows,
    start_plan,
)
from students.roster.workbooks import SHARED_STRINGS, SHEET_FOLDERS, RosterFileError
from students.roster.xls_child import first_sheet

logger = logging.getLogger(__name__)

# How far into the sheet's XML the copy is cut: a tenth of a county's rows is what this process can
# copy, parse and check (1.9 s) in the time it waited (about 2 s on a two-core VM).
FIRST_PART = 0.1
ROW_END = b"</row>"


class FirstPart:
    """The copy's rows: `plan`, its Plan (the rows below the header still to check); `next_row`, the
    sheet row from which the reader checks; `digest`, of every row above it (`rows_digest`)."""

    def __init__(self, sheet, plan, next_row, digest):
        self.sheet = sheet
        self.plan = plan
        self.next_row = next_row
        self.digest = digest

    def checked(self):
        """The copy's data rows checked as the reader's processes check theirs, in chunks of the
        sizes they send."""
        rows = check_part(self.plan, self.sheet.rows())
        chunks = list(chunked_rows(rows, PARALLEL_CHUNK, first=FIRST_CHUNK))
        # The parsed copy goes while the reader's processes start.
        self.sheet.release()
        return chunks


def first_part(source, options, schools):
    """The FirstPart of the .xlsx at `source` (`options` as start_plan's, `schools` the plan's), or
    None: more than one sheet, no whole row below the header in its first part, XML that could hide
    the end of a row (a comment, CDATA, an instruction), a header the file's plan refuses, anything
    calamine or the header finder refuses."""
    try:
        with zipfile.ZipFile(source) as archive:
            parts = [info for info in archive.infolist() if not info.is_dir()]
            sheets = [info for info in parts if info.filename.lower().startswith(SHEET_FOLDERS)]
            if len(sheets) != 1 or not sheets[0].filename.lower().startswith("xl/worksheets/"):
                return None
            # The copy takes the shared strings whole (its rows may use any of them): where they
            # are more than the first part of the sheet, parsing them again here costs more time
            # and memory than the part saves (a file Excel saved; not one written with its text in
            # the cells, as this system's exports and openpyxl's are).
            shared = sum(info.file_size for info in parts if info.filename.lower() == SHARED_STRINGS)
            if shared > sheets[0].file_size * FIRST_PART:
                return None
            head = _head(archive, sheets[0])
            if head is None:
                return None
            copy = io.BytesIO()
            with zipfile.ZipFile(copy, "w", zipfile.ZIP_STORED) as cut:
                for info in parts:
                    cut.writestr(info.filename, head if info is sheets[0] else archive.read(info))
            del head
        copy.seek(0)
        parsed = first_sheet(CalamineWorkbook.from_filelike(copy))
        # Its bytes are calamine's now: while the reader parses, this process holds little.
        del copy
        digest = rows_digest(numbered(parsed))
        last = parsed.end[0] + 1 if parsed.end else 0
        sheet = find_header(parsed, source)
    except (RosterFileError, zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as error:
        logger.info("The roster's first part is read with the rest: %r", error)
        return None
    except BaseException as error:
        # calamine's errors and panics (see reader.parse_xlsx): the reader reads the file whole.
        if not isinstance(error, Exception) and type(error).__name__ != "PanicException":
            raise
        logger.info("The roster's first part is read with the rest: %r", error)
        return None
    if last <= sheet.header_row:
        return None
    plan = start_plan(sheet, **options)
    if plan.file_errors:
        return None
    plan.schools = schools
    return FirstPart(sheet, plan, last + 1, digest)


def _head(archive, info):
    """The sheet's XML up to the end of the last whole row in its first FIRST_PART, closed; None if
    it is not written plainly."""
    with archive.open(info) as part:
        data = part.read(max(int(info.file_size * FIRST_PART), 1))
    start = data.find(b"<sheetData")
    end = data.rfind(ROW_END)
    if start == -1 or end < start or b"<worksheet" not in data[:start]:
        return None
    # "</row>" is the end of a row only where it cannot be text: not in a comment, CDATA or a
    # processing instruction (in an attribute or a cell's text, "<" is always written &lt;).
    if data.find(b"<!", start) != -1 or data.find(b"<?", start) != -1:
        return None
    return data[: end + len(ROW_END)] + b"</sheetData></worksheet>"


def rows_digest(rows):
    """A digest of (row number, cells) pairs, trailing empty cells left out (the whole sheet may be
    wider than its first part)."""
    digest = hashlib.sha256()
    for number, cells in rows:
        cells = list(cells)
        while cells and cells[-1] == "":
            cells.pop()
        digest.update(repr((number, cells)).encode())
    return digest.hexdigest()
