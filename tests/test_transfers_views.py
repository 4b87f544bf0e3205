"""Pages of 学籍异动: starting, following, answering, withdrawing, the request page, evidence, printing,
the queue with these kinds, reminders; scope (outsiders 404) and roles (403) for each."""

from datetime import date, datetime

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registrar import approvals
from registrar.models import ApprovalState, AuditEvent
from students.privacy import mask_id, mask_number
from tests.transfer_helpers import (
    IN_WINDOW,
    SHANGHAI,
    attach_required,
    class_of,
    enrolled,
    fresh,
    png,
    reload,
    run_chain,
    started,
    submitted,
)
from transfers.models import Evidence, EvidenceType, Kind, StatusChangeRequest

pytest_plugins = ["tests.transfer_fixtures"]

LIST = reverse("transfers:list")
NAMES = "子丑寅卯辰巳午未申酉戌亥"


@pytest.fixture(autouse=True)
def in_a_transfer_window():
    with time_machine.travel(IN_WINDOW):
        yield


def texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def url(name, change):
    return reverse(f"transfers:{name}", args=[change.pk])


@pytest.fixture
def transfer(registrar, pupil_at_huaqiao, third_class):
    """A same-county transfer into our school, submitted: the sending school's registrar decides first."""
    return submitted(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)


# --- the list ---------------------------------------------------------------------------------------


def test_the_list_requires_login(client, db):
    response = client.get(LIST)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_list_shows_my_schools_requests_with_masked_numbers(client_for, registrar, student, outsider):
    change = started(Kind.ABROAD, registrar, student)
    page = client_for(registrar).get(LIST).content.decode()
    assert "出国（境）" in page and change.get_absolute_url() in page
    assert student.number not in page and student.number[:7] in page
    assert "张小明" not in client_for(outsider).get(LIST).content.decode()


def test_class_teachers_take_no_part(client_for, class_teacher, registrar, student):
    started(Kind.ABROAD, registrar, student)
    client = client_for(class_teacher)
    assert client.get(LIST).status_code == 403
    change = StatusChangeRequest.objects.get()
    assert client.get(url("detail", change)).status_code == 404


def test_the_list_filters_and_costs_the_same_queries_however_long(
    client_for, registrar, first_class, django_assert_num_queries
):
    client = client_for(registrar)
    for number in range(3):
        started(Kind.ABROAD, registrar, enrolled(first_class, name=f"学生{NAMES[number]}"))
    client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    for number in range(3, 12):
        started(Kind.OTHER, registrar, enrolled(first_class, name=f"学生{NAMES[number]}"))
    with django_assert_num_queries(len(few)):
        page = client.get(LIST).content.decode()
    assert "学生亥" in page
    page = client.get(LIST, {"kind": Kind.ABROAD}).content.decode()
    assert "学生子" in page and "学生亥" not in page
    assert "学生亥" not in client.get(LIST, {"state": "approved"}).content.decode()


# --- starting ----------------------------------------------------------------------------------------


def test_only_registrars_start(client_for, principal, county_reviewer, registrar):
    for user in (principal, county_reviewer):
        client = client_for(user)
        assert client.get(reverse("transfers:start")).status_code == 403
        assert client.get(reverse("transfers:start_transfer")).status_code == 403
        assert client.get(reverse("transfers:start_kind", args=["abroad"])).status_code == 403
    page = client_for(registrar).get(reverse("transfers:start")).content.decode()
    assert "接收转学学生" in page and "户口本" in page and "转学办理时间为 2026-01-06 至 2026-03-06" in page
    assert client_for(registrar).get(reverse("transfers:start_kind", args=["promotion"])).status_code == 404


