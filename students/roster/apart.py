"""A file read and checked row by row: `checked_file`. The command line reads a large .xlsx apart,
in a process of its own, while this one checks the file whole and then writes.

python-calamine parses a sheet whole and must not be given a file that workbooks.check_workbook
has not passed: a small hostile file can ask it for gigabytes. In one process the check (about
0.9 s for a county's 100,000 rows) and the parse (about 2 s) take turns on one core while the other
has nothing to do. Read apart, a forked process (the reader) parses at once, its address space
limited to what the largest file within the limits can need (RLIMIT_AS), so that a file the check
is about to refuse cannot take the machine's memory; and it reads nothing out of the sheet before
this process, having checked the file, says so. A refusal ends the reader and is reported exactly
as it would be without it. Once the file has passed, this process reads and checks the first rows
itself from a copy of the sheet's first tenth (early.py) while the reader parses on; the reader
finds the header and sends it here, then forks the processes that check the rows (validate.
check_range, at a lower priority than the writing) from where that copy ends, if its rows are
exactly the reader's, else from the top; they send their chunks here as checked_chunks'
processes do. The parsed sheet never enters this process. The reader and its processes are one
process group, ended together whatever happens here, and they end with their parent however it ends.
"""

import ctypes
import gc
import logging
import multiprocessing
import os
import resource
import signal
from contextlib import contextmanager, suppress
from itertools import chain

from django.db import connections
from django.utils import timezone

from students.roster import early, validate
from students.roster.reader import RosterSheet, between, find_header, numbered, parse_xlsx, read_roster
from students.roster.validate import Plan, checked_chunks, row_ranges, schools_in_scope, start_plan
from students.roster.workbooks import Limits, RosterFileError, check_workbook, damaged

logger = logging.getLogger(__name__)

# Smaller files are read here: a county's 100,000 rows take 13 MB, the 20,000 rows from which
# validate checks in forked processes about 2.6 MB.
APART_MIN_BYTES = 2 * 1024 * 1024
# The reader's room beyond what it has mapped when forked: the grid of the largest sheet within the
# limits (calamine holds each cell in 32 bytes, and the text of a short one in 16 more), the text
# of the largest archive, and the checking of its rows.
CELL_BYTES = 48
CHECKING_BYTES = 512 * 1024 * 1024
PR_SET_PDEATHSIG = 1


@contextmanager
def checked_file(source, *, processes=0, **options):
    """(plan, chunks): the Plan of the file at `source` (`options` as start_plan's), and an iterator
    of lists of its checked rows as checked_chunks gives them; chunks is None when the file is
    refused (plan.file_errors say why).

    With `processes` ≥ 1 a large .xlsx given by its path is read apart (see above) and its rows are
    checked by that many processes; any other file is read here, its rows checked by checked_chunks
    (in `processes` forked processes if it is large). Enter before opening a transaction."""
    if processes >= 1 and readable_apart(source):
        with _apart(source, processes, options) as pair:
            yield pair
        return
    try:
        sheet = read_roster(source)
    except RosterFileError as error:
        yield refused(source, options, error.message), None
        return
    plan = start_plan(sheet, **options)
    if plan.file_errors:
        yield plan, None
        return
    with checked_chunks(sheet, plan, processes=processes) as chunks:
        yield plan, chunks


def refused(source, options, message):
    """The Plan of a file refused whole."""
    plan = Plan(
        source=source,
        scope=options["scope"],
        by=options.get("by"),
        today=options.get("today") or timezone.localdate(),
    )
    plan.file_errors.append(message)
    return plan


def readable_apart(source):
    """Whether `source` is read apart: a path to an .xlsx (a zip) of APART_MIN_BYTES or more, on a
    system that tells a process's size (Linux), when this process may fork (validate.can_fork)."""
    if hasattr(source, "read") or not os.path.exists("/proc/self/statm") or not validate.can_fork():
        return False
    try:
        with open(source, "rb") as handle:
            return handle.read(2) == b"PK" and os.fstat(handle.fileno()).st_size >= APART_MIN_BYTES
    except OSError:
        return False


