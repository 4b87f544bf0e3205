"""The record's services: registration, duplicates, class room, edits, locking, status history."""

import threading
from datetime import date

import pytest
from django.db import connection
from django.utils.translation import gettext

from registrar.choices import NodeKind, Role
from registrar.models import AuditEvent, Organisation
from registrar.services import create_class, save_organisation
from students import services
from students.errors import StudentError
from students.lifecycle import LifecycleError
from students.models import Event, Guardian, Status, StatusEvent, Student
from students.services import (
    check_class_room,
    class_enrolment,
    create_student,
    duplicate_message,
    find_live_duplicate,
    record_status_event,
    register_student,
    replace_guardians,
    revise_registration,
    update_student,
)
from tests.conftest import make_user
from tests.student_helpers import guardian_data, make_id, register, student_data

TODAY = date.today()


@pytest.fixture
def other_class(other_school):
    return create_class(other_school.grades.get(level=1), by=None, name="1班")


@pytest.fixture
def enrolled(registrar, school_class):
    student = register(registrar, school_class)
    return register_student(student, by=registrar)


# Registration ---------------------------------------------------------------------------------------


def test_a_registration_is_entered_in_review_with_its_family_and_history(registrar, school_class):
    student = register(registrar, school_class)
    student.refresh_from_db()
    assert (student.status, student.number, student.school_id) == (
        Status.REGISTERING,
        None,
        school_class.grade.school_id,
    )
    assert list(student.guardians.values_list("order", "name")) == [(1, "张大明")]
    (event,) = StatusEvent.objects.filter(student=student)
    assert (event.from_status, event.to_status, event.action) == (
        "",
        Status.REGISTERING,
        "students.registration.created",
    )
    assert event.school_class == school_class
    assert AuditEvent.objects.filter(
        action="students.registration.created", object_id=str(student.pk)
    ).exists()
    (history,) = student.history.all()
    assert history.history_user == registrar


def test_sex_and_birth_date_are_filled_from_the_id(registrar, school_class):
    data = student_data(school_class, sequence=2)
    birth = data["birth_date"]
    data.update(gender="", birth_date=None)
    student = create_student(
        by=registrar, school=school_class.grade.school, data=data, guardians=[guardian_data()]
    )
    assert (student.gender, student.birth_date) == ("2", birth)


def test_names_and_id_numbers_are_normalised_on_entry(registrar, school_class):
    data = student_data(school_class, name=" 阿卜杜拉·𠮷 ")
    data["id_number"] = " " + data["id_number"].lower() + "\u3000"
    student = create_student(
        by=registrar, school=school_class.grade.school, data=data, guardians=[guardian_data()]
    )
    student.refresh_from_db()
    assert student.name == "阿卜杜拉·𠮷"
    assert student.id_number == data["id_number"].strip().upper()


def test_a_broken_record_is_refused_with_its_problems_by_field(registrar, school_class):
    data = student_data(school_class, phone="123", hukou_place="")
    with pytest.raises(StudentError) as refused:
        create_student(by=registrar, school=school_class.grade.school, data=data, guardians=[])
    assert set(refused.value.errors) == {"phone", "hukou_place", "guardians"}
    assert "请填写户口所在地。" in refused.value.message
    assert not Student.objects.exists()


def test_only_the_schools_registrar_enters_registrations(outsider, principal, school_class):
    for user in (outsider, principal):
        with pytest.raises(StudentError, match="只有本校学籍管理员"):
            register(user, school_class)


def test_the_class_must_be_of_the_school(registrar, school_class, other_class):
    data = {**student_data(school_class), "school_class": other_class}
    with pytest.raises(StudentError) as refused:
        create_student(by=registrar, school=school_class.grade.school, data=data, guardians=[guardian_data()])
    assert refused.value.errors == {"school_class": ["该班级不属于所选年级。"]}


def test_a_grade_may_be_given_as_its_level(registrar, school_class):
    student = register(registrar, school_class, grade=1)
    assert student.grade == school_class.grade


# Duplicates -----------------------------------------------------------------------------------------


def test_the_same_id_cannot_be_registered_twice(registrar, enrolled, school_class):
    with pytest.raises(StudentError) as refused:
        register(registrar, school_class, name="张晓明")
    message = refused.value.message
    assert "育才小学" in message and "一年级" in message and "1班" in message and enrolled.number in message
    assert Student.objects.count() == 1


def test_the_same_person_without_id_cannot_be_registered_twice(registrar, school_class):
    register(registrar, school_class, id_type="Z", id_number="")
    with pytest.raises(StudentError, match="严禁双学籍"):
        register(registrar, school_class, id_type="Z", id_number="")
    # Another name is another person.
    register(registrar, school_class, name="李小明", id_type="Z", id_number="")


