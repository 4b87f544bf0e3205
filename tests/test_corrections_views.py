"""Pages of key-data corrections: start from the student, follow, answer a return, withdraw, review."""

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from corrections import services
from corrections.models import Correction, Evidence
from corrections.rules import EvidenceKind
from registrar import approvals
from registrar.dashboard import waiting_items
from registrar.models import ApprovalState
from registrar.navigation import nav_items
from students.models import Student
from tests.correction_helpers import (
    LIFE,
    NOW,
    attach,
    enrol,
    ethnicity_change,
    new_id_for,
    scan,
    scan_bytes,
    submitted_correction,
)


@pytest.fixture(autouse=True)
def _fixed_day():
    with time_machine.travel(NOW):
        yield


@pytest.fixture
def student(registrar, school_class):
    return enrol(registrar, school_class)


@pytest.fixture
def second(registrar, school_class):
    return enrol(registrar, school_class, name="李小红", sequence=2)


def texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def create_url(student):
    return reverse("corrections:create", args=[student.pk])


def detail_url(correction):
    return reverse("corrections:detail", args=[correction.pk])


def decide_url(correction):
    return reverse("registrar:approval_decide", args=[correction.approval_id])


def form_data(**changes):
    data = {"note": ""}
    for field, (value, reason) in changes.items():
        data[f"new_{field}"] = value
        data[f"reason_{field}"] = reason
    return data


# --- starting a correction from the student page ---------------------------------------------------------


def test_starting_requires_login(client, student):
    response = client.get(create_url(student))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_only_the_schools_registrar_starts_one(client_for, principal, county_reviewer, outsider, student):
    assert client_for(principal).get(create_url(student)).status_code == 403
    assert client_for(county_reviewer).get(create_url(student)).status_code == 403
    assert client_for(outsider).get(create_url(student)).status_code == 404


def test_the_form_shows_each_field_with_its_current_value(client_for, registrar, student):
    page = client_for(registrar).get(create_url(student)).content.decode()
    assert "张小明 关键数据变更" in page
    for name in ("new_name", "new_gender", "new_birth_date", "new_id_type", "new_id_number", "new_ethnicity"):
        assert f'name="{name}"' in page
    assert student.id_number in page and "汉族" in page


def test_a_request_is_started_as_a_draft(client_for, registrar, student):
    response = client_for(registrar).post(create_url(student), form_data(ethnicity=("03", LIFE)))

    correction = Correction.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(correction)
    assert texts(response) == ["申请已保存为草稿：请上传证明材料后提交。"]
    assert correction.approval.state == ApprovalState.DRAFT
    assert correction.changes.get().new_value == "03"


def test_bad_input_is_explained_beside_the_field_and_nothing_is_made(client_for, registrar, student):
    client = client_for(registrar)
    page = client.post(create_url(student), form_data(ethnicity=("03", ""))).content.decode()
    assert "请选择更正民族的原因。" in page

    page = client.post(create_url(student), form_data(gender=("2", LIFE))).content.decode()
    assert "请在本申请中一并更正性别和身份证件号。" in page

    page = client.post(create_url(student), {"note": "", "reason_name": LIFE}).content.decode()
    assert "请填写更正后的值，或不选原因。" in page

    page = client.post(create_url(student), {"note": ""}).content.decode()
    assert "请至少填写一项要更正的信息。" in page
    assert not Correction.objects.exists()


def test_a_student_who_cannot_be_corrected_gets_the_reason_instead_of_the_form(
    client_for, registrar, student
):
    ethnicity_change(registrar, student)
    client = client_for(registrar)
    page = client.get(create_url(student)).content.decode()
    assert "目前不能发起关键数据变更" in page and "有正在办理的业务" in page
    assert 'name="new_name"' not in page
    client.post(create_url(student), form_data(name=("张晓明", LIFE)))
    assert Correction.objects.count() == 1


# --- the request page ------------------------------------------------------------------------------------