@contextmanager
def _apart(source, processes, options):
    workers = min(processes, validate.MOST_PROCESSES)
    schools = schools_in_scope(options["scope"])
    # The reader must not inherit (and later close) this process's database connection.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    channels = [context.Queue() for _ in range(workers)]
    go_in, go_out = context.Pipe(duplex=False)
    header_in, header_out = context.Pipe(duplex=False)
    pipes = (go_in, go_out, header_in, header_out)
    reader = context.Process(
        target=_read, args=(source, options, schools, pipes, channels), name="roster-reader"
    )
    reader.start()
    # Its own group, set from both sides: whichever runs first, the group exists before it forks.
    _join_group(reader.pid)
    go_in.close()
    header_out.close()
    try:
        try:
            check_workbook(source)
        except RosterFileError as error:
            yield refused(source, options, error.message), None
            return
        # The first rows, read and checked here while the reader parses the whole (early.py).
        first = early.first_part(source, options, schools)
        checked_first = None
        try:
            go_out.send(("go", first.next_row, first.digest) if first else ("go", None, None))
            if first:
                checked_first = first.checked()
            kind, said, *more = header_in.recv()
        except (EOFError, BrokenPipeError):
            # The reader ended without a word: calamine failed on a file the check passed, or
            # needed more memory than any file within the limits may.
            logger.info("The roster reader ended with status %s", reader.exitcode)
            kind, said = "refused", damaged().message
        if kind == "refused":
            yield refused(source, options, said), None
            return
        plan = start_plan(RosterSheet.from_header(source, said), **options)
        plan.schools = schools
        if plan.file_errors:
            yield plan, None
            return
        chunks = validate.receiving(plan, [(reader, channel) for channel in channels])
        from_row = more[0] if more else None
        if from_row is not None:
            # The reader found its rows above the first part's end the same: it checks from there.
            chunks = chain(checked_first, chunks)
        yield plan, chunks
    finally:
        go_out.close()
        header_in.close()
        _end(reader)


def _join_group(pid):
    # PermissionError: it has made its group already; ProcessLookupError: it has ended already.
    with suppress(PermissionError, ProcessLookupError):
        os.setpgid(pid, pid)


def _end(reader):
    """End the reader and every process it forked (all done by now, unless something failed)."""
    for kill in (lambda: os.killpg(reader.pid, signal.SIGKILL), reader.kill):
        with suppress(ProcessLookupError, PermissionError):
            kill()
    reader.join()


def _read(source, options, schools, pipes, channels):
    """The reader (a forked process): parse, wait for the check's verdict, send the header, fork
    the processes that check the rows and wait for them."""
    go_in, go_out, header_in, header_out = pipes
    _join_group(0)
    _end_with_parent()
    go_out.close()
    header_in.close()
    # Millions of small objects and no cycles among them; the processes forked below share its pages.
    gc.disable()
    limit_memory(Limits.current())
    try:
        sheet, problem = parse_xlsx(source), None
    except RosterFileError as error:
        sheet, problem = None, error.message
    try:
        go = go_in.recv()
    except EOFError:
        # The file was refused (or the import ended): nothing to read.
        return
    if not go:
        return
    _go, next_row, digest = go
    if problem is None:
        try:
            sheet = find_header(sheet, source)
        except RosterFileError as error:
            problem = error.message
    if problem is not None:
        header_out.send(("refused", problem))
        return
    # The importing process has checked the rows above next_row from a copy of the first part
    # (early.py): if they are exactly these, the rows from next_row on are left to check.
    from_row = None
    if next_row is not None and (
        early.rows_digest(between(numbered(sheet.source_sheet), 1, next_row)) == digest
    ):
        from_row = next_row
    header_out.send(("sheet", sheet.header(), from_row))
    header_out.close()
    plan = start_plan(sheet, **options)
    if plan.file_errors:
        return
    plan.schools = schools
    _check_apart(plan, sheet, channels, from_row)


def _check_apart(plan, sheet, channels, from_row=None):
    """In the reader: fork one process for each channel, each checking one range of rows (from
    `from_row` on, if given)."""
    context = multiprocessing.get_context("fork")
    ranges = row_ranges(plan, len(channels), from_row)
    validate.forked_plan(plan, sheet)
    started = []
    for bounds, channel in zip(ranges, channels, strict=False):
        process = context.Process(target=_check_range, args=(bounds, channel), daemon=True)
        process.start()
        started.append((process, channel))
    # A small sheet may have fewer ranges than there are channels.
    for channel in channels[len(ranges) :]:
        channel.put(("done", None))
    for process, channel in started:
        process.join()
        if process.exitcode != 0:
            channel.put(("failed", f"A process checking the roster ended with status {process.exitcode}."))
    for channel in channels:
        channel.close()
        channel.join_thread()


def _check_range(bounds, channel):
    _end_with_parent()
    validate.check_range(bounds, channel)


def _end_with_parent():
    """Be killed when the parent ends, however it ends (killed for memory, say): the reader's group
    hears no signal meant for the import, and a checking process whose chunks nobody reads would
    wait for ever. Linux's PR_SET_PDEATHSIG; elsewhere nothing is read apart."""
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        # The parent ended before the request was made.
        os._exit(1)


def limit_memory(limits):
    """Limit this process's address space to what it has mapped and what the largest sheet within
    `limits` needs: past it calamine's allocation fails (and the process ends) rather than the
    machine's memory running out."""
    with open("/proc/self/statm") as statm:
        mapped = int(statm.read().split()[0]) * resource.getpagesize()
    room = limits.cells * CELL_BYTES + limits.unpacked + CHECKING_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (mapped + room, mapped + room))
