"""Names and text fields: what a name may hold, and invisible characters removed on every entry path
(the pages and the admin through the form middleware, the services, the roster import, the tree import)."""

import openpyxl
import pytest
from django.forms import modelform_factory
from django.test import RequestFactory
from django.urls import reverse

from registrar.middleware import CleanFormTextMiddleware
from registrar.models import Organisation, SchoolClass
from registrar.orgimport import import_organisations_file
from registrar.services import create_class
from registrar.text import clean_text, strip_invisible
from students.models import Guardian, Student
from students.roster.importer import commit, prepare
from students.validation import normalise_guardian, normalise_record, validate_record
from tests.conftest import make_user
from tests.roster_helpers import pupil, write_file
from tests.student_helpers import guardian_data, register, student_data

# U+202E turns what follows around; the others are invisible: zero-width space, the byte order mark,
# left-to-right and right-to-left marks and isolates, the Arabic letter mark, a tag character.
RLO = "\u202e"
INVISIBLE = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\ufeff\U000e0041"

NAME_RULE = "姓名只能包含汉字、字母、间隔号 · 和空格，不能包含 "


# --- names ----------------------------------------------------------------------------------------


def name_errors(school_class, name):
    data = student_data(school_class, name=name)
    return validate_record(data, [guardian_data()], school=school_class.grade.school).get("name", [])


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ('=HYPERLINK("http://evil.example","点我")', '= ( " : / . , )'),
        ("<img src=x onerror=alert(1)>", "< = ( ) >"),
        ("张小明😀", "😀"),
        ("张小明\u2764\ufe0f", "❤ U+FE0F"),
        ("张@小明", "@"),
    ],
)
def test_a_name_refuses_formulas_markup_and_emoji(school_class, name, shown):
    assert NAME_RULE + shown in name_errors(school_class, name)


@pytest.mark.parametrize(
    "name", ["张小明", "𠮷田", "阿卜杜拉·买买提", "Mary Smith", "李〇", "吕\u3000Lü", "葛\U000e0100"]
)
def test_a_name_accepts_han_beyond_the_bmp_letters_the_middle_dot_and_spaces(school_class, name):
    assert name_errors(school_class, name) == []


def test_digits_and_dot_look_alikes_keep_their_own_messages(school_class):
    assert name_errors(school_class, "张小明2") == ["姓名中不能有数字。"]
    assert name_errors(school_class, "阿卜杜拉・买买提")[0].startswith("姓名中的间隔号请写作“·”")


def test_former_names_and_guardians_names_follow_the_same_rule(school_class):
    school = school_class.grade.school
    data = student_data(school_class, former_name="=1+1")
    guardian = guardian_data(name="<b>张大明</b>")

    errors = validate_record(data, [guardian], school=school)

    assert any(message.startswith("曾用名只能包含汉字") for message in errors["former_name"])
    assert any(message.startswith("姓名只能包含汉字") for message in errors["guardians-0-name"])


# --- invisible characters -------------------------------------------------------------------------


def test_the_one_function_removes_invisible_characters_and_keeps_what_text_needs():
    assert clean_text(f" 武汉{INVISIBLE}市\u3000") == "武汉市"
    # Line breaks of a paragraph, the joiners of Uyghur and Tibetan, a variation selector of a rare
    # character, the Mongolian vowel separator.
    kept = "第一行\n第二行\tئۇيغۇر\u200cتىلى\u200d 葛\U000e0100 ᠨᠠ\u180eᠢ"
    assert strip_invisible(kept) == kept
    assert clean_text(None) == ""


def test_every_text_field_of_a_record_loses_invisible_characters():
    data = normalise_record(
        {"name": f"张{RLO}小明", "address": f"武汉市{INVISIBLE}江岸区", "phone": "138\u200b00000000"}
    )
    guardian = normalise_guardian({"name": "\ufeff张大明\u2069", "id_number": "42010219850601\u200e0113"})

    assert data == {"name": "张小明", "address": "武汉市江岸区", "phone": "13800000000"}
    assert guardian == {"name": "张大明", "id_number": "420102198506010113"}


