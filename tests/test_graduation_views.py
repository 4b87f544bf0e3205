"""Graduation pages: each view for anonymous (login), an outsider (404), a wrong role (403) and the
allowed user; bad input gets a message and changes nothing; list pages keep their query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from graduation import aftercare, services
from graduation.models import Certificate, Entry, Result, ResultImport
from registrar import approvals
from registrar.models import ApprovalState
from students.models import Status
from tests.graduation_helpers import (
    class_of,
    graduate_candidate,
    proposed_and_submitted,
    run_list,
    senior_results,
    upload,
)

pytest_plugins = ["tests.graduation_fixtures"]


@pytest.fixture(autouse=True)
def _season(season):
    """Every test in the graduation season (tests/graduation_fixtures.py)."""


@pytest.fixture
def graduated(high_school, hs_registrar, hs_principal, city_reviewer, loaded):
    graduation_list = proposed_and_submitted(high_school, hs_registrar)
    run_list(graduation_list, [hs_principal, city_reviewer])
    return graduation_list


def code(school):
    return school.code


# --- access -----------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client, high_school):
    response = client.get(reverse("graduation:audit", args=[high_school.code]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_audit_of_another_county_is_not_found(client_for, outsider, high_school):
    assert client_for(outsider).get(reverse("graduation:audit", args=[high_school.code])).status_code == 404


def test_class_teachers_may_not_open_the_audit(client_for, class_teacher, school):
    assert client_for(class_teacher).get(reverse("graduation:audit", args=[school.code])).status_code == 403


def test_only_the_school_registrar_imports_results(client_for, principal, outsider, school):
    url = reverse("graduation:results", args=[school.code])
    assert client_for(principal).get(url).status_code == 403
    assert client_for(outsider).get(url).status_code == 404


def test_a_list_outside_my_county_is_not_found_and_a_teacher_gets_403(
    client_for, outsider_reviewer, high_school, hs_registrar, loaded
):
    graduation_list = services.propose_list(high_school, by=hs_registrar, segment="senior")
    url = reverse("graduation:list", args=[graduation_list.pk])
    assert client_for(outsider_reviewer).get(url).status_code == 404
    assert client_for(hs_registrar).get(url).status_code == 200


def test_the_certificate_and_proof_are_scoped(client_for, outsider, principal, city_reviewer, graduated):
    certificate = Certificate.objects.first()
    assert (
        client_for(outsider).get(reverse("graduation:certificate", args=[certificate.pk])).status_code == 404
    )
    # 育才小学's principal is in the county but not at the certificate's school.
    assert (
        client_for(principal).get(reverse("graduation:certificate", args=[certificate.pk])).status_code == 404
    )
    assert (
        client_for(city_reviewer).get(reverse("graduation:proof", args=[certificate.pk])).status_code == 403
    )


# --- results -----------------------------------------------------------------------


def test_the_template_has_the_columns_of_the_senior_rules(client_for, hs_registrar, high_school):
    response = client_for(hs_registrar).get(
        reverse("graduation:template", args=[high_school.code]) + "?segment=senior"
    )
    assert response.status_code == 200
    sheet = load_workbook(filename=__import__("io").BytesIO(response.content)).active
    assert [cell.value for cell in sheet[1]] == ["学籍号", "姓名", "总学分", "思想品德与公民素养", "体质健康"]


def test_a_good_file_is_imported_in_the_browser_and_again_changes_nothing(
    client_for, hs_registrar, high_school, seniors
):
    client = client_for(hs_registrar)
    url = reverse("graduation:results", args=[high_school.code])
    response = client.post(url, {"segment": "senior", "file": upload(senior_results(seniors))}, follow=True)
    assert "3 行已导入" in response.content.decode() or Result.objects.count() == 3
    assert Result.objects.count() == 3
    history = Result.history.count()
    client.post(url, {"segment": "senior", "file": upload(senior_results(seniors))})
    assert Result.history.count() == history
    assert ResultImport.objects.order_by("-pk").first().changed_rows == 0


def test_a_file_with_one_bad_row_writes_nothing_and_gives_an_error_workbook(
    client_for, hs_registrar, high_school, seniors
):
    client = client_for(hs_registrar)
    rows = senior_results(seniors)
    rows[2][2] = "很多"
    response = client.post(
        reverse("graduation:results", args=[high_school.code]),
        {"segment": "senior", "file": upload(rows)},
        follow=True,
    )
    assert not Result.objects.exists()
    record = ResultImport.objects.get()
    assert record.state == ResultImport.State.INVALID
    assert "没有导入任何数据" in response.content.decode()
    errors = client.get(reverse("graduation:import_errors", args=[record.pk]))
    sheet = load_workbook(filename=__import__("io").BytesIO(b"".join(errors.streaming_content))).active
    header = [cell.value for cell in sheet[1]]
    assert header[:2] == ["行号", "错误原因"]
    assert sheet.cell(row=2, column=1).value == 3
    assert "总学分" in sheet.cell(row=2, column=2).value


# --- the audit -----------------------------------------------------------------------


def test_the_audit_page_lists_reasons_and_filters_by_reason(client_for, hs_registrar, high_school, loaded):
    client = client_for(hs_registrar)
    response = client.get(reverse("graduation:audit", args=[high_school.code]))
    page = response.content.decode()
    assert "孙三丙" in page and "120 学分，少于要求的 144" in page
    filtered = client.get(
        reverse("graduation:audit", args=[high_school.code]) + "?reason=credits"
    ).content.decode()
    assert "孙三丙" in filtered and "赵一甲" not in filtered


def test_the_audit_page_keeps_its_queries_whatever_the_number_of_students(
    client_for, county_reviewer, high_school, hs_registrar, senior_class, seniors, django_assert_num_queries
):
    client = client_for(county_reviewer)
    url = reverse("graduation:audit", args=["420102"])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for index in range(4):
        graduate_candidate(senior_class, name=f"周{'一二三四'[index]}", registrar=hs_registrar, photo=False)
    with django_assert_num_queries(len(small.captured_queries)):
        assert "周四" in client.get(url).content.decode()


def test_the_audit_downloads_as_a_workbook(client_for, hs_principal, high_school, loaded):
    response = client_for(hs_principal).get(reverse("graduation:audit_export", args=[high_school.code]))
    sheet = load_workbook(filename=__import__("io").BytesIO(b"".join(response.streaming_content))).active
    assert sheet.max_row == 4
    assert [cell.value for cell in sheet[1]][5] == "审核结论"


# --- the list -----------------------------------------------------------------------


def test_the_registrar_proposes_sets_destinations_and_the_list_goes_to_the_principal(
    client_for, hs_registrar, hs_principal, high_school, loaded
):
    client = client_for(hs_registrar)
    response = client.post(reverse("graduation:propose", args=[high_school.code]), {"segment": "senior"})
    graduation_list = services.GraduationList.objects.get()
    assert response["Location"] == graduation_list.get_absolute_url()
    entries = list(graduation_list.entries.all())
    data = {}
    for entry in entries:
        data |= {
            f"outcome-{entry.pk}": entry.outcome,
            f"destination-{entry.pk}": "further_study",
            f"destination_school-{entry.pk}": "武汉大学",
        }
    assert client.post(reverse("graduation:list_entries", args=[graduation_list.pk]), data).status_code == 302
    assert set(Entry.objects.values_list("destination", flat=True)) == {"further_study"}
    # Bad input: 孙三丙 proposed for graduation although not eligible: refused, nothing changed.
    third = next(entry for entry in entries if entry.outcome == "completed")
    bad = data | {f"outcome-{third.pk}": "graduated", f"destination-{third.pk}": "employment"}
    response = client.post(reverse("graduation:list_entries", args=[graduation_list.pk]), bad)
    assert response.status_code == 200
    assert "不符合毕业条件" in response.content.decode()
    third.refresh_from_db()
    assert (third.outcome, third.destination) == ("completed", "further_study")
    client.post(
        reverse("registrar:approval_decide", args=[graduation_list.approval.pk]), {"action": "submit"}
    )
    graduation_list.approval.refresh_from_db()
    assert graduation_list.approval.state == ApprovalState.SUBMITTED
    assert client_for(hs_principal).get(graduation_list.get_absolute_url()).status_code == 200


def test_a_reviewer_takes_a_student_out_with_a_reason(
    client_for, hs_registrar, hs_principal, high_school, loaded
):
    graduation_list = proposed_and_submitted(high_school, hs_registrar)
    entry = graduation_list.entries.get(student=loaded[2])
    client = client_for(hs_principal)
    url = reverse("graduation:entry_take_out", args=[graduation_list.pk, entry.pk])
    client.post(url, {"reason": ""})
    entry.refresh_from_db()
    assert not entry.is_removed
    client.post(url, {"reason": "补考后再报"})
    entry.refresh_from_db()
    assert entry.removed_reason == "补考后再报"
    assert client_for(hs_registrar).post(url, {"reason": "x"}).status_code == 403


# --- certificates, documents -----------------------------------------------------------------------


def test_the_graduate_roster_prints_and_exports(
    client_for, hs_registrar, high_school, graduated, django_assert_num_queries
):
    client = client_for(hs_registrar)
    url = reverse("graduation:documents", args=[high_school.code]) + "?document=roster&year=2026"
    response = client.get(url)
    page = response.content.decode()
    assert "1420102004202600001" in page and "毕业生名册" in page
    with CaptureQueriesContext(connection) as counted:
        client.get(url)
    workbook = client.get(
        reverse("graduation:documents_export", args=[high_school.code]) + "?document=certificates&year=2026"
    )
    sheet = load_workbook(filename=__import__("io").BytesIO(b"".join(workbook.streaming_content))).active
    assert sheet.max_row == 4
    assert len(counted.captured_queries) < 15


def test_withholding_and_releasing_a_certificate(client_for, hs_registrar, graduated):
    certificate = Certificate.objects.get(number="1420102004202600001")
    client = client_for(hs_registrar)
    client.post(reverse("graduation:certificate_withhold", args=[certificate.pk]), {"reason": ""})
    certificate.refresh_from_db()
    assert not certificate.is_withheld
    client.post(reverse("graduation:certificate_withhold", args=[certificate.pk]), {"reason": "学费未缴清"})
    certificate.refresh_from_db()
    assert certificate.is_withheld
    page = client.get(reverse("graduation:documents", args=["1420102004"]) + "?document=withheld&year=2026")
    assert "学费未缴清" in page.content.decode()
    client.post(reverse("graduation:certificate_release", args=[certificate.pk]))
    certificate.refresh_from_db()
    assert not certificate.is_withheld


def test_the_proof_prints_for_the_school(client_for, hs_registrar, graduated):
    certificate = Certificate.objects.get(number="1420102004202600001")
    response = client_for(hs_registrar).get(reverse("graduation:proof", args=[certificate.pk]))
    assert response.status_code == 200
    assert "毕业证明书" in response.content.decode()


def test_a_reversal_is_started_from_the_certificate(client_for, hs_registrar, graduated):
    certificate = Certificate.objects.get(number="1420102004202600001")
    client = client_for(hs_registrar)
    response = client.post(
        reverse("graduation:case_start", args=[certificate.pk, "reversal"]), {"reason": "误操作"}
    )
    case = aftercare.CertificateCase.objects.get()
    assert response["Location"] == case.get_absolute_url()
    assert client.get(case.get_absolute_url()).status_code == 200
    assert (
        client.post(
            reverse("graduation:case_start", args=[certificate.pk, "nonsense"]), {"reason": "x"}
        ).status_code
        == 404
    )


def test_the_home_page_and_the_navigation(client_for, hs_registrar, county_reviewer, class_teacher):
    page = client_for(hs_registrar).get(reverse("graduation:home")).content.decode()
    assert "毕业资格审核" in page
    assert client_for(county_reviewer).get(reverse("graduation:home")).status_code == 200
    assert client_for(class_teacher).get(reverse("graduation:home")).status_code == 403


def test_status_is_written_only_through_the_lifecycle(graduated, loaded):
    assert {student.__class__.objects.get(pk=student.pk).status for student in loaded} == {
        Status.GRADUATED,
        Status.COMPLETED,
    }


__all__ = ["class_of", "code"]


def test_the_dashboards_say_what_waits(
    client_for, hs_registrar, hs_principal, city_reviewer, high_school, loaded
):
    graduation_list = services.propose_list(high_school, by=hs_registrar, segment="senior")
    assert (
        "待完成并上报的毕业结业名单"
        in client_for(hs_registrar).get(reverse("registrar:dashboard")).content.decode()
    )
    approvals.send(graduation_list.approval, by=hs_registrar)
    principal_page = client_for(hs_principal).get(reverse("registrar:dashboard")).content.decode()
    assert "待我审核" in principal_page
    city_page = client_for(city_reviewer).get(reverse("registrar:dashboard")).content.decode()
    assert "尚未审核通过的毕业结业名单（截止 2026-06-15）" in city_page
