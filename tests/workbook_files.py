"""Workbooks built byte by byte for the tests, hostile ones included: an .xlsx from the XML of its sheet
(and shared strings), and a minimal .xls (BIFF8 in an OLE2 compound file) that python-calamine reads.
"""

import struct
import zipfile

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="花名册" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_END = "</sheetData></worksheet>"


def text(reference, value):
    """An inline-string cell."""
    return f'<c r="{reference}" t="inlineStr"><is><t>{value}</t></is></c>'


def write_xlsx(path, sheet_data, *, shared_strings=None, extra_parts=(), compresslevel=None):
    """An .xlsx whose first sheet's <sheetData> is `sheet_data` (a str, or an iterable of str or bytes,
    written piece by piece: never whole in memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", PACKAGE_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(SHEET_START.encode())
            for piece in [sheet_data] if isinstance(sheet_data, str) else sheet_data:
                sheet.write(piece if isinstance(piece, bytes) else piece.encode())
            sheet.write(SHEET_END.encode())
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
        for name, data in extra_parts:
            archive.writestr(name, data)
    return path


ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
SECTOR = 512


def record(kind, data=b""):
    return struct.pack("<HH", kind, len(data)) + data


def text_cell(row, column, text):
    encoded = text.encode("utf-16-le")
    return record(0x0204, struct.pack("<HHHHB", row, column, 15, len(text), 1) + encoded)


def number_cell(row, column, value):
    return record(0x0203, struct.pack("<HHHd", row, column, 15, value))


def workbook_stream(rows, *, dimensions=None, sheet_name="花名册"):
    """`rows`: lists of str or numbers from row 0. `dimensions` (first row, last row + 1, first
    column, last column + 1) overrides what the sheet declares."""
    name = sheet_name.encode("utf-16-le")
    globals_part = [
        record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 0)),
        record(0x0042, struct.pack("<H", 1200)),
    ]
    boundsheet_at = sum(len(part) for part in globals_part)
    boundsheet = record(0x0085, struct.pack("<IBBBB", 0, 0, 0, len(sheet_name), 1) + name)
    eof = record(0x000A)
    sheet_start = boundsheet_at + len(boundsheet) + len(eof)
    boundsheet = record(0x0085, struct.pack("<IBBBB", sheet_start, 0, 0, len(sheet_name), 1) + name)
    width = max((len(row) for row in rows), default=0)
    first_row, last_row, first_column, last_column = dimensions or (0, len(rows), 0, width)
    sheet = [
        record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0, 0, 0, 0)),
        record(0x0200, struct.pack("<IIHHH", first_row, last_row, first_column, last_column, 0)),
    ]
    for row_number, row in enumerate(rows):
        for column, value in enumerate(row):
            if value in ("", None):
                continue
            if isinstance(value, str):
                sheet.append(text_cell(row_number, column, value))
            else:
                sheet.append(number_cell(row_number, column, float(value)))
    sheet.append(eof)
    stream = b"".join([*globals_part, boundsheet, eof, *sheet])
    # At least 4096 bytes: a smaller stream would live in the mini stream.
    return stream + b"\0" * max(0, 4096 - len(stream))


def compound_file(stream, name="Workbook"):
    """An OLE2 compound file (version 3) holding one stream."""
    sectors = -(-len(stream) // SECTOR)
    if sectors + 2 > SECTOR // 4:
        raise ValueError("stream too large for this little writer")
    fat = [FATSECT] + [index + 2 for index in range(sectors - 1)] + [ENDOFCHAIN, ENDOFCHAIN]
    fat += [FREESECT] * (SECTOR // 4 - len(fat))
    directory_sector = sectors + 1
    header = b"".join(
        [
            bytes.fromhex("D0CF11E0A1B11AE1"),
            b"\0" * 16,
            struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6),
            b"\0" * 6,
            struct.pack("<IIIIIIIII", 0, 1, directory_sector, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0),
            struct.pack("<I", 0) + struct.pack("<I", FREESECT) * 108,
        ]
    )

    def entry(entry_name, kind, start, size, child=NOSTREAM):
        encoded = (entry_name + "\0").encode("utf-16-le") if entry_name else b""
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(encoded), kind, 1, NOSTREAM, NOSTREAM, child)
            + b"\0" * 16
            + struct.pack("<I", 0)
            + b"\0" * 16
            + struct.pack("<IQ", start, size)
        )

    directory = entry("Root Entry", 5, ENDOFCHAIN, 0, child=1) + entry(name, 2, 1, len(stream))
    directory += entry("", 0, 0, 0) * 2
    body = struct.pack(f"<{SECTOR // 4}I", *fat) + stream.ljust(sectors * SECTOR, b"\0") + directory
    return header + body


def write_xls(path, rows, **options):
    path.write_bytes(compound_file(workbook_stream(rows, **options)))
    return path
