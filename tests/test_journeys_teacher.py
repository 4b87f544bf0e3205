"""The class teacher's journey in a real browser (issue #18): the roster of their own class only,
an export with masked ID numbers, no link to a registration review they may not open, and no way into
the school's import log."""

import pytest
from openpyxl import load_workbook

from tests.journey_helpers import SCHOOL, build_tree, people, sign_in

pytestmark = pytest.mark.browser


def test_the_class_teacher_sees_and_exports_only_their_class(live_server, page, transactional_db, tmp_path):
    from students.registration import enter_student
    from tests.student_helpers import guardian_data, student_data
    from tests.transfer_helpers import class_of, enrolled

    tree = build_tree()
    cast = people(tree, "registrar", "teacher")
    own, other = class_of(tree[SCHOOL], 1), class_of(tree[SCHOOL], 1, name="2班")
    cast["teacher"].classes.add(own)
    mine = enrolled(own, name="林小雨")
    enrolled(other, name="陈大山")
    newcomer = enter_student(
        by=cast["registrar"],
        school=tree[SCHOOL],
        data=student_data(own, name="王小川", sequence=9),
        guardians=[guardian_data()],
    )
    sign_in(page, live_server, cast["teacher"])

    page.goto(f"{live_server.url}/students/")
    options = page.locator("select[name=school_class] option").all_inner_texts()
    assert options[1:] == ["一年级1班"]
    listed = page.locator("main table").inner_text()
    assert "林小雨" in listed and "王小川" in listed and "陈大山" not in listed

    with page.expect_download() as download:
        page.click("text=导出 Excel")
    path = tmp_path / "class.xlsx"
    download.value.save_as(path)
    sheet = load_workbook(path).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    ids = [row[header.index("身份证件号")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(ids) == 2 and all("*" in value for value in ids)
    assert mine.id_number not in ids

    # A registration still in review: the teacher sees the pupil, not the review they may not open.
    page.click("main table >> text=王小川")
    page.wait_for_selector("h1:has-text('王小川')")
    assert page.locator(".heading .actions a", has_text="注册审核").count() == 0
    newcomer.refresh_from_db()
    assert newcomer.registration_id is not None

    # The school's import log is the registrar's.
    response = page.goto(f"{live_server.url}/students/roster-files/")
    assert response.status in (403, 404)
