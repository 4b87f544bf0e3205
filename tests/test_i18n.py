"""The zh_Hans catalogue is complete, has no fuzzy entry, is compiled, and covers every marked string."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


@pytest.fixture(scope="module")
def catalogue():
    return polib.pofile(str(CATALOGUE))


def test_no_entry_is_untranslated(catalogue):
    missing = [entry.msgid for entry in catalogue.untranslated_entries() if not entry.obsolete]
    assert missing == []


def test_no_entry_is_fuzzy(catalogue):
    assert [entry.msgid for entry in catalogue.fuzzy_entries()] == []


def test_the_compiled_catalogue_matches(catalogue):
    with translation.override("zh-hans"):
        for entry in catalogue.translated_entries():
            if entry.msgid_plural or entry.msgctxt:
                continue
            assert translation.gettext(entry.msgid) == entry.msgstr, entry.msgid


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (make test installs it)")
def test_every_marked_string_is_in_the_catalogue(catalogue, tmp_path):
    """Extract the strings anew into a scratch copy of the project and compare msgids."""
    root = Path(settings.BASE_DIR)
    scratch = tmp_path / "project"
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "*.pyc", "__pycache__", "staticfiles", "private_media", "db.sqlite3*"
    )
    shutil.copytree(root, scratch, ignore=ignore)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location", "--no-obsolete"],
        cwd=scratch,
        check=True,
        capture_output=True,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{scratch / 'db.sqlite3'}"},
    )
    fresh = polib.pofile(str(scratch / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    ours = {(entry.msgctxt, entry.msgid) for entry in catalogue}
    absent = sorted(entry.msgid for entry in fresh if (entry.msgctxt, entry.msgid) not in ours)
    assert absent == [], "run `make messages` and translate these"
