"""Transfers with schools outside the system (issue #16, item 3): 转出 to a school elsewhere, started by
the current school, and 转入 from elsewhere, entered by the receiving school with the number the
student already holds. Through the services and the pages, every refusal, scope and the printout.

The clock stands on 2 March 2026, inside the default transfer window (01-06..03-06).
"""

from datetime import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from registrar import approvals, chains
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.models import ApprovalState
from students.models import Event, Status, StatusEvent, Student
from students.numbers import is_valid_number, j_number
from students.services import revise_registration
from tests.student_helpers import guardian_data, make_id, student_data
from tests.transfer_helpers import (
    IN_WINDOW,
    SHANGHAI,
    attach_required,
    chain_of,
    class_of,
    fresh,
    png,
    reload,
    run_chain,
    started,
)
from transfers import services
from transfers.models import EvidenceType, Kind, StatusChangeRequest

pytest_plugins = ["tests.transfer_fixtures"]

DESTINATION = {
    "outside_school": "佛山市顺德区大良实验小学",
    "outside_province": "广东省",
    "outside_county": "顺德区",
    "outside_address": "佛山市顺德区大良街道凤山中路 1 号",
}
AFTER_THE_WINDOW = datetime(2026, 4, 20, 10, 0, tzinfo=SHANGHAI)
ORIGIN = {
    "outside_school": "长沙市开福区第一小学",
    "outside_province": "湖南省",
    "outside_county": "开福区",
    "outside_address": "",
}


@pytest.fixture(autouse=True)
def in_a_transfer_window():
    with time_machine.travel(IN_WINDOW):
        yield


def transfer_out(registrar, student, **fields):
    fields.setdefault("outside", DESTINATION)
    fields.setdefault("reason", "moved")
    return started(Kind.TRANSFER_OUT, registrar, student, **fields)


def arrival(school_class, *, sequence=7, **overrides):
    """The record of a pupil arriving from outside, with the G number of their resident ID."""
    data = student_data(school_class, name="王小虎", sequence=sequence, **overrides)
    return data, "G" + data["id_number"]


def transfer_in(registrar, school_class, *, data=None, number=None, **fields):
    if data is None:
        data, given = arrival(school_class)
        number = number or given
    fields.setdefault("outside", ORIGIN)
    fields.setdefault("reason", "parent_job")
    fields.setdefault("explanation", "父亲工作调动")
    return services.start_transfer_in(
        by=registrar, data=data, guardians=[guardian_data()], number=number, **fields
    )


def send(change, by):
    attach_required(change, by)
    return services.submit_request(change, by=by)


# --- 转出 to a school outside the system ------------------------------------------------------------


def test_a_transfer_out_closes_the_record_as_transferred_out_with_the_destination(
    registrar, principal, county_reviewer, student
):
    number = student.number
    change = transfer_out(registrar, student)
    assert (change.outside_school, change.outside_province) == ("佛山市顺德区大良实验小学", "广东省")
    change = send(change, registrar)
    assert chain_of(change) == [(Role.PRINCIPAL, "1420102001"), (Role.COUNTY_REVIEWER, "420102")]
    change = run_chain(change, [principal, county_reviewer])
    assert change.approval.state == ApprovalState.APPROVED
    pupil = reload(student)
    # The record stays at the school, locked, with its number; the event names the destination.
    assert (pupil.status, pupil.school_id, pupil.number) == (
        Status.TRANSFERRED_OUT,
        student.school_id,
        number,
    )
    assert pupil.is_locked
    event = StatusEvent.objects.filter(student=pupil).latest("id")
    assert event.event == Event.TRANSFERRED_OUT
    assert "佛山市顺德区大良实验小学（广东省 顺德区）" in event.reason


def test_a_senior_transfer_out_goes_to_the_city_after_the_county():
    from rules.defaults import CHAINS

    key, specs = chains.find_chain("transfers.transfer_out:*:senior", CHAINS)
    assert key == "transfers.transfer_out:*:senior"
    assert specs[0].text == "principal@school"
    assert specs[-1].text == "city_reviewer@city(school)"


