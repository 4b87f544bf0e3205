"""The intake pages: the lookup and the class, the admission list, the intake and its review; and the
graduate's 去向 on the previous school's graduation list."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from graduation.models import Destination, Entry
from intake.models import Intake
from registrar import approvals
from students.models import Status, Student
from tests.graduation_helpers import class_of, graduate_candidate, proposed_and_submitted, run_list
from tests.intake_helpers import admission_workbook, graduate, receiving_office, run_review

pytest_plugins = ["tests.graduation_fixtures"]


@pytest.fixture
def office(tree):
    return receiving_office(tree)


@pytest.fixture
def pupil(registrar, school):
    return graduate(registrar, school)


def texts(response):
    return [str(message) for message in response.context["messages"]]


def test_the_registrar_finds_a_graduate_and_submits_the_intake(client_for, pupil, office):
    client = client_for(office["registrar"])
    lookup = {"number": pupil.number, "name": pupil.name, "id_number": pupil.id_number}
    page = client.post("/intake/find/", lookup)
    assert page.status_code == 200 and page.context["found"] == pupil
    response = client.post("/intake/find/", {**lookup, "school_class": office["seventh"].pk}, follow=True)
    intake = Intake.objects.get()
    assert response.redirect_chain[-1][0] == f"/intake/{intake.pk}/"
    assert "已提交审核" in texts(response)[0]


def test_a_wrong_lookup_says_so_and_starts_nothing(client_for, pupil, office):
    client = client_for(office["registrar"])
    page = client.post(
        "/intake/find/", {"number": pupil.number, "name": "别人", "id_number": pupil.id_number}
    )
    assert page.context["found"] is None
    assert "没有找到学籍号、姓名和身份证件号都相符的学生" in page.content.decode()
    assert not Intake.objects.exists()


def test_the_admission_list_page_takes_the_list_in(client_for, pupil, office):
    data = admission_workbook([(pupil.number, "", pupil.name, "七年级", "1班")])
    response = client_for(office["registrar"]).post(
        "/intake/admission-list/", {"file": SimpleUploadedFile("录取名单.xlsx", data)}, follow=True
    )
    intake = Intake.objects.get()
    assert response.redirect_chain[-1][0] == f"/intake/{intake.pk}/"


def test_a_bad_admission_list_shows_its_problems_and_writes_nothing(client_for, pupil, office):
    data = admission_workbook([(pupil.number, "", "别人", "七年级", "1班")])
    page = client_for(office["registrar"]).post(
        "/intake/admission-list/", {"file": SimpleUploadedFile("录取名单.xlsx", data)}
    )
    assert page.status_code == 200 and page.context["problems"]
    assert not Intake.objects.exists()


def test_the_county_reviews_the_intake_on_its_page(client_for, pupil, office, county_reviewer):
    from intake.services import admit

    intake = admit([(pupil, office["seventh"])], by=office["registrar"], school=office["school"])
    approvals.approve(intake.approval, by=office["principal"])
    page = client_for(county_reviewer).get(f"/intake/{intake.pk}/")
    assert page.status_code == 200 and pupil.name in page.content.decode()
    # The county holds the current step: the decision form is on the page.
    assert f"/approvals/{intake.approval.pk}/decide/" in page.content.decode()


def test_the_graduated_school_does_not_see_the_receiving_schools_intake(client_for, pupil, office, registrar):
    from intake.services import admit

    intake = admit([(pupil, office["seventh"])], by=office["registrar"], school=office["school"])
    assert client_for(registrar).get(f"/intake/{intake.pk}/").status_code == 404


def test_the_previous_schools_destination_becomes_further_study(
    season, school, registrar, principal, county_reviewer, office
):
    pupil = graduate_candidate(
        class_of(school, 6), name="毕业丁", registrar=registrar, enrolled_on=date(2020, 9, 1)
    )
    graduation_list = proposed_and_submitted(school, registrar, segment="primary")
    run_list(graduation_list, [principal, county_reviewer])
    assert Student.objects.get(pk=pupil.pk).status == Status.GRADUATED
    from intake.services import admit

    intake = admit([(pupil, office["seventh"])], by=office["registrar"], school=office["school"])
    run_review(intake.approval, [office["principal"], county_reviewer])
    entry = Entry.objects.get(student=pupil)
    assert (entry.destination, entry.destination_school) == (Destination.FURTHER_STUDY, office["school"].name)
    assert entry.history.first().history_change_reason
    assert Student.objects.get(pk=pupil.pk).school == office["school"]
