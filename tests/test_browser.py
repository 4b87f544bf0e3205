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


def test_the_record_card_prints_on_one_a4_page(live_server, page, transactional_db, tmp_path):
    """The 学籍卡 as the official card looks: one bordered A4 page, the signatures on it."""
    import pypdfium2

    from registrar.orgimport import import_organisations, parse_rows
    from registrar.services import create_class
    from students.services import register_student
    from tests.conftest import TREE, raw_rows
    from tests.student_helpers import register

    import_organisations(parse_rows(raw_rows(TREE)))
    from registrar.models import Organisation

    school = Organisation.objects.get(code="1420102001")
    user = make_user("wangfang", school, ["school_registrar"])
    user.set_password("Demo2026!")
    user.save()
    student = register_student(
        register(user, create_class(school.grades.get(level=2), by=None, name="1班")), by=user
    )

    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "wangfang")
    page.fill("#id_password", "Demo2026!")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('工作台')")
    page.goto(f"{live_server.url}/students/{student.pk}/card/")
    page.emulate_media(media="print")
    pdf = tmp_path / "card.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    document = pypdfium2.PdfDocument(str(pdf))
    assert len(document) == 1
    text = document[0].get_textpage().get_text_range()
    assert "学籍卡" in text and "校长" in text and student.name in text
