"""A one-sheet .xlsx written row by row straight into its zip stream: the roster export's writer.

Why not openpyxl or XlsxWriter: a county's export is 100,000 rows of 48 columns, nearly five million
cells. Measured on the 2-core VM (20,000 rows × 48 text and number cells, the same machine and
load): openpyxl's write-only mode 32 s, XlsxWriter's constant-memory mode 16–21 s, this 1.5 s. Both
libraries build an object (a cell, an XML element) per cell; here a row is one string.

What it writes is what the export needs and no more: inline strings (never a formula: text that
starts like one is also given Excel's quote prefix, as the roster always did), numbers, a bold
header on a fill, column widths and text-formatted columns, and the header frozen in view. The
memory used does not grow with the rows (zipfile compresses the sheet as it is written).
"""

import queue
import re
import threading
import zipfile
from xml.sax.saxutils import escape  # the sheet's name

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{SPREADSHEET}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SPREADSHEET}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{SPREADSHEET}.styles+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" '
    f'Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<Relationships xmlns="{PACKAGE}">'
    f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{RELATIONSHIPS}/styles" Target="styles.xml"/></Relationships>'
)
# Cell styles by index: 0 plain, 1 the header (bold on a fill), 2 text format (@), 3 text with the
# quote prefix (text that looks like a formula).
HEADER, TEXT, QUOTED = 1, 2, 3


def styles(fill):
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<styleSheet xmlns="{MAIN}">'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="3"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill>'
        f'<fill><patternFill patternType="solid"><fgColor rgb="FF{fill}"/></patternFill></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>'
        '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" '
        'quotePrefix="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


# Characters XML 1.0 cannot hold (openpyxl refuses them too); the roster's checks keep them out.
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# A text cell around its (escaped) value.
OPEN, CLOSE = '<c t="inlineStr"><is><t>', "</t></is></c>"
SEPARATOR = CLOSE + OPEN
EMPTY_TEXT = (OPEN + CLOSE).encode()
# The < (and the >) of a text cell's markup.
MARKS = (OPEN + CLOSE).count("<")
BLOCK = 256 * 1024
QUEUED_BLOCKS = 4
STYLES = {0: "", HEADER: f' s="{HEADER}"', TEXT: f' s="{TEXT}"', QUOTED: f' s="{QUOTED}"'}


def text_cell(value, style, formula_starts):
    if style == 0 and value.startswith(formula_starts):
        style = QUOTED
    # Most text is printable: the search for illegal characters only when some character is not.
    value = (value if value.isprintable() else ILLEGAL.sub("", value)).translate(ESCAPES)
    space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
    return f'<c t="inlineStr"{STYLES[style]}><is><t{space}>{value}</t></is></c>'


def cell(value, style, formula_starts):
    if value is None or value == "":
        return "<c/>" if not style else f'<c s="{style}"/>'
    if isinstance(value, bool) or not isinstance(value, int | float):
        return text_cell(str(value), style, formula_starts)
    return f"<c><v>{value!r}</v></c>"


class StreamingSheet:
    """Write rows with `append` inside `with StreamingSheet(target, …) as sheet:`.

    `columns`: (header, width, text_format) for each column; text that starts with one of
    `formula_starts` is written with the quote prefix.
    """

    def __init__(self, target, *, name, columns, fill, formula_starts):
        self.target = target
        self.name = name
        self.columns = columns
        self.fill = fill
        self.formula_starts = formula_starts
        # A value that starts with a space or like a formula.
        self.value_start = re.compile("<t>[ " + re.escape("".join(formula_starts)) + "]")

    def __enter__(self):
        self.archive = zipfile.ZipFile(self.target, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self.archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        self.archive.writestr("_rels/.rels", PACKAGE_RELS)
        self.archive.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>'
            f'<sheet name="{escape(self.name)}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        self.archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        self.archive.writestr("xl/styles.xml", styles(self.fill))
        self.sheet = self.archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        text_style = f' style="{TEXT}"'
        widths = "".join(
            f'<col min="{n}" max="{n}" width="{width}" customWidth="1"{text_style if text else ""}/>'
            for n, (_header, width, text) in enumerate(self.columns, start=1)
        )
        self.sheet.write(
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<worksheet xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
                '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
                f"<cols>{widths}</cols><sheetData>"
            ).encode()
        )
        self.rows = 0
        self.pending, self.pending_size = [], 0
        # Blocks waiting to be compressed: a few at most, so memory stays flat.
        self.blocks = queue.Queue(maxsize=QUEUED_BLOCKS)
        self.failure = None
        self.compressor = threading.Thread(target=self._compress, name="xlsx-compress", daemon=True)
        self.compressor.start()
        self.append([header for header, _width, _text in self.columns], style=HEADER)
        return self

    def append(self, values, *, style=0):
        self.rows += 1
        cells = self._plain_cells(values) if style == 0 else None
        if cells is not None:
            # Every value is text that needs no care (the common row): the row is made by one join
            # and one replace instead of a call per cell; an empty value's cell becomes <c/>.
            self._write(f'<row r="{self.rows}">{cells}</row>'.encode().replace(EMPTY_TEXT, b"<c/>"))
            return
        starts = self.formula_starts
        cells = "".join(
            [
                text_cell(value, style, starts)
                if value.__class__ is str and value
                else cell(value, style, starts)
                for value in values
            ]
        )
        self._write(f'<row r="{self.rows}">{cells}</row>'.encode())

    def _plain_cells(self, values):
        """The row's cells when every value is text written as it is (nothing to escape, no
        character XML cannot hold, no outer space to preserve, nothing that starts like a formula),
        else None. Checked on the joined cells: each value stands between <t> and </t>, and the
        markup's own < and > are counted."""
        try:
            cells = OPEN + SEPARATOR.join(values) + CLOSE
        except TypeError:  # a number
            return None
        markup = len(values)
        plain = (
            cells.isprintable()
            and "&" not in cells
            and cells.count("<") == markup * MARKS
            and cells.count(">") == markup * MARKS
            and " </t>" not in cells
            and self.value_start.search(cells) is None
        )
        return cells if plain else None

    def _write(self, data):
        # Rows are handed to the zip stream in blocks: one compression call per block, not per row.
        self.pending.append(data)
        self.pending_size += len(data)
        if self.pending_size >= BLOCK:
            self._flush()

    def _flush(self):
        self.blocks.put(b"".join(self.pending))
        self.pending, self.pending_size = [], 0

    def _compress(self):
        """The second thread's work: compress the blocks into the zip stream (zlib lets the first
        thread make rows meanwhile). After a failure it keeps taking blocks, so that the first
        thread never waits on a full queue; __exit__ raises the failure."""
        while (block := self.blocks.get()) is not None:
            if self.failure is None:
                try:
                    self.sheet.write(block)
                except BaseException as error:
                    self.failure = error

    def __exit__(self, *exc_info):
        self._flush()
        self.blocks.put(None)
        self.compressor.join()
        if self.failure is not None and exc_info[0] is None:
            raise self.failure
        self.sheet.write(b"</sheetData></worksheet>")
        self.sheet.close()
        self.archive.close()
        return False
