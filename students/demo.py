"""Demo students for seed_demo: about 2,000 realistic records over the demo schools.

Deterministic (a seeded random generator), so running it again finds every student already there
and changes nothing. Most students are registered; the first grade of a few schools waits in the
registration review, as it does every September.
"""

import random
from datetime import date

from django.db import transaction
from django.utils import timezone
from stdnum.iso7064 import mod_11_2

from registrar.models import Organisation, SchoolClass
from students.identity import school_year_start
from students.models import Student
from students.numbers import region_code
from students.registration import submit_for_review
from students.services import create_student, register_student

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
BOY_NAMES = [
    "子轩",
    "浩然",
    "宇航",
    "俊杰",
    "梓豪",
    "博文",
    "明哲",
    "思远",
    "晨阳",
    "一鸣",
    "嘉豪",
    "天佑",
    "泽宇",
    "皓轩",
    "睿",
    "涛",
    "磊",
    "鑫",
    "昊天",
    "铭",
]
GIRL_NAMES = [
    "欣怡",
    "梓涵",
    "诗涵",
    "雨桐",
    "可馨",
    "佳怡",
    "思琪",
    "紫萱",
    "一诺",
    "语嫣",
    "若曦",
    "晓雯",
    "静怡",
    "婉清",
    "悦",
    "琳",
    "妍",
    "雪",
    "梦瑶",
    "雨欣",
]
FATHER_NAMES = ["建国", "志强", "伟", "军", "勇", "斌", "海涛", "国华", "建华", "明"]
MOTHER_NAMES = ["丽", "芳", "娟", "敏", "静", "艳", "红梅", "秀英", "桂兰", "慧"]
MOTHER_SURNAMES = "刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑"
STREETS = [
    "解放大道",
    "中山大道",
    "建设大道",
    "沿江大道",
    "黄浦大街",
    "二七路",
    "胜利街",
    "夷陵大道",
    "东湖路",
    "珞喻路",
]
STUDENTS_PER_CLASS = {"primary": 14, "junior": 14, "senior": 14, "vocational": 12, "special": 6}
# The first grade of these schools is still in the registration review.
PENDING_SCHOOLS = {"1420102001", "1420506003"}
MINORITIES = ["03", "08", "15", "06", "11"]


def make_id(region, birth, sequence):
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + mod_11_2.calc_check_digit(body)


def _person(rng, school_class, region, serial, year_start):
    level = school_class.grade.level
    birth = date(year_start.year - 5 - level, rng.randint(1, 12), rng.randint(1, 28))
    if birth.month >= 9:
        birth = birth.replace(year=birth.year - 1)
    boy = rng.random() < 0.51
    sequence = (serial % 499) * 2 + (1 if boy else 2)
    surname = rng.choice(SURNAMES)
    given = rng.choice(BOY_NAMES if boy else GIRL_NAMES)
    street = rng.choice(STREETS)
    address = f"{school_class.grade.school.parent.name}{street}{rng.randint(1, 300)}号"
    data = {
        "name": surname + given,
        "gender": "1" if boy else "2",
        "birth_date": birth,
        "birth_place": "湖北省",
        "native_place": "湖北省",
        "ethnicity": rng.choice(MINORITIES) if rng.random() < 0.05 else "01",
        "nationality": "156",
        "id_type": "1",
        "id_number": make_id(region, birth, sequence),
        "overseas": "00",
        "health": "10" if rng.random() < 0.95 else "20",
        "hukou_place": f"湖北省{school_class.grade.school.parent.name}",
        "hukou_type": "2" if rng.random() < 0.7 else "1",
        "address": address,
        "phone": f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
        "grade": school_class.grade,
        "school_class": school_class,
        # Grade 1 and 高一 started this September; the others earlier.
        "enrolled_on": date(year_start.year - (level - 1 if level <= 9 else level - 10), 9, 1),
        "admission": "11" if level <= 9 else "21",
        "attendance": "2" if level >= 10 and rng.random() < 0.6 else "1",
        "only_child": rng.random() < 0.4,
        "left_behind": rng.random() < 0.05,
        "migrant_child": rng.random() < 0.1,
    }
    father_birth = date(birth.year - rng.randint(26, 38), rng.randint(1, 12), rng.randint(1, 28))
    mother_birth = date(birth.year - rng.randint(24, 36), rng.randint(1, 12), rng.randint(1, 28))
    guardians = [
        {
            "name": surname + rng.choice(FATHER_NAMES),
            "relation": "1",
            "phone": f"139{rng.randint(10_000_000, 99_999_999)}",
            "id_type": "1",
            "id_number": make_id(region, father_birth, rng.randrange(1, 999, 2)),
            "is_guardian": True,
        },
        {
            "name": rng.choice(MOTHER_SURNAMES) + rng.choice(MOTHER_NAMES),
            "relation": "2",
            "phone": f"158{rng.randint(10_000_000, 99_999_999)}",
            "id_type": "1",
            "id_number": make_id(region, mother_birth, rng.randrange(2, 999, 2)),
            "is_guardian": True,
        },
    ]
    return data, guardians


def seed_students(codes, *, per_class=None):
    """Create the demo students of the schools `codes` (`per_class` overrides the class sizes)."""
    rng = random.Random(2026)
    year_start = school_year_start(timezone.localdate())
    existing = set(Student.objects.values_list("id_number", flat=True))
    created = 0
    serial = 0
    classes = (
        SchoolClass.objects.filter(grade__school__code__in=codes)
        .select_related("grade__school__parent")
        .order_by("grade__school__code", "grade__level", "name")
    )
    for school in Organisation.objects.filter(code__in=codes, kind="school").order_by("code"):
        region = region_code(school)
        pending = []
        with transaction.atomic():
            for school_class in [c for c in classes if c.grade.school_id == school.pk]:
                count = per_class or STUDENTS_PER_CLASS.get(school_class.grade.segment, 12)
                for _ in range(count):
                    serial += 1
                    data, guardians = _person(rng, school_class, region, serial, year_start)
                    if data["id_number"] in existing:
                        continue
                    student = create_student(by=None, school=school, data=data, guardians=guardians)
                    existing.add(data["id_number"])
                    created += 1
                    if school.code in PENDING_SCHOOLS and school_class.grade.level == min(
                        school.grade_levels()
                    ):
                        pending.append(student)
                    else:
                        register_student(student, by=None, occurred_on=data["enrolled_on"])
            registrar = _registrar_of(school)
            if pending and registrar is not None:
                submit_for_review(pending, by=registrar)
            else:
                for student in pending:
                    register_student(student, by=None)
    return created


def _registrar_of(school):
    for user in school.staff.all():
        if user.has_role("school_registrar"):
            return user
    return None
