"""Reading what offices send: every accepted way of writing a value, header quirks, the template."""

import datetime

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from students.roster.importer import prepare
from students.roster.normalise import CellError, parse_date, parse_grade, parse_month
from students.roster.template import COLUMNS
from tests.roster_helpers import birth_for, pupil, resident_id, write_file


@pytest.fixture
def check(school, school_class, tmp_path):
    """Check one row (or a few) and return (plan, rows)."""

    def run(*rows, **options):
        path = write_file(tmp_path / "roster.xlsx", list(rows), **options)
        plan = prepare(path, scope=school)
        return plan, plan.rows

    return run


def value(plan, row, key):
    return plan.value(row, key, None)


# --- dates, months, grades --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["2015-09-01", "2015/9/1", "2015.09.01", "20150901", "2015年9月1日", " 2015-09-01 "]
)
def test_dates_are_read_in_every_usual_way(text):
    assert parse_date(text) == datetime.date(2015, 9, 1)


def test_a_date_cell_and_full_width_digits_are_dates():
    assert parse_date(datetime.datetime(2015, 9, 1)) == datetime.date(2015, 9, 1)
    assert parse_date("２０１５－０９－０１") == datetime.date(2015, 9, 1)


@pytest.mark.parametrize("text", ["2015-13-01", "2015-02-30", "1/9/2015", "九月一日", "42248"])
def test_a_date_that_is_not_one_is_refused(text):
    with pytest.raises(CellError):
        parse_date(text)


@pytest.mark.parametrize(
    "text", ["201509", "2015-09", "2015年9月", "2015/9", "2015.09", "2015-09-01", 201509.0]
)
def test_enrolment_months_are_read_in_every_usual_way(text):
    assert parse_month(text) == datetime.date(2015, 9, 1)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("一年级", 1),
        ("六年级", 6),
        ("七年级", 7),
        ("九年级", 9),
        ("初一", 7),
        ("初三", 9),
        ("高一", 10),
        ("高三", 12),
        ("初中二年级", 8),
        ("高中一年级", 10),
        ("3", 3),
        ("３年级", 3),
    ],
)
def test_grades_are_read_as_schools_write_them(text, level):
    assert parse_grade(text) == level


def test_an_unknown_grade_is_refused():
    with pytest.raises(CellError):
        parse_grade("大一")


# --- whole rows ---------------------------------------------------------------------------------


def test_code_columns_take_the_code_or_the_label(check):
    plan, rows = check(
        pupil(1, 性别="男", 民族="汉族", 身份证件类型="居民身份证"),
        pupil(3, 性别="1", 民族="01", 身份证件类型="1"),
        pupil(5, 性别=" 男 ", 民族="汉", 身份证件类型="身份证"),
    )
    assert plan.is_valid, plan.problem_messages()
    for row in rows:
        assert (value(plan, row, "gender"), value(plan, row, "ethnicity"), value(plan, row, "id_type")) == (
            "1",
            "01",
            "1",
        )


def test_numbers_in_code_cells_keep_their_leading_zero(check):
    plan, rows = check(pupil(1), cell_values={(0, "民族"): 1, (0, "性别"): 1})
    assert plan.is_valid, plan.problem_messages()
    assert value(plan, rows[0], "ethnicity") == "01"


def test_full_width_digits_lowercase_x_and_spaces_are_normalised(check):
    birth = birth_for(1)
    number = next(
        resident_id(birth, sequence)
        for sequence in range(1, 999, 2)
        if resident_id(birth, sequence)[-1] == "X"
    )
    full_width = number[:-1].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}) + "x"
    plan, rows = check(
        pupil(1, 出生日期=birth.isoformat(), 身份证件号=f"  {full_width} ", 联系电话="１３８００１３８０００")
    )
    assert plan.is_valid, plan.problem_messages()
    assert value(plan, rows[0], "id_number") == number
    assert value(plan, rows[0], "phone") == "13800138000"


def test_names_are_kept_exactly_as_written(check):
    plan, rows = check(pupil(1, 姓名=" 阿卜杜拉·买买提 "), pupil(3, 姓名="𠮷野家"), pupil(5, 姓名="王　芳"))
    assert plan.is_valid, plan.problem_messages()
    assert [value(plan, row, "name") for row in rows] == ["阿卜杜拉·买买提", "𠮷野家", "王　芳"]


