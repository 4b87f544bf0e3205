"""Intake (升学) in the demo, for seed_demo: three pupils of 珞珈山小学's grade 6 (洪山区, which no
other demo touches) have graduated, so that 第六中学's registrar (xueji_liuzhong) can take them in,
one by lookup or all by an admission list, and its principal (xiaozhang_liuzhong) and the county
(shenhe_jiangan) review the intake. seed_demo prints their 学籍号, 姓名 and 身份证件号.

Idempotent: once 珞珈山小学 has graduates, nothing is done again.
"""

from django.utils import timezone

from registrar.models import Organisation
from students.errors import StudentError
from students.models import Event, Status, Student
from students.services import ensure_student_free, record_status_event

LUOJIASHAN = "1420111001"
GRADUATES = 3


def seed_intake_demo():
    """Graduate a few of 珞珈山小学's sixth-graders; returns the graduates waiting for an intake."""
    school = Organisation.objects.filter(code=LUOJIASHAN).first()
    if school is None:
        return []
    graduates = Student.objects.filter(school=school, status=Status.GRADUATED).order_by("pk")
    if not graduates.exists():
        sixth = Student.objects.filter(school=school, grade__level=6, status=Status.ENROLLED).order_by("pk")
        # Pupils with nothing in progress.
        free = [student for student in sixth if _is_free(student)]
        for student in free[:GRADUATES]:
            record_status_event(
                student,
                event=Event.GRADUATED,
                by=None,
                occurred_on=timezone.localdate(),
                reason="演示：小学毕业，待初中升学接收",
                action="students.demo.graduated",
            )
    return list(graduates.filter(intake_entries__isnull=True))


def _is_free(student):
    try:
        ensure_student_free(student)
    except StudentError:
        return False
    return True
