"""Demo data of 学籍异动: requests of every kind in every state, on the demo province's students.

`seed_transfer_demo()` is called by `seed_demo` once the demo students exist. It works through the
real services and the approval engine, as the demo users would, so a county reviewer (shenhe_jiangan)
finds a realistic queue and a school (xueji_yucai) requests to follow, answer and print. Each demo
request is known by its explanation; running it again changes nothing.

Needs the demo users of seed_demo; adds the three it lacks for these chains (the registrar of 花桥小学,
who agrees to transfers out of it, and the principals of 第六中学 and 夷陵区实验学校). Students are
picked among the enrolled students of the demo schools; a scenario without a suitable student is
skipped and counted.
"""

import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw
from stdnum.iso7064 import mod_11_2

from registrar import approvals
from registrar.calendar import calendar_for, is_graduating_level
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.models import ApprovalRequest, ApprovalState, Organisation, SchoolClass, User
from students.identity import school_year_start
from students.models import Status, Student
from students.services import class_enrolment, subject_key
from transfers import rules, services
from transfers.models import Kind, StatusChangeRequest

YUCAI, HUAQIAO, LIUZHONG, YILING = "1420102001", "1420102002", "1420102004", "1420506003"

# username, full name, school, role: the users these chains need beside seed_demo's.
EXTRA_USERS = [
    ("xueji_huaqiao", "郑丽", HUAQIAO, Role.SCHOOL_REGISTRAR),
    ("xiaozhang_liuzhong", "何强", LIUZHONG, Role.PRINCIPAL),
    # The transfers out of the system start at 夷陵区实验学校, whose principal approves them first.
    ("xiaozhang_yiling", "马涛", YILING, Role.PRINCIPAL),
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
    Kind.TRANSFER_OUT: "随父母迁居广东，转往当地学校就读",
    Kind.TRANSFER_IN: "随父母工作调动，从湖南转入",
}
# The schools outside the system of the demo: where 夷陵区实验学校's pupils go, where 育才小学's (and
# 第六中学's) new ones come from.
DEMO_DESTINATION = {
    "outside_school": "佛山市顺德区大良实验小学",
    "outside_province": "广东省",
    "outside_county": "顺德区",
    "outside_address": "佛山市顺德区大良街道凤山中路 1 号",
}
DEMO_ORIGIN = {
    "outside_school": "长沙市开福区第一小学",
    "outside_province": "湖南省",
    "outside_county": "开福区",
    "outside_address": "长沙市开福区湘春路 2 号",
}
# The region of the resident IDs of the pupils arriving from outside (长沙市开福区).
ORIGIN_REGION = "430105"
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


def _resident_id(birth):
    """The first resident ID of a 长沙市开福区 child born on `birth` that no record here has."""
    for sequence in range(1, 1000):
        body = f"{ORIGIN_REGION}{birth:%Y%m%d}{sequence:03d}"
        number = body + mod_11_2.calc_check_digit(body)
        if not Student.objects.filter(id_number=number).exists():
            return number
    raise LookupError(f"no free demo resident ID for {birth}")


def _arrival(school_class, today):
    """The record of a pupil arriving from 长沙 into `school_class`, and a parent."""
    level = school_class.grade.level
    birth = date(school_year_start(today).year - 5 - level, 5, 20)
    id_number = _resident_id(birth)
    data = {
        "name": "欧阳小雨",
        "id_type": "1",
        "id_number": id_number,
        "gender": "1" if int(id_number[16]) % 2 else "2",
        "birth_date": birth,
        "birth_place": "湖南省长沙市",
        "native_place": "湖南省长沙市",
        "ethnicity": "01",
        "nationality": "156",
        "overseas": "00",
        "health": "10",
        "hukou_place": "湖南省长沙市开福区",
        "hukou_type": "2",
        "address": "武汉市江岸区解放大道 100 号",
        "phone": "13800000100",
        "grade": school_class.grade,
        "school_class": school_class,
        "enrolled_on": date(school_year_start(today).year - level + 1, 9, 1),
        "admission": "11" if level <= 9 else "21",
        "attendance": "1",
    }
    parent_body = f"{ORIGIN_REGION}19860412{int(id_number[14:17]) % 500 * 2 + 1:03d}"
    guardian = {
        "name": "欧阳军",
        "relation": "1",
        "phone": "13900000100",
        "id_type": "1",
        "id_number": parent_body + mod_11_2.calc_check_digit(parent_body),
        "is_guardian": True,
    }
    return data, guardian


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
            change = services.start_request(
                Kind.TRANSFER,
                by=applicant,
                student=student,
                explanation=explanation,
                reason="parent_job",
                to_class=target,
                today=self.applied_on(receiving),
            )
            return change, applicant
        return None

    def applied_on(self, school):
        """Transfers start only in a transfer window: the demo ones were applied for in the last one."""
        _start, window_end = calendar_for(school).latest_transfer_window(self.today)
        return min(self.today, window_end)

    def transfer_out(self, explanation):
        # 夷陵区实验学校's junior grades: the other kinds take their students from 育才小学 and the
        # in-system transfers from its lowest grades.
        school, applicant = self.schools[YILING], _user("xueji_yiling")
        student = next(_students(school, levels=[7, 8]), None)
        if student is None:
            return None
        change = services.start_request(
            Kind.TRANSFER_OUT,
            by=applicant,
            student=student,
            explanation=explanation,
            reason="moved",
            outside=DEMO_DESTINATION,
            today=self.applied_on(school),
        )
        return change, applicant

    def transfer_in(self, explanation, *, code=YUCAI, username="xueji_yucai", level=2):
        school, applicant = self.schools[code], _user(username)
        school_class = _class_with_room(school, level)
        if school_class is None:
            return None
        data, guardian = _arrival(school_class, self.today)
        change = services.start_transfer_in(
            by=applicant,
            data=data,
            guardians=[guardian],
            number="G" + data["id_number"],
            explanation=explanation,
            reason="parent_job",
            outside=DEMO_ORIGIN,
            today=self.applied_on(school),
        )
        return change, applicant

    def senior_transfer_in(self, explanation):
        return self.transfer_in(explanation, code=LIUZHONG, username="xueji_liuzhong", level=10)

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
            # With schools outside the system: to 顺德 (an approved one printable as its 转学联系表),
            # from 长沙 (an approved one enrolled with the number it brought).
            self.scenario(Kind.TRANSFER_OUT, state, self.transfer_out)
            if state == ApprovalState.IN_REVIEW:
                # A primary school's transfer in has one step (the county); a high school's two.
                self.scenario(Kind.TRANSFER_IN, state, self.senior_transfer_in)
            else:
                self.scenario(Kind.TRANSFER_IN, state, self.transfer_in)
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
