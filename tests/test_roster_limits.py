"""Hostile workbooks: every file is read or refused in bounded memory and time, with a plain message
naming the limit, on the command line and in the browser, and nothing is left behind.

The bombs are built small: the limits are lowered through the settings where a test would otherwise
have to write a large file.
"""

import io
import random
import struct
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from students.models import ImportBatch, Student
from students.roster import workbooks
from students.roster.importer import prepare
from students.roster.reader import read_roster
from students.roster.workbooks import RosterFileError, check_workbook
from tests.roster_helpers import HEADERS, NATIONAL_LOAD, pupil
from tests.workbook_files import text, write_xls, write_xlsx

HAN = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"
    "同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自"
    "二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日"
    "那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气"
)


@pytest.fixture
def lower_limits(settings):
    def lower(**limits):
        settings.REGISTRAR = {
            **settings.REGISTRAR,
            **{f"ROSTER_MAX_{name.upper()}": value for name, value in limits.items()},
        }

    return lower


def refusal(path):
    with pytest.raises(RosterFileError) as refused:
        read_roster(path)
    return refused.value.message


def rows_of(count, columns="A"):
    for row in range(1, count + 1):
        yield f'<row r="{row}">' + "".join(text(f"{column}{row}", "x") for column in columns) + "</row>"


# --- the format -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "姓名,性别,出生日期\n张三,男,2018-03-01\n".encode("gbk"),
        b"<html><body><table><tr><td>\xe5\xa7\x93\xe5\x90\x8d</td></tr></table></body></html>",
        b"",
    ],
    ids=["csv", "html", "empty"],
)
def test_a_csv_or_a_web_page_renamed_xlsx_is_refused_in_plain_words(tmp_path, content):
    path = tmp_path / "花名册.xlsx"
    path.write_bytes(content)
    message = refusal(path)
    assert message == workbooks.not_a_workbook().message
    assert "EOCD" not in message and "Zip" not in message


def test_a_zip_that_is_no_excel_workbook_is_refused(tmp_path):
    path = tmp_path / "roster.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("content.xml", "<office:document/>")
    assert refusal(path) == workbooks.not_a_workbook().message


def test_a_broken_archive_is_damaged_not_a_traceback(tmp_path):
    path = write_xlsx(tmp_path / "roster.xlsx", list(rows_of(3)))
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 40] = b"\0" * 40
    path.write_bytes(bytes(data))
    assert refusal(path) == workbooks.damaged().message


def test_a_part_that_unpacks_to_more_than_it_declares_is_refused(tmp_path):
    """The archive's directory says the sheet is its first 200 bytes (with their CRC): a check that
    trusted it would pass what calamine then reads on to the end of the stream."""
    path = write_xlsx(tmp_path / "roster.xlsx", list(rows_of(2000)))
    name = b"xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as archive:
        declared = archive.read(name.decode())[:200]
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02" + data[data.index(b"PK\x01\x02") + 4 : data.index(b"PK\x01\x02") + 4])
    while data[entry + 46 : entry + 46 + len(name)] != name:
        entry = data.index(b"PK\x01\x02", entry + 1)
    struct.pack_into("<I", data, entry + 16, zipfile.crc32(declared))
    struct.pack_into("<I", data, entry + 24, len(declared))
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        assert archive.read(name.decode()) == declared  # zipfile itself believes it
    assert refusal(path) == workbooks.damaged().message


# --- the archive ----------------------------------------------------------------------------------


def test_a_small_archive_with_a_huge_text_cell_is_refused_before_it_is_read(tmp_path):
    path = write_xlsx(tmp_path / "bomb.xlsx", ['<row r="1">', text("A1", "x" * 5_000_000), "</row>"])
    assert path.stat().st_size < 50_000
    assert refusal(path) == workbooks.too_compressed(100).message


def test_too_many_parts(tmp_path, lower_limits):
    lower_limits(parts=10)
    parts = [(f"xl/media/image{n}.png", b"\x89PNG") for n in range(10)]
    path = write_xlsx(tmp_path / "roster.xlsx", list(rows_of(1)), extra_parts=parts)
    assert refusal(path) == workbooks.too_many_parts(10).message


def test_what_the_archive_unpacks_to(tmp_path, lower_limits):
    lower_limits(unpacked_bytes=50_000)
    path = write_xlsx(tmp_path / "roster.xlsx", list(rows_of(2000)))
    assert refusal(path) == workbooks.too_large(50_000).message


