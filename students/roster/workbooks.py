"""What a roster workbook may be before it is parsed: any file is read or refused in bounded memory and time.

python-calamine parses a worksheet whole into a grid of rows × columns (about 32 bytes a cell, empty
or not) and holds every shared string; a file of a few kilobytes can ask it for gigabytes, or kill
the process. So before it sees a file, `check_workbook`:
- tells the format by the content, whatever the name says: an .xlsx is a zip archive holding
  xl/workbook.xml, an .xls an OLE2 compound file; anything else (a CSV or a web page renamed .xlsx)
  is refused;
- .xlsx: the archive as listed (number of parts, what they unpack to, the compression ratio of each
  part of more than a megabyte, the size of xl/sharedStrings.xml, which is held in memory whole);
  then every part calamine reads, decompressed here as a stream from the very bytes calamine will
  read (so a part cannot unpack to more than it declares): no run of text between two tags longer
  than a cell may be, and in each sheet at most so many rows, columns and cells, found as calamine
  places them (by each cell's reference, else by counting);
- .xls: nothing here; legacy.py reads it in a child process with a ceiling on memory and CPU time.
The limits are settings (settings.REGISTRAR, ROSTER_*). A refusal is a RosterFileError whose message
names the limit, in the user's language; nothing of the library's own text reaches the page.
"""

import logging
import re
import struct
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from students.errors import StudentError

logger = logging.getLogger(__name__)

XLSX, XLS = "xlsx", "xls"
OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
# Read and decompressed a megabyte at a time.
CHUNK = 1 << 20
# Parts smaller than this may compress as well as they like (a sheet of empty rows does).
RATIO_GRACE = 1 << 20
# The parts calamine reads besides the sheets (it finds them by name, ignoring case).
SHARED_STRINGS = "xl/sharedstrings.xml"
TEXT_PARTS = {SHARED_STRINGS, "xl/styles.xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"}
SHEET_FOLDERS = ("xl/worksheets/", "xl/chartsheets/", "xl/dialogsheets/")
LOCAL_HEADER = struct.Struct("<4s22xHH")
CONTINUATION_BYTES = bytes(range(0x80, 0xC0))


class RosterFileError(StudentError):
    """The file as a whole cannot be read or is refused: not a workbook, beyond a limit, no header,
    required columns missing."""


@dataclass(frozen=True)
class Limits:
    rows: int
    columns: int
    cells: int
    cell_chars: int
    parts: int
    unpacked: int
    shared_strings: int
    ratio: int

    @classmethod
    def current(cls):
        config = settings.REGISTRAR
        return cls(
            rows=config["ROSTER_MAX_ROWS"],
            columns=config["ROSTER_MAX_COLUMNS"],
            cells=config["ROSTER_MAX_CELLS"],
            cell_chars=config["ROSTER_MAX_CELL_CHARS"],
            parts=config["ROSTER_MAX_PARTS"],
            unpacked=config["ROSTER_MAX_UNPACKED_BYTES"],
            shared_strings=config["ROSTER_MAX_SHARED_STRINGS_BYTES"],
            ratio=config["ROSTER_MAX_RATIO"],
        )


# --- the messages ---------------------------------------------------------------------------------


def not_a_workbook():
    return RosterFileError(
        _(
            "The file is not an Excel workbook (.xlsx or .xls): it may be a CSV file or a web page with "
            "an Excel name. Open it in Excel or WPS, save it as an Excel workbook (.xlsx) and upload that."
        )
    )


def damaged():
    return RosterFileError(
        _(
            "The workbook is damaged and cannot be read. Open it in Excel or WPS, save it again as an "
            "Excel workbook (.xlsx) and upload that."
        )
    )


def encrypted():
    return RosterFileError(
        _("The workbook is protected by a password. Remove the password in Excel or WPS and upload it again.")
    )


def too_many_rows(limit, row):
    return RosterFileError(
        _(
            "A sheet of the workbook goes down to row %(row)s, beyond the limit of %(limit)s rows. Split "
            "the file, or delete the empty rows below the roster (formatting included)."
        )
        % {"row": f"{row:,}", "limit": f"{limit:,}"}
    )


def too_many_columns(limit, column):
    return RosterFileError(
        _(
            "A sheet of the workbook uses column %(column)s, beyond the limit of %(limit)s columns. Delete "
            "the columns to the right of the roster (formatting included) and upload it again."
        )
        % {"column": column_name(column), "limit": f"{limit:,}"}
    )


