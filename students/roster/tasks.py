"""Background jobs of the roster: the import of a confirmed batch (run by `manage.py db_worker`)."""

from django_tasks import task


@task()
def import_batch(batch_id):
    from students.roster.importer import run_batch

    return run_batch(batch_id)
