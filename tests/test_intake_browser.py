"""The intake journey in a real browser: 第六中学's registrar finds a pupil who graduated from 育才小学,
places them in 七年级1班 and submits; its principal and the county approve; the pupil is on 第六中学's
roster with the same 学籍号."""

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


def test_a_junior_school_takes_in_a_primary_graduate(live_server, page, transactional_db):
    from registrar.models import Organisation
    from registrar.orgimport import import_organisations, parse_rows
    from students.models import Status, Student
    from tests.conftest import TREE, raw_rows
    from tests.intake_helpers import graduate, receiving_office

    import_organisations(parse_rows(raw_rows(TREE)))
    nodes = {node.code: node for node in Organisation.objects.all()}
    primary_registrar = make_user("wangfang", nodes["1420102001"], ["school_registrar"])
    pupil = graduate(primary_registrar, nodes["1420102001"], name="林小雨")
    office = receiving_office(nodes)
    county = make_user("zhaomin", nodes["420102"], ["county_reviewer"])
    for user in (office["registrar"], office["principal"], county):
        user.set_password("Demo2026!")
        user.save()
    console = []
    page.on("console", lambda message: console.append(message.text))

    log_in(page, live_server.url, office["registrar"].username)
    page.click("nav >> text=升学接收")
    page.click("text=接收毕业生")
    page.fill("#id_number", pupil.number)
    page.fill("#id_name", pupil.name)
    page.fill("#id_id_number", pupil.id_number)
    page.click("button:has-text('查找')")
    page.wait_for_selector("h2:has-text('已找到毕业生')")
    page.select_option("#id_school_class", label="七年级1班")
    page.click("button:has-text('提交升学接收审核')")
    page.wait_for_selector(".message.success")
    intake_url = page.url

    for reviewer in (office["principal"], county):
        log_in(page, live_server.url, reviewer.username)
        page.goto(intake_url)
        page.click("button[name=action][value=approve]")
        page.wait_for_selector(".message.success")

    student = Student.objects.get(pk=pupil.pk)
    assert (student.status, student.number, student.school) == (
        Status.ENROLLED,
        pupil.number,
        office["school"],
    )
    log_in(page, live_server.url, office["registrar"].username)
    page.goto(f"{live_server.url}/students/?grade=7")
    page.wait_for_selector(f"td:has-text('{pupil.name}')")
    assert not [text for text in console if "Content Security Policy" in text]
