"""Detection runs in the background (django-tasks), started from the county's (or city's) page."""

import logging

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tasks import task

from problems.errors import ProblemError
from problems.models import DetectionRun
from problems.services import REVIEWER_ROLES, detect_problems
from registrar.choices import NodeKind

logger = logging.getLogger(__name__)

UNEXPECTED_FAILURE = gettext_lazy(
    "The detection stopped on an unexpected error; the administrators can read the details in the log."
)


def may_run_detection(user, node):
    return (
        user.has_role(*REVIEWER_ROLES)
        and node.kind in (NodeKind.COUNTY, NodeKind.CITY, NodeKind.PROVINCE)
        and user.node_id == node.pk
    )


def start_detection(node, *, by):
    """Queue a detection run over the reviewer's own node."""
    if not may_run_detection(by, node):
        raise PermissionDenied
    if DetectionRun.objects.filter(
        node=node, state__in=[DetectionRun.State.QUEUED, DetectionRun.State.RUNNING]
    ).exists():
        raise ProblemError(_("A detection run over this area is already under way: wait for it to finish."))
    run = DetectionRun.objects.create(node=node, started_by=by)
    try:
        result = detect_task.enqueue(run.pk)
    except Exception:
        logger.exception("Problem detection run %s could not be queued", run.pk)
        _finish(run, DetectionRun.State.FAILED, error=str(UNEXPECTED_FAILURE))
        return run
    DetectionRun.objects.filter(pk=run.pk, task_id="").update(task_id=str(result.id)[:64])
    return run


def _finish(run, state, *, summary=None, error=""):
    run.state = state
    run.summary = summary or {}
    run.error = error
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "summary", "error", "finished_at"])


def run_detection(run_id):
    """The background job: the run ends done with its summary, or failed with a reason."""
    run = DetectionRun.objects.select_related("node", "started_by").get(pk=run_id)
    if run.is_finished:
        return run.state
    DetectionRun.objects.filter(pk=run.pk).update(state=DetectionRun.State.RUNNING)
    try:
        summary = detect_problems(run.node, by=run.started_by)
    except Exception:
        logger.exception("Problem detection run %s failed", run.pk)
        _finish(run, DetectionRun.State.FAILED, error=str(UNEXPECTED_FAILURE))
    else:
        _finish(run, DetectionRun.State.DONE, summary=summary)
    return run.state


@task()
def detect_task(run_id):
    return run_detection(run_id)
