"""One promotion in a real browser: the province administrator opens the school year, previews a school,
promotes it and sees its students a grade up in the roster; then undoes it."""

import pytest

from tests.conftest import make_user

pytestmark = pytest.mark.browser


def log_in(page, url, username):
    page.context.clear_cookies()
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "Demo2026!")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('工作台')")


def test_the_province_promotes_a_school(live_server, page, transactional_db):
    from registrar.models import Organisation
    from registrar.orgimport import import_organisations, parse_rows
    from students.models import Student
    from tests.conftest import TREE, raw_rows
    from tests.transfer_helpers import class_of, enrolled

    import_organisations(parse_rows(raw_rows(TREE)))
    school = Organisation.objects.get(code="1420102001")
    admin = make_user("sunli", Organisation.objects.get(code="420000"), ["province_admin"])
    admin.set_password("Demo2026!")
    admin.save()
    for level in range(1, 7):
        class_of(school, level)
    pupil = enrolled(class_of(school, 1), name="林小雨")
    enrolled(class_of(school, 3), name="陈大山")
    console = []
    page.on("console", lambda message: console.append(message.text))

    log_in(page, live_server.url, "sunli")
    page.click("nav >> text=学年")
    page.click("text=育才小学")
    page.wait_for_selector("h1:has-text('升级')")
    assert page.inner_text("#count-promoted") == "2"
    page.click("button:has-text('执行本校升级')")
    # The test settings run the job at once; the page says it is done.
    page.wait_for_selector("#run-state:has-text('已升级')")
    assert page.inner_text("#run-count") == "2"
    pupil.refresh_from_db()
    assert pupil.grade.level == 2

    page.click(".actions >> text=花名册")
    page.wait_for_selector("text=林小雨")
    assert "二年级" in page.inner_text("main")

    page.go_back()
    page.click("text=撤销升级")
    page.click("button:has-text('撤销升级')")
    page.wait_for_selector("#run-state:has-text('已撤销')")
    assert Student.objects.get(pk=pupil.pk).grade.level == 1
    assert not [message for message in console if "error" in message.lower()]
