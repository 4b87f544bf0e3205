"""ID numbers, names and the record rules that need no database (students.identity, students.validation)."""

from datetime import date

import pytest
from stdnum.iso7064 import mod_11_2

from students.identity import (
    age_range_for_level,
    check_id,
    normalise_id_number,
    normalise_name,
    resident_check_digit,
    resident_id_facts,
)
from students.validation import fill_from_id, validate_record
from tests.student_helpers import guardian_data, make_id, student_data

TODAY = date(2025, 10, 10)
GOOD = make_id("420102", date(2019, 3, 15), 1)


def wrong_check_digit(number):
    return number[:-1] + ("1" if number[-1] != "1" else "2")


def id_with_check_x():
    for sequence in range(1, 1000):
        number = make_id("420102", date(2019, 3, 15), sequence)
        if number.endswith("X"):
            return number
    raise AssertionError("no sequence gives X")


def test_make_id_agrees_with_a_published_example():
    # The example of python-stdnum's documentation.
    assert make_id("360426", date(1991, 1, 1), 7) == "360426199101010071"


def test_normalising_turns_full_width_and_lowercase_x_into_plain_text():
    number = id_with_check_x()
    full_width = "".join(chr(ord(char) + 0xFEE0) for char in number[:-1].lower()) + "ｘ"
    assert normalise_id_number(f" {full_width[:6]} {full_width[6:]}\u3000") == number
    assert normalise_id_number(number[:-1] + "x") == number
    assert normalise_id_number(None) == ""


def test_names_keep_rare_characters_and_the_middle_dot():
    assert normalise_name(" 𠮷野家\u3000") == "𠮷野家"
    assert normalise_name("阿卜杜拉·买买提 ") == "阿卜杜拉·买买提"
    assert normalise_name("张 三") == "张 三"


def test_resident_id_facts_read_birth_date_and_sex():
    assert resident_id_facts(make_id(birth=date(2019, 3, 15), sequence=3)) == (date(2019, 3, 15), "1")
    assert resident_id_facts(make_id(birth=date(2019, 3, 15), sequence=4)) == (date(2019, 3, 15), "2")


def test_a_good_id_has_no_problem():
    assert check_id("1", GOOD, birth_date=date(2019, 3, 15), gender="1", grade_level=1, today=TODAY) == []


def test_lowercase_x_and_full_width_digits_are_accepted_after_normalising():
    number = id_with_check_x()
    full_width = "".join(chr(ord(char) + 0xFEE0) for char in number[:-1]) + "x"
    assert check_id("1", full_width, today=TODAY) == []