def test_the_receiving_school_finds_the_student_and_sees_only_what_identifies_them(
    client_for, registrar, pupil_at_huaqiao, third_class
):
    client = client_for(registrar)
    lookup = {"number": pupil_at_huaqiao.number, "name": "李小红", "id_number": pupil_at_huaqiao.id_number}
    page = client.post(reverse("transfers:start_transfer"), {**lookup, "name": "李小"}).content.decode()
    assert "没有找到学籍号、姓名和身份证件号都相符的学生" in page
    page = client.post(reverse("transfers:start_transfer"), lookup).content.decode()
    assert "找到的学生" in page and "花桥小学" in page and pupil_at_huaqiao.address not in page
    assert f'value="{third_class.pk}"' in page
    response = client.post(
        reverse("transfers:start_transfer"),
        {**lookup, "to_class": third_class.pk, "reason": "moved", "explanation": "随父母迁居"},
    )
    change = StatusChangeRequest.objects.get()
    assert response["Location"] == change.get_absolute_url()
    assert (change.kind, change.to_class, change.approval.state) == (Kind.TRANSFER, third_class, "draft")
    page = client.get(change.get_absolute_url()).content.decode()
    # The receiving school sees only what identified the student, and the numbers masked.
    assert pupil_at_huaqiao.id_number not in page and pupil_at_huaqiao.address not in page
    assert mask_id(pupil_at_huaqiao.id_number) in page
    assert "转学批准前" in page


def test_starting_a_transfer_outside_the_window_says_when_the_next_opens(
    client_for, registrar, pupil_at_huaqiao, third_class
):
    lookup = {"number": pupil_at_huaqiao.number, "name": "李小红", "id_number": pupil_at_huaqiao.id_number}
    with time_machine.travel(datetime(2026, 4, 1, 10, 0, tzinfo=SHANGHAI)):
        page = (
            client_for(registrar)
            .post(
                reverse("transfers:start_transfer"),
                {**lookup, "to_class": third_class.pk, "reason": "moved", "explanation": "迁居"},
            )
            .content.decode()
        )
    assert "下一个办理时间为 2026-06-26 至 2026-09-15" in page
    assert not StatusChangeRequest.objects.exists()


def test_a_closed_window_is_said_before_anything_is_filled_in(client_for, registrar):
    with time_machine.travel(datetime(2026, 4, 1, 10, 0, tzinfo=SHANGHAI)):
        page = client_for(registrar).get(reverse("transfers:start_transfer")).content.decode()
    assert "下一个办理时间为 2026-06-26 至 2026-09-15" in page
    assert 'name="id_number"' not in page and 'name="number"' not in page


def test_the_kinds_of_change_carry_the_student_from_the_student_page(client_for, registrar, student):
    page = client_for(registrar).get(reverse("transfers:start"), {"student": student.pk}).content.decode()
    assert "student-chip" in page and student.name in page
    assert f'href="{reverse("transfers:start_kind", args=["suspension"])}?student={student.pk}"' in page


def test_the_form_started_from_the_student_page_shows_the_student(client_for, registrar, student):
    page = (
        client_for(registrar)
        .get(reverse("transfers:start_kind", args=["suspension"]), {"student": student.pk})
        .content.decode()
    )
    assert "student-chip" in page and student.name in page and student.school_class.name in page
    assert f'type="hidden" name="number" value="{student.number}"' in page
    assert f'href="{student.get_absolute_url()}"' in page


def test_a_request_of_another_kind_is_started_for_a_student_of_my_school(client_for, registrar, student):
    client = client_for(registrar)
    start = reverse("transfers:start_kind", args=["suspension"])
    page = client.get(start, {"student": student.pk}).content.decode()
    assert f'value="{student.number}"' in page
    # Each field has the name of its label: 原因 the reason (a choice), 情况说明 the explanation.
    assert '<label for="id_reason">原因' in page and '<label for="id_explanation">情况说明' in page
    response = client.post(start, {"number": "G000", "reason": "illness", "explanation": "住院"})
    assert "本校没有该学籍号的学生" in response.content.decode()
    response = client.post(
        start,
        {
            "number": student.number,
            "reason": "illness",
            "starts_on": "2026-03-02",
            "ends_on": "2028-03-02",
            "explanation": "住院治疗",
        },
    )
    assert "休学一次最长 12 个月" in response.content.decode()
    response = client.post(
        start,
        {
            "number": student.number,
            "reason": "illness",
            "starts_on": "2026-03-02",
            "ends_on": "2026-09-01",
            "explanation": "住院治疗",
        },
    )
    change = StatusChangeRequest.objects.get()
    assert response["Location"] == change.get_absolute_url()
    assert (change.kind, change.reason, change.explanation, change.ends_on) == (
        Kind.SUSPENSION,
        "illness",
        "住院治疗",
        date(2026, 9, 1),
    )


