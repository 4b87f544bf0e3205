"""The school registrar's journeys in a real browser (issue #18): a new student through the form, a
roster imported through upload → preview → confirm → progress to the end, the roster exported, a 休学
started with a scan as evidence, a transfer received while the province's window is open and when it
is closed."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook

from tests.conftest import make_user
from tests.journey_helpers import SCHOOL, build_tree, message, people, scan_png, sign_in

pytestmark = pytest.mark.browser


def loaded(image):
    """Whether an <img> on the page really shows a picture (a refused URL leaves it empty)."""
    return image.evaluate(
        """img => img.complete ? img.naturalWidth > 0 : new Promise(done => {
            img.addEventListener("load", () => done(img.naturalWidth > 0));
            img.addEventListener("error", () => done(false));
        })"""
    )


def test_the_registrar_enters_a_new_student(live_server, page, transactional_db):
    from students.identity import school_year_start
    from students.models import Student
    from tests.student_helpers import birth_for_level, make_id
    from tests.transfer_helpers import class_of

    tree = build_tree()
    registrar = people(tree, "registrar")["registrar"]
    class_of(tree[SCHOOL], 1)
    birth = birth_for_level(1)
    sign_in(page, live_server, registrar)

    page.goto(f"{live_server.url}/students/new/")
    # Every required field is marked, and what nearly every pupil has is already chosen.
    marked = page.locator("form.record-form label:has(.required)").all_inner_texts()
    assert len(marked) >= 19
    assert {"姓名*", "民族*", "户口所在地*", "现住址*", "联系电话*", "班级*"} <= set(marked)
    assert page.locator("#id_id_type option:checked").inner_text() == "居民身份证"
    assert page.locator("#id_nationality option:checked").inner_text() == "中国"
    assert page.locator("#id_overseas option:checked").inner_text() == "否"

    page.fill("#id_name", "林小雨")
    wrong_check_digit = make_id(birth=birth, sequence=2)[:-1] + "0"
    if wrong_check_digit == make_id(birth=birth, sequence=2):
        wrong_check_digit = wrong_check_digit[:-1] + "1"
    page.fill("#id_id_number", wrong_check_digit)
    page.select_option("#id_ethnicity", label="汉族")
    page.fill("#id_birth_place", "湖北省武汉市")
    page.fill("#id_native_place", "湖北省武汉市")
    page.select_option("#id_health", label="健康或良好")
    page.fill("#id_hukou_place", "湖北省武汉市江岸区")
    page.select_option("#id_hukou_type", label="非农业户口")
    page.fill("#id_address", "武汉市江岸区解放大道 1 号")
    page.fill("#id_phone", "13800000000")
    page.select_option("#id_grade", label="一年级")
    page.select_option("#id_school_class", index=1)
    page.fill("#id_enrolled_on", f"{school_year_start(timezone.localdate()).year}-09-01")
    page.select_option("#id_admission", label="就近入学")
    page.select_option("#id_attendance", label="走读")
    page.fill("#id_guardians-0-name", "林大海")
    page.select_option("#id_guardians-0-relation", index=1)
    page.fill("#id_guardians-0-phone", "13900000000")
    page.click("button:has-text('保存并提交审核')")

    # A wrong check digit: one error, summed up at the top, without asking for sex and birth date.
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert "身份证件号" in summary.inner_text()
    assert "性别" not in summary.inner_text() and "出生日期" not in summary.inner_text()
    assert not Student.objects.exists()

    page.fill("#id_id_number", make_id(birth=birth, sequence=2))
    page.click("button:has-text('保存并提交审核')")
    page.wait_for_selector("h1:has-text('林小雨')")
    student = Student.objects.get()
    assert (student.name, student.gender, student.birth_date) == ("林小雨", "2", birth)
    assert "已登记，等待审核" in message(page)


@pytest.fixture
def database_tasks(settings):
    """Background jobs queued in the database, as in production, and run by `run_worker`: the
    progress page then shows the job waiting and running, and follows it to its end."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
    }


def run_worker(page):
    """Run every queued job (the db_worker's loop, once through) while the browser's progress
    requests wait: on SQLite the live server shares the test's connection, which may not serve
    two threads at once."""
    from django_tasks_db.management.commands.db_worker import Worker

    held = []
    page.route("**/progress.json", lambda route: held.append(route))
    try:
        Worker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="journey",
            excluded_queue_names=[],
        ).run()
    finally:
        page.unroute("**/progress.json")
        for route in held:
            route.continue_()


