"""学籍注册审核: entry by the school registrar, principal, county (city for high school); the number
comes only with the last approval; a return brings the entry back for correction."""

import io
from datetime import date

import pytest
from django.urls import reverse
from PIL import Image

from registrar import approvals
from registrar.approvals import approve, reject, return_for_revision, withdraw
from registrar.errors import ApprovalError
from registrar.models import ApprovalRequest, ApprovalState, AuditEvent
from registrar.services import create_class
from students import registration
from students.models import Event, Status, Student
from students.privacy import mask_id
from students.registration import enter_student, submit_for_review
from students.services import record_status_event, register_student
from tests.conftest import make_user
from tests.student_helpers import guardian_data, make_id, register, student_data


def form_post(school_class, **overrides):
    data = student_data(school_class, **overrides)
    post = {}
    for field, value in data.items():
        if field in ("grade", "school_class"):
            post[field] = value.pk
        elif hasattr(value, "isoformat"):
            post[field] = value.isoformat()
        else:
            post[field] = value
    guardian = guardian_data()
    post.update(
        {
            "guardians-TOTAL_FORMS": "1",
            "guardians-INITIAL_FORMS": "0",
            "guardians-MIN_NUM_FORMS": "1",
            "guardians-MAX_NUM_FORMS": "3",
        }
    )
    for field, value in guardian.items():
        post[f"guardians-0-{field}"] = "on" if value is True else value
    return post


def decide(client, approval, action, comment=""):
    approval.refresh_from_db()
    url = reverse("registrar:approval_decide", args=[approval.pk])
    return client.post(url, {"action": action, "comment": comment, "step_id": approval.current_step_id or ""})


@pytest.fixture
def in_review(registrar, school_class):
    student = register(registrar, school_class)
    (approval,) = submit_for_review([student], by=registrar)
    student.refresh_from_db()
    return student, approval


# --- entering a new student ----------------------------------------------------------------------


def test_new_student_form_requires_the_registrar(client_for, principal, county_reviewer, registrar):
    url = reverse("students:create")
    assert client_for(principal).get(url).status_code == 403
    assert client_for(county_reviewer).get(url).status_code == 404
    assert client_for(registrar).get(url).status_code == 200


def test_entering_a_student_puts_the_registration_in_review(client_for, registrar, school_class):
    response = client_for(registrar).post(reverse("students:create"), form_post(school_class), follow=True)
    student = Student.objects.get()
    assert "等待审核" in response.content.decode()
    assert (student.status, student.number) == (Status.REGISTERING, None)
    approval = student.registration
    assert approval.state == ApprovalState.SUBMITTED
    assert approval.current_step.role == "principal"


def test_bad_input_says_what_is_wrong_and_writes_nothing(client_for, registrar, school_class):
    post = form_post(school_class, name="", id_number="420102201503150019")
    response = client_for(registrar).post(reverse("students:create"), post)
    page = response.content.decode()
    assert response.status_code == 200
    assert "姓名" in page
    assert "校验位" in page
    assert not Student.objects.exists()
    assert not ApprovalRequest.objects.exists()


def test_a_second_registration_of_the_same_person_is_refused(client_for, registrar, school_class):
    register(registrar, school_class, sequence=1)
    response = client_for(registrar).post(reverse("students:create"), form_post(school_class, sequence=1))
    assert "育才小学" in response.content.decode()
    assert Student.objects.count() == 1


# --- the chain -----------------------------------------------------------------------------------


def test_principal_then_county_approve_and_the_number_is_issued(in_review, principal, county_reviewer):
    student, approval = in_review
    approval = approve(approval, by=principal)
    student.refresh_from_db()
    assert (student.status, student.number) == (Status.REGISTERING, None)
    approval = approve(approval, by=county_reviewer)
    student.refresh_from_db()
    assert approval.state == ApprovalState.APPROVED
    assert student.status == Status.ENROLLED
    assert student.number == "G" + student.id_number
    assert student.status_events.last().approved_by == county_reviewer