def test_the_request_page_shows_old_and_new_the_evidence_and_the_panel(
    client_for, registrar, principal, student
):
    correction = submitted_correction(registrar, student)
    evidence = correction.evidence.get()

    page = client_for(principal).get(detail_url(correction)).content.decode()

    assert '<td class="old">汉族</td>' in page and "<strong>回族</strong>" in page
    assert reverse("corrections:evidence_file", args=[correction.pk, evidence.pk]) in page
    assert 'data-action="rotate-right"' in page and 'data-action="zoom-in"' in page
    assert 'id="approval"' in page and 'value="approve"' in page
    assert "✓ 身份证（正反面在同一页）" in page
    # Only the applicant edits.
    assert reverse("corrections:edit", args=[correction.pk]) not in page


def test_the_request_page_is_for_users_in_scope(
    client_for, registrar, county_reviewer, city_reviewer, class_teacher, outsider, outsider_reviewer, student
):
    correction = submitted_correction(registrar, student)
    for user in (registrar, county_reviewer, city_reviewer):
        assert client_for(user).get(detail_url(correction)).status_code == 200
    for user in (class_teacher, outsider, outsider_reviewer):
        assert client_for(user).get(detail_url(correction)).status_code == 404


def test_the_engines_page_leads_to_the_request_page(client_for, principal, registrar, student):
    correction = submitted_correction(registrar, student)
    response = client_for(principal).get(reverse("registrar:approval", args=[correction.approval_id]))
    assert response["Location"] == detail_url(correction)


def test_the_applicant_sees_what_is_missing_and_uploads(client_for, registrar, student):
    correction = services.create_correction(student, by=registrar, changes={"name": ("张晓明", LIFE)})
    client = client_for(registrar)
    page = client.get(detail_url(correction)).content.decode()
    assert "提交前还需处理" in page and "户口本曾用名页 或 公安机关出具的变更、更正证明" in page
    assert 'enctype="multipart/form-data"' in page

    url = reverse("corrections:evidence_add", args=[correction.pk])
    response = client.post(
        url, {"kind": EvidenceKind.ID_CARD, "file": scan("身份证.jpg", scan_bytes(fmt="PNG"))}
    )

    assert response["Location"] == detail_url(correction) + "#evidence"
    assert texts(response) == [
        "已上传：身份证（正反面在同一页）",
        "文件名为 身份证.jpg，但内容是 PNG 文件，已按 PNG 保存",
    ]
    assert Evidence.objects.get().content_type == "image/png"


def test_a_refused_upload_says_why(client_for, registrar, student):
    correction = ethnicity_change(registrar, student)
    url = reverse("corrections:evidence_add", args=[correction.pk])
    data = scan_bytes()
    response = client_for(registrar).post(
        url, {"kind": EvidenceKind.ID_CARD, "file": scan("a.jpg", data[:500])}
    )
    assert texts(response) == ["图片不完整或已损坏"]
    response = client_for(registrar).post(url, {"kind": EvidenceKind.ID_CARD})
    assert texts(response)[-1] == "这个字段是必填项。"
    assert not Evidence.objects.exists()


def test_only_the_registrar_uploads_and_removes(client_for, registrar, principal, outsider, student):
    correction = ethnicity_change(registrar, student)
    evidence = attach(correction, registrar, EvidenceKind.ID_CARD)[0]
    add = reverse("corrections:evidence_add", args=[correction.pk])
    remove = reverse("corrections:evidence_delete", args=[correction.pk, evidence.pk])
    upload = {"kind": EvidenceKind.ID_CARD, "file": scan()}
    assert client_for(principal).post(add, upload).status_code == 403
    assert client_for(principal).post(remove).status_code == 403
    assert client_for(outsider).post(remove).status_code == 404

    response = client_for(registrar).post(remove)
    assert texts(response) == ["已删除：身份证（正反面在同一页）"]
    assert not Evidence.objects.exists()


# --- submitting, answering a return, withdrawing ---------------------------------------------------------