# --- the request page ---------------------------------------------------------------------------------


def test_the_page_shows_record_evidence_history_and_panel(client_for, registrar, county_reviewer, student):
    change = submitted(Kind.ABROAD, registrar, student)
    response = client_for(county_reviewer).get(url("detail", change))
    page = response.content.decode()
    assert response.status_code == 200
    assert student.id_number in page and student.address in page  # the full record on the page
    assert reverse("transfers:evidence", args=[change.evidence.first().pk]) in page
    assert "监护人签字的申请书" in page and "护照及签证或录取通知" in page
    assert "育才小学 · 校长" in page and "江岸区 · 县级审核员" in page
    assert 'name="action" value="approve"' not in page  # the principal's step comes first
    assert AuditEvent.objects.filter(action="students.student.viewed", actor=county_reviewer).exists()


def test_the_panel_offers_each_step_to_its_holder_only(
    client_for, transfer, registrar, huaqiao_registrar, county_reviewer, principal
):
    page = client_for(huaqiao_registrar).get(url("detail", transfer)).content.decode()
    assert 'name="action" value="approve"' in page
    assert "李小红" in page and reload(transfer.student).address in page  # the sending school: its record
    for user in (registrar, county_reviewer):
        page = client_for(user).get(url("detail", transfer)).content.decode()
        assert 'name="action" value="approve"' not in page
    assert client_for(principal).get(url("detail", transfer)).status_code == 200


def test_the_receiving_school_sees_the_whole_record_once_approved(
    client_for, transfer, registrar, huaqiao_registrar, county_reviewer
):
    run_chain(transfer, [huaqiao_registrar, county_reviewer])
    page = client_for(registrar).get(url("detail", transfer)).content.decode()
    assert reload(transfer.student).address in page and "转学批准前" not in page


def test_outsiders_get_404_everywhere(client_for, transfer, outsider, outsider_reviewer):
    evidence = transfer.evidence.first()
    for user in (outsider, outsider_reviewer):
        client = client_for(user)
        for name in ("detail", "edit", "withdraw", "print"):
            assert client.get(url(name, transfer)).status_code == 404, name
        assert client.post(url("submit", transfer)).status_code == 404
        assert client.post(url("evidence_add", transfer)).status_code == 404
        assert client.get(reverse("transfers:evidence", args=[evidence.pk])).status_code == 404
        assert client.post(reverse("transfers:evidence_delete", args=[evidence.pk])).status_code == 404
        assert client.get(reverse("registrar:approval", args=[transfer.approval_id])).status_code == 404


def test_those_in_scope_without_the_applicants_role_get_403(
    client_for, transfer, county_reviewer, huaqiao_registrar
):
    evidence = transfer.evidence.first()
    for user in (county_reviewer, huaqiao_registrar):
        client = client_for(user)
        assert client.get(url("edit", transfer)).status_code == 403
        assert client.get(url("withdraw", transfer)).status_code == 403
        assert client.post(url("submit", transfer)).status_code == 403
        assert client.post(url("evidence_add", transfer)).status_code == 403
        assert client.post(reverse("transfers:evidence_delete", args=[evidence.pk])).status_code == 403


