"""Roster pages: upload → preview → confirm → progress → result, for each persona."""

from io import BytesIO
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from registrar.models import AuditEvent
from students.models import Guardian, ImportBatch, Status, Student
from students.roster import batches, writing
from tests.roster_helpers import pupil, write_file


def upload_url(school):
    return reverse("students:roster_upload", args=[school.code])


@pytest.fixture
def workbook(tmp_path):
    def make(*rows, name="花名册.xlsx"):
        path = write_file(tmp_path / "upload.xlsx", list(rows))
        return SimpleUploadedFile(name, Path(path).read_bytes())

    return make


@pytest.fixture
def uploaded(client_for, registrar, school, school_class, workbook):
    """A valid file uploaded and checked, waiting for confirmation."""
    response = client_for(registrar).post(upload_url(school), {"file": workbook(pupil(1), pupil(2))})
    assert response.status_code == 302
    return ImportBatch.objects.get()


# --- who may upload -------------------------------------------------------------------------------


def test_upload_requires_login(client, school):
    url = upload_url(school)
    assert client.get(url)["Location"] == f"{reverse('login')}?next={url}"


def test_upload_is_404_for_an_outsider(client_for, outsider, school):
    assert client_for(outsider).get(upload_url(school)).status_code == 404


@pytest.mark.parametrize("persona", ["principal", "county_reviewer", "class_teacher"])
def test_upload_is_403_without_the_registrar_role(client_for, request, school, persona):
    user = request.getfixturevalue(persona)
    assert client_for(user).get(upload_url(school)).status_code == 403
    assert client_for(user).post(upload_url(school), {}).status_code == 403


def test_the_upload_page(client_for, registrar, school):
    page = client_for(registrar).get(upload_url(school)).content.decode()
    assert "导入花名册" in page and school.name in page
    assert reverse("students:roster_template") in page


def test_only_excel_files_are_accepted(client_for, registrar, school, school_class):
    response = client_for(registrar).post(upload_url(school), {"file": SimpleUploadedFile("a.csv", b"a,b")})
    assert response.status_code == 200
    assert "请上传 Excel 工作簿" in response.content.decode()
    assert not ImportBatch.objects.exists()


# --- preview --------------------------------------------------------------------------------------


def test_a_valid_upload_is_checked_and_previewed(client_for, registrar, uploaded, settings):
    assert uploaded.state == ImportBatch.State.READY
    assert (uploaded.total_rows, uploaded.new_count, uploaded.created_by) == (2, 2, registrar)
    assert uploaded.original_name == "花名册.xlsx"
    assert Path(uploaded.file.path).is_relative_to(settings.MEDIA_ROOT)
    assert not Student.objects.exists()
    page = client_for(registrar).get(uploaded.get_absolute_url()).content.decode()
    assert "所有行都正确" in page and "确认导入" in page
    assert pupil(1)["姓名"] in page
    assert pupil(1)["身份证件号"] not in page  # IDs are masked in the preview


def test_an_invalid_upload_lists_every_error_and_offers_the_error_workbook(
    client_for, registrar, school, school_class, workbook
):
    client = client_for(registrar)
    response = client.post(
        upload_url(school), {"file": workbook(pupil(1), pupil(2, 民族="火星族"), pupil(3, 性别="女"))}
    )
    batch = ImportBatch.objects.get()
    assert response["Location"] == batch.get_absolute_url()
    assert (batch.state, batch.invalid_count) == (ImportBatch.State.INVALID, 2)
    assert [error["row"] for error in batch.errors] == [3, 4]
    page = client.get(batch.get_absolute_url()).content.decode()
    assert "火星族" in page and "未导入任何数据" in page
    assert "确认导入" not in page
    download = client.get(reverse("students:roster_errors", args=[batch.pk]))
    assert download.status_code == 200
    sheet = openpyxl.load_workbook(BytesIO(b"".join(download.streaming_content))).worksheets[0]
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [3, 4]
    assert client.post(reverse("students:roster_confirm", args=[batch.pk])).status_code == 302
    assert not Student.objects.exists()


def test_a_file_without_the_header(client_for, registrar, school, school_class):
    book = openpyxl.Workbook()
    book.active.append(["随便", "什么"])
    buffer = BytesIO()
    book.save(buffer)
    client_for(registrar).post(upload_url(school), {"file": SimpleUploadedFile("x.xlsx", buffer.getvalue())})
    batch = ImportBatch.objects.get()
    assert batch.state == ImportBatch.State.INVALID
    assert "找不到表头" in batch.errors[0]["messages"][0]


# --- confirm and result ---------------------------------------------------------------------------


def test_confirming_imports_in_the_background_and_shows_the_result(client_for, registrar, uploaded):
    client = client_for(registrar)
    response = client.post(reverse("students:roster_confirm", args=[uploaded.pk]))
    assert response["Location"] == uploaded.get_absolute_url()
    uploaded.refresh_from_db()
    assert uploaded.state == ImportBatch.State.DONE
    assert uploaded.task_id
    students = Student.objects.all()
    assert [student.status for student in students] == [Status.REGISTERING] * 2
    assert all(student.number is None for student in students)
    page = client.get(uploaded.get_absolute_url()).content.decode()
    assert "已导入：新增学生 2 人" in page
    assert AuditEvent.objects.filter(action="students.roster.imported", actor=registrar).count() == 1


