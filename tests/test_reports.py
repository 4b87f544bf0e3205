"""学生情况统计表 (/reports/students/…): counts by status and, for students in school, by category,
checked against counts made here from the students the test created; the drill-down from the
province to a class; scope (outsiders 404, class teachers 403); the Excel file; constant queries."""

import json
import re
from datetime import date, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registrar.models import AuditEvent
from registrar.services import create_class
from reports.excel import EXPORT_ACTION
from students.models import ProblemKind, ProblemRecord
from tests.report_helpers import pupil, row_values, sheet_rows, workbook_of
from tests.transfer_helpers import SHANGHAI, class_of, run_chain, started, submitted
from transfers.models import Kind

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
HOME = "湖北省武汉市江岸区"
AWAY = "河南省郑州市金水区"

# Who the tests register: where, and what is particular about each (the rest is student_data's).
SPEC = [
    # 育才小学 一年级1班
    {"key": "a", "school": "1420102001", "level": 1, "class": "1班"},
    {"key": "b", "school": "1420102001", "level": 1, "class": "1班", "female": True, "ethnicity": "03",
     "hukou_type": "1", "migrant_child": True},
    {"key": "c", "school": "1420102001", "level": 1, "class": "1班", "hukou_place": AWAY, "left_behind": True,
     "orphan": True},
    {"key": "d", "school": "1420102001", "level": 1, "class": "1班", "female": True, "state": "registering"},
    # 育才小学 一年级2班
    {"key": "e", "school": "1420102001", "level": 1, "class": "2班", "female": True, "disability": "4",
     "martyr_child": True, "overseas": "01"},
    {"key": "f", "school": "1420102001", "level": 1, "class": "2班", "state": "suspended"},
    # 育才小学 三年级1班
    {"key": "g", "school": "1420102001", "level": 3, "class": "1班", "ethnicity": "97", "problem": True},
    {"key": "h", "school": "1420102001", "level": 3, "class": "1班", "female": True, "open_request": True},
    # 第六中学 七年级1班
    {"key": "i", "school": "1420102004", "level": 7, "class": "1班", "female": True, "ethnicity": "08"},
    # 夷陵区实验学校 (another city): counted by the province only
    {"key": "j", "school": "1420506003", "level": 2, "class": "1班", "hukou_place": "湖北省宜昌市夷陵区"},
]  # fmt: skip
FIELDS = ("ethnicity", "hukou_type", "hukou_place", "migrant_child", "left_behind", "orphan", "martyr_child",
          "disability", "overseas")  # fmt: skip


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(tree, registrar, principal, county_reviewer):
    """The students of SPEC, made through the services; {key: student}."""
    students = {}
    for spec in SPEC:
        school_class = class_of(tree[spec["school"]], spec["level"], spec["class"])
        fields = {name: spec[name] for name in FIELDS if name in spec}
        fields.setdefault("hukou_place", HOME)
        student = pupil(
            school_class, female=spec.get("female", False), enrol=spec.get("state") != "registering", **fields
        )
        if spec.get("state") == "suspended":
            change = submitted(Kind.SUSPENSION, registrar, student, ends_on=date(2026, 12, 31))
            run_chain(change, [principal, county_reviewer])
        if spec.get("problem"):
            # Problem records come from the data-quality checks, which have no service yet.
            ProblemRecord.objects.create(student=student, kind=ProblemKind.INVALID_ID, detail="号码有误")
        if spec.get("open_request"):
            started(Kind.SUSPENSION, registrar, student, ends_on=date(2026, 12, 31))
        students[spec["key"]] = student
    return students


def expected(specs):
    """The report's numbers for these students, counted here from SPEC."""
    status = {"registering": 0, "enrolled": 0, "suspended": 0}
    for spec in specs:
        status[spec.get("state", "enrolled")] += 1
    enrolled = [spec for spec in specs if spec.get("state", "enrolled") == "enrolled"]

    def count(test):
        return sum(1 for spec in enrolled if test(spec))

    return {
        "total": len(specs),
        **status,
        "in_school": {
            "enrolled": len(enrolled),
            "male": count(lambda s: not s.get("female")),
            "female": count(lambda s: s.get("female")),
            "minority": count(lambda s: s.get("ethnicity") in ("03", "08")),
            "agricultural": count(lambda s: s.get("hukou_type") == "1"),
            "non_agricultural": count(lambda s: s.get("hukou_type", "2") == "2"),
            "non_local": count(lambda s: s.get("hukou_place") == AWAY),
            "migrant_child": count(lambda s: s.get("migrant_child")),
            "left_behind": count(lambda s: s.get("left_behind")),
            "orphan": count(lambda s: s.get("orphan")),
            "martyr_child": count(lambda s: s.get("martyr_child")),
            "disabled": count(lambda s: s.get("disability") not in (None, "", "0")),
            "overseas": count(lambda s: s.get("overseas") not in (None, "00")),
            "problems": count(lambda s: s.get("problem")),
            "open_requests": count(lambda s: s.get("open_request")),
        },
    }


