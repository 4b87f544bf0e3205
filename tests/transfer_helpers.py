"""Helpers of the 学籍异动 tests: a few more schools, enrolled students built through the real services,
evidence scans, and running a request along its chain. The fixtures are in tests/transfer_fixtures.py."""

import io
import itertools
import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from registrar import approvals
from registrar.models import ApprovalState
from registrar.services import create_class
from students.models import Student
from students.services import register_student
from tests.student_helpers import register
from transfers import rules, services
from transfers.models import Kind, StatusChangeRequest

SHANGHAI = ZoneInfo("Asia/Shanghai")
IN_WINDOW = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)

# Beside the shared tree: a second primary school in 江岸区, a city-run senior school of 武汉市, and a
# school of another province.
MORE_TREE = [
    ("1420102002", "花桥小学", "学校", "420102", "小学", "6-3-3"),
    ("1420100001", "武汉市第一中学", "学校", "420100", "高中", "6-3-3"),
    ("410000", "河南省", "省", "", "", ""),
    ("410100", "郑州市", "市", "410000", "", ""),
    ("410105", "金水区", "区", "410100", "", ""),
    ("1410105001", "金水区实验小学", "学校", "410105", "小学", "6-3-3"),
]

_sequence = itertools.count(101)


def class_of(school, level, name="1班", capacity=None):
    grade = school.grades.get(level=level)
    existing = grade.classes.filter(name=name).first()
    return existing or create_class(grade, by=None, name=name, capacity=capacity)


def enrolled(school_class, *, name="张小明"):
    """A registered, enrolled student (the registration approved) through the real services."""
    student = register(None, school_class, name=name, sequence=next(_sequence))
    return register_student(student, by=None)


def png(name="scan.png", size=(300, 300), noise=False):
    buffer = io.BytesIO()
    if noise:
        Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, "PNG")
    else:
        Image.new("RGB", size, "white").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def attach_required(change, by):
    for group in rules.required_evidence(change):
        services.add_evidence(change, by=by, uploaded_file=png(), kind=group[0])


def fresh(change):
    return StatusChangeRequest.objects.select_related("approval", "student").get(pk=change.pk)


def reload(student):
    return Student.objects.select_related("school", "grade", "school_class").get(pk=student.pk)


def started(kind, by, student, **fields):
    fields.setdefault("explanation", "家长申请")
    if kind == Kind.SUSPENSION:
        fields.setdefault("reason", "illness")
        fields.setdefault("ends_on", date(2026, 9, 1))
    if kind == Kind.EXTENSION:
        fields.setdefault("ends_on", date(2027, 1, 31))
    if kind == Kind.TRANSFER:
        fields.setdefault("reason", "moved")
    return services.start_request(kind, by=by, student=student, **fields)


def submitted(kind, by, student, **fields):
    change = started(kind, by, student, **fields)
    attach_required(change, by)
    return services.submit_request(change, by=by)


def chain_of(change):
    approval = fresh(change).approval
    return [(step.role, step.node.code) for step in approval.steps.filter(round=approval.round)]


def run_chain(change, reviewers):
    """Approve step after step, each by the reviewer holding it; returns the fresh request."""
    approval = fresh(change).approval
    while approval.state in (ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW):
        step = approval.current_step
        user = next(u for u in reviewers if u.node_id == step.node_id and step.role in u.roles)
        approval = approvals.approve(approval, by=user, step_id=step.pk)
    return fresh(change)