def test_a_transfer_out_names_the_school_and_its_province(registrar, student):
    with pytest.raises(DomainError, match="系统外学校的名称和所在省份"):
        transfer_out(registrar, student, outside={**DESTINATION, "outside_province": "  "})
    with pytest.raises(DomainError, match="系统外学校的名称和所在省份"):
        transfer_out(registrar, student, outside={**DESTINATION, "outside_school": ""})
    assert not StatusChangeRequest.objects.exists()


def test_a_transfer_out_needs_the_letter_of_acceptance(registrar, student):
    change = transfer_out(registrar, student)
    services.add_evidence(change, by=registrar, uploaded_file=png(), kind=EvidenceType.APPLICATION)
    with pytest.raises(DomainError, match="转入学校接收证明"):
        services.submit_request(change, by=registrar)
    assert fresh(change).approval.state == ApprovalState.DRAFT


def test_a_suspended_student_cannot_transfer_out(registrar, suspended):
    with pytest.raises(DomainError, match="休学期间不能转学"):
        transfer_out(registrar, suspended)


def test_only_the_students_own_registrar_starts_a_transfer_out(outsider, principal, student):
    for user in (outsider, principal):
        with pytest.raises(PermissionDenied):
            transfer_out(user, student)


@pytest.mark.parametrize("direction", ["out", "in"])
def test_both_keep_to_the_transfer_window(registrar, student, first_class, direction):
    pupils = Student.objects.count()
    start = (
        (lambda: transfer_out(registrar, student))
        if direction == "out"
        else (lambda: transfer_in(registrar, first_class))
    )
    with time_machine.travel(AFTER_THE_WINDOW), pytest.raises(DomainError, match="转学"):
        start()
    assert not StatusChangeRequest.objects.exists()
    assert Student.objects.count() == pupils


def test_the_destination_is_edited_like_the_rest_of_a_draft(registrar, student):
    change = transfer_out(registrar, student)
    services.update_request(change, by=registrar, changes={"outside_county": "南海区 "})
    assert fresh(change).outside_county == "南海区"
    with pytest.raises(DomainError):
        services.update_request(change, by=registrar, changes={"outside_school": ""})
    assert fresh(change).outside_school == DESTINATION["outside_school"]


# --- 转入 from a school outside the system ----------------------------------------------------------


def test_a_transfer_in_keeps_the_number_and_enrols_after_the_county(registrar, county_reviewer, first_class):
    data, number = arrival(first_class)
    change = transfer_in(registrar, first_class, data=data, number=number)
    pupil = change.student
    # In review until the county verifies: the number and the ID are reserved, nothing issued anew.
    assert (pupil.status, pupil.number, pupil.school_class) == (Status.REGISTERING, number, first_class)
    assert pupil.registration_id == change.approval_id
    change = send(change, registrar)
    assert chain_of(change) == [(Role.COUNTY_REVIEWER, "420102")]
    change = run_chain(change, [county_reviewer])
    assert change.approval.state == ApprovalState.APPROVED
    pupil = reload(pupil)
    assert (pupil.status, pupil.number, pupil.school_class) == (Status.ENROLLED, number, first_class)
    event = pupil.status_events.latest("id")
    assert event.event == Event.TRANSFERRED_IN_FROM_OUTSIDE
    assert "长沙市开福区第一小学（湖南省 开福区）" in event.reason


def test_a_j_number_from_elsewhere_is_kept_too(registrar, first_class):
    data, _ = arrival(first_class)
    number = j_number("430105", data["birth_date"], 12)
    change = transfer_in(registrar, first_class, data=data, number=number)
    assert change.student.number == number


@pytest.mark.parametrize(
    "number",
    ["", "G123", "X" + "1" * 18, "G" + make_id()[:-1] + "0", "J43010520150315012X"],
)
def test_a_malformed_number_is_refused_and_nothing_is_entered(registrar, first_class, number):
    data, _ = arrival(first_class)
    with pytest.raises(DomainError, match="不是有效的学籍号"):
        transfer_in(registrar, first_class, data=data, number=number)
    assert not Student.objects.filter(name="王小虎").exists()
    assert not StatusChangeRequest.objects.exists()


