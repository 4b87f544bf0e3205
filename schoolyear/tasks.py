"""The promotion's background job (django-tasks, run by `manage.py db_worker`)."""

import logging

from django_tasks import task

from schoolyear.models import PromotionRun
from schoolyear.promotion import execute_run, finish_run, unexpected_failure

logger = logging.getLogger(__name__)


@task()
def run_promotion_job(run_id):
    return execute_run(run_id)


def queue_run(run):
    """Hand the run to the background job; a queue that cannot take it fails the run at once rather
    than leaving it waiting for ever."""
    try:
        result = run_promotion_job.enqueue(run.pk)
    except Exception:
        logger.exception("Promotion %s could not be queued", run.pk)
        finish_run(run, PromotionRun.State.FAILED, problems=[unexpected_failure()])
        return
    PromotionRun.objects.filter(pk=run.pk).update(task_id=str(result.id)[:64])
