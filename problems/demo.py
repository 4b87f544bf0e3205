"""Demo problem records (问题学籍): one of every kind, found by the real detection.

`seed_problem_demo()` is called by the demo loader once the demo students exist. The records a
detection finds are what old imports and hand-typed numbers left behind, which today's forms would
refuse: they are planted by writing the rows (as `tests/problem_helpers.py` does), then the detection
runs and one 佐证 is sent to the county with its evidence image. Running it again changes nothing:
the planted students are known by their names.
"""

import random

from django.db import transaction
from django.utils import timezone
from stdnum.iso7064 import mod_11_2

from corrections.demo import demo_scan
from problems import services
from problems.models import Method
from registrar.models import Organisation, SchoolClass, User
from students.demo import _person
from students.identity import school_year_start
from students.models import ProblemKind, ProblemRecord, Status, Student
from students.numbers import region_code
from students.services import apply_key_changes, create_student, register_student

YUCAI, LIUZHONG, YILING = "1420102001", "1420102004", "1420506003"
MARKER = "郝双籍"
# Serial numbers of the demo roster's generator beyond those of the roster (about 2,000).
SERIAL = 90_000


def _wrong_check(number):
    return number[:17] + ("0" if number[17] != "0" else "1")


def _enrol(code, level, name, serial):
    """A new demo student (the demo roster's own generator), registered: the planted records are
    students of their own, so that the demo roster's students stay as the roster loader made them."""
    school = Organisation.objects.get(code=code)
    school_class = (
        SchoolClass.objects.filter(grade__school=school, grade__level=level).order_by("name").first()
    )
    data, guardians = _person(
        random.Random(serial),
        school_class,
        region_code(school),
        serial,
        school_year_start(timezone.localdate()),
    )
    data["name"] = name
    student = create_student(by=None, school=school, data=data, guardians=guardians)
    return register_student(student, by=None)


def _plant(student, **fields):
    Student.objects.filter(pk=student.pk).update(**fields)
    student.refresh_from_db()
    return student


@transaction.atomic
def seed_problem_demo():
    if Student.objects.filter(name=MARKER).exists():
        return 0
    if Organisation.objects.filter(code__in=[YUCAI, LIUZHONG, YILING]).count() != 3:
        return 0
    first, again, left, bad, changer = (
        _enrol(YUCAI, 2, name, SERIAL + index)
        for index, name in enumerate([MARKER, "郝毕业", "郝无证", "郝校验", "郝改号"])
    )
    second, back, holder = (
        _enrol(LIUZHONG, 7, name, SERIAL + 10 + index)
        for index, name in enumerate([MARKER, "郝无证", "郝持号"])
    )
    graduate = _enrol(YILING, 2, "郝毕业", SERIAL + 20)
    # The same person live in two schools of 江岸区: another check digit (the county arbitrates).
    _plant(first, name=MARKER)
    _plant(
        second,
        name=MARKER,
        id_number=_wrong_check(first.id_number),
        birth_date=first.birth_date,
        gender=first.gender,
    )
    # A graduate of 夷陵区 registered again at 育才小学.
    _plant(graduate, status=Status.GRADUATED)
    _plant(
        again,
        name="郝毕业",
        id_number=graduate.id_number,
        birth_date=graduate.birth_date,
        gender=graduate.gender,
    )
    # Without an ID number: one who left 育才小学, the same name, sex and birth date live at 第六中学.
    _plant(left, id_type="Z", id_number="", status=Status.LEFT)
    _plant(back, id_type="Z", id_number="", gender=left.gender, birth_date=left.birth_date)
    # A wrong check digit.
    _plant(bad, id_number=_wrong_check(bad.id_number))
    # A number changed (with history) that another record holds now.
    old_number = changer.id_number
    body = changer.id_number[:14] + f"{(int(changer.id_number[14:17]) + 500) % 1000:03d}"
    apply_key_changes(changer, {"id_number": body + mod_11_2.calc_check_digit(body)}, by=None, reason="演示")
    _plant(holder, id_number=old_number, birth_date=changer.birth_date, gender=changer.gender)
    summary = services.detect_problems()
    _confirm_one()
    return summary["created"]


def _confirm_one():
    """A 佐证 of the two pupils without an ID number (two children, not one), waiting for 江岸区."""
    registrar = User.objects.filter(username="xueji_liuzhong").first()
    record = (
        ProblemRecord.objects.unresolved()
        .filter(kind=ProblemKind.DUPLICATE_PERSON, student__name="郝无证")
        .first()
    )
    if registrar is None or record is None:
        return
    resolution = services.create_resolution(
        record,
        by=registrar,
        method=Method.CONFIRM,
        explanation="演示：两人同名同生日，并非同一人，附户口本佐证。",
    )
    services.add_evidence(resolution, by=registrar, uploaded_file=demo_scan("id_card", record.student))
    services.submit_resolution(resolution, by=registrar)
