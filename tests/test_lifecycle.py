"""The student lifecycle table (students/lifecycle.py): what each event allows, and the workflows
taking their statuses from it."""

import pytest

from corrections import services as corrections
from students import lifecycle
from students.lifecycle import NEW, LifecycleError
from students.models import LIVE_STATUSES, LOCKED_STATUSES, Event, Status
from transfers import rules
from transfers.models import Kind


def test_every_event_has_a_row_and_every_status_is_reachable():
    assert set(lifecycle.TRANSITIONS) == set(Event)
    targets = {transition.target for transition in lifecycle.TRANSITIONS.values()}
    assert set(Status) <= targets
    sources = {status for transition in lifecycle.TRANSITIONS.values() for status in transition.sources}
    assert sources <= {NEW, *Status}


def test_a_record_begins_only_by_registration():
    assert lifecycle.events_from(NEW) == [Event.ENTERED, Event.IMPORTED_ENROLLED]


@pytest.mark.parametrize("status", LOCKED_STATUSES)
def test_a_locked_record_is_reopened_only_by_an_authority_or_the_next_school(status):
    """A graduate or a leaver stays locked: only a reversal, the exchange of a 结业 certificate, the
    next stage's intake, or the receiving school of a transfer opens the record again."""
    allowed = {Event.GRADUATION_REVERSED, Event.CERTIFICATE_EXCHANGED, Event.ADMITTED, Event.TRANSFERRED_IN}
    assert set(lifecycle.events_from(status)) <= allowed


def test_compulsory_education_rules_beyond_the_status_stay_with_the_workflow():
    # 退学 is in the table from 在校 and 休学; the compulsory-education refusal needs the grade.
    assert lifecycle.sources(Event.WITHDRAWN) == (Status.ENROLLED, Status.SUSPENDED)


def test_check_gives_the_new_status_or_a_message_naming_both():
    assert lifecycle.check(Status.ENROLLED, Event.SUSPENDED) == Status.SUSPENDED
    assert lifecycle.check(Status.SUSPENDED, Event.KEY_DATA_CORRECTED) == Status.SUSPENDED
    with pytest.raises(LifecycleError) as refused:
        lifecycle.check(Status.SUSPENDED, Event.TRANSFERRED_OUT, name="张小明")
    assert refused.value.message == "张小明的学籍状态为“休学”，不能办理转出。"


def test_the_workflows_take_their_statuses_from_the_table():
    assert rules.allowed_statuses(Kind.TRANSFER) == (Status.ENROLLED,)
    assert rules.allowed_statuses(Kind.RESUMPTION) == (Status.SUSPENDED,)
    assert set(rules.KIND_EVENTS) == set(Kind)
    assert lifecycle.sources(Event.KEY_DATA_CORRECTED) == corrections.CORRECTABLE_STATUSES
    assert set(corrections.CORRECTABLE_STATUSES) <= set(LIVE_STATUSES)