def test_an_outsider_learns_only_the_region(registrar, outsider, school_class, other_class, enrolled):
    with pytest.raises(StudentError) as refused:
        register(outsider, other_class)
    message = refused.value.message
    assert "武汉市江岸区" in message
    assert "育才小学" not in message and enrolled.number not in message


def test_a_user_of_another_province_learns_nothing_of_the_place(enrolled, tree):
    province = save_organisation(Organisation(code="430000", name="湖南省", kind=NodeKind.PROVINCE), by=None)
    stranger = make_user("stranger", province, [Role.PROVINCE_ADMIN])
    message = duplicate_message(enrolled, stranger)
    assert message == gettext(
        "This student already holds a live registration at another school. One student may hold only "
        "one registration: please contact your education bureau."
    )
    assert "江岸区" not in message and "育才小学" not in message


def test_the_county_sees_the_school(enrolled, county_reviewer):
    assert "育才小学" in duplicate_message(enrolled, county_reviewer)


def test_a_registration_that_ended_is_no_duplicate(registrar, enrolled, school_class):
    record_status_event(enrolled, event=Event.LEFT, by=registrar, occurred_on=TODAY)
    assert (
        find_live_duplicate(
            id_number=enrolled.id_number,
            name=enrolled.name,
            gender=enrolled.gender,
            birth_date=enrolled.birth_date,
        )
        is None
    )
    # Not a duplicate, but the person keeps their record and number (一人一号, issue #14 item 3).
    with pytest.raises(StudentError, match="一人一号"):
        register(registrar, school_class)


def test_the_database_backs_the_duplicate_check(registrar, enrolled, school_class, monkeypatch):
    # As if another office had registered the person between our check and our insert.
    monkeypatch.setattr(services, "find_live_duplicate", _blind_once(services.find_live_duplicate))
    with pytest.raises(StudentError, match="育才小学"):
        register(registrar, school_class)
    assert Student.objects.count() == 1