def test_a_wrong_role_cannot_decide_a_step(client_for, transfer, registrar, county_reviewer):
    decide = reverse("registrar:approval_decide", args=[transfer.approval_id])
    step = fresh(transfer).approval.current_step_id
    for user in (registrar, county_reviewer):
        response = client_for(user).post(decide, {"action": "approve", "step_id": step})
        assert response.status_code == 403
    assert fresh(transfer).approval.state == ApprovalState.SUBMITTED


def test_the_engines_page_leads_to_the_request_page(client_for, transfer, registrar):
    response = client_for(registrar).get(reverse("registrar:approval", args=[transfer.approval_id]))
    assert response["Location"] == url("detail", transfer)


# --- evidence ---------------------------------------------------------------------------------------


def test_evidence_is_uploaded_viewed_and_removed_by_the_applicant(client_for, registrar, principal, student):
    change = started(Kind.ABROAD, registrar, student)
    client = client_for(registrar)
    response = client.post(
        url("evidence_add", change),
        {"kind": EvidenceType.PASSPORT, "file": png("护照.png")},
    )
    assert response.status_code == 302 and texts(response)[-1] == "材料已上传。"
    evidence = Evidence.objects.get()
    response = client.get(reverse("transfers:evidence", args=[evidence.pk]))
    assert response["Content-Type"] == "image/png" and response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    other = Client()
    other.force_login(principal)
    assert other.get(reverse("transfers:evidence", args=[evidence.pk])).status_code == 200
    assert other.post(url("evidence_add", change), {}).status_code == 403
    response = client.post(url("evidence_add", change), {"kind": EvidenceType.PASSPORT, "file": b""})
    assert Evidence.objects.count() == 1
    response = client.post(
        url("evidence_add", change),
        {"kind": EvidenceType.PASSPORT, "file": SimpleUploadedFile("a.jpg", b"<script>", "image/jpeg")},
    )
    assert "文件既不是 JPG 或 PNG 图片，也不是 PDF 文档" in texts(response)[-1]
    response = client.post(reverse("transfers:evidence_delete", args=[evidence.pk]))
    assert texts(response)[-1] == "材料已删除。" and not Evidence.objects.exists()


# --- submitting, answering a return, withdrawing -------------------------------------------------


def test_submitting_without_the_evidence_says_what_is_missing(client_for, registrar, student):
    change = started(Kind.ABROAD, registrar, student)
    response = client_for(registrar).post(url("submit", change))
    assert texts(response) == ["请补齐尚缺的证明材料：监护人签字的申请书；护照及签证或录取通知。"]
    attach_required(change, registrar)
    response = client_for(registrar).post(url("submit", change))
    assert texts(response)[-1] == "已提交审核。"
    assert fresh(change).approval.state == ApprovalState.SUBMITTED


def test_a_returned_request_is_revised_and_resubmitted_from_its_edit_page(
    client_for, registrar, principal, student, school
):
    second = class_of(school, 2)
    change = submitted(Kind.SKIP, registrar, student, to_class=second)
    approvals.return_for_revision(fresh(change).approval, by=principal, comment="请说明考核结果")
    client = client_for(registrar)
    page = client.get(url("detail", change)).content.decode()
    assert "修改后重新提交" in page
    page = client.get(url("edit", change)).content.decode()
    assert "退回修改意见：" in page and "请说明考核结果" in page
    response = client.post(
        url("edit", change), {"to_class": second.pk, "explanation": "考核成绩优秀，附成绩单", "submit": "1"}
    )
    assert response["Location"] == change.get_absolute_url()
    change = fresh(change)
    assert (change.explanation, change.approval.state, change.approval.round) == (
        "考核成绩优秀，附成绩单",
        ApprovalState.SUBMITTED,
        2,
    )
    response = client.get(url("edit", change))
    assert texts(response)[-1] == "该申请已不能修改。"


