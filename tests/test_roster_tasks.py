"""The background import and SQLite's lock: a busy database is waited for, then tried again, and a
batch that cannot be imported ends as failed with a message instead of staying queued."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.db.backends.sqlite3.base import DatabaseWrapper

from students.models import ImportBatch, Student
from students.roster import batches
from tests.roster_helpers import pupil, write_file


@pytest.fixture
def ready_batch(registrar, school, school_class, tmp_path):
    path = write_file(tmp_path / "upload.xlsx", [pupil(1), pupil(2)])
    uploaded = SimpleUploadedFile("花名册.xlsx", Path(path).read_bytes())
    batch = batches.upload_roster(school, by=registrar, uploaded_file=uploaded)
    # The check ran in the background job (at once, with the tests' task backend).
    batch.refresh_from_db()
    assert batch.state == ImportBatch.State.READY
    return batch


@pytest.fixture
def no_pause(monkeypatch):
    monkeypatch.setattr(batches, "LOCKED_PAUSE_SECONDS", 0)


def locked_then_real(monkeypatch, times):
    real = batches._import_batch
    calls = []

    def import_batch(batch):
        calls.append(batch.pk)
        if len(calls) <= times:
            raise OperationalError("database is locked")
        return real(batch)

    monkeypatch.setattr(batches, "_import_batch", import_batch)
    return calls


def test_an_import_is_tried_again_while_the_database_is_locked(ready_batch, registrar, monkeypatch, no_pause):
    calls = locked_then_real(monkeypatch, times=2)

    batches.confirm_batch(ready_batch, by=registrar)

    ready_batch.refresh_from_db()
    assert len(calls) == 3
    assert ready_batch.state == ImportBatch.State.DONE
    assert Student.objects.count() == 2


def test_a_batch_the_locked_database_never_lets_through_fails_with_a_message(
    ready_batch, registrar, monkeypatch, no_pause
):
    calls = locked_then_real(monkeypatch, times=99)

    batches.confirm_batch(ready_batch, by=registrar)

    ready_batch.refresh_from_db()
    assert len(calls) == batches.LOCKED_TRIES
    assert ready_batch.state == ImportBatch.State.FAILED
    assert ready_batch.finished_at is not None
    assert ready_batch.errors == [
        {"row": 0, "messages": ["数据库一直繁忙，未导入任何数据。请稍后重新上传文件"]}
    ]
    assert Student.objects.count() == 0


def test_an_unexpected_error_fails_the_batch_at_once(ready_batch, registrar, monkeypatch):
    def broken(batch):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(batches, "_import_batch", broken)

    batches.confirm_batch(ready_batch, by=registrar)

    ready_batch.refresh_from_db()
    assert ready_batch.state == ImportBatch.State.FAILED
    assert ready_batch.errors == [{"row": 0, "messages": [str(batches.UNEXPECTED_FAILURE)]}]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own options")
def test_sqlite_waits_for_its_lock_and_lets_pages_read_while_the_worker_writes(tmp_path, django_db_blocker):
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    # A database file of its own, opened as the settings say (the tests' database is in memory).
    probe = DatabaseWrapper(
        {**connection.settings_dict, "NAME": str(tmp_path / "db.sqlite3"), "OPTIONS": options}, alias="probe"
    )
    with django_db_blocker.unblock(), probe.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == 20_000
    probe.close()
