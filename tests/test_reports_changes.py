"""学籍异动 reports (/reports/changes/…) and the 异动花名册: changes made through the real workflows,
counted by kind at the school where each happened, requests by outcome, the period (this term by
default), bad input, scope, the workbook, constant queries."""

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registrar import approvals
from registrar.models import AuditEvent
from reports.excel import EXPORT_ACTION
from students.privacy import mask_number
from tests.correction_helpers import approved_through, submitted_correction
from tests.report_helpers import row_values, sheet_rows, workbook_of
from tests.transfer_helpers import IN_WINDOW, class_of, enrolled, run_chain, started, submitted
from transfers import services as transfer_services
from transfers.models import Kind

pytest_plugins = ["tests.transfer_fixtures"]

# IN_WINDOW is 2 March 2026: the term runs from 1 February to 15 July (ends of term 01-31, 07-15).
TERM = ("2026-02-01", "2026-07-15")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(IN_WINDOW, tick=False):
        yield


@pytest.fixture
def changes(
    registrar, principal, county_reviewer, huaqiao_registrar, pupil_at_huaqiao, third_class, first_class
):
    """This term at 江岸区: one transfer 花桥小学 → 育才小学, a suspension and a death at 育才小学, a
    key-data correction applied, a suspension rejected, one withdrawn and one still in review."""
    chain = [principal, county_reviewer]
    transfer = run_chain(
        submitted(Kind.TRANSFER, registrar, pupil_at_huaqiao, to_class=third_class),
        [huaqiao_registrar, county_reviewer],
    )
    suspension = run_chain(submitted(Kind.SUSPENSION, registrar, enrolled(first_class, name="孙休学")), chain)
    death = run_chain(submitted(Kind.DEATH, registrar, enrolled(first_class, name="钱故去")), chain)
    correction = approved_through(
        submitted_correction(registrar, enrolled(first_class, name="李更正")), principal, county_reviewer
    )
    rejected = submitted(Kind.SUSPENSION, registrar, enrolled(first_class, name="周不准"))
    approvals.reject(rejected.approval, by=principal, comment="证明不全")
    withdrawn = started(Kind.SUSPENSION, registrar, enrolled(first_class, name="吴撤回"))
    transfer_services.withdraw_request(withdrawn, by=registrar)
    waiting = submitted(Kind.SUSPENSION, registrar, enrolled(first_class, name="郑等待"))
    return {"transfer": transfer, "suspension": suspension, "death": death, "correction": correction,
            "rejected": rejected, "withdrawn": withdrawn, "waiting": waiting}  # fmt: skip


def report_url(code):
    return reverse("reports:changes", args=[code])


def list_url(code):
    return reverse("reports:change_list", args=[code])


def test_the_county_counts_each_change_where_it_happened(client_for, county_reviewer, changes):
    response = client_for(county_reviewer).get(report_url("420102"))

    report = response.context["report"]
    assert str(report.period) == f"{TERM[0]} — {TERM[1]}"
    yucai = row_values(report.changes, "育才小学")
    huaqiao = row_values(report.changes, "花桥小学")
    assert (yucai["transferred_in"], yucai["suspended"], yucai["died"], yucai["corrected"]) == (1, 1, 1, 1)
    assert yucai["transferred_out"] == 0 and yucai["total"] == 4
    assert (huaqiao["transferred_out"], huaqiao["total"]) == (1, 1)
    assert report.changes.total.values["total"] == 5
    outcomes = {row.label: row.values for row in report.outcomes.rows}
    assert outcomes["休学"]["approved"] == 1
    assert outcomes["休学"]["rejected"] == 1
    assert outcomes["休学"]["withdrawn"] == 1
    assert outcomes["休学"]["open"] == 1
    assert outcomes["休学"]["made"] == 4
    assert outcomes["转学"]["approved"] == 1 and outcomes["死亡"]["approved"] == 1
    assert outcomes["关键数据变更"]["approved"] == 1


def test_the_chart_shows_the_changes_by_month(client_for, county_reviewer, changes):
    chart = client_for(county_reviewer).get(report_url("420102")).context["report"].chart

    assert chart.categories == ["2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]
    march = {name: values[1] for name, values in chart.series}
    assert march == {"转入": 1, "转出": 1, "休学": 1, "死亡": 1, "关键数据变更": 1}
    assert chart.table.total.values == {f"s{index}": 1 for index in range(5)}


def test_another_period_counts_nothing_of_this_term(client_for, county_reviewer, changes):
    response = client_for(county_reviewer).get(
        report_url("420102"), {"start": "2025-09-01", "end": "2026-01-31"}
    )

    assert response.context["report"].changes.total.values["total"] == 0


def test_the_city_and_province_add_up_their_areas(client_for, city_reviewer, province_admin, changes):
    city = client_for(city_reviewer).get(report_url("420100")).context["report"]
    assert row_values(city.changes, "江岸区")["total"] == 5
    province = client_for(province_admin).get(report_url("420000")).context["report"]
    assert row_values(province.changes, "武汉市")["total"] == 5
    assert row_values(province.changes, "宜昌市")["total"] == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-05-01", "end": "2026-03-01"}, "开始日期晚于结束日期，请对调。"),
        ({"start": "2026-13-01"}, "请填写有效的日期。"),
        ({"start": "2015-01-01", "end": "2026-01-01"}, "日期范围最长五年，请缩短。"),
    ],
)
def test_bad_dates_are_explained_and_nothing_is_counted(
    client_for, county_reviewer, changes, params, message
):
    response = client_for(county_reviewer).get(report_url("420102"), params)

    assert response.status_code == 200
    assert response.context["report"] is None
    assert message in response.content.decode()
    assert (
        client_for(county_reviewer).get(report_url("420102"), {**params, "download": "xlsx"}).streaming
        is False
    )