def test_a_senior_registration_goes_on_to_the_city(tree, city_reviewer, county_reviewer):
    senior_school = tree["1420102004"]
    registrar = make_user("senior_registrar", senior_school, ["school_registrar"])
    principal = make_user("senior_principal", senior_school, ["principal"])
    senior_class = create_class(senior_school.grades.get(level=10), by=None, name="1班")
    student = register(registrar, senior_class)
    (approval,) = submit_for_review([student], by=registrar)
    approval = approve(approve(approval, by=principal), by=county_reviewer)
    assert approval.state == ApprovalState.IN_REVIEW
    assert approval.current_step.role == "city_reviewer"
    approve(approval, by=city_reviewer)
    student.refresh_from_db()
    assert student.status == Status.ENROLLED


def test_returned_entry_is_corrected_and_resubmitted(
    client_for, in_review, registrar, principal, county_reviewer
):
    student, approval = in_review
    approval = approve(approval, by=principal)
    return_for_revision(approval, by=county_reviewer, comment="姓名与户口本不符")
    client = client_for(registrar)
    post = form_post(student.school_class, name="张晓明", reason="按户口本更正")
    response = client.post(reverse("students:edit", args=[student.pk]), post)
    assert response.status_code == 302, response.content.decode()
    student.refresh_from_db()
    assert student.name == "张晓明"
    response = decide(client, approval, "resubmit", "已按户口本更正")
    approval.refresh_from_db()
    assert approval.state == ApprovalState.SUBMITTED
    approval = approve(approve(approval, by=principal), by=county_reviewer)
    student.refresh_from_db()
    assert (student.status, student.name) == (Status.ENROLLED, "张晓明")


def test_a_registration_whose_students_moved_on_cannot_be_resubmitted(
    in_review, registrar, principal, county_reviewer
):
    student, approval = in_review
    approval = return_for_revision(approve(approval, by=principal), by=county_reviewer, comment="请核对")
    # The entry is cancelled by another path while the school revises the batch.
    record_status_event(student, event=Event.CANCELLED, by=registrar, occurred_on=date.today())

    with pytest.raises(ApprovalError, match="已不在审核状态") as error:
        approvals.resubmit(approval, by=registrar)

    assert student.name in error.value.message
    approval.refresh_from_db()
    assert approval.state == ApprovalState.RETURNED


def test_an_entry_in_review_cannot_be_edited(client_for, in_review, registrar):
    student, _request = in_review
    response = client_for(registrar).get(reverse("students:edit", args=[student.pk]), follow=True)
    assert "审核" in response.content.decode()
    assert "students/form.html" not in [template.name for template in response.templates]


def test_a_refusal_cancels_the_registration_and_frees_the_person(
    in_review, principal, registrar, school_class
):
    student, approval = in_review
    reject(approval, by=principal, comment="非本校学生")
    student.refresh_from_db()
    assert student.status == Status.CANCELLED
    assert student.status_events.last().reason == "非本校学生"
    again = register(registrar, school_class)
    assert again.status == Status.REGISTERING


def test_the_school_may_withdraw_its_entry(in_review, registrar):
    student, approval = in_review
    withdraw(approval, by=registrar)
    student.refresh_from_db()
    assert student.status == Status.CANCELLED


def test_a_batch_is_one_request(registrar, principal, county_reviewer, school_class):
    students = [
        register(registrar, school_class, name=name, sequence=n) for n, name in enumerate("甲乙丙", start=1)
    ]
    (approval,) = submit_for_review(students, by=registrar)
    assert "3" in approval.subject_label
    approve(approve(approval, by=principal), by=county_reviewer)
    assert set(Student.objects.values_list("status", flat=True)) == {Status.ENROLLED}


def test_a_batch_cannot_be_submitted_twice(in_review, registrar):
    from students.errors import StudentError

    student, _request = in_review
    with pytest.raises(StudentError):
        submit_for_review([student], by=registrar)


# --- the registration page -----------------------------------------------------------------------


def test_registration_page_is_scoped(
    client, client_for, in_review, outsider, outsider_reviewer, county_reviewer
):
    _student, approval = in_review
    url = reverse("students:registration", args=[approval.pk])
    assert client.get(url).status_code == 302
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider_reviewer).get(url).status_code == 404
    response = client_for(county_reviewer).get(url)
    assert response.status_code == 200
    assert "张小明" in response.content.decode()


