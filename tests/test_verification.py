"""数据质量核查: opening a campaign, the signed forms, the class teacher's check, the registrar's
confirmation, progress, and every refusal."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from registrar.choices import Role
from registrar.models import AuditEvent, SchoolClass
from tests.conftest import make_user
from tests.transfer_helpers import enrolled
from tests.verification_helpers import check_all, open_for, scan, upload_all, zipped
from verification import services
from verification.errors import VerificationError
from verification.models import Campaign, ClassConfirmation, ConfirmationForm, Outcome
from verification.progress import ClassState, class_progress, school_progress


@pytest.fixture
def pupils(school_class):
    return [enrolled(school_class, name=name) for name in ("王一", "李二", "赵三")]


@pytest.fixture
def campaign(county_reviewer):
    return open_for(county_reviewer)


# --- opening -------------------------------------------------------------------------------------------


def test_a_county_reviewer_opens_a_campaign_for_its_schools(county_reviewer):
    campaign = open_for(county_reviewer)
    assert campaign.node == county_reviewer.node and campaign.is_open
    assert AuditEvent.objects.filter(
        action="verification.campaign.opened", object_id=str(campaign.pk)
    ).exists()


def test_a_city_reviewer_opens_one_too(city_reviewer):
    assert open_for(city_reviewer).node == city_reviewer.node


@pytest.mark.parametrize("persona", ["registrar", "principal", "class_teacher", "province_admin"])
def test_only_county_and_city_reviewers_open_campaigns(request, persona):
    user = request.getfixturevalue(persona)
    with pytest.raises(VerificationError):
        open_for(user)
    assert not Campaign.objects.exists()


def test_a_deadline_in_the_past_is_refused(county_reviewer):
    with pytest.raises(VerificationError, match="截止日期已过"):
        open_for(county_reviewer, days=-1)


def test_a_second_open_campaign_for_the_same_county_is_refused(county_reviewer, campaign):
    with pytest.raises(VerificationError):
        open_for(county_reviewer, title="again")
    services.close_campaign(campaign, by=county_reviewer)
    assert open_for(county_reviewer, title="again").is_open


def test_only_the_opening_office_closes_it(campaign, city_reviewer):
    with pytest.raises(VerificationError):
        services.close_campaign(campaign, by=city_reviewer)


def test_the_schools_see_the_campaign_covering_them_and_outsiders_do_not(
    campaign, registrar, class_teacher, city_reviewer, outsider, outsider_reviewer
):
    for user in (registrar, class_teacher, city_reviewer):
        assert list(Campaign.objects.visible_to(user)) == [campaign]
    for user in (outsider, outsider_reviewer):
        assert not Campaign.objects.visible_to(user).exists()


# --- uploading ----------------------------------------------------------------------------------------------


def test_the_registrar_uploads_one_signed_form(campaign, pupils, registrar):
    form = services.upload_form(campaign, pupils[0], by=registrar, uploaded_file=scan("王一.png"))
    assert form.outcome == Outcome.UNCHECKED and form.file.name.startswith("verification/")
    assert "王一" not in form.file.name
    assert AuditEvent.objects.filter(action="verification.form.uploaded").count() == 1


def test_a_new_scan_replaces_the_old_and_waits_for_a_new_check(campaign, pupils, registrar, class_teacher):
    form = services.upload_form(campaign, pupils[0], by=registrar, uploaded_file=scan("a.png"))
    services.check_form(form, by=class_teacher, wrong_fields=[])
    again = services.upload_form(campaign, pupils[0], by=registrar, uploaded_file=scan("b.png"))
    assert again.pk == form.pk and again.outcome == Outcome.UNCHECKED and again.checked_by is None


def test_a_file_that_is_not_a_scan_is_refused(campaign, pupils, registrar):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with pytest.raises(Exception, match="JPG"):
        services.upload_form(
            campaign, pupils[0], by=registrar, uploaded_file=SimpleUploadedFile("x.jpg", b"hello")
        )
    assert not ConfirmationForm.objects.exists()


def test_only_the_schools_registrar_uploads(campaign, pupils, principal, class_teacher):
    for user in (principal, class_teacher):
        with pytest.raises(VerificationError):
            services.upload_form(campaign, pupils[0], by=user, uploaded_file=scan("a.png"))


def test_a_school_outside_the_campaign_is_refused(county_reviewer, other_school, outsider):
    campaign = open_for(county_reviewer)
    from tests.transfer_helpers import class_of

    stranger = enrolled(class_of(other_school, 1), name="外校生")
    with pytest.raises(VerificationError, match="不在核查"):
        services.upload_form(campaign, stranger, by=outsider, uploaded_file=scan("a.png"))


def test_nothing_is_uploaded_to_a_closed_campaign(campaign, pupils, registrar, county_reviewer):
    services.close_campaign(campaign, by=county_reviewer)
    with pytest.raises(VerificationError, match="已结束"):
        services.upload_form(campaign, pupils[0], by=registrar, uploaded_file=scan("a.png"))


def test_bulk_upload_by_registration_number_in_a_zip_and_loose(campaign, pupils, registrar, school_class):
    first, second, third = pupils
    archive = zipped(
        "一年级1班.zip",
        [(f"扫描/{first.number}.jpg", scan("x.png")), (f"{second.number}{second.name}.png", scan("y.png"))],
    )
    loose = scan(f"{third.number.lower()}.png")
    forms = services.upload_forms(campaign, school_class, by=registrar, uploaded_files=[archive, loose])
    assert {form.student for form in forms} == set(pupils)


def test_bulk_upload_reports_every_mismatched_name_and_stores_nothing(
    campaign, pupils, registrar, school_class
):
    first, second, _third = pupils
    files = [
        scan(f"{first.number}.png"),
        scan(f"{second.number}张冠李戴.png"),
        scan("G000000000000000000.png"),
        scan("家长签字.png"),
        scan(f"{first.number}_王一.png"),
    ]
    with pytest.raises(services.BulkRefused) as refused:
        services.upload_forms(campaign, school_class, by=registrar, uploaded_files=files)
    problems = "\n".join(refused.value.problems)
    assert "张冠李戴" in problems and "G000000000000000000" in problems and "家长签字" in problems
    assert f"{first.number}_王一.png" in problems  # two files for one student
    assert len(refused.value.problems) == 4
    assert not ConfirmationForm.objects.exists()


def test_a_student_of_another_class_is_not_matched(campaign, pupils, registrar, school):
    from tests.transfer_helpers import class_of

    other_class = class_of(school, 1, name="2班")
    with pytest.raises(services.BulkRefused):
        services.upload_forms(
            campaign, other_class, by=registrar, uploaded_files=[scan(f"{pupils[0].number}.png")]
        )


def test_a_damaged_zip_is_reported(campaign, pupils, registrar, school_class):
    from django.core.files.uploadedfile import SimpleUploadedFile

    broken = SimpleUploadedFile("class.zip", b"PK\x03\x04broken")
    with pytest.raises(services.BulkRefused) as refused:
        services.upload_forms(campaign, school_class, by=registrar, uploaded_files=[broken])
    assert "class.zip" in refused.value.problems[0]


# --- checking, putting right, confirming -----------------------------------------------------------------


def test_the_class_teacher_checks_consistent_and_wrong(campaign, pupils, registrar, class_teacher):
    first, second = upload_all(campaign, pupils[:2], registrar)
    services.check_form(first, by=class_teacher, wrong_fields=[])
    services.check_form(
        second, by=class_teacher, wrong_fields=["ethnicity", "phone"], remark="应为回族，电话已换"
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.outcome == Outcome.CONSISTENT
    assert second.outcome == Outcome.WRONG and second.wrong_fields == ["ethnicity", "phone"]
    assert second.needs_handling
    event = AuditEvent.objects.get(action="verification.form.checked", object_id=str(second.pk))
    assert event.data["wrong_fields"] == ["ethnicity", "phone"] and event.actor == class_teacher


def test_wrong_fields_need_a_remark(campaign, pupils, registrar, class_teacher):
    [form] = upload_all(campaign, pupils[:1], registrar)
    with pytest.raises(VerificationError):
        services.check_form(form, by=class_teacher, wrong_fields=["phone"])
    with pytest.raises(VerificationError, match="无法识别"):
        services.check_form(form, by=class_teacher, wrong_fields=["password"], remark="x")


def test_only_the_class_teacher_of_that_class_checks(campaign, pupils, registrar, principal, school):
    [form] = upload_all(campaign, pupils[:1], registrar)
    from tests.transfer_helpers import class_of

    other_teacher = make_user("teacher2", school, [Role.CLASS_TEACHER])
    other_teacher.classes.add(class_of(school, 1, name="2班"))
    for user in (registrar, principal, other_teacher):
        with pytest.raises(VerificationError):
            services.check_form(form, by=user, wrong_fields=[])
    form.refresh_from_db()
    assert form.outcome == Outcome.UNCHECKED


def test_the_class_is_confirmed_only_when_every_form_is_signed_checked_and_put_right(
    campaign, pupils, registrar, class_teacher, school_class
):
    forms = upload_all(campaign, pupils[:2], registrar)
    with pytest.raises(VerificationError, match="赵三"):
        services.confirm_class(campaign, school_class, by=registrar)
    forms.append(services.upload_form(campaign, pupils[2], by=registrar, uploaded_file=scan("c.png")))
    with pytest.raises(VerificationError, match="班主任尚未核对"):
        services.confirm_class(campaign, school_class, by=registrar)
    check_all(forms[:2], class_teacher)
    services.check_form(forms[2], by=class_teacher, wrong_fields=["address"], remark="已搬家")
    with pytest.raises(VerificationError, match="赵三"):
        services.confirm_class(campaign, school_class, by=registrar)
    with pytest.raises(VerificationError):
        services.handle_form(forms[2], by=registrar, handling="  ")
    with pytest.raises(VerificationError):
        services.handle_form(forms[0], by=registrar, handling="nothing to do")
    services.handle_form(forms[2], by=registrar, handling="已在学籍页直接修改现住址")
    with pytest.raises(VerificationError):
        services.confirm_class(campaign, school_class, by=class_teacher)
    confirmation = services.confirm_class(campaign, school_class, by=registrar)
    assert confirmation.students == 3
    assert AuditEvent.objects.filter(action="verification.class.confirmed").count() == 1
    with pytest.raises(VerificationError, match="确认"):
        services.confirm_class(campaign, school_class, by=registrar)
    with pytest.raises(VerificationError, match="确认"):
        services.upload_form(campaign, pupils[0], by=registrar, uploaded_file=scan("d.png"))
    with pytest.raises(VerificationError, match="确认"):
        services.check_form(forms[0], by=class_teacher, wrong_fields=[])


def test_an_empty_class_cannot_be_confirmed(campaign, registrar, school_class):
    with pytest.raises(VerificationError):
        services.confirm_class(campaign, school_class, by=registrar)
    assert not ClassConfirmation.objects.exists()


# --- progress -----------------------------------------------------------------------------------------------


def _state(campaign, school_class):
    [row] = class_progress(campaign, SchoolClass.objects.filter(pk=school_class.pk))
    return row


def test_progress_runs_not_started_uploaded_checked_confirmed(
    campaign, pupils, registrar, class_teacher, school_class
):
    assert _state(campaign, school_class).state == ClassState.NOT_STARTED
    forms = upload_all(campaign, pupils, registrar)
    assert _state(campaign, school_class).state == ClassState.UPLOADED
    check_all(forms, class_teacher)
    assert _state(campaign, school_class).state == ClassState.CHECKED
    services.confirm_class(campaign, school_class, by=registrar)
    row = _state(campaign, school_class)
    assert row.state == ClassState.CONFIRMED and (row.students, row.uploaded, row.checked) == (3, 3, 3)


def test_after_the_deadline_unconfirmed_classes_are_overdue(campaign, pupils, school_class):
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert _state(campaign, school_class).overdue
        assert campaign.is_overdue


def test_progress_per_school_and_county_for_the_city(pupils, city_reviewer, registrar, tree):
    campaign = open_for(city_reviewer)
    upload_all(campaign, pupils[:1], registrar)
    schools, counties = school_progress(campaign, city_reviewer)
    by_code = {unit.node.code: unit for unit in schools}
    assert by_code["1420102001"].counts[ClassState.UPLOADED] == 1
    assert by_code["1420102001"].uploaded == 1
    [county] = [unit for unit in counties if unit.node.code == "420102"]
    assert county.counts["classes"] >= 1 and county.uploaded == 1


def test_progress_takes_a_few_queries_whatever_the_number_of_classes(
    campaign, school, registrar, django_assert_max_num_queries
):
    from tests.transfer_helpers import class_of

    for name, pupil in (("2班", "钱二"), ("3班", "孙三"), ("4班", "周四")):
        enrolled(class_of(school, 1, name=name), name=pupil)
    with django_assert_max_num_queries(6):
        rows = class_progress(campaign, SchoolClass.objects.filter(grade__school=school))
    assert len(rows) >= 3


# --- the dashboard ------------------------------------------------------------------------------------------


def test_the_class_teacher_sees_the_forms_waiting_for_a_check(campaign, pupils, registrar, class_teacher):
    from registrar.dashboard import waiting_items

    upload_all(campaign, pupils, registrar)
    counts = {item.label: item.count for item in waiting_items(class_teacher)}
    assert counts["待我核对的签字确认表"] == 3


def test_an_archive_with_too_many_entries_is_refused_unread(campaign, pupils, registrar, school_class):
    from verification import bulk

    members = [(f"{n}.png", scan("x.png")) for n in range(bulk.MAX_FILES * 2 + 1)]
    with pytest.raises(services.BulkRefused) as refused:
        services.upload_forms(
            campaign, school_class, by=registrar, uploaded_files=[zipped("all.zip", members)]
        )
    assert "all.zip" in refused.value.problems[0]
