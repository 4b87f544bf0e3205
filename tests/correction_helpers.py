"""Building blocks for the tests of key-data corrections: enrolled students, scans, ready requests.

The tests run on a fixed calendar: TODAY is 20 October 2025, in the first term of the school year
2025/26, so that a first-grader enrolled in September 2025 is a new student (新生) until 31 January.
"""

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from corrections import services
from corrections.models import Correction
from corrections.rules import EvidenceKind, Reason
from registrar import approvals
from registrar.services import create_class
from students.services import register_student
from tests.student_helpers import make_id, register

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2025, 10, 20)
NOW = datetime(2025, 10, 20, 10, 0, tzinfo=SHANGHAI)
LIFE = Reason.LIFE_CHANGE
INPUT = Reason.INPUT_ERROR


def enrol(registrar, school_class, **overrides):
    """A registered, enrolled student with a 学籍号, made through the real services."""
    student = register(registrar, school_class, **overrides)
    return register_student(student, by=registrar)


def class_of_level(school, level, name="1班"):
    grade = school.grades.get(level=level)
    return grade.classes.filter(name=name).first() or create_class(grade, by=None, name=name)


def scan_bytes(size=(400, 300), fmt="JPEG", **params):
    """A picture with something on it (a dark box on white), encoded as `fmt`."""
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).rectangle((10, 10, size[0] // 2, size[1] // 2), fill="navy")
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def scan(name="scan.jpg", data=None, **kwargs):
    # The browser's content type plays no part: it always claims JPEG here.
    return SimpleUploadedFile(
        name, data if data is not None else scan_bytes(**kwargs), content_type="image/jpeg"
    )


def attach(correction, registrar, *kinds):
    return [
        services.add_evidence(correction, by=registrar, kind=kind, uploaded_file=scan(f"{kind}.jpg"))
        for kind in kinds
    ]


def attach_required(correction, registrar):
    """One image for each required item (its first kind)."""
    for requirement in services.requirements_of(correction):
        attach(correction, registrar, requirement.kinds[0])
    return correction


def ethnicity_change(registrar, student, *, to="03", reason=LIFE):
    return services.create_correction(student, by=registrar, changes={"ethnicity": (to, reason)})


def submitted_correction(registrar, student, **kwargs):
    """An ethnicity change (信息变更) with its ID card, submitted: waiting for the principal."""
    correction = ethnicity_change(registrar, student, **kwargs)
    attach(correction, registrar, EvidenceKind.ID_CARD)
    services.submit_correction(correction, by=registrar)
    return Correction.objects.select_related("approval__current_step").get(pk=correction.pk)


def approved_through(correction, *reviewers):
    approval = correction.approval
    for reviewer in reviewers:
        approval = approvals.approve(approval, by=reviewer)
    return approval


def new_id_for(student, sequence=3):
    """Another valid resident ID with the student's birth date and sex (same parity of sequence)."""
    return make_id(birth=student.birth_date, sequence=sequence)
