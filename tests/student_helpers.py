"""Building blocks for tests of the student record: valid resident IDs and registration data.

Everything is relative to today, so that a first-grader stays six whatever day the tests run.
"""

from datetime import date

from django.utils import timezone
from stdnum.iso7064 import mod_11_2

from students.identity import school_year_start
from students.services import create_student


def make_id(region="420102", birth=date(2015, 3, 15), sequence=1):
    """A valid 18-digit resident ID: odd sequence = male, even = female."""
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + mod_11_2.calc_check_digit(body)


def birth_for_level(level, *, today=None, month=3, day=15):
    """A birth date that makes a typical student of grade `level` this school year (6 in grade 1)."""
    start = school_year_start(today or timezone.localdate())
    return date(start.year - 5 - level, month, day)


def student_data(school_class, *, name="张小明", sequence=1, birth=None, **overrides):
    """A complete registration for `school_class`, with a valid resident ID agreeing with it."""
    level = school_class.grade.level
    birth = birth or birth_for_level(level)
    data = {
        "name": name,
        "gender": "1" if sequence % 2 else "2",
        "birth_date": birth,
        "birth_place": "湖北省武汉市",
        "native_place": "湖北省武汉市",
        "ethnicity": "01",
        "nationality": "156",
        "id_type": "1",
        "id_number": make_id(birth=birth, sequence=sequence),
        "overseas": "00",
        "health": "10",
        "hukou_place": "湖北省武汉市江岸区",
        "hukou_type": "2",
        "address": "武汉市江岸区解放大道 1 号",
        "phone": "13800000000",
        "grade": school_class.grade,
        "school_class": school_class,
        "enrolled_on": date(school_year_start(timezone.localdate()).year, 9, 1),
        "admission": "11" if level <= 9 else "21",
        "attendance": "1",
    }
    data.update(overrides)
    return data


def guardian_data(**overrides):
    data = {
        "name": "张大明",
        "relation": "1",
        "phone": "13900000000",
        "id_type": "1",
        "id_number": make_id(birth=date(1985, 6, 1), sequence=11),
        "is_guardian": True,
    }
    data.update(overrides)
    return data


def register(by, school_class, **overrides):
    """A registration in review, entered through the real service."""
    return create_student(
        by=by,
        school=school_class.grade.school,
        data=student_data(school_class, **overrides),
        guardians=[guardian_data()],
    )
