"""What every user meets in a real browser (issue #18): the login page in Chinese, and a printout that
fits its paper (the 学籍卡's one page is kept in tests/test_browser.py; here the 学籍异动报表)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.journey_helpers import PASSWORD, SCHOOL, build_tree, people, sign_in

pytestmark = pytest.mark.browser


def test_the_login_page_speaks_chinese(live_server, page, transactional_db):
    tree = build_tree()
    people(tree, "registrar")

    page.goto(f"{live_server.url}/")
    page.wait_for_selector("h1:has-text('登录')")
    # "Password" here, not the header's "Change password" (修改密码) that once shared its translation.
    assert page.locator("label[for=id_password]").inner_text().rstrip("*") == "密码"
    assert page.locator("label[for=id_username]").inner_text().rstrip("*") == "用户名"
    page.fill("#id_username", "xueji_yucai")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('工作台')")
    assert "修改密码" in page.locator("header").inner_text()


def test_the_status_change_form_prints_on_one_a4_page(live_server, page, transactional_db, tmp_path):
    import pypdfium2

    from tests.transfer_helpers import class_of, enrolled, submitted
    from transfers.models import Kind

    tree = build_tree()
    registrar = people(tree, "registrar")["registrar"]
    starts_on = timezone.localdate() + timedelta(days=7)
    change = submitted(
        Kind.SUSPENSION,
        registrar,
        enrolled(class_of(tree[SCHOOL], 2), name="林小雨"),
        starts_on=starts_on,
        ends_on=starts_on + timedelta(days=180),
    )
    sign_in(page, live_server, registrar)

    page.goto(f"{live_server.url}/transfers/{change.pk}/")
    page.click("text=打印学籍异动报表")
    page.wait_for_selector("h1")
    page.emulate_media(media="print")
    pdf = tmp_path / "form.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        text = document[0].get_textpage().get_text_range()
        assert len(document) == 1
    finally:
        document.close()
    assert "林小雨" in text and "休学" in text
