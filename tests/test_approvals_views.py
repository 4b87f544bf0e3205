"""Pages of the approval engine: the queue, bulk approval, decisions, the panel, the overdue list."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registrar import approvals
from registrar.choices import Role
from registrar.models import ApprovalRequest, ApprovalState, StepState
from tests.approval_kinds import FAILING, SAMPLE
from tests.conftest import make_user
from tests.test_approvals import new_request, submitted

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUEUE = reverse("registrar:approvals")

pytestmark = pytest.mark.usefixtures("test_kinds")


def decide_url(approval):
    return reverse("registrar:approval_decide", args=[approval.pk])


def page_url(approval):
    return reverse("registrar:approval", args=[approval.pk])


def texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def fresh(approval):
    return ApprovalRequest.objects.get(pk=approval.pk)


# --- the queue -------------------------------------------------------------------------------------


def test_the_queue_requires_login(client, db):
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_queue_lists_what_waits_at_my_step(client_for, registrar, principal, county_reviewer, school):
    first = submitted(registrar, school, label="张三")
    second = approvals.approve(submitted(registrar, school, label="李四"), by=principal)
    new_request(registrar, school, label="王五")  # a draft waits for nobody
    page = client_for(principal).get(QUEUE).content.decode()
    assert "张三" in page and "李四" not in page and "王五" not in page
    assert f'value="{first.pk}:{first.current_step_id}"' in page
    page = client_for(county_reviewer).get(QUEUE).content.decode()
    assert "李四" in page and "张三" not in page
    assert f'value="{second.pk}:{second.current_step_id}"' in page


def test_the_queue_is_empty_for_those_who_review_nothing(client_for, registrar, outsider_reviewer, school):
    submitted(registrar, school)
    for user in (registrar, outsider_reviewer):
        page = client_for(user).get(QUEUE).content.decode()
        assert "没有待您审核的申请" in page


def test_the_queue_filters_by_kind_school_and_age(client_for, registrar, principal, school):
    with time_machine.travel(datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI)):
        submitted(registrar, school, label="旧申请")
    with time_machine.travel(datetime(2025, 3, 20, 10, 0, tzinfo=SHANGHAI)):
        submitted(registrar, school, label="新申请", kind=FAILING)
        client = client_for(principal)
        page = client.get(QUEUE).content.decode()
        assert "旧申请" in page and "新申请" in page
        assert page.index("旧申请") < page.index("新申请")  # the most urgent first
        assert 'class="overdue"' in page
        page = client.get(QUEUE, {"age": "overdue"}).content.decode()
        assert "旧申请" in page and "新申请" not in page
        page = client.get(QUEUE, {"kind": FAILING}).content.decode()
        assert "旧申请" not in page and "新申请" in page
        page = client.get(QUEUE, {"school": school.code}).content.decode()
        assert "旧申请" in page and "新申请" in page


def test_the_queue_costs_the_same_queries_however_long(
    client_for, registrar, principal, school, django_assert_num_queries
):
    client = client_for(principal)
    for number in range(5):
        submitted(registrar, school, label=f"学生{number}")
    client.get(QUEUE)  # the session is settled
    with CaptureQueriesContext(connection) as five:
        assert client.get(QUEUE).status_code == 200
    # session, user, the user's node, count, page, holidays, schools of the filter
    assert len(five) <= 8
    for number in range(5, 30):
        submitted(registrar, school, label=f"学生{number}")
    with django_assert_num_queries(len(five)):
        response = client.get(QUEUE)
    assert "学生24" in response.content.decode()
    with django_assert_num_queries(len(five)):
        assert "学生29" in client.get(QUEUE, {"page": 2}).content.decode()


# --- bulk approval ---------------------------------------------------------------------------------


def test_bulk_approve_approves_each_ticked_row_on_its_own(client_for, registrar, principal, school):
    second_principal = make_user("王校长", school, [Role.PRINCIPAL])
    rows = [submitted(registrar, school, label=f"学生{number}") for number in range(3)]
    taken = rows[1]
    approvals.approve(taken, by=second_principal, step_id=taken.current_step_id)
    single = submitted(registrar, school, kind="tests.single", label="须逐件")
    client = client_for(principal)
    response = client.post(
        QUEUE,
        {
            "selected": [f"{row.pk}:{row.current_step_id}" for row in [*rows, single]],
            "query": "age=overdue",
            "confirm": "1",
            "comment": "材料齐全",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}?age=overdue"
    messages = texts(response)
    assert "已通过：学生0（已转至江岸区（县级审核员）审核）" in messages
    assert "已通过：学生2（已转至江岸区（县级审核员）审核）" in messages
    assert any(message.startswith("学生1：该步骤已由王校长于") for message in messages)
    assert any(message.startswith("须逐件：此类申请须在其详情页逐件审核") for message in messages)
    assert "已批量通过 2 件申请。" in messages
    assert [fresh(row).state for row in rows] == [ApprovalState.IN_REVIEW] * 3
    assert fresh(single).state == ApprovalState.SUBMITTED
    assert fresh(rows[0]).steps.get(position=1).decided_by == principal
    assert fresh(rows[2]).steps.get(position=1).comment == "材料齐全"


def test_bulk_approve_first_shows_what_will_happen_and_approves_nothing(
    client_for, registrar, principal, school
):
    rows = [submitted(registrar, school, label=f"学生{number}") for number in range(2)]
    single = submitted(registrar, school, kind="tests.single", label="须逐件")
    response = client_for(principal).post(
        QUEUE, {"selected": [f"{row.pk}:{row.current_step_id}" for row in [*rows, single]]}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "学生0" in page and "学生1" in page and "通过 2 件申请" in page
    assert "须逐件：此类申请须在其详情页逐件审核" in page
    assert 'name="comment"' in page
    assert f'value="{single.pk}:' not in page
    assert [fresh(row).state for row in [*rows, single]] == [ApprovalState.SUBMITTED] * 3


def test_bulk_approve_refuses_what_the_user_may_not_decide(
    client_for, registrar, principal, county_reviewer, outsider, school
):
    approval = submitted(registrar, school, label="张三")
    selected = {"selected": [f"{approval.pk}:{approval.current_step_id}"], "confirm": "1"}
    response = client_for(county_reviewer).post(QUEUE, selected)
    assert texts(response) == ["张三：您无权处理该审核步骤。"]
    response = client_for(outsider).post(QUEUE, selected)
    assert texts(response)[-1] == f"未找到申请 {approval.pk}。"
    response = client_for(principal).post(QUEUE, {})
    assert texts(response)[-1] == "请先勾选要通过的申请。"
    assert fresh(approval).state == ApprovalState.SUBMITTED


@pytest.mark.parametrize("confirm", [{}, {"confirm": "1"}])
def test_a_tampered_selection_is_refused_quietly(client_for, registrar, principal, school, confirm):
    approval = submitted(registrar, school, label="张三")
    response = client_for(principal).post(
        QUEUE,
        {"selected": ["99999999999999999999:1", "1:99999999999999999999", "-1:2", "x:y", "", ":"], **confirm},
    )
    assert response.status_code == 302
    assert texts(response) == ["请先勾选要通过的申请。"]
    assert fresh(approval).state == ApprovalState.SUBMITTED


def test_parse_selection_keeps_each_well_formed_pair_once():
    values = ["3:4", "1:2", "junk", "1:2", "9" * 25 + ":1", "5:0", "0:5", "7:8"]
    assert approvals.parse_selection(values) == [(3, 4), (1, 2), (7, 8)]


def test_the_bulk_service_keeps_the_order_and_says_where_each_went(registrar, principal, school):
    """It keeps the order given, refuses kinds decided on their own page, and reports each request
    with where it went."""
    first = submitted(registrar, school, label="甲")
    single = submitted(registrar, school, kind="tests.single", label="乙")
    result = approvals.approve_many(
        principal, [(single.pk, single.current_step_id), (first.pk, first.current_step_id)]
    )
    assert result.outcomes == [
        (False, "乙：此类申请须在其详情页逐件审核。"),
        (True, "甲（已转至江岸区（县级审核员）审核）"),
    ]
    assert fresh(first).state == ApprovalState.IN_REVIEW


# --- decisions -------------------------------------------------------------------------------------


def test_approve_and_next_goes_to_the_next_request_in_my_queue(client_for, registrar, principal, school):
    first = submitted(registrar, school, label="张三")
    second = submitted(registrar, school, label="李四")
    client = client_for(principal)
    response = client.post(decide_url(first), {"action": "approve", "step_id": first.current_step_id})
    assert response["Location"] == page_url(second)
    assert "张三：已通过，已转至江岸区（县级审核员）审核。" in texts(response)
    assert fresh(first).state == ApprovalState.IN_REVIEW
    response = client.post(decide_url(second), {"action": "approve", "step_id": second.current_step_id})
    assert response["Location"] == QUEUE
    decided = client.get(QUEUE, {"box": "decided"}).content.decode()
    assert "张三" in decided and "李四" in decided and "已转至江岸区（县级审核员）审核" in decided


def test_the_last_approval_says_it_is_final(client_for, registrar, principal, county_reviewer, school):
    approval = approvals.approve(submitted(registrar, school, label="张三"), by=principal)
    response = client_for(county_reviewer).post(
        decide_url(approval), {"action": "approve", "step_id": approval.current_step_id}
    )
    assert "张三：已通过，已最终批准。" in texts(response)


def test_reject_without_a_reason_changes_nothing(client_for, registrar, principal, school):
    approval = submitted(registrar, school)
    response = client_for(principal).post(
        decide_url(approval), {"action": "reject", "step_id": approval.current_step_id}
    )
    assert response["Location"] == page_url(approval)
    assert texts(response) == ["不通过或退回修改时必须填写理由。"]
    assert fresh(approval).state == ApprovalState.SUBMITTED


def test_return_with_a_reason_goes_back_to_the_applicant(client_for, registrar, principal, school):
    approval = submitted(registrar, school)
    response = client_for(principal).post(
        decide_url(approval),
        {"action": "return_for_revision", "comment": "缺材料", "step_id": approval.current_step_id},
    )
    assert response.status_code == 302
    approval = fresh(approval)
    assert approval.state == ApprovalState.RETURNED
    assert approval.decisions.last().comment == "缺材料"
    page = client_for(registrar).get(QUEUE, {"box": "returned"}).content.decode()
    assert "张三" in page
    page = client_for(registrar).get(reverse("registrar:dashboard")).content.decode()
    assert "退回待修改的申请" in page


def test_the_applicant_resubmits_and_withdraws_from_the_panel(client_for, registrar, principal, school):
    approval = approvals.return_for_revision(submitted(registrar, school), by=principal, comment="缺材料")
    client = client_for(registrar)
    response = client.post(decide_url(approval), {"action": "resubmit", "comment": "已补"})
    assert response["Location"] == page_url(approval)
    assert texts(response)[-1] == "张三 G420102201501010011：已重新提交审核。"
    assert fresh(approval).state == ApprovalState.SUBMITTED
    response = client.post(decide_url(approval), {"action": "withdraw"})
    assert texts(response)[-1] == "张三 G420102201501010011：已撤回。"
    assert fresh(approval).state == ApprovalState.WITHDRAWN
    response = client.post(decide_url(approval), {"action": "withdraw"})
    assert texts(response)[-1] == "该申请当前状态为“已撤回”，不能执行“撤回”。"


def test_a_decision_by_the_wrong_role_is_forbidden(client_for, registrar, county_reviewer, school):
    approval = submitted(registrar, school)
    for user in (registrar, county_reviewer):
        response = client_for(user).post(
            decide_url(approval), {"action": "approve", "step_id": approval.current_step_id}
        )
        assert response.status_code == 403
    assert fresh(approval).state == ApprovalState.SUBMITTED


def test_outsiders_get_404(client_for, registrar, outsider, outsider_reviewer, school):
    approval = submitted(registrar, school)
    for user in (outsider, outsider_reviewer):
        client = client_for(user)
        assert client.get(page_url(approval)).status_code == 404
        assert client.post(decide_url(approval), {"action": "approve"}).status_code == 404


def test_decide_accepts_only_post_and_known_actions(client_for, registrar, principal, school):
    approval = submitted(registrar, school)
    client = client_for(principal)
    assert client.get(decide_url(approval)).status_code == 405
    response = client.post(decide_url(approval), {"action": "promote"})
    assert texts(response) == ["请选择要执行的操作。"]


# --- the request page and its panel ----------------------------------------------------------------


def test_the_generic_page_shows_the_chain_decisions_and_my_actions(client_for, registrar, principal, school):
    approval = approvals.approve(submitted(registrar, school), by=principal, comment="情况属实")
    response = client_for(principal).get(page_url(approval))
    page = response.content.decode()
    assert response.status_code == 200
    assert "育才小学 · 校长" in page and "江岸区 · 县级审核员" in page
    assert "情况属实" in page and "审核中" in page
    assert 'name="action" value="approve"' not in page  # the principal's step is done
    county = make_user("county2", school.parent, [Role.COUNTY_REVIEWER])
    page = client_for(county).get(page_url(approval)).content.decode()
    assert 'name="action" value="approve"' in page
    assert f'name="step_id" value="{approval.current_step_id}"' in page
    assert 'value="withdraw"' not in page


def test_a_draft_shows_the_chain_it_will_follow(client_for, registrar, school):
    approval = new_request(registrar, school)
    page = client_for(registrar).get(page_url(approval)).content.decode()
    assert "提交后将依次送审" in page and "江岸区" in page
    assert 'value="submit"' in page and 'value="withdraw"' in page


def test_a_kind_with_its_own_page_is_redirected_there(client_for, registrar, school):
    approval = new_request(registrar, school, kind="tests.linked")
    response = client_for(registrar).get(page_url(approval))
    assert response.status_code == 302
    assert response["Location"] == f"/students/?pk={approval.pk}"


def test_the_panel_marks_an_overdue_step(client_for, registrar, principal, school):
    with time_machine.travel(datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI)):
        approval = submitted(registrar, school)
    with time_machine.travel(datetime(2025, 3, 18, 10, 0, tzinfo=SHANGHAI)):
        page = client_for(principal).get(page_url(approval)).content.decode()
    assert "chain-step step-current overdue" in page and "已超期" in page


def test_the_page_shows_where_the_request_stands_in_my_queue(client_for, registrar, principal, school):
    rows = [submitted(registrar, school, label=f"学生{number}") for number in range(3)]
    client = client_for(principal)
    page = client.get(page_url(rows[1])).content.decode()
    assert "待审第 2 / 3 件" in page
    assert (
        f'href="{page_url(rows[0])}" rel="prev"' in page and f'href="{page_url(rows[2])}" rel="next"' in page
    )
    # The decision form comes first in the side column, before the chain and the decisions.
    assert page.index('class="case-side"') < page.index("decision-form") < page.index("审核流程")
    first = client.get(page_url(rows[0])).content.decode()
    assert "待审第 1 / 3 件" in first and 'rel="prev"' not in first
    # Someone whose queue it is not in sees no position.
    assert "待审第" not in client_for(registrar).get(page_url(rows[1])).content.decode()


def test_the_queue_position_takes_the_same_queries_for_a_longer_queue(
    registrar, principal, school, django_assert_max_num_queries
):
    rows = [submitted(registrar, school, label=f"学生{number}") for number in range(3)]
    with django_assert_max_num_queries(5):
        approvals.queue_position(rows[1], principal)
    rows += [submitted(registrar, school, label=f"学生{number}") for number in range(3, 30)]
    with django_assert_max_num_queries(5):
        position = approvals.queue_position(rows[1], principal)
    assert (position.number, position.total) == (2, 30)


# --- the overdue list ------------------------------------------------------------------------------


def test_the_overdue_list_is_for_the_levels_above(client_for, registrar, principal, county_reviewer, school):
    with time_machine.travel(datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI)):
        submitted(registrar, school, label="逾期张三")
        submitted(registrar, school, label="逾期李四", kind=FAILING)
    with time_machine.travel(datetime(2025, 3, 18, 10, 0, tzinfo=SHANGHAI)):
        assert client_for(principal).get(reverse("registrar:approvals_overdue")).status_code == 403
        page = client_for(county_reviewer).get(reverse("registrar:approvals_overdue")).content.decode()
        assert "逾期张三" in page and "逾期李四" in page
        page = (
            client_for(county_reviewer).get(reverse("registrar:approvals_overdue"), {"kind": SAMPLE}).content
        )
        assert "逾期张三" in page.decode() and "逾期李四" not in page.decode()
    with time_machine.travel(datetime(2025, 3, 17, 10, 0, tzinfo=SHANGHAI)):
        page = client_for(county_reviewer).get(reverse("registrar:approvals_overdue")).content.decode()
        assert "下级没有超期的审核" in page


@pytest.mark.parametrize("box", ["review", "returned"])
def test_both_lists_render_for_a_user_without_a_node(client_for, db, box):
    from registrar.models import User

    user = User.objects.create_user("lost", password="pw")
    assert client_for(user).get(QUEUE, {"box": box}).status_code == 200


def test_a_step_state_reads_in_chinese(registrar, school):
    approval = submitted(registrar, school)
    assert approval.current_step.get_state_display() == "审核中"
    assert StepState.SKIPPED.label == "未进行"


def test_the_administration_shows_requests_read_only_and_keeps_holidays(client_for, registrar, school):
    approval = submitted(registrar, school)
    admin = make_user("admin", None, [], is_superuser=True, is_staff=True)
    client = client_for(admin)
    assert client.get(reverse("admin:registrar_approvalrequest_changelist")).status_code == 200
    page = client.get(reverse("admin:registrar_approvalrequest_change", args=[approval.pk])).content.decode()
    assert "江岸区" in page and 'name="_save"' not in page
    response = client.post(
        reverse("admin:registrar_holiday_add"), {"date": "2025-03-10", "name": "临时放假", "is_workday": ""}
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:registrar_holiday_changelist")).status_code == 200


def test_the_page_says_why_the_applicant_may_not_decide(client_for, school):
    both = make_user("both", school, [Role.SCHOOL_REGISTRAR, Role.PRINCIPAL])
    approval = submitted(both, school, label="张三")
    client = client_for(both)

    page = client.get(page_url(approval)).content.decode()
    assert "您是本申请的申请人" in page
    assert 'value="approve"' not in page
    assert "张三" not in client.get(QUEUE).content.decode()

    response = client.post(decide_url(approval), {"action": "approve", "step_id": approval.current_step_id})
    assert texts(response)[-1].startswith("您是本申请的申请人")
    response = client.post(QUEUE, {"selected": [f"{approval.pk}:{approval.current_step_id}"], "confirm": "1"})
    assert texts(response)[-1].startswith("张三：您是本申请的申请人")
    assert fresh(approval).state == ApprovalState.SUBMITTED


def test_the_dashboard_shows_the_work_of_the_day(client_for, registrar, principal, outsider, school):
    first = submitted(registrar, school, label="张三")
    approvals.approve(submitted(registrar, school, label="李四"), by=principal)
    reviewer_page = client_for(principal).get(reverse("registrar:dashboard")).content.decode()
    assert "待我审核（最近到期）" in reviewer_page and "张三" in reviewer_page
    assert first.current_step.due_date.isoformat() in reviewer_page
    school_page = client_for(registrar).get(reverse("registrar:dashboard")).content.decode()
    assert "本校在审的申请" in school_page and "李四" in school_page and "江岸区" in school_page
    outsider_page = client_for(outsider).get(reverse("registrar:dashboard")).content.decode()
    assert "张三" not in outsider_page and "李四" not in outsider_page


def test_a_class_teacher_is_not_shown_the_schools_requests(
    client_for, registrar, principal, class_teacher, school
):
    """A class teacher sees only their own classes' students and acts on no request."""
    approvals.approve(submitted(registrar, school, label="李四"), by=principal)
    page = client_for(class_teacher).get(reverse("registrar:dashboard")).content.decode()
    assert "本校在审的申请" not in page and "李四" not in page
