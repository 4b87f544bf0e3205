"""The main journey in a real browser: log in, see the dashboard, open the school, add a class, print."""

import pytest

from tests.conftest import make_user

pytestmark = pytest.mark.browser


def test_registrar_logs_in_and_adds_a_class(live_server, page, transactional_db):
    from registrar.orgimport import import_organisations, parse_rows
    from tests.conftest import TREE, raw_rows

    import_organisations(parse_rows(raw_rows(TREE)))
    from registrar.models import Organisation, SchoolClass

    school = Organisation.objects.get(code="1420102001")
    user = make_user("wangfang", school, ["school_registrar"])
    user.set_password("Demo2026!")
    user.save()

    # Every page runs under the Content-Security-Policy: nothing it uses may be refused.
    console = []
    page.on("console", lambda message: console.append(message.text))
    # The print dialogue would wait for a person: note the call instead.
    page.add_init_script("window.print = function () { document.body.dataset.printed = 'yes'; };")

    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "wangfang")
    page.fill("#id_password", "Demo2026!")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('工作台')")
    page.click("nav >> text=本校")
    page.wait_for_selector("h1:has-text('育才小学')")
    page.click("text=新建班级")
    page.select_option("#id_grade", label="三年级")
    page.fill("#id_name", "5班")
    page.click("button:has-text('保存')")
    page.wait_for_selector(".message.success")
    assert SchoolClass.objects.filter(grade__level=3, name="5班").exists()
    page.goto(f"{live_server.url}/org/{school.code}/")
    page.click("button[data-print]")
    assert page.locator("body").get_attribute("data-printed") == "yes"
    assert [text for text in console if "Content Security Policy" in text] == []