def test_the_check_digit_is_stdnums_for_any_digits():
    # Every remainder of the weighted sum, ASCII digits (their bytes summed) and full-width ones.
    bodies = [f"{number:017d}" for number in range(0, 10**17, 10**17 // 997)]
    bodies += ["".join(chr(ord(char) + 0xFEE0) for char in body) for body in bodies[:50]]
    expected = [mod_11_2.calc_check_digit(body) for body in bodies]
    assert [resident_check_digit(body) for body in bodies] == expected
    assert set(expected) == set("0123456789X")


def test_a_wrong_check_digit_names_the_right_one():
    assert check_id("1", wrong_check_digit(GOOD), today=TODAY) == [
        f"身份证号校验位错误，应为 {GOOD[-1]}，请核对。"
    ]


def test_the_29th_of_february_of_a_common_year_does_not_exist():
    body = "42010220150229001"
    number = body + mod_11_2.calc_check_digit(body)
    assert check_id("1", number, today=TODAY) == ["身份证号中的出生日期 20150229 不存在。"]
    assert check_id("1", make_id(birth=date(2016, 2, 29)), today=TODAY) == []


def test_an_unknown_region_code_is_refused():
    assert check_id("1", make_id("999999", date(2019, 3, 15)), today=TODAY) == [
        "身份证号前六位地区码 999999 不存在。"
    ]


def test_a_region_code_abolished_before_birth_is_refused():
    # 420521 宜昌县 became 夷陵区 (420506) in 2001.
    problems = check_id("1", make_id("420521", date(2019, 3, 15)), today=TODAY)
    assert len(problems) == 1 and "420521" in problems[0] and "2001" in problems[0]
    assert check_id("1", make_id("420521", date(1998, 3, 15)), today=TODAY) == []


def test_a_birth_date_in_the_future_is_refused():
    number = make_id(birth=date(2026, 1, 1))
    assert check_id("1", number, today=TODAY) == ["身份证号中的出生日期 20260101 晚于今天。"]


@pytest.mark.parametrize(
    ("birth", "level", "fine"),
    [
        (date(2019, 3, 15), 1, True),  # 6 on 31 August 2025
        (date(2020, 8, 31), 1, True),  # just 5
        (date(2020, 9, 1), 1, False),  # 4
        (date(2016, 3, 15), 1, True),  # 9
        (date(2015, 3, 15), 1, False),  # 10
        (date(2010, 3, 15), 10, True),  # 15 in senior year 1
        (date(2019, 3, 15), 10, False),
    ],
)
def test_the_age_must_fit_the_grade(birth, level, fine):
    problems = check_id("1", make_id(birth=birth), grade_level=level, today=TODAY)
    assert (problems == []) is fine
    if not fine:
        assert "岁" in problems[0] and "请核对年级和出生日期" in problems[0]


def test_age_ranges_are_a_province_switch(settings):
    assert age_range_for_level(1) == (5, 9)
    assert age_range_for_level(10) == (14, 18)
    assert age_range_for_level(10, "vocational") == (14, 21)
    assert age_range_for_level(3, "special") is None
    settings.REGISTRAR = {**settings.REGISTRAR, "AGE_TOLERANCE": {"default": (0, 1)}}
    assert age_range_for_level(1) == (6, 7)


def test_sex_and_birth_date_must_agree_with_the_id():
    problems = check_id("1", GOOD, birth_date=date(2019, 3, 16), gender="2", today=TODAY)
    assert problems == [
        "性别与身份证号不符：身份证号表示男。",
        "出生日期与身份证号不符：身份证号中的出生日期为 2019-03-15。",
    ]


def test_scientific_notation_is_explained_not_guessed():
    (problem,) = check_id("1", "4.20102E+17", today=TODAY)
    assert "科学计数法" in problem and "文本" in problem


def test_a_number_cell_read_back_with_dot_zero_is_explained():
    (problem,) = check_id("1", GOOD + ".0", today=TODAY)
    assert ".0" in problem and "文本" in problem


def test_fifteen_digits_and_lost_last_digits_are_explained():
    (short,) = check_id("1", GOOD[:15], today=TODAY)
    assert "15 位" in short
    # What Excel shows for 420102201903150011 typed into a number cell.
    damaged = GOOD[:15] + "000"
    assert mod_11_2.calc_check_digit(damaged[:17]) != "0"
    (lost,) = check_id("1", damaged, today=TODAY)
    assert "000" in lost and "Excel" in lost


def test_other_lengths_and_characters_are_refused():
    assert check_id("1", GOOD[:17], today=TODAY) == ["居民身份证号应为 18 位，现为 17 位。"]
    assert check_id("1", GOOD[:16] + "AB", today=TODAY) == ["居民身份证号为 17 位数字加 1 位数字或 X。"]


def test_type_and_number_go_together():
    assert check_id("1", "") == ["已选择证件类型“居民身份证”，但未填写证件号。"]
    assert check_id("", GOOD) == ["填写了证件号，但未选择证件类型。"]
    assert check_id("Z", "") == []
    assert check_id("", "") == []
    assert check_id("Q", "123") == ["未知的证件类型 Q。"]


@pytest.mark.parametrize(
    ("id_type", "number", "fine"),
    [
        ("6", "H12345678", True),
        ("6", "H1234567890", True),
        ("6", "A123456(7)", True),
        ("6", "K12345678", True),
        ("6", make_id("810000", date(2012, 5, 1)), True),
        ("6", "12345", False),
        ("7", "M12345678", True),
        ("7", "1234567(8)", True),
        ("7", "MA1234567", True),
        ("7", "H12345678", False),
        ("8", "12345678", True),
        ("8", make_id("830000", date(2012, 5, 1)), True),
        ("8", "1234567", False),
        ("9", "USA123456789012", True),
        ("9", make_id("915684", date(2012, 5, 1)), True),
        ("9", wrong_check_digit(make_id("915684", date(2012, 5, 1))), False),
        ("9", "US1234567890", False),
        ("A", "E12345678", True),
        ("A", "ABCDE", False),
        ("A", "E1", False),
        ("Z", "任何证件 123", True),
    ],
)
def test_other_id_types_are_checked_for_shape(id_type, number, fine):
    problems = check_id(id_type, number, today=TODAY)
    assert (problems == []) is fine, problems


def test_a_residence_permit_with_a_wrong_check_digit_is_refused():
    good = make_id("810000", date(2012, 5, 1))
    assert check_id("6", wrong_check_digit(good), today=TODAY) == [
        f"身份证号校验位错误，应为 {good[-1]}，请核对。"
    ]


# The record -----------------------------------------------------------------------------------------


@pytest.fixture
def record(school_class):
    return student_data(school_class)


def test_a_complete_record_passes_without_a_single_query(record, school, django_assert_num_queries):
    guardians = [guardian_data()]
    with django_assert_num_queries(0):
        assert validate_record(record, guardians, school=school) == {}
        validate_record({**record, "phone": "12", "grade": 1}, guardians, school=school)


def test_required_fields_and_codes_are_reported_by_field(record, school):
    record.update(name="", ethnicity="77", hukou_place="", nationality=None)
    errors = validate_record(record, [guardian_data()], school=school)
    assert errors["name"] == ["请填写姓名。"]
    assert errors["hukou_place"] == ["请填写户口所在地。"]
    assert errors["ethnicity"] == ["“77”不是民族的有效代码。"]
    assert "nationality" in errors


def test_names_with_a_look_alike_dot_or_digits_are_refused_not_corrected(record, school):
    record["name"] = "阿卜杜拉・买买提"
    errors = validate_record(record, [guardian_data()], school=school)
    assert errors["name"] == ["姓名中的间隔号请写作“·”（如 阿卜杜拉·买买提），不要用“・”。"]
    record["name"] = "阿卜杜拉·买买提"
    assert "name" not in validate_record(record, [guardian_data()], school=school)
    record["name"] = "张三2"
    assert validate_record(record, [guardian_data()], school=school)["name"] == ["姓名中不能有数字。"]


def test_id_problems_are_reported_on_the_id_number(record, school):
    record["gender"] = "2"
    errors = validate_record(record, [guardian_data()], school=school)
    assert errors == {"id_number": ["性别与身份证号不符：身份证号表示男。"]}


def test_without_a_resident_id_the_birth_date_is_checked_for_the_grade(record, school):
    record.update(id_type="A", id_number="E12345678", birth_date=date(2010, 1, 1))
    errors = validate_record(record, [guardian_data()], school=school)
    assert list(errors) == ["birth_date"]
    record["birth_date"] = date(2099, 1, 1)
    assert validate_record(record, [guardian_data()], school=school)["birth_date"] == ["出生日期晚于今天。"]


def test_a_resident_id_with_a_problem_does_not_answer_for_the_birth_date(record, school):
    record.update(id_number=wrong_check_digit(record["id_number"]), birth_date=date(2099, 1, 1))
    errors = validate_record(record, [guardian_data()], school=school)
    assert errors["birth_date"] == ["出生日期晚于今天。"]
    assert "id_number" in errors


def test_phone_postcode_and_enrolment_month(record, school):
    record.update(phone="8555123", postcode="4300", enrolled_on=date(2099, 9, 1))
    errors = validate_record(record, [guardian_data()], school=school)
    assert "phone" in errors and errors["postcode"] == ["邮政编码为 6 位数字。"]
    assert errors["enrolled_on"] == ["入学年月晚于本月。"]
    for phone in ("027-85551234", "02785551234", "(027)85551234", "0710-3456789-12", "13912345678"):
        assert "phone" not in validate_record({**record, "phone": phone}, [guardian_data()], school=school)
    record["enrolled_on"] = date(2000, 1, 1)
    assert validate_record(record, [guardian_data()], school=school)["enrolled_on"] == [
        "入学年月早于出生日期。"
    ]


def test_grade_and_class_must_fit_the_school(record, school, other_school):
    errors = validate_record(record, [guardian_data()], school=other_school)
    assert errors["grade"] == ["该年级不属于本校。"]
    record["grade"] = 10
    errors = validate_record(record, [guardian_data()], school=school)
    assert errors["grade"] == ["本校没有高一。"]


def test_admission_must_fit_the_stage(record, school):
    record["admission"] = "21"
    errors = validate_record(record, [guardian_data()], school=school)
    assert errors["admission"] == ["入学方式“普通入学”只用于义务教育之后。"]


def test_family_members(record, school):
    errors = validate_record(record, [], school=school)
    assert errors["guardians"] == ["请至少填写一位家庭成员或监护人。"]
    errors = validate_record(record, [guardian_data(phone="12", relation="")], school=school)
    assert "guardians-0-phone" in errors and errors["guardians-0-relation"] == ["请填写关系。"]
    errors = validate_record(record, [guardian_data(id_number="123")], school=school)
    assert errors["guardians-0-id_number"] == ["居民身份证号应为 18 位，现为 3 位。"]
    assert validate_record(record, [guardian_data()] * 4, school=school)["guardians"] == [
        "家庭成员最多填写 3 位。"
    ]


def test_a_student_without_id_needs_a_family_member_with_one(record, school):
    record.update(id_type="Z", id_number="")
    errors = validate_record(record, [guardian_data(id_type="", id_number="")], school=school)
    assert errors == {"guardians": ["学生没有身份证件号，至少一位家庭成员须填写身份证件号。"]}
    assert validate_record(record, [guardian_data()], school=school) == {}


def test_fill_from_id_fills_only_empty_sex_and_birth_date():
    number = make_id(birth=date(2019, 3, 15), sequence=2)
    data = fill_from_id({"id_type": "1", "id_number": number, "gender": "", "birth_date": None})
    assert (data["gender"], data["birth_date"]) == ("2", date(2019, 3, 15))
    data = fill_from_id({"id_type": "1", "id_number": number, "gender": "1", "birth_date": None})
    assert data["gender"] == "1"
    data = fill_from_id(
        {"id_type": "1", "id_number": wrong_check_digit(number), "gender": "", "birth_date": None}
    )
    assert (data["gender"], data["birth_date"]) == ("", None)
