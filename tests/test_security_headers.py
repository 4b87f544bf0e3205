"""The Content-Security-Policy of every page: our own origin only, nothing inline."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import make_user

TEMPLATES = sorted((settings.BASE_DIR / "templates").rglob("*.html"))
# What a policy without 'unsafe-inline' blocks: inline scripts and styles, event handler attributes,
# style attributes, javascript: URLs.
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE),
    "style element": re.compile(r"<style", re.IGNORECASE),
    "event handler": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def test_the_policy_allows_our_origin_only_and_nothing_inline():
    directives = dict(part.strip().split(" ", 1) for part in settings.CONTENT_SECURITY_POLICY.split(";"))

    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in settings.CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(settings.BASE_DIR)))
def test_no_template_has_inline_script_or_style(template):
    text = template.read_text()
    found = [what for what, pattern in INLINE.items() if pattern.search(text)]
    assert found == []


def test_every_page_sends_the_policy(client, registrar, school):
    anonymous = [reverse("login"), reverse("registrar:dashboard"), "/no-such-page/"]
    for url in anonymous:
        assert client.get(url)["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY, url
    client.force_login(registrar)
    pages = [
        reverse("registrar:dashboard"),
        reverse("registrar:node", args=[school.code]),
        reverse("students:roster"),
        reverse("transfers:list"),
        reverse("corrections:list"),
        "/no-such-page/",
    ]
    for url in pages:
        assert client.get(url)["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY, url


def test_the_admin_sends_the_policy(client, db):
    client.force_login(make_user("root", None, [], is_staff=True, is_superuser=True))

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
