"""Demo key-data corrections: a few requests in every state, with generated evidence images.

`seed_correction_demo()` is called by the demo loader once the demo students exist. It picks
enrolled students of schools that have a registrar and makes one request per scenario below,
through the real services and the approval engine. Each scenario is known by its explanation
(`note`): running it again finds them and changes nothing.
"""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image, ImageDraw

from corrections import services
from corrections.models import Correction
from corrections.rules import EvidenceKind, Reason
from registrar import approvals
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.models import User
from students.models import Status, Student

ID_CARD, HOUSEHOLD = EvidenceKind.ID_CARD, EvidenceKind.HOUSEHOLD


def _ethnicity(student):
    return {"ethnicity": ("03" if student.ethnicity == "01" else "01", Reason.LIFE_CHANGE)}


def _name(student):
    return {"name": (f"{student.name[0]}思源", Reason.LIFE_CHANGE)}


# note, changes, evidence, what happens after it is made: submit, then each reviewer's decision.
SCENARIOS = [
    ("演示：民族信息变更，草稿待提交", _ethnicity, [ID_CARD], []),
    ("演示：改名，待校长审核", _name, [ID_CARD, HOUSEHOLD], ["submit"]),
    ("演示：民族信息变更，待县级核办", _ethnicity, [ID_CARD], ["submit", "approve"]),
    (
        "演示：改名，退回修改",
        _name,
        [ID_CARD, HOUSEHOLD],
        ["submit", ("return", "户口本曾用名页照片不清晰，请重新拍摄上传。")],
    ),
    ("演示：民族信息变更，已核办并更正", _ethnicity, [ID_CARD], ["submit", "approve", "approve"]),
    (
        "演示：改名，不予通过",
        _name,
        [ID_CARD, HOUSEHOLD],
        ["submit", "approve", ("reject", "公安证明与申请的新姓名不一致。")],
    ),
]

COLOURS = {ID_CARD: "#2f6fb3", HOUSEHOLD: "#a33b3b"}


def demo_scan(kind, student):
    """A made-up scan: a card-like shape on paper, with a caption in plain letters."""
    image = Image.new("RGB", (900, 600), "#f4f1ea")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((60, 60, 840, 540), radius=24, outline=COLOURS.get(kind, "#555"), width=8)
    draw.rectangle((100, 120, 300, 360), fill="#d8d2c4")
    for row in range(5):
        draw.rectangle((340, 130 + row * 60, 780, 150 + row * 60), fill="#c9c2b2")
    draw.text((100, 460), f"DEMO {kind.upper()} #{student.pk}", fill="#333")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return SimpleUploadedFile(f"{kind}.jpg", buffer.getvalue(), content_type="image/jpeg")


def _staff(node, role):
    for user in User.objects.filter(node=node, is_active=True).order_by("pk"):
        if user.has_role(role):
            return user
    return None


def _current_reviewer(approval):
    step = approval.current_step
    return _staff(step.node, step.role) if step is not None else None


def candidates():
    """Enrolled students of schools with a registrar, free for a correction today, in a stable order."""
    registrars = {}
    students = Student.objects.filter(status=Status.ENROLLED, number__isnull=False).select_related(
        "school", "grade__school", "school_class"
    )
    for student in students.order_by("school__path", "number"):
        if student.school_id not in registrars:
            registrars[student.school_id] = _staff(student.school, Role.SCHOOL_REGISTRAR)
        registrar = registrars[student.school_id]
        if registrar is not None and not services.blockers(student):
            yield student, registrar


def _play(correction, registrar, steps):
    approval = correction.approval
    for step in steps:
        if step == "submit":
            approval = services.submit_correction(correction, by=registrar)
            continue
        action, comment = (step, "") if isinstance(step, str) else step
        reviewer = _current_reviewer(approval)
        if reviewer is None:
            # No demo user holds this step: the request waits there.
            return
        approval = approvals.decide(
            approval, action=getattr(approvals, action.upper()), by=reviewer, comment=comment
        )


def seed_correction_demo():
    """Make the demo requests that do not exist yet; returns how many were made."""
    made = 0
    wanted = [scenario for scenario in SCENARIOS if not Correction.objects.filter(note=scenario[0]).exists()]
    if not wanted:
        return 0
    pool = candidates()
    for note, changes, evidence, steps in wanted:
        for student, registrar in pool:
            try:
                with transaction.atomic():
                    correction = services.create_correction(
                        student, by=registrar, changes=changes(student), note=note
                    )
                    for kind in evidence:
                        services.add_evidence(
                            correction, by=registrar, kind=kind, uploaded_file=demo_scan(kind, student)
                        )
                    _play(correction, registrar, steps)
            except DomainError:
                # This student does not suit the scenario (a duplicate name, say): try the next one.
                continue
            made += 1
            break
    return made
