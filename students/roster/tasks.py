"""Background jobs of the roster: the import of a confirmed batch (run by `manage.py db_worker`)."""

import logging
import time

from django.db import OperationalError
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from students.models import ImportBatch

logger = logging.getLogger(__name__)

# SQLite answers "database is locked" when another process keeps the write lock longer than the
# connection waits (settings: OPTIONS["timeout"]). The import writes in one transaction, so trying
# it again is safe: a few times, with growing pauses; after that the batch fails with a message
# rather than stay queued for ever.
LOCKED_TRIES = 4
LOCKED_PAUSE_SECONDS = 5


def is_locked(error):
    return "database is locked" in str(error).lower()


@task()
def import_batch(batch_id):
    from students.roster.importer import run_batch

    for attempt in range(1, LOCKED_TRIES + 1):
        try:
            return run_batch(batch_id)
        except OperationalError as error:
            if not is_locked(error) or attempt == LOCKED_TRIES:
                fail_batch(batch_id, error)
                raise
            logger.warning(
                "Roster batch %s: the database is locked; try %d of %d", batch_id, attempt, LOCKED_TRIES
            )
            time.sleep(LOCKED_PAUSE_SECONDS * attempt)
        except Exception as error:
            fail_batch(batch_id, error)
            raise


def fail_batch(batch_id, error):
    """End a batch the import could not finish: nothing was written (the import is one transaction)."""
    if isinstance(error, OperationalError) and is_locked(error):
        message = _("The database stayed busy, so nothing was imported. Upload the file again later.")
    else:
        message = _(
            "The import stopped on an unexpected error, so nothing was imported. Tell your administrator."
        )
    logger.exception("Roster batch %s failed", batch_id, exc_info=error)
    ImportBatch.objects.filter(
        pk=batch_id, state__in=(ImportBatch.State.QUEUED, ImportBatch.State.RUNNING)
    ).update(
        state=ImportBatch.State.FAILED,
        finished_at=timezone.now(),
        errors=[{"row": 0, "messages": [message]}],
    )
