"""Helpers of the data-quality campaign tests: a campaign of 江岸区 and scans named by 学籍号."""

import io
import zipfile
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.transfer_helpers import png
from verification import services


def open_for(reviewer, *, days=30, title="2026年春季学籍数据质量核查"):
    return services.open_campaign(
        by=reviewer, title=title, deadline=timezone.localdate() + timedelta(days=days)
    )


def scan(name):
    return png(name, size=(400, 560))


def zipped(name, members):
    """A zip archive of (name, uploaded file) pairs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, uploaded in members:
            uploaded.seek(0)
            archive.writestr(member, uploaded.read())
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/zip")


def upload_all(campaign, students, registrar):
    return [
        services.upload_form(campaign, student, by=registrar, uploaded_file=scan("f.png"))
        for student in students
    ]


def check_all(forms, teacher):
    return [services.check_form(form, by=teacher, wrong_fields=[]) for form in forms]
