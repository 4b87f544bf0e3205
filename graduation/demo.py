"""The graduation season in the demo, for seed_demo: 育才小学 (grade 6) and 第六中学 (junior year 3 and
senior year 3) with photos and results of every kind (eligible; short of credits; moral, fitness or a
course failed; nothing loaded; no photo; a request in progress; a problem record), driven through the
real services by the demo users:

- 第六中学's junior list approved by its principal and the county: certificates, the roster, the 可领 list;
- 育才小学's list submitted: it waits for the principal (xiaozhang_yucai);
- 第六中学's senior list proposed: it waits for the registrar (xueji_liuzhong) to set destinations.

Idempotent: once the demo's results files are recorded, nothing is done again.
"""

import contextlib
import io
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from openpyxl import Workbook
from PIL import Image, ImageDraw

from graduation import importer, services
from graduation.models import ResultImport
from registrar import approvals
from registrar.errors import DomainError
from registrar.models import Organisation, User
from registrar.uploads import clean_photo
from students.models import ProblemKind, ProblemRecord, Status, Student
from students.services import set_photo
from transfers import services as transfer_services
from transfers.models import Kind

YUCAI, LIUZHONG = "1420102001", "1420102004"


def _photo(student):
    image = Image.new("RGB", (358, 441), (214, 226, 240))
    draw = ImageDraw.Draw(image)
    draw.ellipse((119, 90, 239, 230), fill=(240, 208, 180))
    draw.rectangle((89, 260, 269, 441), fill=(60, 90, 140))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    buffer.seek(0)
    buffer.name = f"{student.pk}.jpg"
    buffer.size = len(buffer.getvalue())
    return clean_photo(buffer)


def _workbook(rows):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _graduating(school, level):
    return list(
        Student.objects.filter(school=school, grade__level=level, status=Status.ENROLLED).order_by(
            "school_class__name", "pk"
        )
    )


def _with_photos(students, registrar, *, all_of_them=False):
    """Every student but the first gets a photo (the first shows the reason "no photo")."""
    for student in students if all_of_them else students[1:]:
        if not student.photo:
            set_photo(student, by=registrar, clean_file=_photo(student))


def _senior_rows(students):
    rows = [["学籍号", "姓名", "总学分", "思想品德与公民素养", "体质健康"]]
    kinds = [(150, "合格", "良好"), (130, "合格", "良好"), (148, "不合格", "及格"), (146, "合格", "不及格")]
    for index, student in enumerate(students):
        # Every sixth student has nothing loaded yet; the first four show each kind.
        if index % 6 == 5:
            continue
        credits, moral, fitness = kinds[index] if index < len(kinds) else kinds[0]
        rows.append([student.number, student.name, credits, moral, fitness])
    return rows


def _primary_rows(students):
    rows = [["学籍号", "姓名", "课程：语文", "课程：数学"]]
    for index, student in enumerate(students):
        rows.append([student.number, student.name, 88, 45 if index == 1 else 92])
    return rows


def _user(username):
    return User.objects.filter(username=username).first()


def _problem_and_request(students, registrar):
    """One student with an unresolved problem record, one with a suspension in progress."""
    if len(students) > 2:
        ProblemRecord.objects.get_or_create(
            student=students[2],
            kind=ProblemKind.INVALID_ID,
            state="open",
            defaults={"detail": "身份证件号与户籍不符"},
        )
    if len(students) > 3:
        # During the graduation freeze no request can be started: the demo goes without.
        with contextlib.suppress(DomainError):
            transfer_services.start_request(
                Kind.SUSPENSION,
                by=registrar,
                student=students[3],
                reason="illness",
                explanation="病休，家长申请",
                starts_on=timezone.localdate(),
                ends_on=timezone.localdate() + timedelta(days=90),
            )


def _propose(school, registrar, segment):
    try:
        return services.propose_list(school, by=registrar, segment=segment)
    except DomainError:
        return None


@transaction.atomic
def seed_graduation_demo():
    yucai = Organisation.objects.filter(code=YUCAI).first()
    liuzhong = Organisation.objects.filter(code=LIUZHONG).first()
    users = {
        name: _user(name)
        for name in (
            "xueji_yucai",
            "xiaozhang_yucai",
            "xueji_liuzhong",
            "xiaozhang_liuzhong",
            "shenhe_jiangan",
        )
    }
    if yucai is None or liuzhong is None or None in users.values():
        return
    # Done before: the demo's results files are recorded (whatever the lists came to).
    if ResultImport.objects.filter(school__in=[yucai, liuzhong]).exists():
        return
    # 第六中学: senior year 3 with results of every kind; junior year 3 graduated.
    seniors = _graduating(liuzhong, 12)
    juniors = _graduating(liuzhong, 9)
    _with_photos(seniors, users["xueji_liuzhong"])
    _with_photos(juniors, users["xueji_liuzhong"], all_of_them=True)
    province = services.province_of(liuzhong)
    if seniors:
        importer.import_results(
            liuzhong,
            _workbook(_senior_rows(seniors)),
            by=users["xueji_liuzhong"],
            province=province,
            segment="senior",
            original_name="德育处体育组学分汇总.xlsx",
        )
    junior_list = _propose(liuzhong, users["xueji_liuzhong"], "junior")
    if junior_list is not None:
        approval = approvals.send(junior_list.approval, by=users["xueji_liuzhong"])
        approval = approvals.approve(approval, by=users["xiaozhang_liuzhong"])
        approvals.approve(approval, by=users["shenhe_jiangan"])
    _propose(liuzhong, users["xueji_liuzhong"], "senior")
    # 育才小学: grade 6, a course failed, a problem record, a request in progress; the list waits for
    # the principal.
    pupils = _graduating(yucai, 6)
    _with_photos(pupils, users["xueji_yucai"])
    if pupils:
        importer.import_results(
            yucai,
            _workbook(_primary_rows(pupils)),
            by=users["xueji_yucai"],
            province=province,
            segment="primary",
            original_name="教务处期末成绩.xlsx",
        )
    _problem_and_request(pupils, users["xueji_yucai"])
    pupil_list = _propose(yucai, users["xueji_yucai"], "primary")
    if pupil_list is not None:
        approvals.send(pupil_list.approval, by=users["xueji_yucai"])
