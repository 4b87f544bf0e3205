"""The code tables are the national ones (domain §3)."""

import importlib

import pytest
from django.apps import apps

from students import codes
from students.models import Student

# 港澳台侨外, as the national collection form labels them and JY/T 1001 numbers them.
OVERSEAS = {
    "00": "否",
    "01": "香港同胞",
    "02": "香港同胞亲属",
    "03": "澳门同胞",
    "04": "澳门同胞亲属",
    "05": "台湾同胞",
    "06": "台湾同胞亲属",
    "11": "华侨",
    "12": "侨眷",
    "13": "归侨",
    "14": "归侨子女",
    "21": "归国留学人员",
    "31": "非华裔中国人",
    "41": "外籍华裔人",
    "51": "外籍非华裔人",
    "99": "其他",
}


def test_overseas_codes_are_the_standards():
    assert dict(codes.overseas_choices()) == OVERSEAS


def test_old_overseas_codes_move_to_the_standards(registrar, county_reviewer, school_class):
    from tests.student_helpers import register

    migration = importlib.import_module("students.migrations.0010_overseas_codes")
    students = [
        register(registrar, school_class, name=name, sequence=n) for n, name in enumerate("甲乙丙丁戊己", 1)
    ]
    old_codes = ["00", "02", "03", "04", "05", "06"]
    for student, code in zip(students, old_codes, strict=True):
        Student.objects.filter(pk=student.pk).update(overseas=code)

    migration.to_standard(apps, None)

    assert [Student.objects.get(pk=s.pk).overseas for s in students] == ["00", "03", "05", "11", "41", "51"]


@pytest.mark.parametrize(("text", "code"), [("香港同胞亲属", "02"), ("外国人", "51"), ("否", "00")])
def test_the_import_reads_the_label_or_an_alias(text, code):
    assert codes.table("overseas").lookup(text) == code


# 身份证件类型 as domain §3 lists it: 1–9, A, B 户口簿, Z.
ID_TYPES = {
    "1": "居民身份证",
    "2": "军官证",
    "3": "士兵证",
    "4": "文职干部证",
    "5": "部队离退休证",
    "6": "香港特区护照/身份证明",
    "7": "澳门特区护照/身份证明",
    "8": "台湾居民来往大陆通行证",
    "9": "境外永久居住证",
    "A": "护照",
    "B": "户口簿",
    "Z": "其他",
}


def test_id_types_are_the_standards():
    assert dict(codes.id_type_choices()) == ID_TYPES


def test_an_import_reads_the_household_register_by_its_common_name():
    assert codes.table("id_type").lookup("户口本") == "B"
    assert codes.table("id_type").lookup("军官证") == "2"


def test_a_household_register_number_is_checked_as_the_citizen_number_it_is():
    from students.identity import check_id
    from tests.student_helpers import make_id

    good = make_id()
    assert check_id("B", good) == []
    assert check_id("B", good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert check_id("B", "") != []


def test_a_military_document_needs_its_number():
    from students.identity import check_id

    assert check_id("2", "军字第1234567号") == []
    assert check_id("5", "") != []


def test_a_household_register_number_does_not_become_a_g_number(registrar, county_reviewer, school_class):
    from students.services import register_student
    from tests.student_helpers import birth_for_level, make_id, register

    birth = birth_for_level(1)
    student = register(registrar, school_class, id_type="B", id_number=make_id(birth=birth))
    student = register_student(student, by=registrar)
    assert student.number.startswith("J")


def test_a_superscript_or_circled_digit_is_no_code():
    """isdigit() takes ¹ and ① for digits, int() does not: such a cell is an unknown code, not a crash."""
    for text in ("¹", "①", "1¹"):
        assert codes.table("ethnicity").lookup(text) is None
    assert codes.table("ethnicity").lookup("1") == "01"
