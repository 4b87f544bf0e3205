"""The administration of student records: edits go through the record's service (checks, history,
audit), and school, grade, class and status cannot be changed there at all (they change through the
workflows, which keep the status history and the class sizes)."""

import pytest
from django.urls import reverse

from registrar.models import AuditEvent, User
from registrar.services import create_class
from students.models import Status, Student
from students.services import register_student
from tests.admin_helpers import form_data
from tests.student_helpers import register


@pytest.fixture
def admin_user(db):
    return User.objects.create_superuser("root", password="pw")


@pytest.fixture
def student(registrar, county_reviewer, school_class):
    student = register(registrar, school_class)
    return register_student(student, by=county_reviewer)


def change_url(student):
    return reverse("admin:students_student_change", args=[student.pk])


def test_the_administration_cannot_move_a_student_or_change_the_status(client_for, admin_user, student, tree):
    client = client_for(admin_user)
    page = client.get(change_url(student))
    data = form_data(page)
    for name in ("school", "grade", "school_class", "status", "name", "id_number"):
        assert name not in data
    elsewhere = create_class(tree["1420102004"].grades.get(level=7), by=None, name="9班")
    data.update(
        school=str(elsewhere.grade.school_id),
        grade=str(elsewhere.grade_id),
        school_class=str(elsewhere.pk),
        status=Status.LEFT,
        phone="13900001111",
    )

    response = client.post(change_url(student), data)

    assert response.status_code == 302
    student_now = Student.objects.get(pk=student.pk)
    assert (student_now.school_id, student_now.grade_id, student_now.school_class_id, student_now.status) == (
        student.school_id,
        student.grade_id,
        student.school_class_id,
        Status.ENROLLED,
    )
    assert student_now.phone == "13900001111"


def test_an_edit_in_the_administration_goes_through_the_service(client_for, admin_user, student):
    client = client_for(admin_user)
    data = form_data(client.get(change_url(student)))
    data["address"] = "武汉市江岸区胜利街 1 号"

    client.post(change_url(student), data)

    student_now = Student.objects.get(pk=student.pk)
    assert student_now.address == "武汉市江岸区胜利街 1 号"
    latest = student_now.history.first()
    assert (latest.history_user, latest.history_change_reason) == (admin_user, "在系统管理后台修改")
    event = AuditEvent.objects.get(action="students.student.updated", object_id=str(student.pk))
    assert event.data["changes"]["address"][1] == "武汉市江岸区胜利街 1 号"


def test_a_bad_value_is_refused_beside_its_field_and_nothing_changes(client_for, admin_user, student):
    client = client_for(admin_user)
    data = form_data(client.get(change_url(student)))
    data["phone"] = "电话"

    response = client.post(change_url(student), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["phone"]
    assert Student.objects.get(pk=student.pk).phone == student.phone
    assert not AuditEvent.objects.filter(action="students.student.updated").exists()


def test_family_members_are_read_only_in_the_administration(client_for, admin_user, student):
    client = client_for(admin_user)
    data = form_data(client.get(change_url(student)))
    assert not [name for name in data if name.startswith("guardians-0-name")]
