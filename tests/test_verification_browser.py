"""The data-quality campaign in a real browser: the county opens it, the registrar prints the forms
and uploads the signed scans in bulk, the class teacher checks one form (a wrong field) and one as
一致, the registrar records how it was put right and confirms the class."""

import io
import zipfile

import pypdfium2
import pytest
from PIL import Image

from tests.conftest import make_user

pytestmark = pytest.mark.browser


def log_in(page, url, username):
    page.context.clear_cookies()
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "Demo2026!")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('工作台')")


def signed_scans(path, students):
    with zipfile.ZipFile(path, "w") as archive:
        for student in students:
            buffer = io.BytesIO()
            Image.new("RGB", (600, 840), "white").save(buffer, "PNG")
            archive.writestr(f"{student.number}{student.name}.png", buffer.getvalue())
    return path


def test_a_class_teacher_checks_the_signed_forms(live_server, page, transactional_db, tmp_path):
    from registrar.models import Organisation
    from registrar.orgimport import import_organisations, parse_rows
    from registrar.services import create_class
    from tests.conftest import TREE, raw_rows
    from tests.transfer_helpers import enrolled
    from verification.models import ClassConfirmation, ConfirmationForm, Outcome

    import_organisations(parse_rows(raw_rows(TREE)))
    school = Organisation.objects.get(code="1420102001")
    school_class = create_class(school.grades.get(level=2), by=None, name="1班")
    users = {
        "zhaomin": make_user("zhaomin", Organisation.objects.get(code="420102"), ["county_reviewer"]),
        "wangfang": make_user("wangfang", school, ["school_registrar"]),
        "lina": make_user("lina", school, ["class_teacher"]),
    }
    for user in users.values():
        user.set_password("Demo2026!")
        user.save()
    users["lina"].classes.add(school_class)
    pupils = [enrolled(school_class, name=name) for name in ("林小雨", "陈大山")]
    page.add_init_script("window.print = function () { document.body.dataset.printed = 'yes'; };")

    # The county opens the campaign.
    log_in(page, live_server.url, "zhaomin")
    page.click("nav >> text=数据核查")
    page.click("text=发起核查")
    page.fill("#id_title", "春季学籍数据质量核查")
    page.fill("#id_deadline", "2099-06-30")
    page.click("button:has-text('发起核查')")
    page.wait_for_selector(".message.success")
    campaign_url = page.url

    # The registrar prints the class's forms and uploads the signed scans in one zip.
    log_in(page, live_server.url, "wangfang")
    page.goto(campaign_url)
    page.click("text=二年级1班")
    page.click("text=打印学籍信息确认表")
    assert page.locator(".confirmation-sheet").count() == 2
    page.click("button[data-print]")
    assert page.evaluate("document.body.dataset.printed") == "yes"
    # One A4 page per student, each with the student's record and the guardian's signature line.
    page.emulate_media(media="print")
    page.pdf(path=str(tmp_path / "forms.pdf"), format="A4", print_background=True)
    document = pypdfium2.PdfDocument(str(tmp_path / "forms.pdf"))
    texts = [document[index].get_textpage().get_text_range() for index in range(len(document))]
    assert len(texts) == 2
    for text in texts:
        assert "学籍信息确认表" in text and "家长签字" in text
    assert all(any(pupil.name in text for text in texts) for pupil in pupils)
    page.emulate_media(media="screen")
    page.go_back()
    page.set_input_files("#id_files", str(signed_scans(tmp_path / "二年级1班.zip", pupils)))
    page.click("button:has-text('上传') >> nth=0")
    page.wait_for_selector(".message.success")
    class_url = page.url

    # The class teacher checks both forms from the dashboard.
    log_in(page, live_server.url, "lina")
    page.click("text=待我核对的签字确认表")
    page.click("text=二年级1班")
    page.locator("tr", has_text="陈大山").locator("a").first.click()
    page.wait_for_selector("img")
    page.check("input[value=ethnicity]")
    page.fill("#id_remark", "家长注明应为回族")
    page.click("button:has-text('保存核对结果')")
    page.wait_for_selector(".message.success")
    # The next form waiting for a check opens by itself: 一致.
    page.wait_for_selector("h1:has-text('林小雨')")
    page.click("button:has-text('保存核对结果')")
    page.wait_for_selector(".message.success")
    outcomes = dict(ConfirmationForm.objects.values_list("student__name", "outcome"))
    assert outcomes == {"陈大山": Outcome.WRONG, "林小雨": Outcome.CONSISTENT}

    # The registrar is led to the key-data correction, records the fix and confirms the class.
    log_in(page, live_server.url, "wangfang")
    page.goto(class_url)
    page.locator("tr", has_text="陈大山").locator("a").first.click()
    assert page.locator("text=申请关键数据变更").count() == 1
    page.fill("#id_handling", "已提交关键数据变更申请")
    page.click("button:has-text('登记更正情况')")
    page.wait_for_selector(".message.success")
    page.goto(class_url)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('确认本班')")
    page.wait_for_selector(".message.success")
    assert ClassConfirmation.objects.filter(school_class=school_class).exists()