def test_shared_strings_are_held_whole_so_they_have_a_limit_of_their_own(tmp_path, lower_limits):
    lower_limits(shared_strings_bytes=10_000)
    strings = "".join(f"<si><t>{n}{'甲' * 20}</t></si>" for n in range(500))
    shared = f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{strings}</sst>'
    path = write_xlsx(
        tmp_path / "roster.xlsx", '<row r="1"><c r="A1" t="s"><v>0</v></c></row>', shared_strings=shared
    )
    assert refusal(path) == workbooks.too_large(10_000).message


# --- cells, rows and columns as they stream -------------------------------------------------------


def test_a_cell_longer_than_the_limit_is_refused_as_it_streams(tmp_path, lower_limits):
    lower_limits(cell_chars=1000)
    noise = random.Random(7)
    fine = "".join(noise.choice(HAN) for _ in range(1000))
    long = "".join(noise.choice(HAN) for _ in range(1001))
    path = write_xlsx(tmp_path / "fine.xlsx", ['<row r="1">', text("A1", fine), "</row>"])
    # A cell of 1,000 characters passes the limits: what this file lacks is the roster's header.
    assert "表头" in refusal(path)
    path = write_xlsx(tmp_path / "long.xlsx", ['<row r="1">', text("A1", long), "</row>"])
    assert refusal(path) == workbooks.cell_too_long(1000).message


def test_a_long_shared_string_is_refused(tmp_path, lower_limits):
    lower_limits(cell_chars=1000)
    noise = random.Random(8)
    long = "".join(noise.choice(HAN) for _ in range(3000))
    shared = (
        f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>{long}</t></si></sst>'
    )
    path = write_xlsx(
        tmp_path / "roster.xlsx", '<row r="1"><c r="A1" t="s"><v>0</v></c></row>', shared_strings=shared
    )
    assert refusal(path) == workbooks.cell_too_long(1000).message


def test_a_million_one_cell_rows_are_refused(tmp_path, lower_limits):
    lower_limits(rows=1000)
    path = write_xlsx(tmp_path / "rows.xlsx", rows_of(1500))
    assert refusal(path) == workbooks.too_many_rows(1000, 1500).message


def test_the_last_row_of_excel_is_refused_with_the_defaults(tmp_path):
    path = write_xlsx(tmp_path / "rows.xlsx", '<row r="1048576">' + text("A1048576", "x") + "</row>")
    assert refusal(path) == workbooks.too_many_rows(300_000, 1_048_576).message


def test_twenty_thousand_columns_are_refused(tmp_path):
    path = write_xlsx(
        tmp_path / "wide.xlsx",
        [
            '<row r="1">',
            *(f'<c r="{workbooks.column_name(n)}1"><v>1</v></c>' for n in range(1, 20_001)),
            "</row>",
        ],
    )
    assert refusal(path) == workbooks.too_many_columns(256, 20_000).message


def test_more_columns_than_excel_has_are_refused(tmp_path):
    path = write_xlsx(tmp_path / "wide.xlsx", '<row r="1">' + text("AAAA1", "x") + "</row>")
    assert refusal(path) == workbooks.too_many_columns(256, 18_279).message


def test_a_sparse_grid_is_counted_as_calamine_allocates_it(tmp_path):
    """Two cells, rows 1 and 250,000, columns A and IV: within the rows and the columns, but the grid
    calamine would fill is 64 million cells."""
    path = write_xlsx(
        tmp_path / "sparse.xlsx",
        '<row r="1">' + text("A1", "x") + '</row><row r="250000"><c r="IV250000"><v>1</v></c></row>',
    )
    assert refusal(path) == workbooks.too_many_cells(12_000_000).message


def test_cells_without_references_are_placed_as_calamine_places_them(tmp_path, lower_limits):
    wide = write_xlsx(
        tmp_path / "wide.xlsx", "<row>" + '<c t="inlineStr"><is><t>x</t></is></c>' * 300 + "</row>"
    )
    assert refusal(wide) == workbooks.too_many_columns(256, 300).message
    lower_limits(rows=100)
    tall = write_xlsx(tmp_path / "tall.xlsx", "<row><c><v>1</v></c></row>" * 150)
    assert refusal(tall) == workbooks.too_many_rows(100, 150).message