def test_a_wrong_edit_changes_nothing(client_for, registrar, student, school):
    change = started(Kind.SKIP, registrar, student, to_class=class_of(school, 2))
    response = client_for(registrar).post(
        url("edit", change), {"to_class": class_of(school, 4).pk, "explanation": "x"}
    )
    assert "请选择二年级的班级" in response.content.decode()
    assert fresh(change).to_class.grade.level == 2


def test_withdrawing_asks_first(client_for, registrar, student):
    change = submitted(Kind.ABROAD, registrar, student)
    client = client_for(registrar)
    page = client.get(url("withdraw", change)).content.decode()
    assert "撤回张小明的“出国（境）”申请" in page
    response = client.post(url("withdraw", change), {"comment": "家长改变主意"})
    assert texts(response) == ["申请已撤回，学籍保持不变。"]
    assert fresh(change).approval.state == ApprovalState.WITHDRAWN
    assert fresh(change).approval.decisions.last().comment == "家长改变主意"


# --- reviewing ------------------------------------------------------------------------------------


def test_approve_and_next_runs_through_the_engine(client_for, registrar, principal, first_class):
    first = submitted(Kind.ABROAD, registrar, enrolled(first_class, name="甲"))
    second = submitted(Kind.OTHER, registrar, enrolled(first_class, name="乙"))
    client = client_for(principal)
    response = client.post(
        reverse("registrar:approval_decide", args=[first.approval_id]),
        {"action": "approve", "step_id": fresh(first).approval.current_step_id},
    )
    assert response["Location"] == reverse("registrar:approval", args=[second.approval_id])
    assert client.get(response["Location"])["Location"] == url("detail", second)


def test_the_queue_with_these_kinds_costs_the_same_queries_however_long(
    client_for, registrar, county_reviewer, huaqiao_registrar, huaqiao, third_class, django_assert_num_queries
):
    client = client_for(county_reviewer)

    def add(count, start):
        for number in range(start, start + count):
            pupil = enrolled(class_of(huaqiao, 3), name=f"转学生{NAMES[number]}")
            change = submitted(Kind.TRANSFER, registrar, pupil, to_class=third_class)
            approvals.approve(fresh(change).approval, by=huaqiao_registrar)

    add(2, 0)
    client.get(reverse("registrar:approvals"))
    with CaptureQueriesContext(connection) as few:
        page = client.get(reverse("registrar:approvals")).content.decode()
    assert "转学生丑" in page and "转学" in page
    # Transfers are approved on their own page: no checkbox in the queue.
    assert 'name="selected"' not in page
    add(6, 2)
    with django_assert_num_queries(len(few)):
        assert "转学生未" in client.get(reverse("registrar:approvals")).content.decode()


def test_the_queue_approves_in_bulk_only_what_the_reviewer_has_opened(
    client_for, registrar, principal, student
):
    change = submitted(Kind.OTHER, registrar, student)
    queue = reverse("registrar:approvals")
    client = client_for(principal)
    page = client.get(queue).content.decode()
    assert f'value="{change.approval_id}:' not in page
    assert "份证明材料您尚未打开查看" in page
    # The request's page shows every scan; each one the reviewer's browser fetches is recorded.
    for evidence in change.evidence.all():
        assert client.get(reverse("transfers:evidence", args=[evidence.pk])).status_code == 200
    page = client.get(queue).content.decode()
    assert f'value="{change.approval_id}:' in page
    selected = f"{change.approval_id}:{fresh(change).approval.current_step_id}"
    response = client.post(queue, {"selected": [selected], "confirm": "1", "comment": "同意"})
    assert texts(response)[0].startswith(f"已通过：{change.approval.subject_label}")
    assert fresh(change).approval.state == ApprovalState.IN_REVIEW


# --- printing -----------------------------------------------------------------------------------------