def test_the_number_shapes():
    assert is_valid_number("G" + make_id())
    assert is_valid_number(j_number("430105", datetime(2015, 3, 15).date(), 1))
    assert is_valid_number("L43010520150315" + "0042")
    assert not is_valid_number("L43010520151315" + "0042")  # no 15th month
    assert not is_valid_number("G" + make_id() + "1")


def test_a_number_held_here_is_refused(registrar, first_class, student):
    data, _ = arrival(first_class)
    with pytest.raises(DomainError, match="已被另一条学籍记录使用"):
        transfer_in(registrar, first_class, data=data, number=student.number)
    assert not Student.objects.filter(name="王小虎").exists()


def test_an_id_held_here_is_refused_whatever_number_comes_with_it(registrar, first_class, student):
    data, _ = arrival(first_class, id_number=student.id_number, birth=student.birth_date)
    data["gender"] = student.gender
    with pytest.raises(DomainError, match="学籍"):
        transfer_in(registrar, first_class, data=data, number=j_number("430105", data["birth_date"], 3))
    assert Student.objects.filter(id_number=student.id_number).count() == 1


def test_an_id_of_a_record_that_left_is_refused_too(
    registrar, principal, county_reviewer, student, first_class
):
    run_chain(send(transfer_out(registrar, student), registrar), [principal, county_reviewer])
    data, _ = arrival(first_class, id_number=student.id_number, birth=student.birth_date)
    data["gender"] = student.gender
    with pytest.raises(DomainError, match="学籍号终身不变"):
        transfer_in(registrar, first_class, data=data, number=j_number("430105", data["birth_date"], 3))


def test_a_transfer_in_names_the_sending_school(registrar, first_class):
    with pytest.raises(DomainError, match="系统外学校的名称和所在省份"):
        transfer_in(registrar, first_class, outside={**ORIGIN, "outside_province": ""})
    assert not Student.objects.filter(name="王小虎").exists()


def test_a_transfer_in_needs_the_sending_sides_approval(registrar, first_class):
    change = transfer_in(registrar, first_class)
    with pytest.raises(DomainError, match="转出学校及其主管部门审批材料"):
        services.submit_request(change, by=registrar)


def test_a_bad_record_is_refused_with_the_students_own_message(registrar, first_class):
    data, number = arrival(first_class, phone="")
    with pytest.raises(DomainError) as refused:
        transfer_in(registrar, first_class, data=data, number=number)
    assert "phone" in refused.value.errors
    assert not Student.objects.filter(name="王小虎").exists()


def test_only_a_schools_registrar_enters_a_transfer_in(principal, county_reviewer, first_class):
    for user in (principal, county_reviewer):
        with pytest.raises(PermissionDenied):
            transfer_in(user, first_class)


@pytest.mark.parametrize("ending", ["reject", "withdraw"])
def test_a_refused_or_withdrawn_transfer_in_cancels_the_entry_and_frees_the_number(
    registrar, county_reviewer, first_class, ending
):
    data, number = arrival(first_class)
    change = send(transfer_in(registrar, first_class, data=data, number=number), registrar)
    if ending == "reject":
        step = change.approval.current_step
        approvals.reject(change.approval, by=county_reviewer, comment="材料不全", step_id=step.pk)
    else:
        services.withdraw_request(change, by=registrar, comment="家长改变主意")
    pupil = reload(change.student)
    assert (pupil.status, pupil.number) == (Status.CANCELLED, None)
    # The same pupil may be entered again with the papers put right.
    again = transfer_in(registrar, first_class, data=data, number=number)
    assert again.student.number == number


def test_a_returned_transfer_in_is_corrected_on_the_record_and_placed_where_it_ends(
    registrar, county_reviewer, first_class, school
):
    change = send(transfer_in(registrar, first_class), registrar)
    step = change.approval.current_step
    approvals.return_for_revision(change.approval, by=county_reviewer, comment="班级有误", step_id=step.pk)
    other = class_of(school, 1, name="2班")
    revise_registration(change.student, by=registrar, changes={"school_class": other})
    services.submit_request(change, by=registrar)
    change = run_chain(change, [county_reviewer])
    assert (reload(change.student).school_class, change.to_class) == (other, other)