def too_many_cells(limit):
    return RosterFileError(
        _(
            "A sheet of the workbook spans more than %(limit)s cells (rows × columns). Delete the empty "
            "rows and columns around the roster (formatting included), or split the file."
        )
        % {"limit": f"{limit:,}"}
    )


def cell_too_long(limit):
    return RosterFileError(
        _("A cell of the workbook holds more than %(limit)s characters: shorten it and upload it again.")
        % {"limit": f"{limit:,}"}
    )


def too_large(limit):
    return RosterFileError(
        _(
            "The workbook unpacks to more than %(limit)s, far more than a roster needs. Delete what is not "
            "the roster (other sheets, pictures) or split the file."
        )
        % {"limit": filesizeformat(limit)}
    )


def too_many_parts(limit):
    return RosterFileError(
        _(
            "The workbook is made of more than %(limit)s parts, far more than a roster needs. Copy the "
            "roster into a new workbook and upload that."
        )
        % {"limit": f"{limit:,}"}
    )


def too_compressed(limit):
    return RosterFileError(
        _(
            "A part of the workbook unpacks to more than %(limit)s times its size in the file; Excel does "
            "not write a roster like that, so the file is refused."
        )
        % {"limit": f"{limit:,}"}
    )


def column_name(number):
    """1 → A, 27 → AA, 16384 → XFD."""
    name = ""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        name = chr(65 + remainder) + name
    return name


# --- the format -----------------------------------------------------------------------------------


@contextmanager
def binary(source):
    """`source` (a path or a binary file) open for reading from the start."""
    if hasattr(source, "read"):
        source.seek(0)
        yield source
        source.seek(0)
        return
    with open(source, "rb") as handle:
        yield handle


def check_workbook(source, limits=None):
    """The format of `source` ("xlsx" or "xls"), or a RosterFileError; an .xlsx is checked whole."""
    limits = limits or Limits.current()
    with binary(source) as handle:
        head = handle.read(8)
        handle.seek(0)
        if head.startswith(b"PK"):
            check_xlsx(handle, limits)
            return XLSX
    if head == OLE_SIGNATURE:
        return XLS
    raise not_a_workbook()


# --- .xlsx ----------------------------------------------------------------------------------------


def check_xlsx(handle, limits):
    try:
        with zipfile.ZipFile(handle) as archive:
            check_archive(archive, limits)
    except RosterFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError) as error:
        # The library's words go to the log; the page says what to do.
        logger.info("Roster workbook refused as damaged: %s", error)
        raise damaged() from error


def check_archive(archive, limits):
    parts = [info for info in archive.infolist() if not info.is_dir()]
    if len(parts) > limits.parts:
        raise too_many_parts(limits.parts)
    names = {info.filename.lower() for info in parts}
    if "xl/workbook.xml" not in names:
        # A zip, but no Excel workbook: an .xlsb, an .ods, a .docx, an archive of something else.
        raise not_a_workbook()
    if sum(info.file_size for info in parts) > limits.unpacked:
        raise too_large(limits.unpacked)
    for info in parts:
        if info.flag_bits & 0x1:
            raise encrypted()
        if info.file_size > RATIO_GRACE and info.file_size > limits.ratio * max(info.compress_size, 1):
            raise too_compressed(limits.ratio)
        if info.filename.lower() == SHARED_STRINGS and info.file_size > limits.shared_strings:
            raise too_large(limits.shared_strings)
    for info in parts:
        name = info.filename.lower()
        if name.startswith(SHEET_FOLDERS):
            scan = SheetScan(limits)
        elif name in TEXT_PARTS:
            scan = TextScan(limits)
        else:
            # Pictures and the like: calamine does not read them; only their size counts.
            scan = None
        for chunk in unpacked(archive, info):
            if scan is not None:
                scan.feed(chunk)
        if scan is not None:
            scan.close()


