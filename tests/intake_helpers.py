"""Building blocks of the intake tests: graduates made through the real services, a receiving
junior school (第六中学, a 完全中学 of the same county) with its office, and admission lists."""

import io

from django.utils import timezone
from openpyxl import Workbook

from registrar import approvals
from registrar.choices import Role
from registrar.models import ApprovalState
from students.models import Event, Student
from students.services import record_status_event
from tests.conftest import make_user
from tests.correction_helpers import class_of_level, enrol

RECEIVING = "1420102004"


def graduate(registrar, school, *, name="毕业甲", sequence=1, level=6):
    """A pupil of `school`'s final grade `level`, enrolled, then graduated (毕业)."""
    student = enrol(registrar, class_of_level(school, level), name=name, sequence=sequence)
    record_status_event(student, event=Event.GRADUATED, by=None, occurred_on=timezone.localdate())
    return Student.objects.get(pk=student.pk)


def receiving_office(tree):
    school = tree[RECEIVING]
    return {
        "school": school,
        "registrar": make_user("liuzhong_registrar", school, [Role.SCHOOL_REGISTRAR]),
        "principal": make_user("liuzhong_principal", school, [Role.PRINCIPAL]),
        "seventh": class_of_level(school, 7),
    }


def run_review(approval, reviewers):
    """Approve each step of the request by the reviewer holding it."""
    approval.refresh_from_db()
    while approval.state in (ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW):
        step = approval.current_step
        user = next(u for u in reviewers if u.node_id == step.node_id and step.role in u.roles)
        approval = approvals.approve(approval, by=user, step_id=step.pk)
    return approval


def admission_workbook(rows, header=("学籍号", "身份证件号", "姓名", "年级", "班级")):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_admission_list(path, rows, **options):
    path.write_bytes(admission_workbook(rows, **options))
    return path


def intake_world(nodes, registrar):
    """For the permission matrix: a pupil of 育才小学 graduated and taken in by 第六中学, in review."""
    from intake.services import admit

    office = receiving_office(nodes)
    pupil = graduate(registrar, nodes["1420102001"], name="升学丙", sequence=61)
    return admit([(pupil, office["seventh"])], by=office["registrar"], school=office["school"])
