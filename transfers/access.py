"""Access helpers of 学籍异动: 404 outside the user's scope, then 403 without the role.

A request is in scope when its approval is (`ApprovalRequest.visible_to`: the applying school, the
student's school, or any step of the chain inside the user's node).
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from registrar import approvals
from registrar.access import require_role
from students.models import Student
from transfers.models import Evidence, StatusChangeRequest


def get_change_for(user, pk, *, roles=()):
    queryset = (
        StatusChangeRequest.objects.visible_to(user)
        .for_list()
        .select_related("approval__school", "approval__applicant", "approval__applicant_node", "created_by")
    )
    change = get_object_or_404(queryset, pk=pk)
    require_role(user, roles)
    return change


def get_applicant_change_for(user, pk):
    """For the applicant side only: the registrar of the applying school."""
    change = get_change_for(user, pk)
    if not approvals.may_act_as_applicant(change.approval, user):
        raise PermissionDenied
    return change


def get_evidence_for(user, pk):
    queryset = Evidence.objects.filter(
        change__in=StatusChangeRequest.objects.visible_to(user)
    ).select_related("change__approval")
    return get_object_or_404(queryset, pk=pk)


def may_see_full_record(user, change):
    """The whole record is for those whose node covers the student, and for the reviewers of the case.

    The receiving school of a transfer sees only what identified the student (学籍号, 姓名, ID
    number) and the class they come from, until the transfer is approved and the record is theirs.
    """
    if Student.objects.visible_to(user).filter(pk=change.student_id).exists():
        return True
    if user.node_id is None:
        return False
    return change.approval.steps.filter(node_id=user.node_id, role__in=list(user.roles)).exists()
