"""The demo corrections: a request in each state, made through the services; a second run changes nothing."""

import time_machine

from corrections.demo import SCENARIOS, seed_correction_demo
from corrections.models import Correction, Evidence
from registrar.models import ApprovalState, AuditEvent
from tests.correction_helpers import NOW, class_of_level, enrol

NAMES = ["陈一", "陈二", "陈三", "陈四", "陈五", "陈六", "陈七"]


def snapshot():
    return sorted(
        (correction.note, correction.student_id, correction.approval.state, correction.evidence.count())
        for correction in Correction.objects.select_related("approval")
    )


def test_the_demo_makes_one_request_per_state_and_runs_twice(registrar, principal, county_reviewer, school):
    with time_machine.travel(NOW):
        school_class = class_of_level(school, 2)
        students = [
            enrol(registrar, school_class, name=name, sequence=index * 2 + 1)
            for index, name in enumerate(NAMES)
        ]

        assert seed_correction_demo() == len(SCENARIOS)
        first = snapshot()
        counts = (Evidence.objects.count(), AuditEvent.objects.count())

        assert seed_correction_demo() == 0
        assert snapshot() == first
        assert (Evidence.objects.count(), AuditEvent.objects.count()) == counts

    states = {note: state for note, _student, state, _images in first}
    assert states == {
        "演示：民族信息变更，草稿待提交": ApprovalState.DRAFT,
        "演示：改名，待校长审核": ApprovalState.SUBMITTED,
        "演示：民族信息变更，待县级核办": ApprovalState.IN_REVIEW,
        "演示：改名，退回修改": ApprovalState.RETURNED,
        "演示：民族信息变更，已核办并更正": ApprovalState.APPROVED,
        "演示：改名，不予通过": ApprovalState.REJECTED,
    }
    assert len({student for _note, student, _state, _images in first}) == len(SCENARIOS)
    applied = Correction.objects.get(note="演示：民族信息变更，已核办并更正")
    applied.student.refresh_from_db()
    assert applied.student.ethnicity == "03" and applied.applied_at is not None
    assert {student.pk for student in students} >= {
        correction.student_id for correction in Correction.objects.all()
    }


def test_without_students_the_demo_makes_nothing(registrar, school):
    assert seed_correction_demo() == 0
    assert not Correction.objects.exists()
