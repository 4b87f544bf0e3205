"""Forms of the record: the same rules and words as validate_record, labels from the model."""

import pytest
from django.urls import reverse

from registrar.services import create_class
from students.errors import StudentError
from students.forms import GuardianFormSet, StudentEditForm, StudentForm, add_record_errors
from students.models import Student
from students.services import create_student, register_student, replace_guardians
from tests.student_helpers import guardian_data, register, student_data


def as_post(data):
    """Form data as a browser sends it: text, ticked boxes only."""
    post = {}
    for field, value in data.items():
        if value is True:
            post[field] = "on"
        elif value is False or value is None:
            continue
        elif hasattr(value, "pk"):
            post[field] = str(value.pk)
        elif hasattr(value, "isoformat"):
            post[field] = value.isoformat()
        else:
            post[field] = str(value)
    return post


def guardian_post(*guardians, initial=0):
    post = {
        "guardians-TOTAL_FORMS": str(max(len(guardians), 1)),
        "guardians-INITIAL_FORMS": str(initial),
        "guardians-MIN_NUM_FORMS": "1",
        "guardians-MAX_NUM_FORMS": "3",
    }
    for index, guardian in enumerate(guardians):
        post.update({f"guardians-{index}-{field}": value for field, value in as_post(guardian).items()})
    return post


@pytest.fixture
def post(school_class):
    return as_post(student_data(school_class))


def test_labels_are_the_national_field_names(school):
    form = StudentForm(school=school)
    labels = {
        name: str(form[name].label) for name in ("name", "gender", "id_type", "hukou_type", "admission")
    }
    assert labels == {
        "name": "姓名",
        "gender": "性别",
        "id_type": "身份证件类型",
        "hukou_type": "户口性质",
        "admission": "入学方式",
    }
    assert str(GuardianFormSet().forms[0]["relation"].label) == "关系"


def test_grades_and_classes_are_the_schools_own(school, school_class, other_school):
    elsewhere = create_class(other_school.grades.get(level=1), by=None, name="1班")
    form = StudentForm(school=school)
    assert set(form.fields["grade"].queryset) == set(school.grades.all())
    assert list(form.fields["school_class"].queryset) == [school_class]
    assert elsewhere not in form.fields["school_class"].queryset


def test_a_good_registration_is_valid_and_the_service_takes_it(registrar, school, post):
    post["id_number"] = "".join(chr(ord(char) + 0xFEE0) for char in post["id_number"])
    form = StudentForm(post, school=school)
    formset = GuardianFormSet(guardian_post(guardian_data()), instance=Student())
    assert form.is_valid(), form.errors
    assert formset.is_valid(), formset.errors
    assert form.cleaned_data["id_number"].isascii()
    student = create_student(
        by=registrar, school=school, data=form.record_data(), guardians=formset.guardian_data()
    )
    assert student.guardians.count() == 1


def test_sex_and_birth_date_come_from_the_id_when_left_empty(school, post):
    birth = post.pop("birth_date")
    post.pop("gender")
    form = StudentForm(post, school=school)
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["gender"], form.cleaned_data["birth_date"].isoformat()) == ("1", birth)


def test_messages_are_those_of_the_import(school, post):
    post.pop("hukou_place")
    post["gender"] = "2"
    post["phone"] = "8555"
    form = StudentForm(post, school=school)
    assert not form.is_valid()
    assert form.errors["hukou_place"] == ["请填写户口所在地。"]
    assert form.errors["id_number"] == ["性别与身份证号不符：身份证号表示男。"]
    assert form.errors["phone"][0].startswith("联系电话格式不正确")


def test_a_wrong_id_says_so_once(school, post):
    post["id_number"] = post["id_number"][:17]
    form = StudentForm(post, school=school)
    assert not form.is_valid()
    assert form.errors["id_number"] == ["居民身份证号应为 18 位，现为 17 位。"]


def test_the_form_saves_nothing(school, post):
    form = StudentForm(post, school=school)
    assert form.is_valid()
    with pytest.raises(TypeError):
        form.save()


def test_family_members_are_checked_one_by_one_and_as_a_list(school):
    formset = GuardianFormSet(guardian_post(guardian_data(phone="12")), instance=Student())
    assert not formset.is_valid()
    assert formset.forms[0].errors["phone"][0].startswith("联系电话格式不正确")

    empty = GuardianFormSet(guardian_post({}), instance=Student())
    assert not empty.is_valid()
    assert empty.forms[0].errors["name"] == ["请填写姓名。"]

    four = GuardianFormSet(guardian_post(*[guardian_data()] * 4), instance=Student())
    assert not four.is_valid()
    assert four.non_form_errors() == ["家庭成员最多填写 3 位。"]


