"""The county's statistics in a real browser: log in, open the county report, drill down to a school,
see its chart drawn (ECharts from our static files, under the Content-Security-Policy), download the
Excel file."""

import pytest
from openpyxl import load_workbook

from tests.conftest import make_user

pytestmark = pytest.mark.browser


def test_county_reviewer_drills_down_to_a_school_and_downloads_it(
    live_server, page, transactional_db, tmp_path
):
    from registrar.models import Organisation
    from registrar.orgimport import import_organisations, parse_rows
    from tests.conftest import TREE, raw_rows
    from tests.report_helpers import pupil
    from tests.transfer_helpers import class_of

    import_organisations(parse_rows(raw_rows(TREE)))
    school = Organisation.objects.get(code="1420102001")
    for female in (False, True, True):
        pupil(class_of(school, 1), female=female)
    pupil(class_of(school, 2), hukou_place="河南省郑州市金水区")
    user = make_user("zhaomin", Organisation.objects.get(code="420102"), ["county_reviewer"])
    user.set_password("Demo2026!")
    user.save()
    console = []
    page.on("console", lambda message: console.append(message.text))

    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "zhaomin")
    page.fill("#id_password", "Demo2026!")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('工作台')")
    page.click("nav >> text=统计报表")
    page.wait_for_selector("h1:has-text('江岸区 · 学生情况统计表')")
    page.click("table.report-table >> text=育才小学")
    page.wait_for_selector("h1:has-text('育才小学 · 学生情况统计表')")
    page.wait_for_selector(".chart[data-drawn=yes]")
    first_grade = page.locator("table.report-table").nth(1).locator("tr", has_text="一年级")
    assert first_grade.locator("td").nth(0).inner_text() == "3"
    with page.expect_download() as download:
        page.click("text=下载 Excel")
    path = tmp_path / "report.xlsx"
    download.value.save_as(path)
    rows = list(load_workbook(path).worksheets[0].iter_rows(values_only=True))

    assert download.value.suggested_filename.endswith(".xlsx")
    assert rows[1][1] == "育才小学（1420102001）"
    assert next(row for row in rows if row[0] == "一年级")[1] == 3
    assert [text for text in console if "Content Security Policy" in text] == []