def test_staff_imports_enter_the_registration_review(client_for, registrar, uploaded):
    client_for(registrar).post(reverse("students:roster_confirm", args=[uploaded.pk]))
    assert all(student.registration_id for student in Student.objects.all())


def test_confirming_twice_imports_once(client_for, registrar, uploaded):
    client = client_for(registrar)
    client.post(reverse("students:roster_confirm", args=[uploaded.pk]))
    response = client.post(reverse("students:roster_confirm", args=[uploaded.pk]), follow=True)
    assert "已经导入" in response.content.decode()
    assert Student.objects.count() == 2


def test_a_file_that_became_invalid_before_the_import_fails_cleanly(
    client_for, registrar, uploaded, school_class
):
    school_class.capacity = 1
    school_class.save()
    client_for(registrar).post(reverse("students:roster_confirm", args=[uploaded.pk]))
    uploaded.refresh_from_db()
    assert uploaded.state == ImportBatch.State.FAILED
    assert "已满" in uploaded.errors[0]["messages"][0]
    assert uploaded.error_file
    assert not Student.objects.exists()


def confirm_and_reload(client, batch):
    client.post(reverse("students:roster_confirm", args=[batch.pk]))
    batch.refresh_from_db()
    return batch


def test_a_job_that_fails_unexpectedly_ends_failed_with_a_plain_reason(
    client_for, registrar, uploaded, monkeypatch, caplog
):
    def broken(writer, rows=None):
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(writing.Writer, "write_new", broken)
    client = client_for(registrar)
    batch = confirm_and_reload(client, uploaded)
    assert batch.state == ImportBatch.State.FAILED and batch.finished_at
    assert batch.errors == [{"row": 0, "messages": [str(batches.UNEXPECTED_FAILURE)]}]
    assert not Student.objects.exists()
    assert not AuditEvent.objects.filter(action="students.roster.imported").exists()
    assert "secret detail of the failure" in caplog.text
    page = client.get(batch.get_absolute_url()).content.decode()
    assert str(batches.UNEXPECTED_FAILURE) in page and "secret detail" not in page
    assert "roster-progress.js" not in page
    data = client.get(reverse("students:roster_progress", args=[batch.pk])).json()
    assert (data["state"], data["finished"]) == ("failed", True)


def test_a_database_error_in_the_middle_of_the_write_leaves_nothing(
    client_for, registrar, uploaded, monkeypatch
):
    """The students are inserted, then the copying of their history rows fails in the database."""
    from students.roster import bulk

    def failing_copies(statements):
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO no_such_table (id) VALUES (1)")

    monkeypatch.setattr(bulk, "execute_all", failing_copies)
    client = client_for(registrar)
    batch = confirm_and_reload(client, uploaded)
    assert batch.state == ImportBatch.State.FAILED
    assert batch.errors[0]["messages"] == [str(batches.UNEXPECTED_FAILURE)]
    assert not Student.objects.exists() and not Guardian.objects.exists()
    assert client.get(reverse("students:roster_progress", args=[batch.pk])).json()["finished"] is True


def test_a_job_that_cannot_be_queued_fails_at_once(client_for, registrar, uploaded, monkeypatch):
    from django_tasks.backends.immediate import ImmediateBackend

    def refuse(*args, **kwargs):
        raise ConnectionError("queue down")

    monkeypatch.setattr(ImmediateBackend, "enqueue", refuse)
    batch = confirm_and_reload(client_for(registrar), uploaded)
    assert batch.state == ImportBatch.State.FAILED
    assert not Student.objects.exists()


def test_an_upload_the_queue_cannot_take_fails_and_keeps_its_file(
    client_for, registrar, school, school_class, workbook, monkeypatch
):
    from django_tasks.backends.immediate import ImmediateBackend

    def refuse(*args, **kwargs):
        raise ConnectionError("queue down")

    monkeypatch.setattr(ImmediateBackend, "enqueue", refuse)
    client_for(registrar).post(upload_url(school), {"file": workbook(pupil(1))})
    batch = ImportBatch.objects.get()
    assert batch.state == ImportBatch.State.FAILED
    assert batch.errors[0]["messages"] == [str(batches.UNEXPECTED_CHECK_FAILURE)]
    assert Path(batch.file.path).is_file()


@pytest.mark.parametrize(
    ("persona", "status"), [("principal", 403), ("outsider", 404), ("county_reviewer", 403)]
)
def test_only_the_registrar_confirms(client_for, request, uploaded, persona, status):
    user = request.getfixturevalue(persona)
    assert client_for(user).post(reverse("students:roster_confirm", args=[uploaded.pk])).status_code == status
    assert not Student.objects.exists()


def test_confirm_is_post_only(client_for, registrar, uploaded):
    assert (
        client_for(registrar).get(reverse("students:roster_confirm", args=[uploaded.pk])).status_code == 405
    )


