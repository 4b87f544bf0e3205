"""Helpers of the browser journeys (tests/test_journeys_*.py): the tree and the people of the demo,
a signed-in browser without typing a password on every page, and real scans made with Pillow.

The journeys build their data through the services and walk in the browser only through the steps
they are about; a failing journey leaves a screenshot of its last page under test-results/
(pytest-playwright's `--screenshot only-on-failure`, see pyproject.toml).
"""

import io

from django.conf import settings
from django.test import Client
from PIL import Image, ImageDraw

from registrar.models import Organisation
from registrar.orgimport import import_organisations, parse_rows
from tests.conftest import TREE, make_user, raw_rows

PASSWORD = "Demo2026!"
SCHOOL, COUNTY = "1420102001", "420102"
# The demo's people (seed_demo), by the role they play in the journeys.
PEOPLE = {
    "registrar": ("xueji_yucai", SCHOOL, ["school_registrar"]),
    "teacher": ("banzhuren_yucai", SCHOOL, ["class_teacher"]),
    "principal": ("xiaozhang_yucai", SCHOOL, ["principal"]),
    "county": ("shenhe_jiangan", COUNTY, ["county_reviewer"]),
}


def build_tree():
    """The shared test tree (tests/conftest.py): {code: Organisation}."""
    import_organisations(parse_rows(raw_rows(TREE)))
    return {node.code: node for node in Organisation.objects.all()}


def people(tree, *roles):
    """{role: User} for the demo people playing `roles` (all of them when none is named)."""
    chosen = {}
    for role in roles or PEOPLE:
        username, code, user_roles = PEOPLE[role]
        user = make_user(username, tree[code], user_roles)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        chosen[role] = user
    return chosen


def sign_in(page, live_server, user):
    """Start `page` as `user`, signed in (the login form itself is journeyed in test_journeys_everyone)."""
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def scan_png(path, text_box=(20, 20, 260, 140), size=(400, 300)):
    """A real PNG scan (a dark box on white, as a photographed certificate) written to `path`."""
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).rectangle(text_box, fill="navy")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def message(page, kind="success"):
    """The text of the first message of `kind` the page shows."""
    return page.locator(f".message.{kind}").first.inner_text()
