"""The approval kinds of 学籍异动, registered with the engine in TransfersConfig.ready()."""

from django.urls import reverse

from registrar.approvals import ApprovalKind
from transfers import services
from transfers.models import Kind, approval_kind

# Moving a record to another school (in the system or out of it, or into it from outside) and ending a
# schooling for good are decided on the request's own page, with the evidence in view; the queue's
# bulk approval leaves them out.
PAGE_ONLY = (Kind.TRANSFER, Kind.TRANSFER_OUT, Kind.TRANSFER_IN, Kind.WITHDRAWAL, Kind.DEATH)


def _page(approval):
    return reverse("transfers:detail", args=[approval.status_change.pk])


def approval_kinds():
    return [
        ApprovalKind(
            approval_kind(kind),
            kind.label,
            on_approved=services.apply_change,
            on_rejected=services.note_closed,
            on_withdrawn=services.note_closed,
            validate_submit=services.validate_submit,
            subject_label=services.request_label,
            context=services.request_context,
            get_absolute_url=_page,
            allow_bulk_approve=kind not in PAGE_ONLY,
            unopened_evidence=services.unopened_evidence,
        )
        for kind in Kind
    ]