# --- the pages ----------------------------------------------------------------------------------------


def test_the_start_page_offers_both(client_for, registrar):
    page = client_for(registrar).get(reverse("transfers:start")).content.decode()
    assert reverse("transfers:start_kind", args=["transfer_out"]) in page
    assert reverse("transfers:start_transfer_in") in page
    assert client_for(registrar).get(reverse("transfers:start_kind", args=["transfer_in"])).status_code == 404


def test_the_transfer_out_page_starts_a_request(client_for, registrar, student):
    response = client_for(registrar).post(
        reverse("transfers:start_kind", args=["transfer_out"]),
        {"number": student.number, "reason": "moved", "explanation": "随父母迁居", **DESTINATION},
    )
    change = StatusChangeRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == change.get_absolute_url()
    assert (change.kind, change.outside_county) == (Kind.TRANSFER_OUT, "顺德区")


def transfer_in_post(school_class, number, **overrides):
    data, _ = arrival(school_class)
    post = {
        "transfer-number": number,
        "transfer-reason": "parent_job",
        "transfer-explanation": "父亲工作调动",
        **{f"transfer-{field}": value for field, value in ORIGIN.items()},
        "guardians-TOTAL_FORMS": "1",
        "guardians-INITIAL_FORMS": "0",
        "guardians-MIN_NUM_FORMS": "1",
        "guardians-MAX_NUM_FORMS": "3",
        **{f"guardians-0-{field}": value for field, value in guardian_data().items()},
    }
    for field, value in data.items():
        post[field] = getattr(value, "pk", value)
    post["guardians-0-is_guardian"] = "on"
    post.update(overrides)
    return data, post


def test_the_transfer_in_page_enters_the_record_and_the_request(client_for, registrar, first_class):
    client = client_for(registrar)
    url = reverse("transfers:start_transfer_in")
    page = client.get(url).content.decode()
    assert "transfer-number" in page and 'name="id_number"' in page
    data, post = transfer_in_post(first_class, "")
    post["transfer-number"] = "G" + data["id_number"]
    response = client.post(url, post)
    change = StatusChangeRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == change.get_absolute_url()
    assert change.student.number == "G" + data["id_number"]


def test_the_transfer_in_page_says_what_is_wrong_and_enters_nothing(
    client_for, registrar, first_class, student
):
    _data, post = transfer_in_post(first_class, student.number)
    response = client_for(registrar).post(reverse("transfers:start_transfer_in"), post)
    assert response.status_code == 200
    assert "已被另一条学籍记录使用" in response.content.decode()
    assert not Student.objects.filter(name="王小虎").exists()


def test_the_pages_stay_in_scope(
    client_for, registrar, outsider, outsider_reviewer, county_reviewer, first_class
):
    change = send(transfer_in(registrar, first_class), registrar)
    for user in (outsider, outsider_reviewer):
        client = client_for(user)
        assert client.get(change.get_absolute_url()).status_code == 404
        assert client.get(reverse("transfers:print", args=[change.pk])).status_code == 404
    page = client_for(county_reviewer).get(change.get_absolute_url()).content.decode()
    assert "长沙市开福区第一小学" in page and "湖南省" in page


def test_an_approved_transfer_out_prints_the_transfer_form_with_the_destination(
    client_for, registrar, principal, county_reviewer, student
):
    change = run_chain(send(transfer_out(registrar, student), registrar), [principal, county_reviewer])
    client = client_for(registrar)
    # The record stays visible to its school, and the form printable for the family to carry.
    assert client.get(student.get_absolute_url()).status_code == 200
    page = client.get(reverse("transfers:print", args=[change.pk])).content.decode()
    assert "转学联系表" in page
    assert "佛山市顺德区大良实验小学" in page and "凤山中路" in page
    assert student.number in page
    assert "2026-03-02" in page


def test_both_are_decided_on_their_own_page_not_in_a_bulk_approval():
    for kind in (Kind.TRANSFER_OUT, Kind.TRANSFER_IN):
        assert not approvals.KINDS[f"transfers.{kind}"].allow_bulk_approve
