"""The first rows of a large .xlsx, checked by the importing process while the reader parses the
whole (students/roster/early.py): the same rows and problems as a file read in one place, each row
checked once, and the whole left to the reader whenever the first part is in any doubt.

The files are small: APART_MIN_BYTES is lowered and the first part is half the sheet.
"""

import multiprocessing
import os
import zipfile

import pytest

from students.models import Status, Student
from students.roster import apart, early, validate
from students.roster.importer import import_file, prepare
from students.roster.reader import between, numbered
from tests.roster_helpers import pupil, write_file
from tests.test_roster_apart import room, rows_of  # noqa: F401 (room: a fixture)

OPTIONS = {"create_classes": False, "national_load": False}
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@pytest.fixture
def halves(monkeypatch):
    """Every .xlsx read apart, its first half checked here: the rows checked here are counted."""
    monkeypatch.setattr(apart, "APART_MIN_BYTES", 0)
    monkeypatch.setattr(validate, "PARALLEL_CHUNK", 4)
    monkeypatch.setattr(early, "FIRST_PART", 0.5)
    checked_here = []
    original = early.FirstPart.checked

    def counted(self):
        chunks = original(self)
        checked_here.extend(row.number for chunk in chunks for row in chunk)
        return chunks

    monkeypatch.setattr(early.FirstPart, "checked", counted)
    return checked_here


@pytest.fixture
def reader_from(monkeypatch, tmp_path):
    """The row from which the reader's processes check, as the reader (a forked process) says."""
    said = tmp_path / "from_row"
    original = apart.row_ranges

    def noted(plan, workers, from_row=None):
        said.write_text(repr(from_row))
        return original(plan, workers, from_row)

    monkeypatch.setattr(apart, "row_ranges", noted)
    return lambda: said.read_text()


@pytest.mark.usefixtures("room")
def test_the_first_rows_checked_here_and_the_rest_apart_give_the_rows_and_problems_of_one_reading(
    transactional_db, tmp_path, school, registrar, halves, reader_from
):
    # A problem in each half, and a row of the first half repeated in the second.
    rows = [pupil(n, **({"民族": "火星族"} if n in (3, 33) else {})) for n in range(1, 41)] + [pupil(5)]
    path = write_file(tmp_path / "roster.xlsx", rows)
    here = prepare(path, scope=school, by=registrar)
    apart_plan = prepare(path, scope=school, by=registrar, processes=1)
    assert rows_of(apart_plan) == rows_of(here)
    assert [row.number for row in apart_plan.invalid_rows] == [4, 6, 34, 42]
    # The first rows were checked here, the rest by the reader's process, each once.
    assert 2 in halves and 42 not in halves
    assert reader_from() == str(max(halves) + 1)
    assert sorted(row.number for row in apart_plan.rows) == list(range(2, 43))
    assert multiprocessing.active_children() == []


@pytest.mark.usefixtures("room")
def test_the_command_writes_the_first_rows_and_the_rest(transactional_db, tmp_path, school, halves):
    path = write_file(tmp_path / "roster.xlsx", [pupil(n) for n in range(1, 31)])
    _plan, batch = import_file(path, scope=school, processes=1)
    assert halves and max(halves) < 31
    assert Student.objects.filter(status=Status.ENROLLED).count() == 30
    assert batch.new_count == 30
    assert multiprocessing.active_children() == []


@pytest.mark.usefixtures("room")
def test_a_reader_that_finds_its_first_rows_otherwise_checks_them_all(
    transactional_db, tmp_path, school, registrar, halves, reader_from, monkeypatch
):
    """As when a row numbered above the cut is written after it: the first part's rows are let go."""
    importer = os.getpid()
    digest = early.rows_digest
    monkeypatch.setattr(
        early, "rows_digest", lambda rows: digest(rows) + ("" if os.getpid() == importer else "other")
    )
    path = write_file(tmp_path / "roster.xlsx", [pupil(n) for n in range(1, 21)] + [pupil(3)])
    here = prepare(path, scope=school, by=registrar)
    apart_plan = prepare(path, scope=school, by=registrar, processes=1)
    assert halves and reader_from() == "None"
    assert rows_of(apart_plan) == rows_of(here)
    assert multiprocessing.active_children() == []