def test_principal_approves_from_the_page_and_goes_on(client_for, in_review, principal):
    _student, approval = in_review
    response = decide(client_for(principal), approval, "approve")
    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.current_step.role == "county_reviewer"


# --- editing a registered student ----------------------------------------------------------------


@pytest.fixture
def enrolled(registrar, school_class):
    student = register(registrar, school_class)
    register_student(student, by=registrar)
    student.refresh_from_db()
    return student


def edit_post(student, **changes):
    post = {
        "address": student.address,
        "phone": student.phone,
        "birth_place": student.birth_place,
        "native_place": student.native_place,
        "nationality": student.nationality,
        "overseas": student.overseas,
        "health": student.health,
        "hukou_place": student.hukou_place,
        "hukou_type": student.hukou_type,
        "school_class": student.school_class_id,
        "enrolled_on": student.enrolled_on.isoformat(),
        "admission": student.admission,
        "attendance": student.attendance,
        "guardians-TOTAL_FORMS": "1",
        "guardians-INITIAL_FORMS": "1",
        "guardians-MIN_NUM_FORMS": "1",
        "guardians-MAX_NUM_FORMS": "3",
    }
    guardian = student.guardians.get()
    post["guardians-0-id"] = guardian.pk
    for field, value in guardian_data().items():
        post[f"guardians-0-{field}"] = "on" if value is True else value
    post.update(changes)
    return post


def test_edit_is_scoped_and_for_the_registrar(client_for, enrolled, outsider, principal):
    url = reverse("students:edit", args=[enrolled.pk])
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(principal).get(url).status_code == 403


def test_registrar_edits_non_key_fields_with_history(client_for, enrolled, registrar):
    url = reverse("students:edit", args=[enrolled.pk])
    client = client_for(registrar)
    page = client.get(url).content.decode()
    assert 'name="id_number"' not in page
    response = client.post(url, edit_post(enrolled, address="武汉市江岸区新址 8 号", reason="搬家"))
    assert response.status_code == 302, response.content.decode()
    enrolled.refresh_from_db()
    assert enrolled.address == "武汉市江岸区新址 8 号"
    assert enrolled.history.first().history_change_reason == "搬家"
    timeline = client.get(reverse("students:detail", args=[enrolled.pk])).content.decode()
    assert "武汉市江岸区新址 8 号" in timeline


def test_a_key_field_cannot_be_slipped_into_an_edit(client_for, enrolled, registrar):
    url = reverse("students:edit", args=[enrolled.pk])
    client_for(registrar).post(url, edit_post(enrolled, name="王五", id_number=make_id(sequence=7)))
    enrolled.refresh_from_db()
    assert enrolled.name == "张小明"


def test_bad_edit_changes_nothing(client_for, enrolled, registrar):
    url = reverse("students:edit", args=[enrolled.pk])
    response = client_for(registrar).post(url, edit_post(enrolled, phone="12", address=""))
    assert response.status_code == 200
    enrolled.refresh_from_db()
    assert enrolled.phone == "13800000000"


# --- photo ---------------------------------------------------------------------------------------