def test_registration_stores_text_without_invisible_characters(registrar, school_class):
    student = register(
        registrar, school_class, name="张\u200b小明", address=f"武汉市{RLO}江岸区解放大道 1 号"
    )

    student.refresh_from_db()
    assert (student.name, student.address) == ("张小明", "武汉市江岸区解放大道 1 号")


def test_the_roster_import_removes_invisible_characters(registrar, school, school_class, tmp_path):
    row = pupil(1, 姓名=f"王{RLO}伟", 现住址=f"武汉市{INVISIBLE}胜利街1号", 监护人1姓名="家长\u200b甲")
    path = write_file(tmp_path / "roster.xlsx", [row])

    plan = prepare(path, scope=school, by=registrar)
    commit(plan, by=registrar, register=False)

    student = Student.objects.get()
    assert (student.name, student.address) == ("王伟", "武汉市胜利街1号")
    assert Guardian.objects.get().name == "家长甲"


def test_the_roster_import_refuses_a_name_with_a_formula(registrar, school, school_class, tmp_path):
    path = write_file(tmp_path / "roster.xlsx", [pupil(1, 姓名='=HYPERLINK("http://x","王伟")')])

    plan = prepare(path, scope=school, by=registrar)

    messages = [problem.message for row in plan.invalid_rows for problem in row.problems]
    assert any(message.startswith(NAME_RULE) for message in messages), messages


def test_class_names_lose_invisible_characters(school, client_for, registrar):
    created = create_class(school.grades.get(level=2), by=None, name=f"1{RLO}班")
    response = client_for(registrar).post(
        reverse("registrar:class_create", args=[school.code]),
        {"grade": school.grades.get(level=3).pk, "name": "2\u2066班\u2069", "capacity": ""},
    )

    assert response.status_code == 302
    assert created.name == "1班"
    assert SchoolClass.objects.filter(grade__level=3).get().name == "2班"


def test_organisation_names_lose_invisible_characters(tree, tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["代码", "名称", "类型", "上级代码", "学段", "学制"])
    workbook.active.append(["1420102009", f"江岸区{RLO}新华小学", "学校", "420102", "小学", "6-3-3"])
    workbook.save(tmp_path / "tree.xlsx")

    import_organisations_file(tmp_path / "tree.xlsx")

    assert Organisation.objects.get(code="1420102009").name == "江岸区新华小学"


def test_the_admin_stores_text_without_invisible_characters(client, school_class):
    admin = make_user("root", None, [], is_staff=True, is_superuser=True)
    client.force_login(admin)

    response = client.post(
        reverse("admin:registrar_schoolclass_change", args=[school_class.pk]),
        {"grade": school_class.grade_id, "name": f"9{RLO}班", "capacity": 40},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    school_class.refresh_from_db()
    assert school_class.name == "9班"


def test_form_text_is_cleaned_but_passwords_are_left_as_typed():
    seen = {}

    def view(request):
        seen.update(request.POST.lists())

    request = RequestFactory().post(
        "/", {"reason": f"搬家{RLO}\n新住址", "new_password1": "pw\u200bpw", "ids": ["1\u200b", "2"]}
    )
    CleanFormTextMiddleware(view)(request)

    assert seen == {"reason": ["搬家\n新住址"], "new_password1": ["pw\u200bpw"], "ids": ["1", "2"]}


def test_model_forms_such_as_the_admins_check_names_too(registrar, school_class):
    student = register(registrar, school_class)
    student_form = modelform_factory(Student, fields=["former_name"])
    guardian_form = modelform_factory(Guardian, fields=["name"])

    refused = student_form({"former_name": "=HYPERLINK(x)"}, instance=student)
    accepted = student_form({"former_name": "阿卜杜拉·买买提"}, instance=student)
    guardian = guardian_form({"name": "<img src=x>"}, instance=student.guardians.get())

    assert not refused.is_valid()
    assert refused.errors["former_name"][0].startswith("曾用名只能包含汉字")
    assert accepted.is_valid(), accepted.errors
    assert not guardian.is_valid()
    assert "不能包含 < = >" in guardian.errors["name"][0]