def specs_where(**conditions):
    return [spec for spec in SPEC if all(spec[key] == value for key, value in conditions.items())]


def students_url(code, level=None):
    if level is not None:
        return reverse("reports:students_grade", args=[code, level])
    return reverse("reports:students", args=[code])


def check_row(report, label, specs):
    want = expected(specs)
    status = row_values(report.status, label)
    assert status["total"] == want["total"]
    for key in ("registering", "enrolled", "suspended"):
        assert status[key] == want[key], (label, key)
    assert sum(status.values()) - status["total"] == want["total"]
    assert row_values(report.in_school, label) == want["in_school"], label


# --- the numbers ------------------------------------------------------------------------------------


def test_the_county_counts_each_school_by_status_and_category(client_for, county_reviewer, world):
    response = client_for(county_reviewer).get(students_url("420102"))

    assert response.status_code == 200
    report = response.context["report"]
    assert [row.label for row in report.status.rows] == ["育才小学", "第六中学"]
    check_row(report, "育才小学", specs_where(school="1420102001"))
    check_row(report, "第六中学", specs_where(school="1420102004"))
    in_county = specs_where(school="1420102001") + specs_where(school="1420102004")
    assert report.status.total.values["total"] == expected(in_county)["total"]
    assert {key: report.in_school.total.values[key] for key in expected(in_county)["in_school"]} == expected(
        in_county
    )["in_school"]


def test_a_school_counts_its_grades_and_a_grade_its_classes(client_for, registrar, world):
    client = client_for(registrar)

    school = client.get(students_url("1420102001")).context["report"]
    grade = client.get(students_url("1420102001", 1)).context["report"]

    check_row(school, "一年级", specs_where(school="1420102001", level=1))
    check_row(school, "三年级", specs_where(school="1420102001", level=3))
    check_row(school, "六年级", [])
    check_row(grade, "1班", specs_where(school="1420102001", level=1, **{"class": "1班"}))
    check_row(grade, "2班", specs_where(school="1420102001", level=1, **{"class": "2班"}))


def test_household_outside_the_county_is_the_place_not_naming_the_schools_county(
    client_for, county_reviewer, world
):
    report = client_for(county_reviewer).get(students_url("420102")).context["report"]

    # Only c's household (河南省) does not name 江岸区.
    assert row_values(report.in_school, "育才小学")["non_local"] == 1
    assert world["c"].hukou_place == AWAY


def test_drilling_down_from_the_province_to_a_class_roster(client_for, province_admin, world):
    client = client_for(province_admin)
    path = ["武汉市", "江岸区", "育才小学", "一年级", "1班"]
    url = students_url("420000")
    totals = []
    for label in path:
        report = client.get(url).context["report"]
        row = next(row for row in report.status.rows if row.label == label)
        totals.append(row.values["total"])
        url = row.url

    # Each row's total is the whole of the next page; the class opens its roster.
    assert totals == [len(specs_where(school="1420102001")) + 1, 9, 8, 6, 4]
    assert url.startswith(reverse("students:roster")) and "school_class=" in url
    province = client.get(students_url("420000")).context["report"]
    assert province.status.total.values["total"] == len(SPEC)
    assert row_values(province.status, "宜昌市")["enrolled"] == 1


def test_the_chart_holds_the_numbers_of_its_table(client_for, registrar, world):
    response = client_for(registrar).get(students_url("1420102001"))

    chart = response.context["report"].chart
    data = json.loads(re.search(r'id="students-by-sex-data" type="application/json">(.*?)</script>',
                                response.content.decode()).group(1))  # fmt: skip
    males = [spec for spec in specs_where(school="1420102001", level=1) if spec.get("state") is None]
    assert data["categories"][0] == "一年级"
    assert data["series"][0]["data"][0] == sum(1 for spec in males if not spec.get("female"))
    assert data["series"][1]["data"][0] == sum(1 for spec in males if spec.get("female"))
    assert chart.table.rows[0].values == {"s0": data["series"][0]["data"][0],
                                                          "s1": data["series"][1]["data"][0]}  # fmt: skip


# --- scope --------------------------------------------------------------------------------------------


