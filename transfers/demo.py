"""Demo data of 学籍异动: requests of every kind in every state, on the demo province's students.

`seed_transfer_demo()` is called by `seed_demo` once the demo students exist. It works through the
real services and the approval engine, as the demo users would, so a county reviewer (shenhe_jiangan)
finds a realistic queue and a school (xueji_yucai) requests to follow, answer and print. Each demo
request is known by its explanation; running it again changes nothing.

Needs the demo users of seed_demo; adds the two it lacks for these chains (the registrar of 花桥小学,
who agrees to transfers out of it, and a principal of 第六中学). Students are picked among the
enrolled students of the demo schools; a scenario without a suitable student is skipped and counted.
"""

import io
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from registrar import approvals
from registrar.calendar import calendar_for, is_graduating_level
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.models import ApprovalRequest, ApprovalState, Organisation, SchoolClass, User
from students.models import Status, Student
from students.services import class_enrolment, subject_key
from transfers import rules, services
from transfers.models import Kind, StatusChangeRequest

YUCAI, HUAQIAO, LIUZHONG, YILING = "1420102001", "1420102002", "1420102004", "1420506003"

# username, full name, school, role: the users these chains need beside seed_demo's.
EXTRA_USERS = [
    ("xueji_huaqiao", "郑丽", HUAQIAO, Role.SCHOOL_REGISTRAR),
    ("xiaozhang_liuzhong", "何强", LIUZHONG, Role.PRINCIPAL),
]

# Which grades of 育才小学 each kind takes its students from, so that the kinds share the school.
SUSPENSION_LEVELS = [2, 3]

# The order states are built in: approved and closed ones first, so that the students they leave
# free (or suspended) serve the open ones.
STATES = [
    ApprovalState.APPROVED,
    ApprovalState.REJECTED,
    ApprovalState.WITHDRAWN,
    ApprovalState.RETURNED,
    ApprovalState.IN_REVIEW,
    ApprovalState.SUBMITTED,
    ApprovalState.DRAFT,
]

EXPLANATIONS = {
    Kind.TRANSFER: "随父母工作调动迁居，申请转入就读",
    Kind.SUSPENSION: "因病住院治疗，需休养",
    Kind.EXTENSION: "病情未愈，申请延长休学",
    Kind.RESUMPTION: "病愈，申请复学",
    Kind.WITHDRAWAL: "本人及家长申请退学",
    Kind.REPEAT: "因病缺课较多，家长申请留级",
    Kind.SKIP: "学业优秀，经考核申请跳级",
    Kind.ABROAD: "随父母出国学习",
    Kind.DEATH: "因病去世",
    Kind.OTHER: "随家人返回原籍，离校",
}
RETURN_COMMENT = "证明材料不清晰，请重新扫描上传"
REJECT_COMMENT = "不符合办理条件"
WITHDRAW_COMMENT = "家长改变主意"


@dataclass
class Summary:
    created: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)

    @property
    def total(self):
        return sum(self.created.values())


def demo_explanation(kind, state):
    return f"{EXPLANATIONS[kind]}（演示：{ApprovalState(state).label}）"


