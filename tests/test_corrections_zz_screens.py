import pytest
from django.urls import reverse

from corrections import services
from corrections.rules import EvidenceKind
from registrar import approvals
from tests.correction_helpers import LIFE, attach, enrol, submitted_correction


@pytest.mark.browser
def test_screens(live_server, page, registrar, principal, school_class, client):
    student = enrol(registrar, school_class)
    second = enrol(registrar, school_class, name="李小红", sequence=2)
    correction = services.create_correction(student, by=registrar, changes={"name": ("张晓明", LIFE), "ethnicity": ("03", LIFE)})
    attach(correction, registrar, EvidenceKind.ID_CARD)
    other = submitted_correction(registrar, second)
    approvals.return_for_revision(other.approval, by=principal, comment="身份证反面不清晰")
    for user, url, name in [
        (registrar, reverse("corrections:detail", args=[correction.pk]), "detail_registrar"),
        (registrar, reverse("corrections:detail", args=[other.pk]), "detail_returned"),
        (registrar, reverse("corrections:create", args=[student.pk]) , "create_blocked"),
        (registrar, reverse("corrections:edit", args=[correction.pk]), "edit"),
        (registrar, reverse("corrections:list"), "list"),
    ]:
        client.force_login(user)
        cookie = client.cookies["sessionid"].value
        page.context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
        page.goto(live_server.url + url)
        page.screenshot(path=f"/tmp/screens/{name}.png", full_page=True)