# --- the 异动花名册 ----------------------------------------------------------------------------------------


def test_the_roster_lists_each_change_with_its_last_approver(client_for, county_reviewer, changes):
    response = client_for(county_reviewer).get(list_url("420102"))

    table = response.context["table"]
    assert response.context["page"].paginator.count == 3
    rows = {row.values["kind"]: row for row in table.rows}
    transfer = rows["转学"]
    assert transfer.label == changes["transfer"].student.name
    assert transfer.values["from_school"] == "花桥小学" and transfer.values["to_school"] == "育才小学"
    assert transfer.values["number"] == mask_number(changes["transfer"].student.number)
    assert transfer.values["approver"] == "county（江岸区）"
    assert transfer.values["applied_on"] == "2026-03-02"
    assert rows["死亡"].values["to_school"] == ""
    assert changes["transfer"].student.number not in response.content.decode()


def test_the_roster_filters_by_school_grade_and_kind(client_for, county_reviewer, changes):
    client = client_for(county_reviewer)

    def names(**params):
        response = client.get(list_url("420102"), params)
        return sorted(row.label for row in response.context["table"].rows)

    assert names(school="1420102002") == [changes["transfer"].student.name]
    assert names(kind="death") == ["钱故去"]
    assert names(grade=1) == ["孙休学", "钱故去"]
    assert names(grade=3) == [changes["transfer"].student.name]


def test_a_school_code_outside_the_area_is_refused_with_a_message(client_for, county_reviewer, changes):
    response = client_for(county_reviewer).get(list_url("420102"), {"school": "1420506003"})

    assert "江岸区 下没有学校标识码为 1420506003 的学校。" in response.content.decode()
    assert response.context["period"] is None


def test_the_sending_school_sees_its_transfer_out(client_for, huaqiao_registrar, changes):
    response = client_for(huaqiao_registrar).get(list_url("1420102002"))

    assert [row.values["kind"] for row in response.context["table"].rows] == ["转学"]


def test_the_roster_workbook_masks_numbers_and_names_its_period(client_for, county_reviewer, changes):
    response = client_for(county_reviewer).get(list_url("420102"), {"kind": "transfer", "download": "xlsx"})

    rows = sheet_rows(workbook_of(response).worksheets[0])
    assert rows[0][0] == "异动花名册"
    assert rows[2][1] == f"{TERM[0]} — {TERM[1]}；转学"
    student = changes["transfer"].student
    line = next(row for row in rows if row[0] == student.name)
    assert line[1] == mask_number(student.number)
    assert AuditEvent.objects.get(action=EXPORT_ACTION).data["rows"] == 1


def test_the_report_workbook_has_the_changes_and_the_outcomes(client_for, county_reviewer, changes):
    response = client_for(county_reviewer).get(report_url("420102"), {"download": "xlsx"})

    workbook = workbook_of(response)
    assert workbook.sheetnames[:2] == ["学籍异动", "申请"]
    rows = sheet_rows(workbook.worksheets[0])
    assert rows[2][1] == f"{TERM[0]} — {TERM[1]}"
    yucai = next(row for row in rows if row[0] == "育才小学")
    assert yucai[1:3] == ("1420102001", 4)


# --- scope and speed ---------------------------------------------------------------------------------


def test_outsiders_and_teachers_are_refused(client_for, outsider, outsider_reviewer, class_teacher, changes):
    for user in (outsider, outsider_reviewer):
        for url in (report_url("420102"), list_url("420102"), list_url("1420102001")):
            assert client_for(user).get(url).status_code == 404
    assert client_for(class_teacher).get(report_url("1420102001")).status_code == 403


def test_the_pages_run_the_same_queries_for_more_changes(
    client_for, county_reviewer, registrar, principal, first_class, changes, django_assert_num_queries
):
    client = client_for(county_reviewer)
    urls = (list_url("420102"), report_url("420102"), list_url("1420102001"))
    before = {}
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        before[url] = len(queries)
    for name in ("甲一", "乙二", "丙三"):
        pupil = enrolled(class_of(first_class.grade.school, 2), name=name)
        run_chain(submitted(Kind.DEATH, registrar, pupil), [principal, county_reviewer])

    for url, count in before.items():
        with django_assert_num_queries(count):
            response = client.get(url)
        assert response.status_code == 200
    assert client.get(list_url("420102")).context["page"].paginator.count == 6