def test_a_transfer_prints_as_a_transfer_form(client_for, transfer, registrar, huaqiao_registrar):
    approvals.approve(fresh(transfer).approval, by=huaqiao_registrar, comment="同意转出")
    page = client_for(registrar).get(url("print", transfer)).content.decode()
    assert "转学联系表" in page and "转出学校意见" in page and "转入地教育行政部门意见" in page
    assert "（学校盖章）" in page and "家长签字" in page and "同意转出" in page
    assert mask_number(transfer.student.number) in page
    # The sending school's form carries the whole number.
    assert (
        transfer.student.number in client_for(huaqiao_registrar).get(url("print", transfer)).content.decode()
    )


def test_other_kinds_print_as_a_status_change_form(client_for, registrar, county_reviewer, student):
    change = submitted(Kind.ABROAD, registrar, student)
    page = client_for(county_reviewer).get(url("print", change)).content.decode()
    assert "学籍异动报表" in page and "学校意见" in page and "教育行政部门意见" in page


# --- reminders ------------------------------------------------------------------------------------


def test_suspensions_ending_soon_wait_on_the_schools_dashboard(client_for, registrar, principal, suspended):
    dashboard = reverse("registrar:dashboard")
    page = client_for(registrar).get(dashboard).content.decode()
    assert "即将到期的休学" not in page
    with time_machine.travel(datetime(2026, 12, 10, 10, 0, tzinfo=SHANGHAI)):
        page = client_for(registrar).get(dashboard).content.decode()
        assert "即将到期的休学" in page
        page = client_for(registrar).get(reverse("transfers:suspensions")).content.decode()
        assert "即将到期" in page and "张小明" in page
        assert client_for(principal).get(reverse("transfers:suspensions")).status_code == 200
    with time_machine.travel(datetime(2027, 1, 5, 10, 0, tzinfo=SHANGHAI)):
        page = client_for(registrar).get(dashboard).content.decode()
        assert "已过期未办理的休学" in page


def test_the_suspension_list_is_for_the_school(client_for, county_reviewer):
    assert client_for(county_reviewer).get(reverse("transfers:suspensions")).status_code == 403


def test_drafts_wait_on_the_dashboard_and_the_navigation_links_the_list(client_for, registrar, student):
    started(Kind.ABROAD, registrar, student)
    page = client_for(registrar).get(reverse("registrar:dashboard")).content.decode()
    assert "尚未提交的学籍异动草稿" in page and f'href="{LIST}"' in page


def test_a_reviewer_of_another_area_in_the_chain_sees_the_case(
    client_for, registrar, county_reviewer, outsider, outsider_reviewer, other_school, third_class
):
    pupil = enrolled(class_of(other_school, 3), name="王小华")
    change = submitted(Kind.TRANSFER, registrar, pupil, to_class=third_class)
    page = client_for(county_reviewer).get(url("detail", change)).content.decode()
    assert pupil.address in page  # a reviewer of the case reads the whole record
    assert client_for(outsider_reviewer).get(url("detail", change)).status_code == 200
    assert client_for(outsider).get(url("detail", change)).status_code == 200


def test_save_and_submit_keeps_the_changes_when_the_submission_is_refused(client_for, registrar, student):
    change = started(Kind.ABROAD, registrar, student)
    response = client_for(registrar).post(
        url("edit", change), {"explanation": "随父母赴英国学习", "submit": "1"}
    )
    assert response["Location"] == change.get_absolute_url()
    assert texts(response)[-1].startswith("已保存，但未提交：请补齐尚缺的证明材料")
    change = fresh(change)
    assert (change.explanation, change.approval.state) == ("随父母赴英国学习", ApprovalState.DRAFT)


