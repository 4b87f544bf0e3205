"""The reviewers' journeys in a real browser (issue #18): the principal decides one request after the
other from its page (its place in the queue, where it went next), the county approves in bulk after
opening the evidence (one confirmation, one comment; a key-data correction stays for its own page and
the queue says why); a key-data correction with evidence is returned and resubmitted."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.journey_helpers import SCHOOL, build_tree, message, people, scan_png, sign_in

pytestmark = pytest.mark.browser


def suspension(registrar, school_class, name):
    from tests.transfer_helpers import enrolled, submitted
    from transfers.models import Kind

    starts_on = timezone.localdate() + timedelta(days=7)
    return submitted(
        Kind.SUSPENSION,
        registrar,
        enrolled(school_class, name=name),
        starts_on=starts_on,
        ends_on=starts_on + timedelta(days=180),
    )


def state_of(change):
    change.approval.refresh_from_db()
    return change.approval.state


def test_the_principal_approves_and_goes_on_to_the_next_then_the_county_approves_in_bulk(
    live_server, page, transactional_db
):
    from corrections.models import Correction
    from registrar.models import ApprovalState
    from tests.correction_helpers import approved_through, enrol, submitted_correction
    from tests.transfer_helpers import class_of

    tree = build_tree()
    cast = people(tree, "registrar", "principal", "county")
    second_grade = class_of(tree[SCHOOL], 2)
    first = suspension(cast["registrar"], second_grade, "林小雨")
    second = suspension(cast["registrar"], second_grade, "陈大山")
    correction = submitted_correction(cast["registrar"], enrol(cast["registrar"], second_grade, sequence=7))
    approved_through(correction, cast["principal"])

    # The principal: one request, its place in the queue, approve, and straight on to the next.
    sign_in(page, live_server, cast["principal"])
    page.goto(f"{live_server.url}/approvals/")
    page.click("table >> text=林小雨")
    assert page.locator(".queue-position").inner_text().count("待审第 1 / 2 件") == 1
    page.fill("#approval-comment", "情况属实")
    page.click("button[name=action][value=approve]")
    page.wait_for_selector("h1:has-text('陈大山')")
    assert "林小雨" in message(page) and "已转至江岸区（县级审核员）审核" in message(page)
    assert "待审第 1 / 1 件" in page.locator(".queue-position").inner_text()
    page.click("button[name=action][value=approve]")
    page.wait_for_selector("h1:has-text('待我审核')")
    assert state_of(first) == state_of(second) == ApprovalState.IN_REVIEW

    # The county: a correction is decided on its own page, and its row says so.
    sign_in(page, live_server, cast["county"])
    page.goto(f"{live_server.url}/approvals/")
    correction_row = page.locator("tbody tr", has_text="关键数据变更")
    assert "此类申请须在其详情页逐件审核" in correction_row.inner_text()
    assert correction_row.locator("input[type=checkbox]").count() == 0
    # The suspensions wait until their evidence has been opened on their pages.
    for name in ("林小雨", "陈大山"):
        row = page.locator("tbody tr", has_text=name)
        assert row.locator("input[type=checkbox]").count() == 0
        row.locator("a", has_text=name).click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.viewer-image')].every(i => i.complete && i.naturalWidth)"
        )
        page.goto(f"{live_server.url}/approvals/")
    for name in ("林小雨", "陈大山"):
        page.locator("tbody tr", has_text=name).locator("input[type=checkbox]").check()
    page.click("button:has-text('批量通过所选申请')")

    # One confirmation listing what will be approved, with one comment for all.
    page.wait_for_selector("h1:has-text('批量通过')")
    listed = page.locator("section.card table").inner_text()
    assert "林小雨" in listed and "陈大山" in listed and "关键数据变更" not in listed
    assert state_of(first) == ApprovalState.IN_REVIEW
    page.fill("[name=comment]", "材料齐全，同意休学")
    page.click("button[name=confirm]")
    page.wait_for_selector(".message.success")
    assert state_of(first) == state_of(second) == ApprovalState.APPROVED
    assert [step.comment for step in first.approval.steps.order_by("position")][-1] == "材料齐全，同意休学"
    assert Correction.objects.get().approval.state == ApprovalState.IN_REVIEW


def test_a_key_data_correction_is_returned_and_resubmitted(live_server, page, transactional_db, tmp_path):
    from registrar.models import ApprovalState
    from tests.correction_helpers import enrol, submitted_correction
    from tests.transfer_helpers import class_of

    tree = build_tree()
    cast = people(tree, "registrar", "principal")
    correction = submitted_correction(cast["registrar"], enrol(cast["registrar"], class_of(tree[SCHOOL], 3)))
    back_of_card = scan_png(tmp_path / "身份证背面.png")

    # The principal looks at the scan and returns the request with the reason.
    sign_in(page, live_server, cast["principal"])
    page.goto(f"{live_server.url}/corrections/{correction.pk}/")
    page.wait_for_selector("#evidence .viewer-image")
    page.fill("#approval-comment", "请补充身份证背面")
    page.click("button[name=action][value=return_for_revision]")
    page.wait_for_selector(".message.success")
    assert state_of(correction) == ApprovalState.RETURNED

    # The registrar reads why, adds the scan and resubmits.
    sign_in(page, live_server, cast["registrar"])
    page.goto(f"{live_server.url}/corrections/{correction.pk}/")
    assert "请补充身份证背面" in page.locator(".message.warning").first.inner_text()
    page.select_option("#evidence form select[name=kind]", index=1)
    page.set_input_files("#evidence input[type=file]", str(back_of_card))
    page.click("#evidence button:has-text('上传')")
    page.wait_for_selector("#evidence .viewer-image >> nth=1")
    page.fill("#approval-comment", "已补充身份证背面")
    page.click("button[name=action][value=resubmit]")
    page.wait_for_selector(".message.success")

    assert state_of(correction) == ApprovalState.SUBMITTED
    assert correction.evidence.count() == 2
    assert correction.approval.current_step.role == "principal"
