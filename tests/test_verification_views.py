"""The pages of 数据质量核查 and 人籍一致: who may open what, scope (404 outside), effects and logging."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from registrar.models import AuditEvent
from tests.transfer_helpers import enrolled
from tests.verification_helpers import open_for, scan, upload_all
from verification import services
from verification.models import Absence, AbsenceReason, AttendanceCheck, Campaign, ConfirmationForm, Outcome


@pytest.fixture
def pupils(school_class):
    return [enrolled(school_class, name=name) for name in ("王一", "李二")]


@pytest.fixture
def campaign(county_reviewer):
    return open_for(county_reviewer)


@pytest.fixture
def form(campaign, pupils, registrar):
    return upload_all(campaign, pupils[:1], registrar)[0]


def test_the_county_opens_a_campaign_from_its_page(client_for, county_reviewer):
    client = client_for(county_reviewer)
    deadline = timezone.localdate() + timedelta(days=20)
    response = client.post(
        reverse("verification:open"), {"title": "春季核查", "deadline": deadline.isoformat()}
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == campaign.get_absolute_url()


def test_a_bad_deadline_is_shown_and_nothing_is_opened(client_for, county_reviewer):
    client = client_for(county_reviewer)
    response = client.post(reverse("verification:open"), {"title": "春季核查", "deadline": "2000-01-01"})
    assert response.status_code == 200 and "截止" in response.content.decode()
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("persona", ["registrar", "class_teacher", "province_admin"])
def test_others_cannot_open_a_campaign(request, client_for, persona):
    response = client_for(request.getfixturevalue(persona)).get(reverse("verification:open"))
    assert response.status_code == 403


def test_the_campaign_page_shows_schools_to_the_county_and_classes_to_the_school(
    client_for, campaign, form, county_reviewer, registrar, school_class
):
    county_page = client_for(county_reviewer).get(campaign.get_absolute_url()).content.decode()
    assert "育才小学" in county_page
    school_page = client_for(registrar).get(campaign.get_absolute_url()).content.decode()
    assert str(school_class) in school_page


def test_outsiders_get_404_everywhere(client_for, campaign, form, school_class, outsider, outsider_reviewer):
    urls = [
        campaign.get_absolute_url(),
        reverse("verification:class", args=[campaign.pk, school_class.pk]),
        reverse("verification:print", args=[campaign.pk, school_class.pk]),
        form.get_absolute_url(),
        reverse("verification:scan", args=[form.pk]),
        reverse("verification:attendance_class", args=[school_class.pk]),
    ]
    for user in (outsider, outsider_reviewer):
        client = client_for(user)
        for url in urls:
            assert client.get(url).status_code in (403, 404), (user, url)
        assert client.get(reverse("verification:scan", args=[form.pk])).status_code == 404


def test_a_class_teacher_reaches_only_their_classes(client_for, campaign, school, class_teacher):
    from tests.transfer_helpers import class_of

    other = class_of(school, 1, name="2班")
    stranger = enrolled(other, name="钱多")
    other_form = upload_all(campaign, [stranger], _registrar_of(school))[0]
    client = client_for(class_teacher)
    assert client.get(reverse("verification:class", args=[campaign.pk, other.pk])).status_code == 404
    assert client.get(other_form.get_absolute_url()).status_code == 404
    assert client.get(reverse("verification:attendance_class", args=[other.pk])).status_code == 404


def _registrar_of(school):
    from registrar.models import User

    return (
        User.objects.get(username="registrar")
        if User.objects.filter(username="registrar").exists()
        else _make(school)
    )


def _make(school):
    from registrar.choices import Role
    from tests.conftest import make_user

    return make_user("registrar", school, [Role.SCHOOL_REGISTRAR])


def test_the_print_is_one_page_per_student_and_logged(client_for, campaign, pupils, registrar, school_class):
    response = client_for(registrar).get(reverse("verification:print", args=[campaign.pk, school_class.pk]))
    page = response.content.decode()
    assert page.count('class="print-sheet card-sheet confirmation-sheet"') == 2
    assert pupils[0].id_number in page and "家长签字" in page
    assert AuditEvent.objects.filter(action="verification.forms.printed").count() == 1


def test_uploading_by_the_page_in_bulk(client_for, campaign, pupils, registrar, school_class):
    files = [scan(f"{student.number}.png") for student in pupils]
    url = reverse("verification:upload_bulk", args=[campaign.pk, school_class.pk])
    response = client_for(registrar).post(url, {"files": files})
    assert response.status_code == 302
    assert ConfirmationForm.objects.count() == 2


def test_a_mismatched_bulk_upload_lists_the_files(client_for, campaign, pupils, registrar, school_class):
    url = reverse("verification:upload_bulk", args=[campaign.pk, school_class.pk])
    response = client_for(registrar).post(url, {"files": [scan("家长签字.png")]}, follow=True)
    page = response.content.decode()
    assert "家长签字.png" in page and not ConfirmationForm.objects.exists()


def test_the_scan_is_served_privately_and_its_opening_logged(client_for, form, class_teacher):
    response = client_for(class_teacher).get(reverse("verification:scan", args=[form.pk]))
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert AuditEvent.objects.filter(action="verification.scan.opened", actor=class_teacher).exists()


def test_the_class_teacher_checks_a_form_on_its_page(client_for, form, class_teacher):
    client = client_for(class_teacher)
    assert "一致" in client.get(form.get_absolute_url()).content.decode()
    response = client.post(form.get_absolute_url(), {"wrong_fields": ["phone"], "remark": "号码换了"})
    assert response.status_code == 302
    form.refresh_from_db()
    assert form.outcome == Outcome.WRONG


def test_the_registrar_cannot_check_and_is_led_to_the_correction(client_for, form, registrar, class_teacher):
    services.check_form(form, by=class_teacher, wrong_fields=["ethnicity"], remark="应为回族")
    client = client_for(registrar)
    assert client.post(form.get_absolute_url(), {"wrong_fields": []}).status_code == 403
    page = client.get(form.get_absolute_url()).content.decode()
    assert reverse("corrections:create", args=[form.student_id]) in page
    client.post(reverse("verification:handle", args=[form.pk]), {"handling": "已提交关键数据变更"})
    form.refresh_from_db()
    assert form.handled_by == registrar


def test_progress_downloads_as_excel(client_for, campaign, form, county_reviewer):
    response = client_for(county_reviewer).get(campaign.get_absolute_url() + "?download=xlsx")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    text = [
        str(cell) for sheet in workbook for row in sheet.iter_rows(values_only=True) for cell in row if cell
    ]
    assert "育才小学" in text
    assert AuditEvent.objects.filter(action="reports.exported").exists()


# --- 人籍一致 ------------------------------------------------------------------------------------------


def test_the_class_teacher_confirms_attendance_with_the_absent(
    client_for, pupils, class_teacher, school_class
):
    client = client_for(class_teacher)
    url = reverse("verification:attendance_class", args=[school_class.pk])
    absent = pupils[1]
    response = client.post(
        url,
        {
            f"absent-{absent.pk}": "on",
            f"reason-{absent.pk}": "dropped_out",
            f"detail-{absent.pk}": "随父母外出",
        },
    )
    assert response.status_code == 302
    check = AttendanceCheck.objects.get()
    assert check.on_roster == 2 and [a.student for a in check.absences.all()] == [absent]
    assert AuditEvent.objects.filter(action="verification.attendance.confirmed").exists()


def test_an_absent_student_needs_a_reason(client_for, pupils, class_teacher, school_class):
    client = client_for(class_teacher)
    url = reverse("verification:attendance_class", args=[school_class.pk])
    response = client.post(url, {f"absent-{pupils[0].pk}": "on"})
    assert response.status_code == 200 and not AttendanceCheck.objects.exists()


def test_only_the_class_teacher_confirms_attendance(client_for, registrar, pupils, school_class):
    url = reverse("verification:attendance_class", args=[school_class.pk])
    assert client_for(registrar).post(url, {}).status_code == 403
    assert not AttendanceCheck.objects.exists()


def test_confirming_again_in_the_term_replaces_the_list(pupils, class_teacher, school_class):
    services.confirm_attendance(school_class, by=class_teacher, absences={pupils[0].pk: ("illness", "")})
    services.confirm_attendance(school_class, by=class_teacher, absences={})
    assert AttendanceCheck.objects.count() == 1 and not Absence.objects.exists()


def test_the_county_sees_the_list_of_students_not_in_class_and_outsiders_do_not(
    client_for, pupils, class_teacher, school_class, county_reviewer, outsider_reviewer
):
    services.confirm_attendance(
        school_class, by=class_teacher, absences={pupils[1].pk: (AbsenceReason.WORKING, "")}
    )
    page = client_for(county_reviewer).get(reverse("verification:attendance")).content.decode()
    assert pupils[1].name in page
    assert (
        pupils[1].name
        not in client_for(outsider_reviewer).get(reverse("verification:attendance")).content.decode()
    )
    response = client_for(county_reviewer).get(reverse("verification:attendance") + "?download=xlsx")
    assert response.status_code == 200


def test_a_student_off_the_roster_cannot_be_listed(pupils, class_teacher, school_class, other_school):
    from tests.transfer_helpers import class_of
    from verification.errors import VerificationError

    stranger = enrolled(class_of(other_school, 1), name="外人")
    with pytest.raises(VerificationError):
        services.confirm_attendance(school_class, by=class_teacher, absences={stranger.pk: ("other", "")})


def test_the_dashboard_lists_each_role_s_work(
    client_for, form, registrar, class_teacher, county_reviewer, school_class
):
    from registrar.dashboard import waiting_items

    services.check_form(form, by=class_teacher, wrong_fields=["phone"], remark="号码换了")
    labels = {item.label: item.count for item in waiting_items(registrar)}
    assert labels["有错误待更正的确认表"] == 1
    labels = {item.label: item.count for item in waiting_items(class_teacher)}
    assert labels["本学期尚未确认人籍一致的班级"] == 1
    services.confirm_attendance(school_class, by=class_teacher, absences={form.student_id: ("illness", "")})
    labels = {item.label: item.count for item in waiting_items(county_reviewer)}
    assert labels["本学期在籍不在校的学生"] == 1
    assert "本学期尚未确认人籍一致的班级" not in {item.label for item in waiting_items(class_teacher)}
    assert client_for(class_teacher).get(reverse("registrar:dashboard")).status_code == 200


def test_the_county_progress_page_takes_as_many_queries_for_more_schools(
    client_for, campaign, county_reviewer, school, tree, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.transfer_helpers import class_of

    client = client_for(county_reviewer)
    enrolled(class_of(school, 1), name="王一")
    with CaptureQueriesContext(connection) as few:
        client.get(campaign.get_absolute_url())
    for level, name in ((7, "钱二"), (8, "孙三")):
        enrolled(class_of(tree["1420102004"], level), name=name)
    with django_assert_num_queries(len(few)):
        client.get(campaign.get_absolute_url())
