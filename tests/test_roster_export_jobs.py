"""A large roster export in the browser: asked, written by a background job, followed, downloaded by
its creator only, removed after a while."""

from datetime import timedelta
from io import BytesIO

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from registrar.models import AuditEvent
from students.models import RosterExport, Student
from students.privacy import mask_id
from students.roster import export_jobs
from tests.roster_helpers import NATIONAL_LOAD, write_file
from tests.test_roster_export import HEADERS, classes, varied_rows  # noqa: F401 (a fixture)

EXPORT = reverse("students:roster_export")


@pytest.fixture
def imported(tmp_path, school, classes, county_reviewer):  # noqa: F811
    source = write_file(tmp_path / "in.xlsx", varied_rows(school))
    call_command("import_roster", *NATIONAL_LOAD, str(source), "--school", school.code)
    assert Student.objects.count() == 3


@pytest.fixture
def large(settings):
    """Every export of more than one student counts as large."""
    settings.REGISTRAR = {**settings.REGISTRAR, "EXPORT_BACKGROUND_ROWS": 1}


def exported(client, params=None):
    """Ask for the export and confirm it: the job (run at once by the tests' task backend)."""
    response = client.post(f"{EXPORT}?{params or ''}")
    job = RosterExport.objects.latest("pk")
    assert response.status_code == 302
    assert response["Location"] == reverse("students:roster_export_job", args=[job.pk])
    return job


def workbook_rows(response):
    sheet = openpyxl.load_workbook(BytesIO(b"".join(response.streaming_content))).worksheets[0]
    return list(sheet.iter_rows(min_row=2, values_only=True))


