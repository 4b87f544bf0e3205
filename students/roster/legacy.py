"""The legacy .xls format, read in a child process with a ceiling on memory and CPU time.

calamine's .xls reader trusts the counts and sizes an .xls file declares (the compound file's
sectors and chains, a sheet's DIMENSIONS, the number of shared strings): a file of a few kilobytes
can make it reserve gigabytes, which ends the process rather than raising, or loop. So xls_child.py
reads the file in a process of its own whose address space and CPU time are limited
(ROSTER_XLS_MEMORY_BYTES, ROSTER_XLS_SECONDS), applies the sheet limits of workbooks.py and sends
the rows back; when it is killed, fails or runs out of time, the file is refused.
"""

import logging
import pickle
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from students.roster.workbooks import (
    RosterFileError,
    cell_too_long,
    too_many_cells,
    too_many_columns,
    too_many_rows,
)

logger = logging.getLogger(__name__)

CHILD = Path(__file__).with_name("xls_child.py")


@dataclass
class LoadedSheet:
    """A sheet read by the child: what reader.py asks of a python-calamine sheet."""

    name: str
    end: tuple | None
    rows: list = field(repr=False)

    def iter_rows(self):
        return iter(self.rows)


def read_xls(source, limits):
    """The first visible worksheet of the .xls `source` (a path or a binary file), or RosterFileError."""
    config = settings.REGISTRAR
    memory, seconds = config["ROSTER_XLS_MEMORY_BYTES"], config["ROSTER_XLS_SECONDS"]
    with as_path(source) as path:
        command = [
            sys.executable,
            "-I",
            str(CHILD),
            str(path),
            *(str(value) for value in (memory, seconds, limits.rows, limits.columns, limits.cells)),
            str(limits.cell_chars),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=2 * seconds + 5, check=False)
        except subprocess.TimeoutExpired as error:
            logger.info("An .xls file took too long to read: %s", path)
            raise unreadable(memory, seconds) from error
    if done.returncode != 0:
        logger.info("An .xls file could not be read (exit %s): %s", done.returncode, done.stderr[-2000:])
        raise unreadable(memory, seconds)
    # One unpickler a record: each was pickled on its own (its memo starts afresh).
    records = BytesIO(done.stdout)
    first = pickle.load(records)
    if first[0] == "refused":
        raise refusal(first[1], first[2], limits)
    _kind, name, end = first
    rows = []
    while True:
        record = pickle.load(records)
        if isinstance(record, tuple):
            if record[0] == "refused":
                raise refusal(record[1], record[2], limits)
            break
        rows.append(record)
    return LoadedSheet(name=name, end=end, rows=rows)


def refusal(what, value, limits):
    if what == "rows":
        return too_many_rows(limits.rows, value)
    if what == "columns":
        return too_many_columns(limits.columns, value)
    if what == "cells":
        return too_many_cells(limits.cells)
    return cell_too_long(limits.cell_chars)


def unreadable(memory, seconds):
    return RosterFileError(
        _(
            "The .xls file could not be read within %(memory)s of memory and %(seconds)d seconds: it is "
            "damaged or far larger than a roster. Open it in Excel or WPS, save it as an Excel workbook "
            "(.xlsx) and upload that."
        )
        % {"memory": filesizeformat(memory), "seconds": seconds}
    )


@contextmanager
def as_path(source):
    """A path to the file: `source` itself, or a temporary copy of a binary file."""
    if not hasattr(source, "read"):
        yield source
        return
    with tempfile.NamedTemporaryFile(suffix=".xls") as copy:
        source.seek(0)
        shutil.copyfileobj(source, copy)
        copy.flush()
        yield copy.name