def test_dates_in_date_cells_and_as_text(check):
    birth = birth_for(1, day=2)
    plan, rows = check(
        pupil(1, 出生日期="", 入学年月=""),
        cell_values={
            (0, "出生日期"): datetime.datetime.combine(birth, datetime.time()),
            (0, "入学年月"): 201909,
        },
    )
    row = rows[0]
    assert value(plan, row, "birth_date") == birth
    assert value(plan, row, "enrolled_on") == datetime.date(2019, 9, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("是", True), ("否", False), ("1", True), ("0", False), ("Y", True), ("n", False), ("", False)],
)
def test_yes_no_columns(check, text, expected):
    plan, rows = check(pupil(1, 是否独生子女=text, 是否留守儿童="否"))
    assert plan.is_valid, plan.problem_messages()
    assert value(plan, rows[0], "only_child") is expected


def test_yes_no_refuses_anything_else(check):
    _plan, rows = check(pupil(1, 是否孤儿="也许"))
    assert [p.keys for p in rows[0].problems] == [("orphan",)]


def test_columns_in_any_order_under_title_rows_with_unknown_columns(check):
    row = pupil(1, 备注="转入")
    headers = list(reversed(list(row)))
    plan, rows = check(row, headers=headers, title_rows=["江岸区育才小学 2026 年秋季花名册", "制表：教务处"])
    assert plan.is_valid, plan.problem_messages()
    assert plan.header_row == 3
    assert rows[0].number == 4
    assert value(plan, rows[0], "name") == row["姓名"]
    assert plan.warnings and "备注" in plan.warnings[0]


def test_header_variants_are_recognised(check):
    row = pupil(1)
    row["身份证号"] = row.pop("身份证件号")
    row["国籍"] = row.pop("国籍/地区")
    row["*姓名"] = row.pop("姓名")
    plan, _rows = check(row)
    assert plan.is_valid, plan.problem_messages()


def test_empty_rows_are_skipped_and_rows_keep_their_sheet_numbers(check):
    _plan, rows = check(pupil(1), {}, pupil(3))
    assert [row.number for row in rows] == [2, 4]


# --- the template -------------------------------------------------------------------------------


def test_the_template_command_writes_the_header_formats_lists_and_help(tmp_path):
    out = tmp_path / "template.xlsx"
    call_command("roster_template", str(out))
    workbook = load_workbook(out)
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    assert headers == [column.header for column in COLUMNS]
    for required in ("姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "监护人1联系电话", "入学年月"):
        assert required in headers
    for optional in ("学校标识码", "学籍号", "是否烈士或优抚子女", "残疾类型", "监护人2身份证件号"):
        assert optional in headers
    letter = {column.header: cell.column_letter for column, cell in zip(COLUMNS, sheet[1], strict=True)}
    for text_column in ("身份证件号", "联系电话", "出生日期", "入学年月", "监护人1身份证件号", "学籍号"):
        assert sheet.column_dimensions[letter[text_column]].number_format == "@"
    lists = {
        str(validation.sqref).split(":")[0].rstrip("0123456789")
        for validation in sheet.data_validations.dataValidation
    }
    for code_column in (
        "性别",
        "民族",
        "身份证件类型",
        "健康状况",
        "户口性质",
        "年级",
        "监护人1关系",
        "是否孤儿",
    ):
        assert letter[code_column] in lists
    assert letter["姓名"] not in lists
    help_sheet = workbook["填写说明"]
    described = [row[0].value for row in help_sheet.iter_rows(min_row=2, max_row=len(COLUMNS) + 1)]
    assert described == headers
    assert all(
        row[2].value or row[3].value for row in help_sheet.iter_rows(min_row=2, max_row=len(COLUMNS) + 1)
    )


def test_the_template_reads_back_as_a_roster_without_rows(tmp_path, school):
    out = tmp_path / "template.xlsx"
    call_command("roster_template", str(out))
    plan = prepare(out, scope=school)
    assert not plan.unknown
    assert plan.file_errors == ["文件表头下没有数据行。"]


def test_the_template_download(client_for, registrar):
    response = client_for(registrar).get(reverse("students:roster_template"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content)[:2] == b"PK"