def test_submitting_from_the_panel_is_refused_until_ready(client_for, registrar, student):
    correction = services.create_correction(student, by=registrar, changes={"name": ("张晓明", LIFE)})
    attach(correction, registrar, EvidenceKind.ID_CARD)
    client = client_for(registrar)

    response = client.post(decide_url(correction), {"action": approvals.SUBMIT}, follow=True)

    assert "请补齐尚缺的证明材料" in texts(response)[0]
    assert response.redirect_chain[-1][0] == detail_url(correction)
    attach(correction, registrar, EvidenceKind.HOUSEHOLD)
    client.post(decide_url(correction), {"action": approvals.SUBMIT})
    assert Correction.objects.get().approval.state == ApprovalState.SUBMITTED


def test_answering_a_return(client_for, registrar, principal, student):
    correction = submitted_correction(registrar, student)
    approvals.return_for_revision(correction.approval, by=principal, comment="身份证反面不清晰")
    client = client_for(registrar)

    page = client.get(detail_url(correction)).content.decode()
    assert "身份证反面不清晰" in page and 'value="resubmit"' in page

    edit = reverse("corrections:edit", args=[correction.pk])
    assert 'value="03"' in client.get(edit).content.decode()
    response = client.post(edit, form_data(ethnicity=("05", LIFE)) | {"note": "按意见修改"})
    assert response["Location"] == detail_url(correction)
    client.post(
        reverse("corrections:evidence_add", args=[correction.pk]),
        {"kind": EvidenceKind.ID_CARD, "file": scan()},
    )
    client.post(decide_url(correction), {"action": approvals.RESUBMIT, "comment": "已重新拍摄"})

    correction.refresh_from_db()
    correction.approval.refresh_from_db()
    assert correction.approval.state == ApprovalState.SUBMITTED
    assert (correction.note, correction.changes.get().new_value, correction.evidence.count()) == (
        "按意见修改",
        "05",
        2,
    )


def test_a_request_in_review_is_not_edited(client_for, registrar, student):
    correction = submitted_correction(registrar, student)
    edit = reverse("corrections:edit", args=[correction.pk])
    response = client_for(registrar).post(edit, form_data(ethnicity=("05", LIFE)))
    assert texts(response) == ["只有草稿或被退回修改的申请才能修改。"]
    assert correction.changes.get().new_value == "03"


def test_withdrawing_asks_first(client_for, registrar, principal, student):
    correction = submitted_correction(registrar, student)
    url = reverse("corrections:withdraw", args=[correction.pk])
    assert client_for(principal).get(url).status_code == 403
    client = client_for(registrar)
    assert "确定撤回 张小明 的关键数据变更申请吗" in client.get(url).content.decode()
    assert Correction.objects.get().approval.state == ApprovalState.SUBMITTED

    response = client.post(url, {"comment": "家长另行申请"})

    assert texts(response) == ["申请已撤回。"]
    approval = Correction.objects.get().approval
    assert approval.state == ApprovalState.WITHDRAWN
    assert approval.decisions.last().comment == "家长另行申请"
    response = client.get(url)
    assert texts(response)[-1] == "该申请目前不能撤回。"


# --- review ----------------------------------------------------------------------------------------------


