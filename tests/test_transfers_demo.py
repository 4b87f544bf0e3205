"""The demo of 学籍异动: every kind in every state, on the demo students; running it again changes nothing."""

from datetime import datetime

import time_machine
from django.core.management import call_command

from registrar.models import ApprovalRequest, ApprovalState, AuditEvent, User
from students.models import StatusEvent, Student
from tests.transfer_helpers import SHANGHAI
from transfers.demo import seed_transfer_demo
from transfers.models import Evidence, Kind, StatusChangeRequest


def snapshot():
    return (
        StatusChangeRequest.objects.count(),
        ApprovalRequest.objects.count(),
        Evidence.objects.count(),
        AuditEvent.objects.count(),
        StatusEvent.objects.count(),
        User.objects.count(),
    )


def test_the_demo_has_every_kind_in_every_state_and_runs_twice_without_changes(db, capsys):
    # A Monday outside the transfer windows: the demo transfers were applied for in the last window.
    with time_machine.travel(datetime(2026, 4, 13, 10, 0, tzinfo=SHANGHAI)):
        call_command("seed_demo", class_size=4)
        summary = seed_transfer_demo()
        assert summary.skipped == []
        states = set(StatusChangeRequest.objects.values_list("kind", "approval__state"))
        assert {(kind, state) for kind in Kind for state in ApprovalState} <= states
        before = snapshot()
        assert seed_transfer_demo().total == 0
        assert snapshot() == before
    county = User.objects.get(username="shenhe_jiangan")
    waiting = {approval.kind for approval in ApprovalRequest.objects.waiting_for(county)}
    assert {"transfers.transfer", "transfers.suspension", "transfers.abroad"} <= waiting
    moved = StatusChangeRequest.objects.get(kind=Kind.TRANSFER, approval__state=ApprovalState.APPROVED)
    assert Student.objects.get(pk=moved.student_id).school.code == "1420102001"