@cache
def _scan_bytes(label):
    """A plain page standing in for a scanned document."""
    image = Image.new("L", (300, 424), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 8, 291, 415), outline="black", width=3)
    draw.text((30, 30), f"DEMO {label}", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _scan(label):
    return SimpleUploadedFile(f"{label}.png", _scan_bytes(label), content_type="image/png")


def _ensure_users():
    from registrar.management.commands.seed_demo import DEMO_PASSWORD

    for username, full_name, code, role in EXTRA_USERS:
        if User.objects.filter(username=username).exists():
            continue
        user = User(
            username=username, full_name=full_name, node=Organisation.objects.get(code=code), roles=[role]
        )
        user.set_password(DEMO_PASSWORD)
        user.full_clean()
        user.save()


def _user(username):
    return User.objects.select_related("node").get(username=username)


def _reviewer(step):
    for user in User.objects.filter(node_id=step.node_id, is_active=True).order_by("pk"):
        if step.role in user.roles:
            return user
    raise LookupError(f"No demo user holds {step.role} at {step.node}")


def _students(school, *, status=Status.ENROLLED, levels=None):
    """The school's students of `status` that are free for a new request, lowest grade first (lazily)."""
    busy = set(
        ApprovalRequest.objects.open()
        .filter(subject_key__startswith="student:")
        .values_list("subject_key", flat=True)
    )
    students = (
        Student.objects.filter(school=school, status=status)
        .exclude(problem_records__state="open")
        .select_related("school", "grade__school", "school_class")
        .order_by("grade__level", "pk")
    )
    if levels is not None:
        students = students.filter(grade__level__in=levels)
    return (student for student in students.iterator() if subject_key(student) not in busy)


def _class_with_room(school, level, *, exclude=None):
    classes = SchoolClass.objects.filter(grade__school=school, grade__level=level).order_by("name")
    for school_class in classes:
        if school_class != exclude and class_enrolment(school_class) < school_class.capacity:
            return school_class
    return None


def _not_graduating(student):
    return not is_graduating_level(student.school, student.grade.level)


class Builder:
    """Builds one scenario after another; `today` is the day the demo is loaded."""

    def __init__(self, summary):
        self.summary = summary
        self.today = timezone.localdate()
        self.schools = {
            node.code: node
            for node in Organisation.objects.filter(code__in=[YUCAI, HUAQIAO, LIUZHONG, YILING])
        }

    # -- driving one request to its state --

    def drive(self, change, applicant, state):
        for group in rules.required_evidence(change):
            services.add_evidence(change, by=applicant, uploaded_file=_scan(group[0]), kind=group[0])
        if state == ApprovalState.DRAFT:
            return
        change = services.submit_request(change, by=applicant)
        approval = change.approval
        if state == ApprovalState.WITHDRAWN:
            services.withdraw_request(change, by=applicant, comment=WITHDRAW_COMMENT)
        elif state == ApprovalState.RETURNED:
            approvals.return_for_revision(
                approval, by=_reviewer(approval.current_step), comment=RETURN_COMMENT
            )
        elif state == ApprovalState.REJECTED:
            approvals.reject(approval, by=_reviewer(approval.current_step), comment=REJECT_COMMENT)
        elif state == ApprovalState.IN_REVIEW:
            approvals.approve(approval, by=_reviewer(approval.current_step), comment="情况属实，同意")
        elif state == ApprovalState.APPROVED:
            while approval.state in (ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW):
                approval = approvals.approve(approval, by=_reviewer(approval.current_step), comment="同意")

    def scenario(self, kind, state, make, *, explanation=None):
        """Build one (kind, state) unless it exists (known by its explanation); `make(explanation)` starts
        the request or returns None."""
        explanation = explanation or demo_explanation(kind, state)
        if StatusChangeRequest.objects.filter(kind=kind, explanation=explanation).exists():
            return
        try:
            with transaction.atomic():
                started = make(explanation)
                if started is not None:
                    self.drive(*started, state)
        except DomainError as error:
            started, note = None, error.message
        else:
            note = "no suitable student"
        if started is None:
            self.summary.skipped.append((str(kind.label), str(ApprovalState(state).label), note))
            return
        self.summary.created[kind] = self.summary.created.get(kind, 0) + 1

    # -- the kinds --

    def start(self, kind, applicant, student, explanation, **fields):
        change = services.start_request(
            kind, by=applicant, student=student, explanation=explanation, **fields
        )
        return change, applicant

    def simple(self, kind, code, username, *, levels):
        school, applicant = self.schools[code], _user(username)

        def make(explanation):
            student = next(_students(school, levels=levels), None)
            return None if student is None else self.start(kind, applicant, student, explanation)

        return make

    def suspension(self, explanation, *, student=None):
        applicant = _user("xueji_yucai")
        student = student or next(_students(self.schools[YUCAI], levels=SUSPENSION_LEVELS), None)
        if student is None:
            return None
        return self.start(
            Kind.SUSPENSION,
            applicant,
            student,
            explanation,
            reason="illness",
            starts_on=self.today,
            ends_on=self.today + timedelta(days=180),
        )

    def suspended_student(self):
        """A free suspended student of 育才小学; suspends one (an approved demo suspension) if none is."""
        school = self.schools[YUCAI]
        found = next(_students(school, status=Status.SUSPENDED), None)
        if found is not None:
            return found
        enrolled = next(_students(school, levels=SUSPENSION_LEVELS), None)
        if enrolled is None:
            return None
        change, applicant = self.suspension(EXPLANATIONS[Kind.SUSPENSION], student=enrolled)
        self.drive(change, applicant, ApprovalState.APPROVED)
        return Student.objects.select_related("school", "grade__school", "school_class").get(pk=enrolled.pk)

    def extension(self, explanation):
        student = self.suspended_student()
        if student is None:
            return None
        current = student.suspensions.get(ended_on__isnull=True)
        return self.start(
            Kind.EXTENSION,
            _user("xueji_yucai"),
            student,
            explanation,
            ends_on=current.ends_on + timedelta(days=90),
        )

    def resumption(self, explanation):
        student = self.suspended_student()
        if student is None:
            return None
        return self.start(
            Kind.RESUMPTION, _user("xueji_yucai"), student, explanation, to_class=student.school_class
        )

    def grade_change(self, kind, explanation):
        school = self.schools[YUCAI]
        step = -1 if kind == Kind.REPEAT else 1
        for student in _students(school, levels=[4, 5] if step < 0 else [2, 3, 4]):
            target = _class_with_room(school, student.grade.level + step)
            if target is not None:
                return self.start(kind, _user("xueji_yucai"), student, explanation, to_class=target)
        return None

    def transfer(self, explanation, *, sending=HUAQIAO):
        receiving, applicant = self.schools[YUCAI], _user("xueji_yucai")
        for student in filter(_not_graduating, _students(self.schools[sending])):
            target = _class_with_room(receiving, student.grade.level)
            if target is None:
                continue
            # Transfers start only in a transfer window: the demo ones were applied for in the last one.
            _start, window_end = calendar_for(receiving).latest_transfer_window(self.today)
            applied_on = min(self.today, window_end)
            change = services.start_request(
                Kind.TRANSFER,
                by=applicant,
                student=student,
                explanation=explanation,
                reason="parent_job",
                to_class=target,
                today=applied_on,
            )
            return change, applicant
        return None

    def build(self):
        for state in STATES:
            self.scenario(Kind.TRANSFER, state, self.transfer)
            self.scenario(Kind.SUSPENSION, state, self.suspension)
            self.scenario(Kind.EXTENSION, state, self.extension)
            self.scenario(Kind.RESUMPTION, state, self.resumption)
            self.scenario(Kind.REPEAT, state, lambda explanation: self.grade_change(Kind.REPEAT, explanation))
            self.scenario(Kind.SKIP, state, lambda explanation: self.grade_change(Kind.SKIP, explanation))
            for kind in (Kind.ABROAD, Kind.DEATH, Kind.OTHER):
                self.scenario(kind, state, self.simple(kind, YUCAI, "xueji_yucai", levels=[5, 6]))
            self.scenario(
                Kind.WITHDRAWAL,
                state,
                self.simple(Kind.WITHDRAWAL, LIUZHONG, "xueji_liuzhong", levels=[10, 11, 12]),
            )
        # Two more transfers from another county, waiting for 江岸区 and for 夷陵区.
        for state in (ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW):
            self.scenario(
                Kind.TRANSFER,
                state,
                lambda explanation: self.transfer(explanation, sending=YILING),
                explanation=f"{EXPLANATIONS[Kind.TRANSFER]}（演示：外县，{ApprovalState(state).label}）",
            )


def seed_transfer_demo():
    """Add the demo requests that do not exist yet; returns a Summary (created per kind, skipped)."""
    summary = Summary()
    _ensure_users()
    Builder(summary).build()
    return summary
