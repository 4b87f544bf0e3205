"""The school year's pages and command: preview, run, undo, class mapping, next year's classes, class
teachers, `promote --scope`."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from openpyxl import Workbook

from registrar.choices import Role
from registrar.models import AuditEvent, Organisation, SchoolClass
from schoolyear.models import ClassMapping, PromotionRun
from schoolyear.promotion import build_plans
from students.models import ProblemKind, ProblemRecord
from tests.conftest import make_user
from tests.transfer_helpers import class_of, enrolled, reload

pytest_plugins = ["tests.transfer_fixtures"]

AUGUST = datetime(2026, 8, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
IN_TERM = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def year(school):
    classes = {level: class_of(school, level) for level in range(1, 7)}
    with time_machine.travel(IN_TERM, tick=False):
        pupils = [enrolled(classes[1], name="一年级甲"), enrolled(classes[2], name="二年级甲")]
    return {"classes": classes, "pupils": pupils}


@pytest.fixture
def august():
    with time_machine.travel(AUGUST, tick=False):
        yield


def workbook(rows):
    book = Workbook()
    sheet = book.active
    sheet.append(["原年级", "原班级", "新年级", "新班级"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("分班.xlsx", buffer.getvalue())


def test_the_preview_shows_counts_and_problems(client_for, registrar, school, year, august):
    ProblemRecord.objects.create(student=year["pupils"][0], kind=ProblemKind.INVALID_ID)
    response = client_for(registrar).get(reverse("schoolyear:preview", args=[school.code]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "一年级甲" in text
    assert response.context["plan"].promoted == 2
    assert not response.context["may_run"]


def test_an_outsider_finds_nothing(client_for, outsider, school, year):
    response = client_for(outsider).get(reverse("schoolyear:preview", args=[school.code]))
    assert response.status_code == 404


def test_the_province_runs_and_undoes_a_promotion(client_for, province_admin, school, year, august):
    client = client_for(province_admin)
    response = client.post(reverse("schoolyear:run_start", args=[school.code]))
    run = PromotionRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    # The test settings run the job at once.
    assert run.state == PromotionRun.State.DONE and run.promoted_count == 2
    assert reload(year["pupils"][0]).grade.level == 2
    page = client.get(run.get_absolute_url())
    assert page.context["may_undo"]
    response = client.post(reverse("schoolyear:undo", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.state == PromotionRun.State.UNDONE
    assert reload(year["pupils"][0]).grade.level == 1
    assert AuditEvent.objects.filter(action__startswith="schoolyear.promotion").count() == 2


def test_a_refused_start_says_why_and_changes_nothing(client_for, province_admin, school, year, august):
    ProblemRecord.objects.create(student=year["pupils"][0], kind=ProblemKind.INVALID_ID)
    response = client_for(province_admin).post(
        reverse("schoolyear:run_start", args=[school.code]), follow=True
    )
    assert "一年级甲" in response.content.decode() or "cannot be promoted" in response.content.decode()
    assert not PromotionRun.objects.exists()
    assert reload(year["pupils"][0]).grade.level == 1


def test_a_county_without_the_province_switch_is_refused(client_for, county_reviewer, school, year, august):
    response = client_for(county_reviewer).post(reverse("schoolyear:run_start", args=[school.code]))
    assert response.status_code == 403
    assert not PromotionRun.objects.exists()


def test_the_registrar_uploads_a_mapping(client_for, registrar, school, year):
    three = class_of(school, 2, name="3班")
    client = client_for(registrar)
    url = reverse("schoolyear:mapping", args=[school.code])
    response = client.post(url, {"file": workbook([["一年级", "1班", "二年级", "3班"]])})
    assert response.status_code == 302
    mapping = ClassMapping.objects.get()
    assert (mapping.from_class, mapping.to_class) == (year["classes"][1], three)


def test_a_bad_mapping_row_is_reported_and_nothing_is_saved(client_for, registrar, school, year):
    client = client_for(registrar)
    url = reverse("schoolyear:mapping", args=[school.code])
    rows = [
        ["一年级", "1班", "二年级", "1班"],
        ["二年级", "9班", "四年级", "1班"],
        ["六年级", "1班", "七年级", "1班"],
    ]
    response = client.post(url, {"file": workbook(rows)})
    assert response.status_code == 200
    errors = {error["row"]: error["messages"] for error in response.context["errors"]}
    assert set(errors) == {3, 4}
    # No 9班 in 二年级, and 四年级 is not the grade above; 六年级 is left for graduation.
    assert len(errors[3]) == 2 and "9班" in errors[3][0]
    assert len(errors[4]) == 1
    assert not ClassMapping.objects.exists()


def test_a_file_that_is_no_workbook_is_refused(client_for, registrar, school, year):
    url = reverse("schoolyear:mapping", args=[school.code])
    response = client_for(registrar).post(url, {"file": SimpleUploadedFile("分班.xlsx", b"not a workbook")})
    assert response.status_code == 200
    assert response.context["errors"][0]["row"] == 0
    assert not ClassMapping.objects.exists()


def test_next_years_classes_copy_the_grade_below(client_for, registrar, school, year):
    class_of(school, 1, name="2班", capacity=40)
    client = client_for(registrar)
    url = reverse("schoolyear:classes", args=[school.code])
    response = client.get(url)
    proposal = [
        (row.grade.level, row.name, row.capacity, row.is_new) for row, _form in response.context["rows"]
    ]
    assert (2, "2班", 40, True) in proposal
    assert (1, "2班", 40, False) in proposal
    data = {"form-TOTAL_FORMS": len(proposal), "form-INITIAL_FORMS": len(proposal)}
    for index, (level, name, capacity, is_new) in enumerate(proposal):
        data.update(
            {f"form-{index}-grade": level, f"form-{index}-name": name, f"form-{index}-capacity": capacity}
        )
        if is_new:
            data[f"form-{index}-keep"] = "on"
    # An existing class kept with another capacity gets it.
    data["form-0-capacity"] = 44
    data["form-0-keep"] = "on"
    response = client.post(url, data)
    assert response.status_code == 302
    created = SchoolClass.objects.get(grade__school=school, grade__level=2, name="2班")
    assert created.capacity == 40
    assert SchoolClass.objects.get(grade__school=school, grade__level=1, name="1班").capacity == 44


def test_the_registrar_assigns_class_teachers(client_for, registrar, school, year):
    class_teacher = make_user("teacher", school, [Role.CLASS_TEACHER])
    other = make_user("teacher2", school, [Role.CLASS_TEACHER])
    first, second = year["classes"][1], year["classes"][2]
    client = client_for(registrar)
    url = reverse("schoolyear:teachers", args=[school.code])
    response = client.post(
        url, {f"class_{first.pk}": str(other.pk), f"class_{second.pk}": str(class_teacher.pk)}
    )
    assert response.status_code == 302
    assert list(first.class_teachers.all()) == [other]
    assert list(second.class_teachers.all()) == [class_teacher]


def test_only_class_teachers_of_the_school_can_be_chosen(client_for, registrar, principal, school, year):
    url = reverse("schoolyear:teachers", args=[school.code])
    response = client_for(registrar).post(url, {f"class_{year['classes'][1].pk}": str(principal.pk)})
    assert response.status_code == 200
    assert not year["classes"][1].class_teachers.exists()


def test_the_command_refuses_a_school_with_problems(school, year, capsys, august):
    ProblemRecord.objects.create(student=year["pupils"][0], kind=ProblemKind.INVALID_ID)
    with pytest.raises(SystemExit) as exit_:
        call_command("promote", "--scope", "420102", "--dry-run")
    assert exit_.value.code == 1
    assert "一年级甲" in capsys.readouterr().out


def test_the_command_promotes_a_county(school, year, tree, august, capsys):
    call_command("promote", "--scope", "420102", "--dry-run")
    assert not PromotionRun.objects.exists()
    call_command("promote", "--scope", "420102")
    assert "promoted (2)" in capsys.readouterr().out
    run = PromotionRun.objects.get(school=school)
    assert (run.state, run.authority, run.source) == ("done", tree["420000"], "command")
    assert reload(year["pupils"][1]).grade.level == 3


def test_the_demo_offers_promotion_previews(db, client):
    """seed_demo: the province administrator finds schools ready to promote and schools with problems."""
    call_command("seed_demo", class_size=1)
    admin = Organisation.objects.get(code="420000").staff.get()
    client.force_login(admin)
    assert client.get(reverse("schoolyear:home")).status_code == 200
    plans = build_plans(Organisation.objects.schools().order_by("path"))
    assert any(plan.ready and plan.promoted for plan in plans)
    assert any(not plan.ready for plan in plans)
    ready = next(plan.school for plan in plans if plan.ready and plan.promoted)
    response = client.get(reverse("schoolyear:preview", args=[ready.code]))
    assert response.context["may_run"] and not response.context["plan"].problems