def test_cells_written_again_and_again_count(tmp_path, lower_limits):
    lower_limits(cells=1000)
    path = write_xlsx(tmp_path / "same.xlsx", '<row r="1">' + '<c r="A1"><v>1</v></c>' * 2000 + "</row>")
    assert refusal(path) == workbooks.too_many_cells(1000).message


def test_a_county_file_of_200000_rows_fits_the_default_limits(tmp_path):
    """The template's 46 columns down to row 200,001: the checks pass (calamine is not asked to
    read the grid here)."""
    header = "".join(text(f"{workbooks.column_name(n)}1", "x") for n in range(1, 47))
    path = write_xlsx(
        tmp_path / "county.xlsx", f'<row r="1">{header}</row><row r="200001">{text("AT200001", "x")}</row>'
    )
    assert check_workbook(path) == workbooks.XLSX


# --- the legacy .xls format -----------------------------------------------------------------------


def test_an_xls_roster_is_read(tmp_path, school, school_class, registrar):
    rows = [HEADERS, *[[pupil(n).get(header, "") for header in HEADERS] for n in (1, 2)]]
    path = write_xls(tmp_path / "花名册.xls", rows)
    plan = prepare(path, scope=school, by=registrar)
    assert plan.is_valid, [row.problems for row in plan.rows]
    assert [plan.value(row, "name") for row in plan.rows] == [pupil(1)["姓名"], pupil(2)["姓名"]]


def test_an_xls_that_declares_a_huge_sheet_is_refused_and_harms_nothing(tmp_path):
    """calamine reserves what the DIMENSIONS record declares: here petabytes, which aborts the
    process reading it. That process is a child with a ceiling; this one refuses the file."""
    path = write_xls(tmp_path / "bomb.xls", [["姓名"]], dimensions=(0, 2**32 - 1, 0, 65535))
    assert "xls" in refusal(path)


def test_an_xls_beyond_the_limits_is_refused(tmp_path, lower_limits):
    lower_limits(rows=5)
    path = write_xls(tmp_path / "rows.xls", [["x"]] * 10)
    assert refusal(path) == workbooks.too_many_rows(5, 10).message


# --- in the browser and on the command line -------------------------------------------------------


def files_in(media):
    return sorted(str(path.relative_to(media)) for path in Path(media).rglob("*") if path.is_file())


def test_a_hostile_upload_ends_invalid_with_the_reason_and_no_orphan(
    client_for, registrar, school, school_class, settings, tmp_path
):
    path = write_xlsx(tmp_path / "wide.xlsx", '<row r="1">' + text("AAAA1", "x") + "</row>")
    client = client_for(registrar)
    url = reverse("students:roster_upload", args=[school.code])
    response = client.post(url, {"file": SimpleUploadedFile("花名册.xlsx", path.read_bytes())})
    batch = ImportBatch.objects.get()
    assert response["Location"] == batch.get_absolute_url()
    assert batch.state == ImportBatch.State.INVALID
    message = workbooks.too_many_columns(256, 18_279).message
    assert batch.errors == [{"row": 0, "messages": [message]}]
    page = client.get(batch.get_absolute_url())
    assert page.status_code == 200 and message in page.content.decode()
    kept = {batch.file.name, batch.error_file.name}
    assert set(files_in(settings.MEDIA_ROOT)) <= kept


def test_a_renamed_csv_upload_is_refused_in_plain_words(client_for, registrar, school, school_class):
    upload = SimpleUploadedFile("花名册.xlsx", "姓名,性别\n张三,男\n".encode())
    client_for(registrar).post(reverse("students:roster_upload", args=[school.code]), {"file": upload})
    batch = ImportBatch.objects.get()
    assert batch.state == ImportBatch.State.INVALID
    assert batch.errors[0]["messages"] == [workbooks.not_a_workbook().message]


def test_the_command_refuses_a_hostile_file_and_keeps_nothing(tmp_path, school, settings, county_reviewer):
    path = write_xlsx(tmp_path / "rows.xlsx", '<row r="1048576">' + text("A1048576", "x") + "</row>")
    with pytest.raises(CommandError) as refused:
        call_command(
            "import_roster", *NATIONAL_LOAD, str(path), "--school", school.code, stderr=io.StringIO()
        )
    assert workbooks.too_many_rows(300_000, 1_048_576).message in str(refused.value)
    assert not ImportBatch.objects.exists() and not Student.objects.exists()
    assert files_in(settings.MEDIA_ROOT) == []