def test_a_large_export_is_offered_in_the_background_and_nothing_is_queued_by_a_get(
    client_for, registrar, imported, large
):
    response = client_for(registrar).get(EXPORT, {"grade": "1"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "后台" in page and 'method="post"' in page and "?grade=1" in page
    assert response.context["count"] == 2
    assert not RosterExport.objects.exists()
    assert not AuditEvent.objects.filter(action="students.roster.exported").exists()


def test_a_small_export_still_downloads_at_once(client_for, registrar, imported):
    response = client_for(registrar).get(EXPORT)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert len(workbook_rows(response)) == 3
    assert not RosterExport.objects.exists()


def test_the_job_writes_the_file_its_page_offers_it_and_both_are_logged(
    client_for, registrar, imported, school, large
):
    client = client_for(registrar)
    job = exported(client, "grade=1")

    job.refresh_from_db()
    assert (job.state, job.rows_done, job.total_rows, job.node) == (RosterExport.State.DONE, 2, 2, school)
    assert job.filename.startswith("花名册-育才小学-一年级-") and job.filename.endswith(".xlsx")
    page = client.get(job.get_absolute_url()).content.decode()
    download = reverse("students:roster_export_download", args=[job.pk])
    assert download in page and "2 名学生" in page
    progress = client.get(reverse("students:roster_export_progress", args=[job.pk])).json()
    assert (progress["finished"], progress["done"], progress["total"]) == (True, 2, 2)

    response = client.get(download)
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Cache-Control"] == "private, no-store"
    rows = workbook_rows(response)
    assert len(rows) == 2
    assert {row[HEADERS.index("年级")] for row in rows} == {"一年级"}
    exported_event = AuditEvent.objects.get(action="students.roster.exported")
    assert (exported_event.actor, exported_event.data["rows"], exported_event.object_id) == (
        registrar,
        2,
        str(job.pk),
    )
    downloaded = AuditEvent.objects.get(action="students.roster.export_downloaded")
    assert (downloaded.actor, downloaded.data["rows"], downloaded.node) == (registrar, 2, school)


def test_a_principal_gets_the_numbers_masked(client_for, principal, imported, large):
    client = client_for(principal)
    job = exported(client)
    assert job.masked
    rows = workbook_rows(client.get(reverse("students:roster_export_download", args=[job.pk])))
    student = Student.objects.exclude(id_number="").first()
    values = {str(value) for row in rows for value in row if value}
    assert mask_id(student.id_number) in values and student.id_number not in values


@pytest.mark.parametrize("persona", ["outsider", "principal", "county_reviewer"])
def test_nobody_but_its_creator_sees_the_job_or_its_file(
    client_for, request, registrar, imported, large, persona
):
    job = exported(client_for(registrar))
    other = client_for(request.getfixturevalue(persona))

    for name in ("roster_export_job", "roster_export_progress", "roster_export_download"):
        assert other.get(reverse(f"students:{name}", args=[job.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="students.roster.export_downloaded").exists()


def test_an_outsiders_export_holds_nothing_of_ours(client_for, outsider, imported, large, settings):
    settings.REGISTRAR = {**settings.REGISTRAR, "EXPORT_BACKGROUND_ROWS": -1}
    client = client_for(outsider)
    job = exported(client)
    job.refresh_from_db()
    assert (job.state, job.rows_done) == (RosterExport.State.DONE, 0)
    assert workbook_rows(client.get(reverse("students:roster_export_download", args=[job.pk]))) == []


def test_a_user_moved_to_another_node_no_longer_sees_their_export(
    client_for, registrar, imported, large, other_school
):
    job = exported(client_for(registrar))
    registrar.node = other_school
    registrar.save(update_fields=["node"])

    client = client_for(registrar)
    assert client.get(job.get_absolute_url()).status_code == 404
    assert client.get(reverse("students:roster_export_download", args=[job.pk])).status_code == 404


def test_a_job_whose_user_moved_before_it_ran_writes_nothing(registrar, imported, other_school):
    job = RosterExport.objects.create(
        created_by=registrar, node=registrar.node, filename="花名册.xlsx", masked=False, total_rows=3
    )
    registrar.node = other_school
    registrar.save(update_fields=["node"])

    assert export_jobs.run_export(job.pk) == RosterExport.State.FAILED
    job.refresh_from_db()
    assert not job.file and "单位" in job.message
    assert not AuditEvent.objects.filter(action="students.roster.exported").exists()


def test_the_file_is_removed_after_the_time_it_is_kept(client_for, registrar, imported, large, settings):
    client = client_for(registrar)
    job = exported(client)
    job.refresh_from_db()
    storage, name = job.file.storage, job.file.name
    assert storage.exists(name)
    hours = settings.REGISTRAR["EXPORT_KEEP_HOURS"]

    RosterExport.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(hours=hours - 1))
    assert export_jobs.remove_expired() == 0
    assert storage.exists(name)

    RosterExport.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(hours=hours + 1))
    page = client.get(job.get_absolute_url()).content.decode()
    assert "已删除" in page
    assert not storage.exists(name)
    assert client.get(reverse("students:roster_export_download", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert (job.state, job.file.name) == (RosterExport.State.EXPIRED, "")


def test_a_new_export_removes_the_files_kept_long_enough(client_for, registrar, imported, large, settings):
    client = client_for(registrar)
    old = exported(client)
    old.refresh_from_db()
    name = old.file.name
    hours = settings.REGISTRAR["EXPORT_KEEP_HOURS"]
    RosterExport.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(hours=hours + 1))

    exported(client)

    old.refresh_from_db()
    assert old.state == RosterExport.State.EXPIRED and not old.file
    assert not old.file.storage.exists(name)


def test_a_failing_job_ends_failed_with_a_message_and_no_file(
    client_for, registrar, imported, large, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_jobs.exporter, "write_roster", broken)
    client = client_for(registrar)
    job = exported(client)

    job.refresh_from_db()
    assert (job.state, job.file.name) == (RosterExport.State.FAILED, "")
    page = client.get(job.get_absolute_url()).content.decode()
    assert "意外" in page
    assert client.get(reverse("students:roster_export_download", args=[job.pk])).status_code == 404


def test_a_filter_outside_the_node_queues_nothing(client_for, registrar, imported, large, other_school):
    response = client_for(registrar).post(f"{EXPORT}?school={other_school.code}")
    assert response.status_code == 302 and response["Location"].startswith(reverse("students:roster"))
    assert not RosterExport.objects.exists()


def test_the_export_pages_require_login(client, db):
    assert client.post(EXPORT)["Location"].startswith(reverse("login"))
    url = reverse("students:roster_export_job", args=[1])
    assert client.get(url)["Location"].startswith(reverse("login"))