def test_service_errors_land_beside_their_fields(registrar, school, school_class):
    post = as_post(student_data(school_class, id_type="Z", id_number=""))
    form = StudentForm(post, school=school)
    formset = GuardianFormSet(guardian_post(guardian_data(id_type="", id_number="")), instance=Student())
    assert form.is_valid() and formset.is_valid()
    with pytest.raises(StudentError) as refused:
        create_student(
            by=registrar, school=school, data=form.record_data(), guardians=formset.guardian_data()
        )
    add_record_errors(refused.value.errors, form, formset)
    assert form.non_field_errors() == ["学生没有身份证件号，至少一位家庭成员须填写身份证件号。"]

    errors = {"guardians-0-phone": ["联系电话格式不正确"], "__all__": ["严禁双学籍"]}
    add_record_errors(errors, form, formset)
    assert formset.forms[0].errors["phone"] == ["联系电话格式不正确"]
    assert "严禁双学籍" in form.non_field_errors()


def test_the_edit_form_holds_no_key_field_and_reports_changes(registrar, school_class):
    student = register_student(register(registrar, school_class), by=registrar)
    student = Student.objects.select_related("school", "grade__school").get(pk=student.pk)
    form = StudentEditForm(instance=student)
    assert not {"name", "gender", "birth_date", "id_type", "id_number", "ethnicity"} & set(form.fields)

    post = as_post({field: getattr(student, field) for field in form.fields if field != "reason"})
    post.update(phone="027-85551234", reason="家长来电")
    form = StudentEditForm(post, instance=student)
    assert form.is_valid(), form.errors
    assert form.changes() == {"phone": "027-85551234"}
    assert student.phone == "13800000000"

    post["postcode"] = "12"
    form = StudentEditForm(post, instance=student)
    assert not form.is_valid()
    assert form.errors["postcode"] == ["邮政编码为 6 位数字。"]


def test_the_edit_form_offers_only_classes_of_the_students_grade(registrar, school, school_class):
    second = create_class(school.grades.get(level=2), by=None, name="1班")
    student = register(registrar, school_class)
    form = StudentEditForm(instance=student)
    assert list(form.fields["school_class"].queryset) == [school_class]
    assert second not in form.fields["school_class"].queryset


def test_the_family_formset_edits_an_existing_list(registrar, school_class):
    student = register(registrar, school_class)
    (father,) = student.guardians.all()
    mother = guardian_data(name="李芳", relation="2")
    post = guardian_post(guardian_data(), mother, initial=1)
    post.update({"guardians-0-id": str(father.pk), "guardians-0-DELETE": "on"})
    formset = GuardianFormSet(post, instance=student)
    assert formset.is_valid(), formset.errors
    assert [member["name"] for member in formset.guardian_data()] == ["李芳"]
    replace_guardians(student, by=registrar, guardians=formset.guardian_data())
    assert list(student.guardians.values_list("name", flat=True)) == ["李芳"]


def test_the_new_student_form_marks_required_fields_and_offers_the_usual_defaults(client_for, registrar):
    page = client_for(registrar).get(reverse("students:create")).content.decode()
    assert page.count('<span class="required" aria-hidden="true">*</span>') >= 19
    form = StudentForm(school=registrar.node)
    assert (form["id_type"].value(), form["nationality"].value(), form["overseas"].value()) == (
        "1",
        "156",
        "00",
    )


def test_a_wrong_check_digit_raises_no_unrelated_errors(school, post):
    post["id_number"] = post["id_number"][:17] + ("0" if post["id_number"][17] != "0" else "1")
    post["gender"] = ""
    post["birth_date"] = ""
    form = StudentForm(post, school=school)
    assert not form.is_valid()
    assert "gender" not in form.errors and "birth_date" not in form.errors
    assert form.errors["id_number"][0].startswith("身份证号校验位错误")


def test_the_page_sums_up_the_errors_at_the_top(client_for, registrar, school_class):
    from tests.test_registration import form_post

    post = form_post(school_class)
    post["hukou_place"] = ""
    page = client_for(registrar).post(reverse("students:create"), post).content.decode()
    assert page.index("error-summary") < page.index('class="form-grid"')
    assert '<a href="#id_hukou_place">' in page