def png_upload(size=(358, 441)):
    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, "PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def test_photo_upload_is_reencoded_and_served_in_scope(client_for, enrolled, registrar, outsider):
    url = reverse("students:photo_upload", args=[enrolled.pk])
    assert client_for(outsider).post(url, {"photo": png_upload()}).status_code == 404
    client = client_for(registrar)
    assert client.post(url, {"photo": png_upload()}).status_code == 302
    enrolled.refresh_from_db()
    assert enrolled.photo.name.endswith(".jpg")
    response = client.get(reverse("students:photo", args=[enrolled.pk]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert client_for(outsider).get(reverse("students:photo", args=[enrolled.pk])).status_code == 404
    viewed = AuditEvent.objects.filter(action="students.photo.viewed")
    assert [(event.actor, event.object_id) for event in viewed] == [(registrar, str(enrolled.pk))]


def test_a_file_that_is_no_image_is_refused(client_for, enrolled, registrar):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse("students:photo_upload", args=[enrolled.pk])
    fake = SimpleUploadedFile("photo.jpg", b"not an image at all", content_type="image/jpeg")
    response = client_for(registrar).post(url, {"photo": fake})
    assert response.status_code == 200
    assert "JPG" in response.content.decode()
    enrolled.refresh_from_db()
    assert not enrolled.photo


def test_an_entry_without_family_is_refused_and_nothing_is_queued(registrar, school_class):
    from students.errors import StudentError

    school = school_class.grade.school
    with pytest.raises(StudentError):
        enter_student(by=registrar, school=school, data=student_data(school_class), guardians=[])
    assert not Student.objects.exists()
    assert not ApprovalRequest.objects.exists()


def test_a_failed_submission_leaves_no_entry_behind(registrar, school_class, monkeypatch):
    from registrar.approvals import ApprovalError
    from students import registration

    def refuse(students, *, by):
        raise ApprovalError("审核链配置错误")

    monkeypatch.setattr(registration, "submit_for_review", refuse)
    school = school_class.grade.school
    with pytest.raises(ApprovalError):
        enter_student(
            by=registrar, school=school, data=student_data(school_class), guardians=[guardian_data()]
        )
    assert not Student.objects.exists()


def test_the_review_page_masks_id_numbers(client_for, in_review, county_reviewer):
    student, approval = in_review
    page = (
        client_for(county_reviewer).get(reverse("students:registration", args=[approval.pk])).content.decode()
    )
    assert student.id_number not in page
    assert mask_id(student.id_number) in page


# --- returning single students of a batch ------------------------------------------------------------


@pytest.fixture
def batch(registrar, school_class):
    students = [
        register(registrar, school_class, name=name, sequence=number)
        for number, name in enumerate("甲乙丙", start=1)
    ]
    (approval,) = submit_for_review(students, by=registrar)
    return students, approval


def take_out_url(approval, student):
    return reverse("students:registration_take_out", args=[approval.pk, student.pk])


def test_a_reviewer_returns_one_student_and_the_rest_goes_on(
    client_for, batch, registrar, principal, county_reviewer
):
    (first, second, third), approval = batch
    client = client_for(principal)
    assert (
        'name="reason"' in client.get(reverse("students:registration", args=[approval.pk])).content.decode()
    )

    response = client.post(take_out_url(approval, second), {"reason": "出生日期与户口本不符"})

    assert response["Location"] == reverse("students:registration", args=[approval.pk])
    second.refresh_from_db()
    assert (second.registration_id, second.status) == (None, Status.REGISTERING)
    approval.refresh_from_db()
    assert "2" in approval.subject_label and approval.state == ApprovalState.SUBMITTED
    approve(approve(approval, by=principal), by=county_reviewer)
    assert [Student.objects.get(pk=s.pk).status for s in (first, second, third)] == [
        Status.ENROLLED,
        Status.REGISTERING,
        Status.ENROLLED,
    ]

    # The school sees why, corrects and submits the student again.
    page = client_for(registrar).get(second.get_absolute_url()).content.decode()
    assert "出生日期与户口本不符" in page and "重新提交" in page
    response = client_for(registrar).post(reverse("students:submit_registration", args=[second.pk]))
    second.refresh_from_db()
    assert second.registration.state == ApprovalState.SUBMITTED
    # The notice is gone; the timeline keeps the return and its reason.
    page = client_for(registrar).get(second.get_absolute_url()).content.decode()
    assert "重新提交注册审核" not in page and "从注册审核中单独退回" in page


def test_only_the_holder_of_the_step_returns_a_student_and_says_why(
    client_for, batch, registrar, principal, county_reviewer
):
    (first, _second, _third), approval = batch
    assert client_for(registrar).post(take_out_url(approval, first), {"reason": "x"}).status_code == 403
    assert client_for(county_reviewer).post(take_out_url(approval, first), {"reason": "x"}).status_code == 403
    response = client_for(principal).post(take_out_url(approval, first), {"reason": " "})
    assert "退回" in response.wsgi_request._messages._queued_messages[0].message
    first.refresh_from_db()
    assert first.registration_id == approval.pk


def test_the_last_student_is_returned_with_the_whole_registration(registrar, principal, in_review):
    student, approval = in_review
    with pytest.raises(ApprovalError, match="整批退回"):
        registration.take_out(approval, student, by=principal, reason="信息有误")
