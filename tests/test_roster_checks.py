"""The import checks a row with check_record on values its cell converters have already tidied: the
same record, and the same errors in the same order, as validate_record on the values as they were,
whatever the cells hold."""

import random
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from registrar.choices import NodeKind
from registrar.models import Organisation
from students.roster.normalise import converter_for, empty_value
from students.roster.template import COLUMNS
from students.roster.validate import STUDENT_KEYS, Plan, Row, RowChecker, convert_slowly
from students.validation import (
    GUARDIAN_FIELDS,
    check_record,
    fill_from_id,
    normalise_guardian,
    normalise_record,
    validate_record,
)
from tests.roster_helpers import pupil, pupil_without_id, resident_id

SCHOOL_CODE = "4201020001"
# What offices' cells hold besides clean text: spaces of every kind, invisible and control
# characters, full-width forms, look-alikes, combining marks, letters whose capitals or compatibility
# forms are something else, digits of other scripts, and what Excel makes of long numbers.
AWKWARD = (
    " \u3000\u00a0\t\n\r\u2002\u2028\u1680\u200b\u200c\u202e\ufeff\u00ad\x00\x07\x1f"
    "１２３ＡＢｘＸ－（）．ｅ＋"
    "xXeE.+-()·・•‧●"
    "\u0301\ufe0f\u0345ΐǰßǆⅹⓧ‾ﹰ"
    "٠١٢٣٤५६७𝟏𝟐"
    "0123456789汉族男女中国一年级班"
)
ODD_CELLS = (
    "",
    " ",
    "\u3000",
    "\u200b",
    "138 1299 8802",
    "１３８１２９９８８０２",
    "027-85551234",
    "4.20102E+17",
    "4.2010220150101e+17",
    "420102201501011234.0",
    "42010220150101123",
    "420102150101123",
    "12345678901234567x",
    "H12345678",
    "K1234567(8)",
    "915684201205010017",
    "ΐ",
    "ⅹ",
    "男",
    "女",
    "3",
    "汉",
    "汉族",
    "01",
    "1",
    "Z",
    "其他",
    "居民身份证",
    "护照",
    "父亲",
    "99",
    "一年级",
    "初一",
    "十三年级",
    "2015-02-30",
    "2015-09",
    "20150101",
    "2099-01-01",
    "是",
    "否",
    '=HYPERLINK("x")',
    "阿卜杜拉・买买提",
    "张3",
    "长" * 250,
    4.20102e17,
    420102201501011234,
    13812998802.0,
    1.0,
    0,
    True,
    False,
    datetime(2015, 9, 1),
    datetime(2015, 9, 1, 8, 30),
    date(2015, 9, 1),
    timedelta(days=1),
)


TOGETHER = (
    lambda row: {"身份证件号": row["身份证件号"][:-1] + "0", "出生日期": "2099-01-01"},
    lambda row: {"身份证件号": row["身份证件号"][:-1] + "1", "出生日期": "2005-01-01"},
    lambda row: {"性别": "女" if row["性别"] == "男" else "男", "出生日期": "2005-01-01"},
    lambda row: {"性别": "", "出生日期": "", "年级": "六年级"},
    lambda row: {"身份证件类型": "户口簿", "出生日期": "2099-01-01"},
    lambda row: {"身份证件号": row["身份证件号"][:6] + "20990101" + row["身份证件号"][14:]},
    lambda row: {"身份证件号": "110000" + row["身份证件号"][6:], "出生日期": "2005-01-01"},
)


@pytest.fixture
def checker():
    scope = Organisation(kind=NodeKind.COUNTY, name="江岸区", code="420102")
    school = Organisation(
        kind=NodeKind.SCHOOL, name="江岸小学", code=SCHOOL_CODE, stages=["primary"], school_system="6-3-3"
    )
    plan = Plan(source=None, scope=scope, today=timezone.localdate(), columns=list(enumerate(COLUMNS)))
    plan.index = {column.key: position for position, column in enumerate(COLUMNS)}
    plan.schools = {SCHOOL_CODE: school}
    return RowChecker(plan)


def odd_text(rng):
    return "".join(rng.choice(AWKWARD) for _ in range(rng.randint(1, 8)))


def rows_of_cells(count, seed=19):
    """Rows of a roster, valid ones spoilt in a few cells each (one in ten left as it was)."""
    rng = random.Random(seed)
    for number in range(count):
        sequence = number + 1
        by_header = pupil(sequence, school=SCHOOL_CODE) if number % 3 else pupil_without_id(sequence)
        if number % 4 == 0:
            by_header.update(监护人2姓名="王芳", 监护人2关系="母亲", 监护人2联系电话="13900000000")
            by_header.update(
                监护人2身份证件类型="居民身份证",
                监护人2身份证件号=resident_id(date(1985, 5, 1 + number % 28), number),
            )
        if number % 7 == 1:
            # Problems that meet: an ID number and a date of birth both wrong, or the sex and the date.
            by_header.update(rng.choice(TOGETHER)(by_header))
        cells = [by_header.get(column.header, "") for column in COLUMNS]
        for _ in range(rng.randint(0, 4) if number % 10 else 0):
            position = rng.randrange(len(COLUMNS))
            cells[position] = rng.choice(ODD_CELLS) if rng.random() < 0.6 else odd_text(rng)
        yield number + 2, cells


def record_as_before(plan, values, row):
    """The record and family as the import handed them to validate_record, untidied."""
    data = {key: values[plan.index[key]] for key in STUDENT_KEYS}
    data["grade"] = row.level if row.school is not None else None
    data["school_class"] = plan.value(row, "school_class")
    if not data.get("gender") or not data.get("birth_date"):
        fill_from_id(data)
    guardians = []
    for order in (1, 2):
        guardian = {name: values[plan.index[f"guardian{order}_{name}"]] for name in GUARDIAN_FIELDS[:5]}
        if order > 1 and not any(guardian.values()):
            continue
        guardian["is_guardian"] = True
        guardians.append(guardian)
    return data, guardians


def test_the_import_checks_the_record_validate_record_would_check(checker):
    plan = checker.plan
    converters = [
        (position, column.key, converter_for(column), empty_value(column))
        for position, column in enumerate(COLUMNS)
    ]
    compared = with_errors = 0
    for number, cells in rows_of_cells(3000):
        values, problems, failed = convert_slowly(converters, cells)
        row = Row(number, values, problems, failed)
        before = list(values)
        data, guardians = checker.record(row)
        old_data, old_guardians = record_as_before(plan, before, row)

        assert list(data.items()) == list(normalise_record(old_data).items()), cells
        assert [list(guardian.items()) for guardian in guardians] == [
            list(normalise_guardian(guardian).items()) for guardian in old_guardians
        ], cells
        school = row.school or plan.schools[SCHOOL_CODE]
        errors = check_record(data, guardians, school=school, today=plan.today)
        expected = validate_record(old_data, old_guardians, school=school, today=plan.today)
        assert list(errors.items()) == list(expected.items()), cells
        compared += 1
        with_errors += bool(errors)
    # Most rows were spoilt somewhere, and some of them not at all.
    assert compared == 3000
    assert 1500 < with_errors < 3000
