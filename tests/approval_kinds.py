"""Approval kinds that exist only for the engine's tests, registered by the `test_kinds` fixture
(tests/conftest.py) for the tests that ask for them and forgotten afterwards: nothing of them
lingers in the registry that the pages and other tests see."""

from registrar.audit import record_event
from registrar.errors import ApprovalError
from registrar.kinds import ApprovalKind

SAMPLE = "tests.sample"
FAILING = "tests.failing"


def _applied(approval, by):
    record_event("tests.sample.applied", actor=by, obj=approval)


def _rejected(approval, by):
    record_event("tests.sample.rejected_hook", actor=by, obj=approval)


def _withdrawn(approval, by):
    record_event("tests.sample.withdrawn_hook", actor=by, obj=approval)


def _returned(approval, by):
    record_event("tests.sample.returned_hook", actor=by, obj=approval)


def _refuse(approval, by):
    raise ApprovalError("规则不允许")


TEST_KINDS = [
    ApprovalKind(
        SAMPLE,
        "测试申请",
        on_approved=_applied,
        on_rejected=_rejected,
        on_withdrawn=_withdrawn,
        on_returned=_returned,
    ),
    ApprovalKind(FAILING, "总会失败的申请", on_approved=_refuse),
    ApprovalKind(
        "tests.linked", "有详情页的申请", get_absolute_url=lambda approval: f"/students/?pk={approval.pk}"
    ),
    ApprovalKind("tests.single", "逐件审核的申请", allow_bulk_approve=False),
]
