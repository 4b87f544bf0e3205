"""The command line's reading of a large .xlsx in a process of its own (students/roster/apart.py):
the same rows and problems as a file read here, the check's refusals as before, a reader that
fails refuses the file, and no process is left behind.

The files are small: APART_MIN_BYTES is lowered. transactional_db: the reader is forked outside any
transaction, as the command forks it.
"""

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from students.models import ImportBatch, Status, Student
from students.roster import apart, validate, workbooks
from students.roster.importer import import_file, prepare
from students.roster.reader import read_roster
from students.roster.validate import RosterInvalid
from students.roster.workbooks import Limits, RosterFileError
from tests.roster_helpers import pupil, write_file
from tests.workbook_files import text, write_xlsx


@pytest.fixture
def read_apart(monkeypatch):
    """Every .xlsx read apart; the calls of _apart counted."""
    monkeypatch.setattr(apart, "APART_MIN_BYTES", 0)
    monkeypatch.setattr(validate, "PARALLEL_CHUNK", 4)
    calls = []
    original = apart._apart

    def counted(*args):
        calls.append(args[0])
        return original(*args)

    monkeypatch.setattr(apart, "_apart", counted)
    return calls


@pytest.fixture
def room(school_class):
    school_class.capacity = 60
    school_class.save()


def rows_of(plan):
    return [(row.number, row.values, row.problems, row.action) for row in plan.rows]


def test_a_file_read_apart_gives_the_rows_and_problems_of_one_read_here(
    transactional_db, tmp_path, school, registrar, room, monkeypatch
):
    rows = [pupil(n) for n in range(1, 31)] + [pupil(31, 民族="火星族"), pupil(5)]
    path = write_file(tmp_path / "roster.xlsx", rows)
    here = prepare(path, scope=school, by=registrar)
    monkeypatch.setattr(apart, "APART_MIN_BYTES", 0)
    monkeypatch.setattr(validate, "PARALLEL_CHUNK", 4)
    for processes in (1, 3):
        read = prepare(path, scope=school, by=registrar, processes=processes)
        assert rows_of(read) == rows_of(here)
        assert read.file_errors == here.file_errors == []
        assert {"warnings": read.warnings} == {"warnings": here.warnings}
    assert multiprocessing.active_children() == []


def test_the_command_writes_a_file_read_apart_or_nothing(
    transactional_db, tmp_path, school, room, read_apart
):
    path = write_file(tmp_path / "roster.xlsx", [pupil(n) for n in range(1, 21)])
    plan, batch = import_file(path, scope=school, processes=1)
    assert read_apart == [path]
    assert [row.number for row in plan.rows] == list(range(2, 22))
    assert Student.objects.filter(status=Status.ENROLLED).count() == 20
    assert (batch.state, batch.new_count) == (ImportBatch.State.DONE, 20)

    bad = write_file(tmp_path / "bad.xlsx", [*[pupil(n) for n in range(21, 40)], pupil(40, 民族="火星族")])
    with pytest.raises(RosterInvalid) as raised:
        import_file(bad, scope=school, processes=2)
    assert Student.objects.count() == 20
    assert [row.number for row in raised.value.plan.invalid_rows] == [21]
    assert multiprocessing.active_children() == []


def test_a_file_the_check_refuses_is_refused_as_before_and_its_reader_ended(
    transactional_db, tmp_path, school, read_apart
):
    path = write_xlsx(tmp_path / "rows.xlsx", '<row r="1048576">' + text("A1048576", "x") + "</row>")
    with pytest.raises(RosterInvalid) as raised:
        import_file(path, scope=school, processes=1)
    assert read_apart == [path]
    assert raised.value.plan.file_errors == [workbooks.too_many_rows(300_000, 1_048_576).message]
    assert not Student.objects.exists() and not ImportBatch.objects.exists()
    assert multiprocessing.active_children() == []


def test_a_file_without_a_header_is_refused_by_the_reader(transactional_db, tmp_path, school, read_apart):
    path = write_xlsx(
        tmp_path / "notes.xlsx", "".join(f'<row r="{n}">{text(f"A{n}", "备注")}</row>' for n in (1, 2))
    )
    with pytest.raises(RosterInvalid) as raised:
        import_file(path, scope=school, processes=1)
    assert read_apart == [path]
    with pytest.raises(RosterFileError) as here:
        read_roster(path)
    assert raised.value.plan.file_errors == [here.value.message]
    assert multiprocessing.active_children() == []


def test_a_reader_that_ends_without_a_word_makes_the_file_refused_as_damaged(
    transactional_db, tmp_path, school, room, read_apart, monkeypatch
):
    """As when calamine fails on a file the check passed, or needs more memory than it may have."""
    monkeypatch.setattr(apart, "parse_xlsx", lambda source: os._exit(3))
    path = write_file(tmp_path / "roster.xlsx", [pupil(1)])
    with pytest.raises(RosterInvalid) as raised:
        import_file(path, scope=school, processes=1)
    assert raised.value.plan.file_errors == [workbooks.damaged().message]
    assert not Student.objects.exists()
    assert multiprocessing.active_children() == []


def _allocate_under_the_limit(size, limits):
    apart.limit_memory(limits)
    try:
        block = bytearray(size)
    except MemoryError:
        os._exit(7)
    os._exit(0 if len(block) == size else 1)


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="the reader is Linux's")
def test_the_readers_memory_is_what_the_largest_sheet_within_the_limits_needs():
    context = multiprocessing.get_context("fork")
    small = Limits(
        rows=10, columns=10, cells=100, cell_chars=10, parts=10, unpacked=1024, shared_strings=1024, ratio=10
    )
    outcomes = []
    for size in (64 * 1024 * 1024, apart.CHECKING_BYTES + 64 * 1024 * 1024):
        process = context.Process(target=_allocate_under_the_limit, args=(size, small))
        process.start()
        process.join()
        outcomes.append(process.exitcode)
    assert outcomes == [0, 7]


def _sleep_with_parent(pids):
    apart._end_with_parent()
    pids.put(os.getpid())
    time.sleep(60)


def _fork_sleeper(pids):
    multiprocessing.get_context("fork").Process(target=_sleep_with_parent, args=(pids,)).start()
    time.sleep(60)


def gone(pid):
    """Ended: no such process, or one waiting only to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="the reader is Linux's")
def test_the_readers_processes_end_with_their_parent_however_it_ends():
    """A process killed for memory cannot end its children: they end with it by themselves."""
    context = multiprocessing.get_context("fork")
    pids = context.Queue()
    parent = context.Process(target=_fork_sleeper, args=(pids,))
    parent.start()
    child = pids.get(timeout=10)
    os.kill(parent.pid, signal.SIGKILL)
    parent.join()
    deadline = time.monotonic() + 5
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not gone(child):
        os.kill(child, signal.SIGKILL)
        pytest.fail("the child outlived its parent")


def test_the_first_rows_go_in_small_chunks():
    """The writing starts on a small chunk and is not left waiting for a full-size second one."""
    sizes = [len(chunk) for chunk in validate.chunked_rows(range(17_500), 5000, first=1000)]
    assert sizes == [1000] * 5 + [5000, 5000, 2500]
    assert [len(chunk) for chunk in validate.chunked_rows(range(7), 4)] == [4, 3]
    assert [len(chunk) for chunk in validate.chunked_rows(range(7), 4, first=1000)] == [4, 3]