def test_the_first_part_holds_whole_rows_and_its_digest_is_the_whole_sheets(
    db, tmp_path, school, registrar, monkeypatch
):
    monkeypatch.setattr(early, "FIRST_PART", 0.5)
    path = write_file(tmp_path / "roster.xlsx", [pupil(n) for n in range(1, 41)])
    options = {**OPTIONS, "scope": school, "by": registrar}
    first = early.first_part(path, options, validate.schools_in_scope(school))
    assert 3 < first.next_row < 42
    numbers = [row.number for chunk in first.checked() for row in chunk]
    assert numbers == list(range(2, first.next_row))
    whole = apart.parse_xlsx(path)
    assert early.rows_digest(between(numbered(whole), 1, first.next_row)) == first.digest
    assert early.rows_digest(between(numbered(whole), 1, first.next_row + 1)) != first.digest


def rewritten(path, target, change):
    """A copy of the workbook at `path` at `target`, its sheet's XML passed through `change`."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            copy.writestr(info, change(data) if info.filename == "xl/worksheets/sheet1.xml" else data)
    return target


@pytest.mark.parametrize(
    "change",
    [
        # XML in which "</row>" may be text, where the cut could fall inside it.
        lambda xml: xml.replace(b"</row>", b"</row><!-- </row> -->", 1),
        lambda xml: xml.replace(b"<t>", b"<t><![CDATA[</row>]]>", 1),
        lambda xml: xml.replace(b"</row>", b"</row><?note </row>?>", 1),
    ],
    ids=["comment", "cdata", "instruction"],
)
def test_a_sheet_whose_rows_may_hide_their_ends_is_read_whole(
    db, tmp_path, school, registrar, change, monkeypatch
):
    monkeypatch.setattr(early, "FIRST_PART", 0.5)
    path = write_file(tmp_path / "roster.xlsx", [pupil(n) for n in range(1, 41)])
    options = {**OPTIONS, "scope": school, "by": registrar}
    assert early.first_part(path, options, {}) is not None
    assert early.first_part(rewritten(path, tmp_path / "odd.xlsx", change), options, {}) is None


def test_a_workbook_of_two_sheets_is_read_whole(db, tmp_path, school, registrar, monkeypatch):
    monkeypatch.setattr(early, "FIRST_PART", 0.5)
    path = write_file(tmp_path / "roster.xlsx", [pupil(n) for n in range(1, 41)])
    two = tmp_path / "two.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(two, "w") as copy:
        for info in source.infolist():
            copy.writestr(info, source.read(info))
        copy.writestr("xl/worksheets/sheet2.xml", source.read("xl/worksheets/sheet1.xml"))
    options = {**OPTIONS, "scope": school, "by": registrar}
    assert early.first_part(path, options, {}) is not None
    assert early.first_part(two, options, {}) is None


def test_a_workbook_whose_shared_strings_outweigh_the_first_part_is_read_whole(
    db, tmp_path, school, registrar, monkeypatch
):
    """The copy would parse them all again: as long as the reader takes for them, for nothing."""
    monkeypatch.setattr(early, "FIRST_PART", 0.5)
    path = write_file(tmp_path / "roster.xlsx", [pupil(n) for n in range(1, 41)])
    options = {**OPTIONS, "scope": school, "by": registrar}
    assert early.first_part(path, options, {}) is not None
    heavy = tmp_path / "heavy.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(heavy, "w") as copy:
        sheet = source.getinfo("xl/worksheets/sheet1.xml").file_size
        for info in source.infolist():
            copy.writestr(info, source.read(info))
        # Strings no cell uses, as a file saved by Excel may keep.
        strings = f'<sst xmlns="{MAIN}"><si><t>{"x" * sheet}</t></si></sst>'
        copy.writestr("xl/sharedStrings.xml", strings)
    assert early.first_part(heavy, options, {}) is None
