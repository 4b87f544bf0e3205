"""Reads the first visible worksheet of an .xls file for legacy.py, in a process of its own.

Run as `python xls_child.py FILE MEMORY SECONDS ROWS COLUMNS CELLS CELL_CHARS`: it limits its own
address space and CPU time before python-calamine is imported, checks the sheet against the limits
and writes pickled records to stdout: ("sheet", name, end), then each row, then ("end",); or
("refused", what, value) when a limit is passed. Anything else (the process killed by its limits,
an error) makes legacy.py refuse the file. Nothing of Django or of this project is imported here.
"""

import pickle
import resource
import sys


def first_sheet(workbook):
    for metadata in workbook.sheets_metadata:
        if str(metadata.visible).endswith("Visible") and str(metadata.typ).endswith("WorkSheet"):
            return workbook.get_sheet_by_name(metadata.name)
    return workbook.get_sheet_by_index(0)


def main(path, memory, seconds, rows, columns, cells, cell_chars):
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))
    from python_calamine import CalamineWorkbook

    out = sys.stdout.buffer
    # By the content, whatever the file's name says.
    with open(path, "rb") as handle:
        sheet = first_sheet(CalamineWorkbook.from_filelike(handle))
    end = sheet.end
    if end is not None:
        height, width = end[0] + 1, end[1] + 1
        for what, value, limit in (("rows", height, rows), ("columns", width, columns)):
            if value > limit:
                pickle.dump(("refused", what, value), out)
                return
        if height * width > cells:
            pickle.dump(("refused", "cells", height * width), out)
            return
    pickle.dump(("sheet", sheet.name, end), out)
    for row in sheet.iter_rows():
        if any(cell.__class__ is str and len(cell) > cell_chars for cell in row):
            pickle.dump(("refused", "cell_chars", cell_chars), out)
            return
        pickle.dump(row, out)
    pickle.dump(("end",), out)


if __name__ == "__main__":
    main(sys.argv[1], *(int(argument) for argument in sys.argv[2:]))
