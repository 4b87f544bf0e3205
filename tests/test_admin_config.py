"""The admin's modules are loaded with the URLs, not at every start (registrar/admin_config.py)."""

import subprocess
import sys

from django.conf import settings
from django.contrib import admin

from registrar.admin_config import check_admin
from students.models import Student

SCRIPT = """
import sys
import django
django.setup()
print(sorted(name for name in sys.modules if name.endswith(".admin") and not name.startswith("django")))
import registrar.urls
print("students.admin" in sys.modules)
"""


def test_a_start_loads_no_admin_module_and_the_urls_load_them_all():
    output = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
        env={"DJANGO_SETTINGS_MODULE": "registrar.settings", "PATH": "/usr/bin:/bin"},
    ).stdout.splitlines()
    assert output == ["[]", "True"]


def test_the_system_checks_see_every_registered_model_admin():
    assert check_admin(None) == []
    assert Student in admin.site._registry
