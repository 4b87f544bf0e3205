"""Two reviewers decide the same step at the same moment: exactly one wins (PostgreSQL only).

SQLite serialises writers on its own; PostgreSQL needs the row lock the services take, and this
test proves it with two real connections.
"""

import threading
import time

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, connections

from registrar import approvals
from registrar.choices import Role
from registrar.models import ApprovalRequest, ApprovalState, Decision, DecisionAction
from tests.conftest import make_user
from tests.test_approvals import submitted

pytestmark = [
    pytest.mark.usefixtures("test_kinds"),
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two PostgreSQL connections"),
]


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_approving_one_step_at_once_only_one_wins(registrar, principal, school, monkeypatch):
    rival = make_user("赵校长", school, [Role.PRINCIPAL])
    approval = submitted(registrar, school)
    seen = approval.current_step_id

    # Hold the winner inside its transaction for a moment, so that the loser reads the request
    # while the decision is not committed yet: without the row lock both would win.
    original_record_event = approvals.record_event

    def slow_record_event(*args, **kwargs):
        time.sleep(0.3)
        return original_record_event(*args, **kwargs)

    monkeypatch.setattr(approvals, "record_event", slow_record_event)

    barrier = threading.Barrier(2)
    results = {}

    def decide(user):
        try:
            barrier.wait(timeout=5)
            approvals.approve(ApprovalRequest.objects.get(pk=approval.pk), by=user, step_id=seen)
            results[user.username] = "approved"
        except (approvals.ApprovalError, PermissionDenied) as error:
            results[user.username] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=decide, args=(user,)) for user in (principal, rival)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    outcomes = sorted(results.values(), key=lambda value: value != "approved")
    assert outcomes[0] == "approved"
    loser = outcomes[1]
    assert isinstance(loser, approvals.ApprovalError), loser
    assert "该步骤已由" in loser.message and "处理" in loser.message
    approval = ApprovalRequest.objects.get(pk=approval.pk)
    assert approval.state == ApprovalState.IN_REVIEW
    assert approval.current_step.position == 2
    assert Decision.objects.filter(approval=approval, action=DecisionAction.APPROVED).count() == 1