def test_each_step_answers_404_outside_the_case_and_403_to_the_wrong_role(
    client_for,
    registrar,
    county_reviewer,
    city_reviewer,
    outsider,
    outsider_reviewer,
    other_school,
    huaqiao_registrar,
    third_class,
):
    """An other-county transfer: 江岸区 county, then 实验学校's registrar, then 夷陵区 county."""
    pupil = enrolled(class_of(other_school, 3), name="王小华")
    change = submitted(Kind.TRANSFER, registrar, pupil, to_class=third_class)
    decide = reverse("registrar:approval_decide", args=[change.approval_id])
    steps = [
        (county_reviewer, [registrar, city_reviewer, outsider, outsider_reviewer]),
        (outsider, [registrar, county_reviewer, outsider_reviewer]),
        (outsider_reviewer, [registrar, county_reviewer, outsider]),
    ]
    for holder, others in steps:
        step = fresh(change).approval.current_step_id
        # 花桥小学 takes no part: it does not even learn that the request exists.
        assert (
            client_for(huaqiao_registrar).post(decide, {"action": "approve", "step_id": step}).status_code
            == 404
        )
        assert client_for(huaqiao_registrar).get(url("detail", change)).status_code == 404
        for user in others:
            response = client_for(user).post(decide, {"action": "approve", "step_id": step})
            assert response.status_code == 403, (holder, user)
        response = client_for(holder).post(decide, {"action": "approve", "step_id": step})
        assert response.status_code == 302
    assert fresh(change).approval.state == ApprovalState.APPROVED
    assert reload(pupil).school == third_class.grade.school


def test_the_print_masks_the_id_for_the_receiving_school_and_is_logged(
    client_for, registrar, pupil_at_huaqiao, third_class
):
    change = started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)
    page = client_for(registrar).get(reverse("transfers:print", args=[change.pk])).content.decode()
    assert pupil_at_huaqiao.id_number not in page
    assert mask_id(pupil_at_huaqiao.id_number) in page
    printed = AuditEvent.objects.get(action="transfers.request.printed")
    assert (printed.actor, printed.data["full_record"]) == (registrar, False)


def test_the_receiving_school_sees_the_photo_of_the_student_it_takes_in(
    client_for, registrar, huaqiao_registrar, outsider, pupil_at_huaqiao, third_class
):
    from registrar.uploads import clean_photo
    from students.services import set_photo

    set_photo(pupil_at_huaqiao, by=huaqiao_registrar, clean_file=clean_photo(png("photo.png")))
    change = started(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class)
    url = reverse("transfers:student_photo", args=[change.pk])
    assert (
        f'src="{url}"'
        in client_for(registrar).get(reverse("transfers:edit", args=[change.pk])).content.decode()
    )
    # The student's own page stays the sending school's.
    assert client_for(registrar).get(reverse("students:photo", args=[pupil_at_huaqiao.pk])).status_code == 404
    response = client_for(registrar).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert AuditEvent.objects.filter(action="students.photo.viewed", actor=registrar).exists()
    assert client_for(outsider).get(url).status_code == 404


def test_the_bureaus_do_not_see_a_schools_drafts(client_for, registrar, county_reviewer, student):
    draft = started(Kind.ABROAD, registrar, student)
    page = client_for(county_reviewer).get(reverse("transfers:list")).content.decode()
    assert student.name not in page
    assert client_for(county_reviewer).get(draft.get_absolute_url()).status_code == 404
    assert student.name in client_for(registrar).get(reverse("transfers:list")).content.decode()
    attach_required(draft, registrar)
    approvals.send(draft.approval, by=registrar)
    assert client_for(county_reviewer).get(draft.get_absolute_url()).status_code == 200


def test_the_pages_speak_plainly_to_the_applicant(client_for, registrar, student):
    change = started(Kind.ABROAD, registrar, student)
    attach_required(change, registrar)
    client = client_for(registrar)
    page = client.get(change.get_absolute_url()).content.decode()
    # Removing a scan asks first.
    assert "data-confirm=" in page
    approvals.send(change.approval, by=registrar)
    page = client.get(change.get_absolute_url()).content.decode()
    # The reviewer's hint is for reviewers.
    assert "不通过或退回修改时必" not in page
    finder = client.get(reverse("transfers:start_transfer")).content.decode()
    assert '<label for="id_name">姓名' in finder
