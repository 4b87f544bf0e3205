"""Building small roster files for the roster tests: valid pupils, resident IDs, workbooks."""

from datetime import date

import openpyxl
from django.utils import timezone
from stdnum.iso7064.mod_11_2 import calc_check_digit

from students.identity import school_year_start
from students.roster.template import COLUMNS

HEADERS = [column.header for column in COLUMNS]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


# import_roster as a county's administrator loading the national system's records (registered at
# once, the file's 学籍号 kept): the conftest's county_reviewer is "county".
NATIONAL_LOAD = ("--national-load", "--user", "county")


def chinese_name(sequence):
    """A distinct two- or three-character name for each sequence number."""
    first = SURNAMES[sequence % len(SURNAMES)]
    second = GIVEN[(sequence // len(SURNAMES)) % len(GIVEN)]
    third = GIVEN[sequence // (len(SURNAMES) * len(GIVEN))] if sequence >= len(SURNAMES) * len(GIVEN) else ""
    return first + second + third


def resident_id(birth, sequence, region="420102"):
    """A valid 18-digit resident ID; an odd sequence is a boy, an even one a girl."""
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + calc_check_digit(body)


def birth_for(level, *, month=3, day=1):
    """A birth date that fits grade `level` this school year."""
    start = school_year_start(timezone.localdate())
    return date(start.year - 6 - (level - 1), month, day)


def pupil(sequence=1, *, level=1, class_name="1班", school="", **overrides):
    """One valid row of the roster, keyed by header. `sequence` makes the ID (odd: boy) and the name."""
    birth = birth_for(level, day=1 + sequence % 28)
    gender = "男" if sequence % 2 else "女"
    start = school_year_start(timezone.localdate())
    # The pupil started the current stage (primary at grade 1, junior at 7, senior at 10) this many years ago.
    years_in_stage = level - 1 if level < 7 else level - 7 if level < 10 else level - 10
    entry_year = start.year - years_in_stage
    row = {
        "学校标识码": school,
        "姓名": chinese_name(sequence),
        "性别": gender,
        "出生日期": birth.isoformat(),
        "身份证件类型": "居民身份证",
        "身份证件号": resident_id(birth, sequence),
        "民族": "汉族",
        "国籍/地区": "中国",
        "港澳台侨外": "否",
        "籍贯": "湖北武汉",
        "出生地": "湖北省武汉市江岸区",
        "户口所在地": "湖北省武汉市江岸区",
        "户口性质": "非农业户口",
        "健康状况": "健康或良好",
        "年级": {1: "一年级", 2: "二年级", 7: "七年级", 10: "高一"}.get(level, str(level)),
        "班级": class_name,
        "入学年月": f"{entry_year}-09",
        "入学方式": "就近入学" if level <= 9 else "普通入学",
        "就读方式": "走读",
        "现住址": "武汉市江岸区胜利街1号",
        "联系电话": "13800138000",
        "监护人1姓名": "家长甲",
        "监护人1关系": "父亲",
        "监护人1联系电话": "13900139000",
    }
    row.update(overrides)
    return row


def pupil_without_id(sequence, **overrides):
    """A pupil with no ID document (身份证件类型 其他): a guardian's resident ID is then required."""
    guardian_birth = birth_for(1).replace(year=1985 + sequence % 10)
    return pupil(
        sequence,
        身份证件类型="其他",
        身份证件号="",
        监护人1身份证件类型="居民身份证",
        监护人1身份证件号=resident_id(guardian_birth, 2 * sequence + 1),
        **overrides,
    )


def write_file(path, rows, *, headers=None, title_rows=(), cell_values=None):
    """A workbook with a header row and `rows` (dicts keyed by header). Cells are text unless a row
    holds a non-string value (to imitate what offices send); `cell_values` maps (row index, header)
    to a raw value written as it is (numbers, dates)."""
    headers = headers or sorted({key for row in rows for key in row}, key=_header_order)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for title in title_rows:
        sheet.append([title])
    sheet.append(headers)
    for index, row in enumerate(rows):
        values = []
        for header in headers:
            value = row.get(header, "")
            if cell_values and (index, header) in cell_values:
                value = cell_values[(index, header)]
            values.append(value if value != "" else None)
        sheet.append(values)
    for row in sheet.iter_rows(min_row=len(title_rows) + 2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    workbook.save(path)
    return path


def _header_order(header):
    return HEADERS.index(header) if header in HEADERS else len(HEADERS)


def read_sheet(path, sheet=0):
    workbook = openpyxl.load_workbook(path)
    return workbook.worksheets[sheet]