# --- progress and the list ------------------------------------------------------------------------


def test_the_progress_endpoint(client_for, registrar, uploaded):
    ImportBatch.objects.filter(pk=uploaded.pk).update(state=ImportBatch.State.RUNNING, rows_done=1)
    client = client_for(registrar)
    data = client.get(reverse("students:roster_progress", args=[uploaded.pk])).json()
    assert data == {"state": "running", "state_display": "正在导入", "done": 1, "total": 2, "finished": False}
    page = client.get(uploaded.get_absolute_url()).content.decode()
    assert "<progress" in page and "roster-progress.js" in page
    assert 'http-equiv="refresh"' in page


def test_a_checked_file_ends_the_progress_of_its_check(client_for, registrar, uploaded):
    """The page polling the check reloads to show the preview and its confirm button."""
    data = client_for(registrar).get(reverse("students:roster_progress", args=[uploaded.pk])).json()
    assert (data["state"], data["finished"]) == ("ready", True)


def test_batches_are_visible_in_scope_only(client_for, uploaded, county_reviewer, outsider):
    assert client_for(county_reviewer).get(uploaded.get_absolute_url()).status_code == 200
    assert client_for(outsider).get(uploaded.get_absolute_url()).status_code == 404
    assert (
        client_for(outsider).get(reverse("students:roster_progress", args=[uploaded.pk])).status_code == 404
    )
    assert client_for(outsider).get(reverse("students:roster_errors", args=[uploaded.pk])).status_code == 404


@pytest.fixture
def invalid_batch(client_for, registrar, school, school_class, workbook):
    client_for(registrar).post(upload_url(school), {"file": workbook(pupil(1), pupil(2, 民族="火星族"))})
    batch = ImportBatch.objects.get()
    assert batch.state == ImportBatch.State.INVALID and batch.error_file
    return batch


def batch_urls(batch):
    return [
        batch.get_absolute_url(),
        reverse("students:roster_progress", args=[batch.pk]),
        reverse("students:roster_errors", args=[batch.pk]),
    ]


@pytest.mark.parametrize("persona", ["class_teacher", "principal"])
def test_batches_and_their_error_workbooks_are_not_for_class_teachers_or_principals(
    client_for, request, invalid_batch, persona
):
    """The file holds every pupil's full ID number and the guardians' IDs and phones."""
    client = client_for(request.getfixturevalue(persona))
    for url in batch_urls(invalid_batch):
        assert client.get(url).status_code == 403
    assert client.get(reverse("students:roster_imports")).status_code == 403
    assert not AuditEvent.objects.filter(action="students.roster.error_workbook_downloaded").exists()


def test_a_class_teacher_of_another_school_gets_404(client_for, invalid_batch, other_school):
    from registrar.services import create_class
    from tests.conftest import make_user

    teacher = make_user("teacher_elsewhere", other_school, ["class_teacher"])
    teacher.classes.add(create_class(other_school.grades.get(level=1), by=None, name="1班"))
    client = client_for(teacher)
    for url in batch_urls(invalid_batch):
        assert client.get(url).status_code == 404


@pytest.mark.parametrize("persona", ["registrar", "county_reviewer"])
def test_downloading_the_error_workbook_is_logged_with_its_rows(client_for, request, invalid_batch, persona):
    user = request.getfixturevalue(persona)
    response = client_for(user).get(reverse("students:roster_errors", args=[invalid_batch.pk]))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(BytesIO(b"".join(response.streaming_content))).worksheets[0]
    rows = len(list(sheet.iter_rows(min_row=2)))
    event = AuditEvent.objects.get(action="students.roster.error_workbook_downloaded")
    assert (event.actor, event.object_id, event.node, event.data["rows"]) == (
        user,
        str(invalid_batch.pk),
        invalid_batch.node,
        rows,
    )
    assert rows == 1


def test_a_class_teacher_exports_only_their_class_and_it_is_logged(
    client_for, registrar, class_teacher, school, school_class, workbook
):
    from registrar.services import create_class

    other = create_class(school_class.grade, by=None, name="2班")
    upload = workbook(pupil(1), pupil(2), pupil(3, 班级=other.name))
    client = client_for(registrar)
    client.post(upload_url(school), {"file": upload})
    client.post(reverse("students:roster_confirm", args=[ImportBatch.objects.get().pk]))
    assert Student.objects.count() == 3
    response = client_for(class_teacher).get(reverse("students:roster_export"))
    sheet = openpyxl.load_workbook(BytesIO(b"".join(response.streaming_content))).worksheets[0]
    names = sorted(row[2] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert names == sorted([pupil(1)["姓名"], pupil(2)["姓名"]])
    event = AuditEvent.objects.get(action="students.roster.exported")
    assert (event.actor, event.data["rows"]) == (class_teacher, 2)


def test_the_list_of_imports(client_for, registrar, outsider, uploaded, school):
    page = client_for(registrar).get(reverse("students:roster_imports")).content.decode()
    assert "花名册.xlsx" in page and upload_url(school) in page
    page = client_for(outsider).get(reverse("students:roster_imports")).content.decode()
    assert "花名册.xlsx" not in page