def _blind_once(real):
    calls = []

    def find(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real(**kwargs)

    return find


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_schools_registering_one_person_at_once(
    registrar, outsider, school_class, other_class, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("needs two real database connections (PostgreSQL)")
    barrier = threading.Barrier(2, timeout=10)
    checked = threading.local()
    real_find = services.find_live_duplicate

    calls = []

    def find_then_wait(**kwargs):
        found = real_find(**kwargs)
        calls.append(found)
        # Both offices have looked (and found nothing) before either writes.
        if not getattr(checked, "done", False):
            checked.done = True
            barrier.wait()
        return found

    monkeypatch.setattr(services, "find_live_duplicate", find_then_wait)
    outcomes = {}

    def enter(user, school_class):
        try:
            outcomes[user.username] = register(user, school_class)
        except StudentError as error:
            outcomes[user.username] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=enter, args=(registrar, school_class)),
        threading.Thread(target=enter, args=(outsider, other_class)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [outcome for outcome in outcomes.values() if isinstance(outcome, Student)]
    refused = [outcome for outcome in outcomes.values() if isinstance(outcome, StudentError)]
    assert len(created) == 1 and len(refused) == 1
    assert Student.objects.count() == 1
    (winner,) = created
    region = "武汉市江岸区" if winner.school.code == "1420102001" else "宜昌市夷陵区"
    assert region in refused[0].message
    # The loser looked again only after the unique constraint refused its insert.
    assert len(calls) == 3 and calls[:2] == [None, None] and calls[2].pk == winner.pk


# Class room (班额) ------------------------------------------------------------------------------------


def test_a_full_class_takes_no_one_more(registrar, school):
    small = create_class(school.grades.get(level=1), by=None, name="2班", capacity=1)
    register(registrar, small)
    assert class_enrolment(small) == 1
    with pytest.raises(StudentError, match="班额已满：最多 1 人，现有 1 人"):
        register(registrar, small, name="李小红", sequence=2)


def test_only_live_students_count(registrar, school):
    small = create_class(school.grades.get(level=1), by=None, name="2班", capacity=1)
    student = register(registrar, small)
    record_status_event(student, event=Event.CANCELLED, by=registrar, occurred_on=TODAY)
    assert class_enrolment(small) == 0
    check_class_room(small)


# Final registration ---------------------------------------------------------------------------------


def test_registration_issues_the_number_and_enrols(registrar, county_reviewer, school_class):
    student = register(registrar, school_class)
    register_student(student, by=county_reviewer, occurred_on=TODAY)
    student.refresh_from_db()
    assert student.status == Status.ENROLLED and student.number == "G" + student.id_number
    event = student.status_events.order_by("id").last()
    assert (event.from_status, event.to_status, event.occurred_on) == (
        Status.REGISTERING,
        Status.ENROLLED,
        TODAY,
    )
    assert event.approved_by == county_reviewer and event.action == "students.registration.approved"
    audit = AuditEvent.objects.get(action="students.registration.approved")
    assert audit.data == {"number": student.number}
    with pytest.raises(StudentError, match="只有审核中"):
        register_student(student, by=county_reviewer)


def test_registration_is_approved_only_from_within_the_area(registrar, outsider_reviewer, school_class):
    student = register(registrar, school_class)
    with pytest.raises(StudentError):
        register_student(student, by=outsider_reviewer)


def test_a_registration_in_review_is_revised_key_fields_and_all(registrar, school_class):
    student = register(registrar, school_class)
    corrected = make_id(birth=student.birth_date.replace(day=16), sequence=2)
    revise_registration(
        student, by=registrar, changes={"id_number": corrected, "name": "张晓明"}, reason="录入错误"
    )
    student.refresh_from_db()
    # Sex and birth date follow the corrected ID.
    assert (student.id_number, student.name, student.gender) == (corrected, "张晓明", "2")
    assert student.birth_date.day == 16
    audit = AuditEvent.objects.get(action="students.registration.revised")
    assert audit.reason == "录入错误" and audit.data["changes"]["name"] == ["张小明", "张晓明"]


def test_a_revision_is_checked_like_a_registration(registrar, enrolled, school_class):
    pending = register(registrar, school_class, name="李小红", sequence=2)
    with pytest.raises(StudentError, match="严禁双学籍"):
        revise_registration(pending, by=registrar, changes={"id_number": enrolled.id_number, "gender": "1"})
    with pytest.raises(StudentError) as refused:
        revise_registration(pending, by=registrar, changes={"gender": "1"})
    assert list(refused.value.errors) == ["id_number"]
    with pytest.raises(StudentError, match="只有审核中"):
        revise_registration(enrolled, by=registrar, changes={"name": "张晓明"})


# Direct edits ---------------------------------------------------------------------------------------


def test_non_key_fields_are_edited_with_history_and_reason(registrar, enrolled):
    update_student(
        enrolled, by=registrar, changes={"phone": "027-85551234", "only_child": True}, reason="家长来电"
    )
    enrolled.refresh_from_db()
    assert (enrolled.phone, enrolled.only_child) == ("027-85551234", True)
    latest = enrolled.history.first()
    assert (latest.history_user, latest.history_change_reason) == (registrar, "家长来电")
    audit = AuditEvent.objects.get(action="students.student.updated")
    assert audit.data["changes"] == {"phone": ["13800000000", "027-85551234"], "only_child": [False, True]}


def test_key_fields_go_through_a_correction(registrar, enrolled):
    with pytest.raises(StudentError, match="关键字段（姓名、民族）须通过关键数据变更办理"):
        update_student(enrolled, by=registrar, changes={"name": "张晓明", "ethnicity": "03"})
    with pytest.raises(StudentError, match="不能在此修改"):
        update_student(enrolled, by=registrar, changes={"status": Status.LEFT})


def test_an_edit_is_checked_like_a_registration(registrar, enrolled):
    with pytest.raises(StudentError) as refused:
        update_student(enrolled, by=registrar, changes={"postcode": "12"})
    assert refused.value.errors == {"postcode": ["邮政编码为 6 位数字。"]}


def test_a_locked_record_is_read_only(registrar, enrolled):
    record_status_event(enrolled, event=Event.GRADUATED, by=registrar, occurred_on=TODAY)
    with pytest.raises(StudentError, match="该学生已毕业/离校，学籍已锁定"):
        update_student(enrolled, by=registrar, changes={"phone": "13912345678"})
    with pytest.raises(StudentError, match="学籍已锁定"):
        replace_guardians(enrolled, by=registrar, guardians=[guardian_data()])


def test_moving_to_a_full_class_is_refused(registrar, enrolled, school):
    full = create_class(school.grades.get(level=1), by=None, name="2班", capacity=1)
    register(registrar, full, name="李小红", sequence=2)
    with pytest.raises(StudentError, match="班额已满"):
        update_student(enrolled, by=registrar, changes={"school_class": full})


def test_family_members_are_replaced_in_order(registrar, enrolled):
    mother = guardian_data(name="李芳", relation="2", id_number=make_id(birth=date(1987, 1, 1), sequence=12))
    replace_guardians(enrolled, by=registrar, guardians=[guardian_data(phone="13911112222"), mother])
    assert list(enrolled.guardians.values_list("order", "name", "phone")) == [
        (1, "张大明", "13911112222"),
        (2, "李芳", "13900000000"),
    ]
    replace_guardians(enrolled, by=registrar, guardians=[mother])
    assert list(enrolled.guardians.values_list("name", flat=True)) == ["李芳"]
    assert Guardian.history.filter(history_type="-").count() == 1
    assert AuditEvent.objects.filter(action="students.guardians.replaced").count() == 2


def test_a_student_without_id_keeps_a_family_member_with_one(registrar, school_class):
    student = register(registrar, school_class, id_type="Z", id_number="")
    with pytest.raises(StudentError, match="至少一位家庭成员须填写身份证件号"):
        replace_guardians(student, by=registrar, guardians=[guardian_data(id_type="", id_number="")])


# Status history -------------------------------------------------------------------------------------


def test_a_status_event_moves_the_student_and_keeps_the_history(registrar, enrolled, tree):
    sixth = tree["1420102004"]
    target = create_class(sixth.grades.get(level=7), by=None, name="1班")
    record_status_event(enrolled, event=Event.TRANSFERRED_OUT, by=registrar, occurred_on=TODAY, reason="转学")
    event = record_status_event(
        enrolled,
        event=Event.TRANSFERRED_IN,
        by=registrar,
        occurred_on=TODAY,
        reason="转学",
        action="transfers.transfer.approved",
        school=sixth,
        grade=target.grade,
        school_class=target,
    )
    assert (enrolled.school, enrolled.grade, enrolled.school_class) == (sixth, target.grade, target)
    enrolled.refresh_from_db()
    assert enrolled.school_class == target
    assert (event.event, event.from_status, event.to_status, event.school, event.reason) == (
        Event.TRANSFERRED_IN,
        Status.TRANSFERRED_OUT,
        Status.ENROLLED,
        sixth,
        "转学",
    )
    assert list(enrolled.status_events.values_list("event", "to_status")) == [
        (Event.ENTERED, Status.REGISTERING),
        (Event.REGISTERED, Status.ENROLLED),
        (Event.TRANSFERRED_OUT, Status.TRANSFERRED_OUT),
        (Event.TRANSFERRED_IN, Status.ENROLLED),
    ]


def test_a_status_event_checks_the_placement(registrar, enrolled, tree, other_class):
    sixth = tree["1420102004"]
    with pytest.raises(StudentError, match="须指定年级"):
        record_status_event(enrolled, event=Event.REPEATED, by=registrar, occurred_on=TODAY, school=sixth)
    with pytest.raises(StudentError, match="该年级不属于本校"):
        record_status_event(
            enrolled,
            event=Event.REPEATED,
            by=registrar,
            occurred_on=TODAY,
            school=sixth,
            grade=other_class.grade,
        )
    with pytest.raises(StudentError, match="该班级不属于所选年级"):
        record_status_event(
            enrolled, event=Event.REPEATED, by=registrar, occurred_on=TODAY, school_class=other_class
        )


def test_a_reversed_graduation_is_refused_when_the_person_is_registered_again(
    registrar, enrolled, school_class
):
    record_status_event(enrolled, event=Event.GRADUATED, by=registrar, occurred_on=TODAY)
    # A registration of the same person can no longer be entered (一人一号); one made before that
    # rule, say by an old import, is written here as it would be.
    again = register(registrar, school_class, sequence=3)
    Student.objects.filter(pk=again.pk).update(id_number=enrolled.id_number)
    with pytest.raises(StudentError, match="严禁双学籍"):
        record_status_event(
            enrolled, event=Event.GRADUATION_REVERSED, by=registrar, occurred_on=TODAY, reason="回退"
        )
    enrolled.refresh_from_db()
    assert enrolled.status == Status.GRADUATED


def test_a_returning_student_needs_room_in_the_class(registrar, school):
    small = create_class(school.grades.get(level=1), by=None, name="2班", capacity=1)
    first = register(registrar, small)
    register_student(first, by=registrar, occurred_on=TODAY)
    record_status_event(first, event=Event.GRADUATED, by=registrar, occurred_on=TODAY)
    register(registrar, small, name="李小红", sequence=2)
    with pytest.raises(StudentError, match="班额已满"):
        record_status_event(first, event=Event.GRADUATION_REVERSED, by=registrar, occurred_on=TODAY)


@pytest.mark.parametrize(
    ("setup", "event", "message"),
    [
        ([], Event.RESUMED, "在校"),
        ([Event.LEFT], Event.TRANSFERRED_OUT, "其他离校"),
        ([Event.GRADUATED], Event.SUSPENDED, "毕业"),
        ([Event.WITHDRAWN], Event.GRADUATION_REVERSED, "退学"),
    ],
)
def test_a_change_the_lifecycle_does_not_allow_is_refused_whoever_asks(
    registrar, enrolled, setup, event, message
):
    for earlier in setup:
        record_status_event(enrolled, event=earlier, by=registrar, occurred_on=TODAY)
    before = enrolled.status_events.count()
    with pytest.raises(LifecycleError, match=message) as refused:
        record_status_event(enrolled, event=event, by=registrar, occurred_on=TODAY)
    assert enrolled.name in refused.value.message
    assert enrolled.status_events.count() == before
    assert Student.objects.get(pk=enrolled.pk).status == enrolled.status