def test_the_registrar_imports_a_roster_and_follows_it_to_the_end(
    live_server, page, transactional_db, tmp_path, database_tasks
):
    from students.models import Student
    from tests.roster_helpers import pupil, write_file
    from tests.transfer_helpers import class_of

    tree = build_tree()
    registrar = people(tree, "registrar")["registrar"]
    class_of(tree[SCHOOL], 1)
    roster = write_file(tmp_path / "一年级花名册.xlsx", [pupil(sequence) for sequence in range(1, 6)])
    sign_in(page, live_server, registrar)

    page.goto(f"{live_server.url}/students/")
    page.click("text=导入花名册")
    page.click(f"a[href$='/{SCHOOL}/upload/']")
    assert "import_roster" not in page.inner_text("main")
    page.set_input_files("#id_file", str(roster))
    page.click("button:has-text('上传并检查')")
    page.wait_for_selector("#batch-progress h2:has-text('正在检查')")

    run_worker(page)
    # The page reloads itself once the check is done: the preview adds up to the file's five rows.
    page.wait_for_selector("button:has-text('确认导入')")
    terms, values = (page.locator(f"section.card dl.facts {tag}").all_inner_texts() for tag in ("dt", "dd"))
    facts = dict(zip(terms, values, strict=True))
    assert (facts["新增学生"], facts["有错误的行"]) == ("5", "0")
    assert not Student.objects.exists()

    page.click("button:has-text('确认导入')")
    page.wait_for_selector("#batch-progress h2:has-text('正在导入')")
    run_worker(page)
    page.wait_for_selector(".message.success")
    assert "5" in message(page)
    assert Student.objects.count() == 5
    page.click("text=打开花名册")
    page.wait_for_selector("table >> text=" + pupil(1)["姓名"])


def test_the_registrar_exports_the_roster(live_server, page, transactional_db, tmp_path):
    from tests.transfer_helpers import class_of, enrolled

    tree = build_tree()
    registrar = people(tree, "registrar")["registrar"]
    pupils = [enrolled(class_of(tree[SCHOOL], 1), name=name) for name in ("林小雨", "陈大山")]
    sign_in(page, live_server, registrar)

    page.goto(f"{live_server.url}/students/")
    page.select_option("select[name=status]", label="在校")
    page.click("form.filters button:has-text('筛选')")
    with page.expect_download() as download:
        page.click("text=导出 Excel")
    path = tmp_path / "export.xlsx"
    download.value.save_as(path)
    sheet = load_workbook(path).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))

    assert download.value.suggested_filename.startswith("花名册-育才小学-在校-")
    assert sheet.freeze_panes == "A2"
    assert {row[header.index("学籍状态")] for row in rows} == {"在校"}
    # The registrar needs the whole ID numbers.
    assert {row[header.index("身份证件号")] for row in rows} == {pupil.id_number for pupil in pupils}


def photographed(student, by, tmp_path):
    from registrar.uploads import clean_photo
    from students.services import set_photo

    scan = scan_png(tmp_path / "photo.png", size=(300, 400))
    upload = SimpleUploadedFile("photo.png", scan.read_bytes(), content_type="image/png")
    return set_photo(student, by=by, clean_file=clean_photo(upload))


