"""Rules that span apps: problem records block status changes but not the correction that resolves
them; province-added key fields are refused by direct edits; long decision comments are kept."""

import pytest
import time_machine

from corrections import services as corrections
from corrections.rules import Reason
from registrar import approvals
from students.errors import StudentError
from students.models import ProblemKind, ProblemRecord
from students.registration import submit_for_review
from students.services import ensure_student_free, update_student
from tests.correction_helpers import NOW, enrol
from tests.rules_helpers import set_rule
from tests.student_helpers import make_id, register


@pytest.fixture(autouse=True)
def _fixed_day():
    with time_machine.travel(NOW):
        yield


@pytest.fixture
def flagged(registrar, school_class):
    student = enrol(registrar, school_class)
    ProblemRecord.objects.create(student=student, kind=ProblemKind.INVALID_ID, detail="号码有误")
    return student


def test_a_problem_record_blocks_other_changes(flagged):
    with pytest.raises(StudentError, match="问题学籍"):
        ensure_student_free(flagged)


def test_a_correction_may_resolve_a_problem_record(registrar, flagged):
    correction = corrections.create_correction(
        flagged,
        by=registrar,
        changes={"id_number": (make_id(birth=flagged.birth_date, sequence=3), Reason.INPUT_ERROR)},
    )
    assert correction.pk


def test_province_key_fields_are_refused_by_direct_edits(registrar, school_class, tree):
    student = enrol(registrar, school_class)
    set_rule(tree["420000"], "corrections", "added_fields", "nationality")
    with pytest.raises(StudentError, match="关键"):
        update_student(student, by=registrar, changes={"nationality": "344"})
    student.refresh_from_db()
    assert student.nationality == "156"


def test_a_long_return_comment_is_kept_whole(registrar, principal, school_class):
    student = register(registrar, school_class)
    (approval,) = submit_for_review([student], by=registrar)
    comment = "请核对户口本与出生证明。" * 20
    approval = approvals.return_for_revision(approval, by=principal, comment=comment)
    assert approval.state == "returned"
    assert approval.decisions.last().comment == comment
