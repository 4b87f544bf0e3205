"""An open data-quality campaign in the demo, for seed_demo: 江岸区 opened it; at 育才小学 the class
teacher banzhuren_yucai (given 二年级1班 as well) has most signed forms uploaded, some checked (one with
a wrong key field waiting for the registrar), and the term's 人籍一致 confirmed with one student absent.

Idempotent: once the demo campaign exists, nothing is done again.
"""

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from registrar.models import SchoolClass, User
from verification import services
from verification.models import AbsenceReason, Campaign

DEMO_TITLE = "2026年春季学籍数据质量核查"


def demo_form(student):
    """A made-up scan of a signed A4 form: lines of print and a signature scrawl."""
    image = Image.new("RGB", (827, 1169), "#fbfaf6")
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 787, 1129), outline="#222", width=4)
    for row in range(22):
        draw.rectangle((90, 140 + row * 38, 740, 152 + row * 38), fill="#cfcac0")
    draw.line([(480, 1040), (520, 1010), (560, 1050), (610, 1000), (660, 1045)], fill="#1d3b8a", width=5)
    draw.text((90, 80), f"DEMO FORM #{student.pk}", fill="#333")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return SimpleUploadedFile(f"{student.number}.jpg", buffer.getvalue(), content_type="image/jpeg")


def seed_verification_demo():
    if Campaign.objects.filter(title=DEMO_TITLE).exists():
        return 0
    reviewer = User.objects.filter(username="shenhe_jiangan").first()
    registrar = User.objects.filter(username="xueji_yucai").first()
    teacher = User.objects.filter(username="banzhuren_yucai").first()
    if reviewer is None or registrar is None or teacher is None:
        return 0
    # The teacher's 一年级1班 still waits in the registration review (students/demo.py): give them a
    # class of registered students too, so that the campaign has work for them.
    second = (
        SchoolClass.objects.filter(grade__school=teacher.node, grade__level=2, name="1班")
        .select_related("grade__school")
        .first()
    )
    if second is not None:
        teacher.classes.add(second)
    school_class = second or teacher.classes.select_related("grade__school").first()
    with transaction.atomic():
        campaign = services.open_campaign(
            by=reviewer,
            title=DEMO_TITLE,
            deadline=timezone.localdate() + timedelta(days=21),
            note="请各校于截止日期前完成学籍信息确认表的打印、家长签字、上传、班主任核对和逐班确认。",
        )
        if school_class is None:
            return 1
        students = list(services.roster_of(school_class).order_by("class_number", "name", "id"))
        # Everyone's form but the last student's is in; a third of those still wait for the teacher.
        uploaded = students[: max(1, len(students) - 1)]
        forms = [
            services.upload_form(campaign, student, by=registrar, uploaded_file=demo_form(student))
            for student in uploaded
        ]
        for position, form in enumerate(forms[: max(1, len(forms) - max(1, len(forms) // 3))]):
            if position == 1:
                services.check_form(
                    form,
                    by=teacher,
                    wrong_fields=["ethnicity"],
                    remark="家长注明：民族应为回族，户口本可证明。",
                )
            elif position == 2:
                services.check_form(
                    form, by=teacher, wrong_fields=["address"], remark="已搬家，新住址见确认表。"
                )
            else:
                services.check_form(form, by=teacher, wrong_fields=[])
        absent = (
            {students[-1].pk: (AbsenceReason.ILLNESS, "住院治疗，家长已请假")} if len(students) > 1 else {}
        )
        services.confirm_attendance(school_class, by=teacher, absences=absent)
    return 1
