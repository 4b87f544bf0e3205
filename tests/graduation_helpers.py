"""Building blocks of the graduation tests: graduating students made through the real services,
results files, and a list run along its chain. Fixtures are in tests/graduation_fixtures.py."""

import io
import itertools
from datetime import date

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from graduation import importer, services
from graduation.models import Result
from registrar import approvals
from registrar.models import ApprovalState, Organisation
from registrar.uploads import clean_photo
from students.models import Student
from students.services import register_student, set_photo
from tests.student_helpers import register
from tests.transfer_helpers import class_of, png

_sequence = itertools.count(301)


def graduate_candidate(school_class, *, name, registrar, enrolled_on=None, photo=True, birth=None):
    """An enrolled student of `school_class`, with a photo, enrolled at the start of the stage."""
    level = school_class.grade.level
    enrolled_on = enrolled_on or date(2023 if level >= 10 else 2020, 9, 1)
    extra = {"birth": birth} if birth else {}
    student = register(
        None, school_class, name=name, sequence=next(_sequence), enrolled_on=enrolled_on, **extra
    )
    student = register_student(student, by=None)
    if photo:
        set_photo(student, by=registrar, clean_file=clean_photo(png("photo.png", size=(358, 441))))
    return Student.objects.get(pk=student.pk)


def workbook_bytes(rows):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(rows, name="成绩.xlsx"):
    return SimpleUploadedFile(name, workbook_bytes(rows))


def province_of(school):
    return Organisation.objects.get(code=school.path.split("/", 1)[0])


def load_results(school, rows, *, by, segment="senior"):
    record = importer.import_results(
        school, workbook_bytes(rows), by=by, province=province_of(school), segment=segment
    )
    assert record.state == "done", record.errors
    return record


def senior_results(students, *, credits=150, moral="合格", fitness="良好"):
    rows = [["学籍号", "姓名", "总学分", "思想品德与公民素养", "体质健康"]]
    rows += [[student.number, student.name, credits, moral, fitness] for student in students]
    return rows


def result_of(student):
    return Result.objects.filter(student=student).first()


def run_list(graduation_list, reviewers):
    """Approve each step of the list by the reviewer holding it."""
    approval = graduation_list.approval
    approval.refresh_from_db()
    while approval.state in (ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW):
        step = approval.current_step
        user = next(u for u in reviewers if u.node_id == step.node_id and step.role in u.roles)
        approval = approvals.approve(approval, by=user, step_id=step.pk)
    return approval


def proposed_and_submitted(school, registrar, *, segment="senior"):
    graduation_list = services.propose_list(school, by=registrar, segment=segment)
    approvals.send(graduation_list.approval, by=registrar)
    return graduation_list


def graduation_world(school, users):
    """For the permission matrix: at `school`, a graduated pupil (list approved, certificate, a
    reversal in draft), a second pupil on a draft list, and a refused results file."""
    from graduation import aftercare
    from graduation.models import CaseKind

    registrar = users["registrar"]
    sixth = class_of(school, 6)
    graduate_candidate(sixth, name="毕业甲", registrar=registrar, enrolled_on=date(2019, 9, 1))
    approved = proposed_and_submitted(school, registrar, segment="primary")
    run_list(approved, [users["principal"], users["county_reviewer"]])
    certificate = approved.entries.get().certificate
    case = aftercare.start_case(CaseKind.REVERSAL, certificate, by=registrar, reason="误操作")
    graduate_candidate(sixth, name="毕业乙", registrar=registrar, enrolled_on=date(2019, 9, 1))
    draft = services.propose_list(school, by=registrar, segment="primary")
    refused = importer.import_results(
        school,
        workbook_bytes([["学籍号", "姓名"], ["G1", "无名"]]),
        by=registrar,
        province=province_of(school),
        segment="primary",
    )
    return {
        "graduation_list_pk": draft.pk,
        "entry_pk": draft.entries.get().pk,
        "certificate_pk": certificate.pk,
        "case_kind": CaseKind.REVERSAL.value,
        "case_pk": case.pk,
        "results_import_pk": refused.pk,
        "graduation_secrets": ["毕业甲", "毕业乙"],
    }


__all__ = ["class_of"]