def unpacked(archive, info):
    """The part's bytes, a chunk at a time, decompressed here from the bytes calamine reads.

    Not through zipfile.open: it stops at the size the part declares, while the compressed stream
    may go on (and calamine would read on). Here a part that unpacks to more or less than it
    declares, or whose CRC differs, is damaged.
    """
    archive.fp.seek(info.header_offset)
    signature, name_length, extra_length = LOCAL_HEADER.unpack(archive.fp.read(LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad local header")
    archive.fp.seek(info.header_offset + LOCAL_HEADER.size + name_length + extra_length)
    if info.compress_type == zipfile.ZIP_STORED:
        decompressor = None
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
    else:
        raise zipfile.BadZipFile(f"compression {info.compress_type}")
    left, produced, crc = info.compress_size, 0, 0
    while left > 0 or (decompressor is not None and decompressor.unconsumed_tail):
        if decompressor is not None and decompressor.unconsumed_tail:
            data = decompressor.unconsumed_tail
        else:
            data = archive.fp.read(min(CHUNK, left))
            if not data:
                raise EOFError("truncated part")
            left -= len(data)
        chunk = data if decompressor is None else decompressor.decompress(data, CHUNK)
        produced += len(chunk)
        if produced > info.file_size:
            raise zipfile.BadZipFile("part larger than declared")
        crc = zlib.crc32(chunk, crc)
        if chunk:
            yield chunk
        if decompressor is not None and decompressor.eof:
            break
    if decompressor is not None and not decompressor.eof:
        raise zipfile.BadZipFile("deflate stream not finished")
    if produced != info.file_size or crc != info.CRC:
        raise zipfile.BadZipFile("size or CRC differs")


class TextScan:
    """An XML part as a stream: no run of text between two tags longer than a cell may be.

    Each chunk is cut before its last "<"; the rest waits for the next chunk, so that every segment
    handed on holds whole tags. Segments are (bytes, start, end), read in place. A run longer than
    the limit in bytes is measured in characters (UTF-8 continuation bytes do not count; an entity
    such as &amp; counts as its five characters).
    """

    def __init__(self, limits):
        self.limits = limits
        self.limit = limits.cell_chars
        # Any run longer than the limit covers a whole window of this size, aligned on its multiples.
        self.window = max((self.limit + 1) // 2, 1)
        # A run this long is too long in characters whatever they are (at most 4 bytes each).
        self.longest_carry = 4 * self.limit + 256
        self.carry = b""

    def feed(self, chunk):
        first = chunk.find(b"<")
        if first == -1:
            self.carry += chunk
            if len(self.carry) > self.longest_carry:
                raise cell_too_long(self.limit)
            return
        if self.carry or first:
            # The tag left over from the last chunk, with the text after it, up to this chunk's first tag.
            head = self.carry + chunk[:first]
            self.segment(head, 0, len(head))
        last = chunk.rfind(b"<")
        if last > first:
            self.segment(chunk, first, last)
        self.carry = chunk[last:]
        if len(self.carry) > self.longest_carry:
            raise cell_too_long(self.limit)

    def close(self):
        if self.carry:
            self.segment(self.carry, 0, len(self.carry))
            self.carry = b""

    def segment(self, data, start, end):
        self.check_runs(data, start, end)

    def check_runs(self, data, start, end):
        window, limit = self.window, self.limit
        position = start
        while position < end:
            if data.find(b"<", position, min(position + window, end)) != -1:
                position += window
                continue
            run_start = max(data.rfind(b"<", start, position) + 1, start)
            run_end = data.find(b"<", position, end)
            run_end = end if run_end == -1 else run_end
            # The run is a tag's name and attributes, then ">" and its text: each measured alone.
            closing = data.find(b">", run_start, run_end)
            pieces = (run_start, run_end) if closing == -1 else (run_start, closing, closing + 1, run_end)
            for piece_start, piece_end in zip(pieces[::2], pieces[1::2], strict=True):
                piece = data[piece_start:piece_end]
                if len(piece) > limit and len(piece.translate(None, CONTINUATION_BYTES)) > limit:
                    raise cell_too_long(limit)
            position = run_end + 1


# A cell in the form every spreadsheet program writes: `<c r="B7"`, the reference first.
PLAIN_CELL = b'<c r="'
REFERENCE = re.compile(rb'<c r="([A-Za-z]+)([0-9]+)"')
# A cell written otherwise (no reference, or not first), or a prefixed row or cell: read token by token.
OTHER_CELL = re.compile(rb'<c(?=[\s/>])(?! r=")')
PREFIXED = re.compile(rb":(?:c|row)[\s/>]")
TOKEN = re.compile(rb"<(/?)(?:[A-Za-z_][\w.\-]*:)?(row|c)(?=[\s/>])([^>]*)>")
R_ATTRIBUTE = re.compile(rb"""(?:^|\s)r\s*=\s*(["'])([^"']*)\1""")
CELL_REFERENCE = re.compile(rb"([A-Za-z]+)([0-9]+)")
# How often the slow path checks the limits (in tokens).
CHECK_EVERY = 4096


def column_number(letters):
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def above(value, first, other, bigger):
    """A pattern of the strings above `value` when longer is larger and strings of one length compare
    character by character (column letters; row numbers without leading zeros). `first` is the class
    of a first character, `other` of the rest, `bigger(char)` the class of those above `char` (None
    if there is none)."""
    branches = [rb"%s%s{%d,}" % (first, other, len(value))]
    for position, char in enumerate(value):
        larger = bigger(char)
        if larger is not None:
            rest = len(value) - position - 1
            prefix = b"".join(rb"[%c%c]" % (c, c | 0x20) if c >= 65 else bytes([c]) for c in value[:position])
            branches.append(prefix + larger + rb"%s{%d}" % (other, rest))
    return rb"(?:%s)" % b"|".join(branches)


def _bigger_digit(char):
    return rb"[%c-9]" % (char + 1) if char < ord("9") else None


def _bigger_letter(char):
    return rb"[%c-Z%c-z]" % (char + 1, char + 33) if char < ord("Z") else None


def beyond(rows, columns):
    """The cell references with a row above `rows` or a column above `columns`, in one pattern.

    Letters of either case, as calamine reads them; no IGNORECASE, which would make the search for
    the literal start slow."""
    row_digits = str(rows).encode() if rows else b""
    letters = column_name(columns).encode() if columns else b""
    row = above(row_digits, rb"[1-9]", rb"[0-9]", _bigger_digit)
    column = above(letters, rb"[A-Za-z]", rb"[A-Za-z]", _bigger_letter)
    return re.compile(rb'<c r="(?:(%s)[0-9]|[A-Za-z]+0*(%s)")' % (column, row))


class SheetScan(TextScan):
    """A worksheet as a stream: its rows, columns and cells, placed as calamine places them.

    calamine puts a cell at its reference (`r="B7"`), else next to the cell before it, in the row
    its `<row r=…>` or the count of rows says. In the form every spreadsheet program writes, the
    reference comes first in every cell, and the largest row and column are found without looking
    at each cell from Python: the last reference of each segment, then one search for references
    beyond the largest so far. Otherwise the rest of the sheet is read token by token.
    """

    def __init__(self, limits):
        super().__init__(limits)
        self.rows = self.columns = self.cells = 0
        self.pattern = (None, None)
        self.slow = False
        self.row_index = self.column_index = 0

    def segment(self, data, start, end):
        self.check_runs(data, start, end)
        cells = data.count(PLAIN_CELL, start, end)
        if not self.slow and (
            PREFIXED.search(data, start, end)
            or (data.count(b"<c", start, end) != cells and OTHER_CELL.search(data, start, end))
        ):
            # From here on token by token; what came before counts as if its rows were all filled.
            self.slow = True
            self.row_index, self.column_index = self.rows, self.columns
        if self.slow:
            self.tokens(data, start, end)
        elif cells:
            self.cells += cells
            self.references(data, start, end)
        self.check()

    def references(self, data, start, end):
        last = REFERENCE.match(data, data.rfind(PLAIN_CELL, start, end))
        if last is not None:
            self.rows = max(self.rows, int(last[2]))
            self.columns = max(self.columns, column_number(last[1]))
        if self.pattern[0] != (self.rows, self.columns):
            self.pattern = ((self.rows, self.columns), beyond(self.rows, self.columns))
        for match in self.pattern[1].finditer(data, start, end):
            if match[1]:
                self.columns = max(self.columns, column_number(match[1]))
            else:
                self.rows = max(self.rows, int(match[2]))

    def tokens(self, data, start, end):
        for count, match in enumerate(TOKEN.finditer(data, start, end), start=1):
            closing, name, attributes = match[1], match[2], match[3]
            empty = attributes.endswith(b"/")
            if name == b"row":
                if not closing:
                    reference = R_ATTRIBUTE.search(attributes)
                    if reference is not None and reference[2].isdigit():
                        self.row_index = int(reference[2]) - 1
                if closing or empty:
                    self.row_index += 1
                    self.column_index = 0
            elif not closing:
                row, column = self.row_index, self.column_index
                reference = R_ATTRIBUTE.search(attributes)
                parts = CELL_REFERENCE.fullmatch(reference[2]) if reference is not None else None
                if parts is not None:
                    row, column = int(parts[2]) - 1, column_number(parts[1]) - 1
                self.column_index = column + 1
                self.cells += 1
                self.rows = max(self.rows, row + 1)
                self.columns = max(self.columns, column + 1)
            if count % CHECK_EVERY == 0:
                self.check()

    def check(self):
        limits = self.limits
        if self.rows > limits.rows:
            raise too_many_rows(limits.rows, self.rows)
        if self.columns > limits.columns:
            raise too_many_columns(limits.columns, self.columns)
        if self.rows * self.columns > limits.cells or self.cells > limits.cells:
            raise too_many_cells(limits.cells)
