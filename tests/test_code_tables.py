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
