import os
import subprocess
import sys

from django.conf import settings

BASE = str(settings.BASE_DIR)


def run_settings(**env):
    clean = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "-c", "import registrar.settings"],
        cwd=BASE,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_debug_off_refuses_to_start_without_secret_and_hosts():
    result = run_settings(DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_debug_off_starts_with_secret_and_hosts():
    result = run_settings(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 60, DJANGO_ALLOWED_HOSTS="example.org")
    assert result.returncode == 0, result.stderr


def test_defaults_are_chinese_and_shanghai():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert "en" in dict(settings.LANGUAGES)


def test_no_page_loads_anything_from_another_host():
    templates = (settings.BASE_DIR / "templates").rglob("*.html")
    for template in templates:
        text = template.read_text()
        assert "http://" not in text and "https://" not in text, template