def test_outsiders_see_nothing_of_ours(client_for, outsider, outsider_reviewer, world):
    for user in (outsider, outsider_reviewer):
        client = client_for(user)
        for url in (students_url("420102"), students_url("1420102001"), students_url("1420102001", 1)):
            assert client.get(url).status_code == 404
            assert client.get(url, {"download": "xlsx"}).status_code == 404


def test_a_school_sees_only_itself(client_for, registrar, principal, world):
    for user in (registrar, principal):
        client = client_for(user)
        assert client.get(students_url("1420102001")).status_code == 200
        assert client.get(students_url("420102")).status_code == 404
        assert client.get(students_url("1420102004")).status_code == 404


def test_class_teachers_and_the_anonymous_are_refused(client, client_for, class_teacher, world):
    anonymous = client.get(students_url("1420102001"))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))

    teacher = client_for(class_teacher)
    assert teacher.get(students_url("1420102001")).status_code == 403
    assert teacher.get(reverse("reports:index")).status_code == 403


def test_the_outsider_reviewer_counts_only_their_own_county(client_for, outsider_reviewer, world):
    report = client_for(outsider_reviewer).get(students_url("420506")).context["report"]

    assert report.status.total.values["total"] == 1
    check_row(report, "夷陵区实验学校", specs_where(school="1420506003"))


def test_the_index_opens_the_users_own_node(client_for, county_reviewer, registrar, db):
    assert client_for(county_reviewer).get(reverse("reports:index"))["Location"] == students_url("420102")
    assert client_for(registrar).get(reverse("reports:index"))["Location"] == students_url("1420102001")


def test_a_grade_the_school_does_not_have_is_not_found(client_for, registrar, world):
    assert client_for(registrar).get(students_url("1420102001", 12)).status_code == 404


# --- Excel --------------------------------------------------------------------------------------------


def test_the_workbook_says_what_it_counts_and_the_download_is_logged(client_for, county_reviewer, world):
    response = client_for(county_reviewer).get(students_url("420102"), {"download": "xlsx"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Cache-Control"] == "private, no-store"
    workbook = workbook_of(response)
    by_status = sheet_rows(workbook.worksheets[0])
    assert by_status[0][0] == "学生情况统计表"
    assert by_status[1][:2] == ("单位", "江岸区（420102）")
    assert by_status[2][0] == "统计期间" and by_status[2][1] == "截至 2026-03-02 10:00"
    assert by_status[3][0] == "制表时间" and by_status[3][1] == "2026-03-02 10:00"
    header = by_status[5]
    assert header[:4] == ("单位", "代码", "学籍总数", "注册审核中")
    yucai = next(row for row in by_status if row[0] == "育才小学")
    assert yucai[1] == "1420102001"
    assert yucai[2] == expected(specs_where(school="1420102001"))["total"]
    in_school = sheet_rows(workbook.worksheets[1])
    header = in_school[6]
    yucai = dict(zip(header, next(row for row in in_school if row[0] == "育才小学"), strict=True))
    want = expected(specs_where(school="1420102001"))["in_school"]
    assert yucai["在校"] == want["enrolled"]
    assert yucai["非本县户籍"] == want["non_local"]
    event = AuditEvent.objects.get(action=EXPORT_ACTION)
    assert event.actor == county_reviewer
    assert event.node.code == "420102"
    assert event.data["report"] == "学生情况统计表"


def test_text_that_looks_like_a_formula_is_written_as_text(client_for, registrar, school):
    create_class(school.grades.get(level=2), by=None, name="=HYPERLINK(1)")

    response = client_for(registrar).get(students_url("1420102001", 2), {"download": "xlsx"})

    sheet = workbook_of(response).worksheets[0]
    cell = next(row[0] for row in sheet.iter_rows() if row[0].value == "=HYPERLINK(1)")
    assert cell.data_type == "s"


# --- speed ---------------------------------------------------------------------------------------------


def counted_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_students(
    client_for, province_admin, world, django_assert_num_queries
):
    province = client_for(province_admin)
    urls = (
        students_url("420000"),
        students_url("420102"),
        students_url("1420102001"),
        students_url("1420102001", 1),
    )
    before = {url: counted_queries(province, url) for url in urls}
    school = world["a"].school
    for _ in range(5):
        pupil(class_of(school, 3, "2班"), hukou_place=HOME)
        pupil(class_of(school, 1, "1班"), female=True, hukou_place=AWAY)
        pupil(class_of(school, 6, "1班"), migrant_child=True)

    for url, count in before.items():
        with django_assert_num_queries(count):
            response = province.get(url)
        assert response.status_code == 200
    assert response.context["report"].status.total.values["total"] > 4
