"""Problem records in a real browser: a school proves a record right (佐证) and the county approves
it; the county arbitrates between two schools and both see the outcome."""

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


def test_a_school_proves_a_record_right_and_the_county_arbitrates(
    live_server, page, transactional_db, tmp_path
):
    from problems.services import detect_problems
    from registrar.models import Organisation
    from registrar.orgimport import import_organisations, parse_rows
    from students.models import ProblemOutcome, ProblemRecord, Status
    from tests.conftest import TREE, raw_rows
    from tests.problem_helpers import planted_world
    from tests.transfer_helpers import png

    import_organisations(parse_rows(raw_rows(TREE)))
    tree = {node.code: node for node in Organisation.objects.all()}
    world = planted_world(tree)
    detect_problems()
    users = {
        "wangfang": make_user("wangfang", tree["1420102001"], ["school_registrar"]),
        "chenjing": make_user("chenjing", tree["1420102004"], ["school_registrar"]),
        "zhaomin": make_user("zhaomin", tree["420102"], ["county_reviewer"]),
    }
    for user in users.values():
        user.set_password("Demo2026!")
        user.save()
    scan = tmp_path / "户口本.png"
    scan.write_bytes(png().read())
    young = ProblemRecord.objects.get(kind="invalid_id", student=world.young)
    pair = ProblemRecord.objects.get(kind="duplicate_id", student=world.second)

    # 佐证: the registrar explains the young pupil's age with a scan and submits it.
    log_in(page, live_server.url, "wangfang")
    page.click("nav >> text=问题学籍")
    page.click(f"a[href='/problems/{young.pk}/'] >> nth=0")
    page.select_option("#id_method", "confirm")
    page.fill("#id_explanation", "经县教育局批准提前入学，附户口本")
    page.click("button:has-text('保存为草稿')")
    page.wait_for_selector(".message.success")
    page.set_input_files("#id_file", str(scan))
    page.click("button:has-text('上传')")
    page.wait_for_selector(".message.success")
    page.click("button[name=action][value=submit]")
    page.wait_for_selector(".message.success")
    resolution_url = page.url

    # The county approves it beside the evidence: the record closes.
    log_in(page, live_server.url, "zhaomin")
    page.goto(resolution_url)
    page.click("button[name=action][value=approve]")
    page.wait_for_selector(".message.success")
    young.refresh_from_db()
    assert young.outcome == ProblemOutcome.CONFIRMED

    # 仲裁: the county keeps 育才小学's registration; 第六中学's is closed.
    page.goto(f"{live_server.url}/problems/{pair.pk}/")
    page.select_option("#id_keep", str(world.first.pk))
    page.fill("#id_reason", "公安户籍核实，该生在育才小学就读")
    page.click("button:has-text('裁决')")
    page.wait_for_selector("#outcome")
    world.second.refresh_from_db()
    assert world.second.status == Status.CANCELLED

    # Both schools read the outcome.
    for username in ("chenjing", "wangfang"):
        log_in(page, live_server.url, username)
        page.goto(f"{live_server.url}/problems/{pair.pk}/")
        assert "公安户籍核实" in page.inner_text("#outcome")
