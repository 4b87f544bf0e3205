"""The graduation journey in a real browser: the registrar loads results, runs the audit and proposes
the list; the principal and the county approve; the records are locked; the roster prints."""

from datetime import date

import pytest
from django.utils import timezone

from students.identity import school_year_start
from tests.conftest import make_user

pytestmark = pytest.mark.browser


def log_in(page, url, username):
    page.context.clear_cookies()
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "Demo2026!")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('工作台')")


def test_a_school_graduates_its_sixth_grade(live_server, page, transactional_db, tmp_path):
    from graduation.models import Certificate
    from registrar.orgimport import import_organisations, parse_rows
    from students.models import Status, Student
    from tests.conftest import TREE, raw_rows
    from tests.graduation_helpers import class_of, graduate_candidate, workbook_bytes

    import_organisations(parse_rows(raw_rows(TREE)))
    from registrar.models import Organisation

    school = Organisation.objects.get(code="1420102001")
    users = {
        "wangfang": make_user("wangfang", school, ["school_registrar"]),
        "zhangwei": make_user("zhangwei", school, ["principal"]),
        "zhaomin": make_user("zhaomin", Organisation.objects.get(code="420102"), ["county_reviewer"]),
    }
    for user in users.values():
        user.set_password("Demo2026!")
        user.save()
    sixth = class_of(school, 6)
    enrolled_on = date(school_year_start(timezone.localdate()).year - 5, 9, 1)
    pupils = [
        graduate_candidate(sixth, name=name, registrar=users["wangfang"], enrolled_on=enrolled_on)
        for name in ("林小雨", "陈大山")
    ]
    results = tmp_path / "期末成绩.xlsx"
    results.write_bytes(
        workbook_bytes([["学籍号", "姓名", "课程：语文"], *[[p.number, p.name, 90] for p in pupils]])
    )
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script("window.print = function () { document.body.dataset.printed = 'yes'; };")

    # The registrar loads the results, runs the audit and proposes the list.
    log_in(page, live_server.url, "wangfang")
    page.click("nav >> text=毕业")
    page.click("text=导入成绩")
    page.set_input_files("#id_file", str(results))
    page.click("button:has-text('检查并导入')")
    page.wait_for_selector(".message.success")
    page.click("text=毕业资格审核")
    page.wait_for_selector("td:has-text('可毕业')")
    page.click("button:has-text('拟定小学毕业结业名单')")
    page.wait_for_selector("h1:has-text('毕业结业名单')")
    page.select_option("select[name^=destination-] >> nth=0", "further_study")
    page.click("button:has-text('保存结论和去向')")
    page.wait_for_selector(".message.success")
    page.click("button:has-text('提交审核')")
    page.wait_for_selector(".message.success")
    list_url = page.url

    # The principal, then the county approve.
    for reviewer in ("zhangwei", "zhaomin"):
        log_in(page, live_server.url, reviewer)
        page.goto(list_url)
        page.click("button[name=action][value=approve]")
        page.wait_for_selector(".message.success")

    # Graduated, numbered and locked.
    assert set(Student.objects.filter(pk__in=[p.pk for p in pupils]).values_list("status", flat=True)) == {
        Status.GRADUATED
    }
    assert Certificate.objects.count() == 2
    log_in(page, live_server.url, "wangfang")
    page.goto(list_url)
    page.wait_for_selector(f"a:has-text('{Certificate.objects.first().number}')")
    page.click("text=毕业生名册")
    page.wait_for_selector("h1:has-text('毕业生名册')")
    page.click("button[data-print]")
    assert page.locator("body").get_attribute("data-printed") == "yes"
    assert [text for text in console if "Content Security Policy" in text] == []