def test_deciding_goes_on_to_the_next_correction(client_for, registrar, principal, student, second):
    first = submitted_correction(registrar, student)
    following = submitted_correction(registrar, second)
    client = client_for(principal)

    response = client.post(
        decide_url(first),
        {"action": approvals.APPROVE, "step_id": first.approval.current_step_id},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == detail_url(following)
    assert "李小红" in response.content.decode()


def test_each_step_refuses_the_wrong_role(client_for, registrar, principal, county_reviewer, student):
    correction = submitted_correction(registrar, student)
    approve = {"action": approvals.APPROVE}
    assert client_for(county_reviewer).post(decide_url(correction), approve).status_code == 403
    assert client_for(registrar).post(decide_url(correction), approve).status_code == 403
    client_for(principal).post(decide_url(correction), approve)
    assert client_for(principal).post(decide_url(correction), approve).status_code == 403
    client_for(county_reviewer).post(decide_url(correction), approve)
    assert Student.objects.get(pk=student.pk).ethnicity == "03"


def test_an_outsider_cannot_decide(client_for, registrar, outsider_reviewer, student):
    correction = submitted_correction(registrar, student)
    response = client_for(outsider_reviewer).post(decide_url(correction), {"action": approvals.APPROVE})
    assert response.status_code == 404


def test_the_review_list_shows_old_and_new_and_is_decided_one_by_one(
    client_for, registrar, principal, county_reviewer, student, second
):
    first = submitted_correction(registrar, student)
    submitted_correction(registrar, second)
    url = reverse("corrections:review")
    client = client_for(principal)

    page = client.get(url).content.decode()
    assert "张小明" in page and "李小红" in page and '<td class="new">回族</td>' in page
    assert 'name="selected"' not in page and "不能批量通过" in page
    assert (
        client.post(url, {"selected": [f"{first.approval_id}:{first.approval.current_step_id}"]}).status_code
        == 405
    )


def test_the_queue_does_not_approve_corrections_in_bulk(client_for, registrar, principal, student):
    correction = submitted_correction(registrar, student)
    queue = reverse("registrar:approvals")
    page = client_for(principal).get(queue).content.decode()
    assert f'value="{correction.approval_id}:' not in page and "逐件审核" in page
    selected = f"{correction.approval_id}:{correction.approval.current_step_id}"
    response = client_for(principal).post(queue, {"selected": [selected], "confirm": "1"})
    assert texts(response) == [f"{correction.approval.subject_label}：此类申请须在其详情页逐件审核。"]
    correction.approval.refresh_from_db()
    assert correction.approval.state == "submitted"


# --- lists, navigation, dashboard ------------------------------------------------------------------------


def test_the_list_shows_my_schools_corrections_with_masked_ids(
    client_for, registrar, outsider, class_teacher, county_reviewer, student
):
    new_id = new_id_for(student)
    correction = services.create_correction(student, by=registrar, changes={"id_number": (new_id, LIFE)})
    url = reverse("corrections:list")

    page = client_for(registrar).get(url).content.decode()

    assert "张小明" in page and new_id not in page and f"{new_id[:6]}********{new_id[-4:]}" in page
    # A draft is the school's own until it is submitted.
    assert "张小明" not in client_for(county_reviewer).get(url).content.decode()
    attach(correction, registrar, EvidenceKind.ID_CARD, EvidenceKind.POLICE)
    services.submit_correction(correction, by=registrar)
    assert "张小明" in client_for(county_reviewer).get(url).content.decode()
    assert "张小明" not in client_for(outsider).get(url).content.decode()
    assert client_for(class_teacher).get(url).status_code == 403


def test_the_list_takes_the_same_queries_for_more_rows(client_for, registrar, student, school_class):
    ethnicity_change(registrar, student)
    client = client_for(registrar)
    url = reverse("corrections:list")
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for name, sequence in (("王一", 3), ("王二", 5), ("王三", 7)):
        submitted_correction(registrar, enrol(registrar, school_class, name=name, sequence=sequence))
    with CaptureQueriesContext(connection) as four:
        page = client.get(url).content.decode()
    assert page.count('name="selected"') == 4
    assert len(four) == len(one)


def test_the_list_filters(client_for, registrar, student, second):
    submitted_correction(registrar, student)
    ethnicity_change(registrar, second)
    client = client_for(registrar)
    url = reverse("corrections:list")
    page = client.get(url, {"state": "draft"}).content.decode()
    assert "李小红" in page and "张小明" not in page
    page = client.get(url, {"q": "张"}).content.decode()
    assert "张小明" in page and "李小红" not in page
    page = client.get(url, {"group": "enrolled"}).content.decode()
    assert "暂无关键数据变更。" in page


def test_navigation_and_dashboard(registrar, principal, class_teacher, student, second):
    ethnicity_change(registrar, second)
    submitted_correction(registrar, student)
    assert [str(item.label) for item in nav_items(registrar)].count("关键数据变更") == 1
    assert "关键数据变更" not in [str(item.label) for item in nav_items(class_teacher)]
    registrar_items = {str(item.label): item.count for item in waiting_items(registrar)}
    assert registrar_items["尚未提交的关键数据变更"] == 1
    principal_items = {str(item.label): (item.count, item.url) for item in waiting_items(principal)}
    assert principal_items["待我审核的关键数据变更"] == (1, reverse("corrections:review"))