def test_the_registrar_starts_a_suspension_with_a_scan(live_server, page, transactional_db, tmp_path):
    from registrar.models import ApprovalState
    from tests.transfer_helpers import class_of, enrolled
    from transfers.models import StatusChangeRequest

    tree = build_tree()
    registrar = people(tree, "registrar")["registrar"]
    student = photographed(enrolled(class_of(tree[SCHOOL], 2), name="林小雨"), registrar, tmp_path)
    certificate = scan_png(tmp_path / "诊断证明.png")
    starts_on = timezone.localdate() + timedelta(days=7)
    sign_in(page, live_server, registrar)

    page.goto(f"{live_server.url}/students/{student.pk}/")
    page.click(".heading .actions >> text=学籍异动")
    # From the student's page through the kinds of change, the student goes along.
    page.locator("table tr", has_text="休学").first.locator("a:has-text('发起')").click()
    page.wait_for_selector("h1:has-text('休学')")
    # The form keeps the student in view: name, class and photo, the 学籍号 carried along.
    chip = page.locator(".student-chip")
    assert "林小雨" in chip.inner_text() and "二年级1班" in chip.inner_text().replace(" ", "")
    assert loaded(chip.locator("img"))
    page.fill("#id_starts_on", starts_on.isoformat())
    page.fill("#id_ends_on", (starts_on + timedelta(days=180)).isoformat())
    page.select_option("#id_reason", index=1)
    page.fill("#id_explanation", "因病需休养半年")
    page.click("button:has-text('创建申请')")
    page.wait_for_selector(".message.success")

    # One scan for each document the kind requires (the page lists them as missing).
    missing = page.locator("#evidence .evidence-required li:has(.error)")
    assert missing.count() == 3
    for number in range(1, 4):
        document = missing.first.inner_text().split(" ", 1)[1].split(" / ")[0]
        page.select_option("#evidence form select[name=kind]", label=document)
        page.set_input_files("#evidence input[type=file]", str(certificate))
        page.click("#evidence button:has-text('上传')")
        page.wait_for_selector(f"#evidence .viewer-image >> nth={number - 1}")
    assert missing.count() == 0
    assert loaded(page.locator("#evidence .viewer-image").first)
    page.click("button[name=action][value=submit]")
    page.wait_for_selector(".message.success")

    change = StatusChangeRequest.objects.select_related("approval").get()
    assert (change.kind, change.starts_on, change.approval.state) == (
        "suspension",
        starts_on,
        ApprovalState.SUBMITTED,
    )
    assert change.evidence.count() == 3


def province_windows(tree, windows):
    from registrar.models import BusinessCalendar

    BusinessCalendar.objects.create(province=tree["420000"], transfer_windows=windows)


def test_a_transfer_shows_the_student_while_the_window_is_open(live_server, page, transactional_db, tmp_path):
    from registrar.orgimport import import_organisations, parse_rows
    from tests.conftest import raw_rows
    from tests.transfer_helpers import MORE_TREE, class_of, enrolled
    from transfers.models import StatusChangeRequest

    tree = build_tree()
    import_organisations(parse_rows(raw_rows(MORE_TREE)))
    sending = type(tree[SCHOOL]).objects.get(code="1420102002")
    registrar = people(tree, "registrar")["registrar"]
    class_of(tree[SCHOOL], 3)
    sender = make_user("xueji_huaqiao", sending, ["school_registrar"])
    student = photographed(enrolled(class_of(sending, 3), name="陈大山"), sender, tmp_path)
    province_windows(tree, "01-01..12-31")
    sign_in(page, live_server, registrar)

    page.goto(f"{live_server.url}/transfers/new/")
    page.click("text=接收转学学生")
    page.fill("#id_number", student.number)
    page.fill("#id_name", student.name)
    page.fill("#id_id_number", student.id_number)
    page.click("button:has-text('查找')")
    found = page.locator("section.card", has_text="找到的学生")
    found.wait_for()
    assert "陈大山" in found.inner_text() and "花桥小学" in found.inner_text() and "1班" in found.inner_text()
    page.select_option("#id_to_class", index=1)
    page.select_option("#id_reason", index=1)
    page.fill("#id_explanation", "随父母迁居江岸区")
    page.click("button:has-text('创建申请')")
    page.wait_for_selector(".message.success")
    assert StatusChangeRequest.objects.get().student_id == student.pk

    # The request's form keeps the student in view: name, class and photo.
    page.click(".heading .actions a.button.primary")
    chip = page.locator(".student-chip")
    chip.wait_for()
    assert "陈大山" in chip.inner_text() and "三年级1班" in chip.inner_text().replace(" ", "")
    assert loaded(chip.locator("img"))


def test_a_closed_transfer_window_is_said_before_anything_is_filled_in(live_server, page, transactional_db):
    tree = build_tree()
    registrar = people(tree, "registrar")["registrar"]
    opens = timezone.localdate() + timedelta(days=40)
    if (opens.month, opens.day) == (2, 29):
        opens += timedelta(days=1)
    province_windows(tree, f"{opens:%m-%d}..{opens:%m-%d}")
    sign_in(page, live_server, registrar)

    page.goto(f"{live_server.url}/transfers/new/")
    page.click("text=接收转学学生")
    warning = page.locator(".message.warning").first
    assert f"{opens:%Y-%m-%d}" in warning.inner_text()
    assert page.locator("#id_number, #id_id_number").count() == 0
    assert date.today() < opens
