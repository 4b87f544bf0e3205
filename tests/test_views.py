"""Every page of the shared core for anonymous, outsider (404), wrong role (403) and the allowed user."""

import pytest
from django.test import Client
from django.urls import reverse

from registrar.models import AuditEvent, Grade, SchoolClass, User
from registrar.services import save_organisation


def login_url(url):
    return f"{reverse('login')}?next={url}"


# --- dashboard -----------------------------------------------------------------------------------


def test_dashboard_requires_login(client, db):
    url = reverse("registrar:dashboard")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == login_url(url)


def test_dashboard_shows_the_users_node_and_what_waits(client_for, registrar, school):
    response = client_for(registrar).get(reverse("registrar:dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "工作台" in page
    assert school.name in page
    assert "尚未指定班主任的班级" not in page  # no classes yet, so none without a teacher


def test_dashboard_lists_classes_without_a_class_teacher(client_for, registrar, school_class):
    page = client_for(registrar).get(reverse("registrar:dashboard")).content.decode()
    assert "尚未指定班主任的班级" in page


def test_county_dashboard_counts_schools_without_classes(client_for, county_reviewer, school_class):
    page = client_for(county_reviewer).get(reverse("registrar:dashboard")).content.decode()
    assert "尚未建立班级的学校" in page


def test_dashboard_of_a_user_without_node(client_for, db):
    user = User.objects.create_user("lost", password="pw")
    response = client_for(user).get(reverse("registrar:dashboard"))
    assert response.status_code == 200
    assert "尚未分配到学校或教育局" in response.content.decode()


# --- organisation pages --------------------------------------------------------------------------


def test_node_page_requires_login(client, school):
    url = reverse("registrar:node", args=[school.code])
    assert client.get(url)["Location"] == login_url(url)


def test_node_page_is_404_for_an_outsider(client_for, outsider, school):
    assert client_for(outsider).get(reverse("registrar:node", args=[school.code])).status_code == 404


def test_node_page_is_404_for_a_user_without_node(client_for, school):
    user = User.objects.create_user("lost", password="pw")
    assert client_for(user).get(reverse("registrar:node", args=[school.code])).status_code == 404


def test_a_school_cannot_see_its_county(client_for, registrar, tree):
    assert client_for(registrar).get(reverse("registrar:node", args=["420102"])).status_code == 404


def test_school_page_lists_grades_and_classes(client_for, registrar, school, school_class, class_teacher):
    response = client_for(registrar).get(reverse("registrar:node", args=[school.code]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "一年级" in page and "六年级" in page
    assert "1班" in page
    assert class_teacher.full_name in page
    assert reverse("registrar:class_edit", args=[school_class.pk]) in page


def test_school_page_offers_no_edits_to_the_principal(client_for, principal, school, school_class):
    page = client_for(principal).get(reverse("registrar:node", args=[school.code])).content.decode()
    assert reverse("registrar:class_edit", args=[school_class.pk]) not in page


def test_county_page_lists_its_schools_with_counts(client_for, county_reviewer, tree, school_class):
    response = client_for(county_reviewer).get(reverse("registrar:node", args=["420102"]))
    page = response.content.decode()
    assert "育才小学" in page and "第六中学" in page
    assert "夷陵区实验学校" not in page
    rows = {row["node"].code: row for row in response.context["rows"]}
    assert rows["1420102001"]["classes"] == 1


def test_county_page_filters_schools_without_classes(client_for, county_reviewer, school_class):
    response = client_for(county_reviewer).get(reverse("registrar:node", args=["420102"]) + "?empty=1")
    assert [school.code for school in response.context["empty_schools"]] == ["1420102004"]


def test_city_sees_its_counties_but_not_another_city(client_for, city_reviewer, tree):
    client = client_for(city_reviewer)
    assert client.get(reverse("registrar:node", args=["420102"])).status_code == 200
    assert client.get(reverse("registrar:node", args=["420506"])).status_code == 404


def test_province_sees_everything(client_for, province_admin, tree):
    client = client_for(province_admin)
    for code in tree:
        assert client.get(reverse("registrar:node", args=[code])).status_code == 200


def test_node_page_queries_do_not_grow_with_classes(
    client_for, registrar, school, django_assert_max_num_queries
):
    from registrar.services import create_class

    for grade in school.grades.all():
        for number in range(1, 4):
            create_class(grade, by=None, name=f"{number}班")
    client = client_for(registrar)
    with django_assert_max_num_queries(15):
        assert client.get(reverse("registrar:node", args=[school.code])).status_code == 200


# --- node history --------------------------------------------------------------------------------


def test_node_history_is_scoped(client, client_for, outsider, registrar, school):
    url = reverse("registrar:node_history", args=[school.code])
    assert client.get(url).status_code == 302
    assert client_for(outsider).get(url).status_code == 404
    response = client_for(registrar).get(url)
    assert response.status_code == 200
    assert "从工作簿导入" in response.content.decode()


# --- set up grades (GET confirm / POST) ----------------------------------------------------------


@pytest.fixture
def school_missing_grades(school, registrar):
    school.stages = ["nine_year"]
    school.school_system = "6-3"
    save_organisation(school, by=registrar, reason="学校改为九年一贯制")
    return school


def test_sync_grades_requires_login(client, school_missing_grades):
    url = reverse("registrar:sync_grades", args=[school_missing_grades.code])
    assert client.get(url)["Location"] == login_url(url)


def test_sync_grades_is_404_for_an_outsider(client_for, outsider, school_missing_grades):
    url = reverse("registrar:sync_grades", args=[school_missing_grades.code])
    assert client_for(outsider).post(url).status_code == 404
    assert school_missing_grades.grades.count() == 6


@pytest.mark.parametrize("persona", ["principal", "class_teacher", "county_reviewer"])
def test_sync_grades_is_403_without_the_registrar_role(request, client_for, school_missing_grades, persona):
    user = request.getfixturevalue(persona)
    url = reverse("registrar:sync_grades", args=[school_missing_grades.code])
    assert client_for(user).post(url).status_code == 403
    assert school_missing_grades.grades.count() == 6


def test_sync_grades_asks_before_it_acts(client_for, registrar, school_missing_grades):
    response = client_for(registrar).get(reverse("registrar:sync_grades", args=[school_missing_grades.code]))
    page = response.content.decode()
    assert "七年级" in page and "九年级" in page
    assert school_missing_grades.grades.count() == 6


def test_sync_grades_creates_the_missing_grades(client_for, registrar, school_missing_grades):
    url = reverse("registrar:sync_grades", args=[school_missing_grades.code])
    response = client_for(registrar).post(url, follow=True)
    assert "已建立 3 个年级" in response.content.decode()
    assert list(school_missing_grades.grades.values_list("level", flat=True)) == list(range(1, 10))
    event = AuditEvent.objects.get(action="registrar.grades.synced")
    assert (event.actor, event.data["levels"]) == (registrar, [7, 8, 9])


def test_sync_grades_with_nothing_missing_says_so(client_for, registrar, school):
    response = client_for(registrar).post(reverse("registrar:sync_grades", args=[school.code]), follow=True)
    assert "本校学制内的年级均已建立" in response.content.decode()
    assert not AuditEvent.objects.filter(action="registrar.grades.synced").exists()


def test_sync_grades_refuses_get_only_methods(client_for, registrar, school):
    assert client_for(registrar).put(reverse("registrar:sync_grades", args=[school.code])).status_code == 405


# --- create a class ------------------------------------------------------------------------------


@pytest.fixture
def grade(school):
    return school.grades.get(level=1)


def test_class_create_requires_login(client, school):
    url = reverse("registrar:class_create", args=[school.code])
    assert client.get(url)["Location"] == login_url(url)


def test_class_create_is_404_for_an_outsider(client_for, outsider, school, grade):
    url = reverse("registrar:class_create", args=[school.code])
    assert client_for(outsider).post(url, {"grade": grade.pk, "name": "9班"}).status_code == 404
    assert not SchoolClass.objects.exists()


def test_class_create_is_403_for_the_principal(client_for, principal, school, grade):
    url = reverse("registrar:class_create", args=[school.code])
    assert client_for(principal).post(url, {"grade": grade.pk, "name": "9班"}).status_code == 403
    assert not SchoolClass.objects.exists()


def test_class_create_form(client_for, registrar, school):
    response = client_for(registrar).get(reverse("registrar:class_create", args=[school.code]))
    assert response.status_code == 200
    assert "新建班级" in response.content.decode()


def test_class_create_creates_with_history(client_for, registrar, school, grade):
    url = reverse("registrar:class_create", args=[school.code])
    response = client_for(registrar).post(
        url, {"grade": grade.pk, "name": " 3班 ", "capacity": ""}, follow=True
    )
    created = SchoolClass.objects.get()
    assert (created.name, created.capacity) == ("3班", 45)
    assert "已建立" in response.content.decode()
    assert created.history.get().history_user == registrar
    assert AuditEvent.objects.get(action="registrar.class.created").actor == registrar


def test_class_create_refuses_a_duplicate_name(client_for, registrar, school, grade, school_class):
    url = reverse("registrar:class_create", args=[school.code])
    response = client_for(registrar).post(url, {"grade": grade.pk, "name": "1班", "capacity": "40"})
    assert response.status_code == 200
    assert "一年级已有名为 1班 的班级" in response.content.decode()
    assert SchoolClass.objects.count() == 1


def test_class_create_refuses_a_grade_of_another_school(client_for, registrar, school, other_school):
    url = reverse("registrar:class_create", args=[school.code])
    foreign = other_school.grades.first()
    response = client_for(registrar).post(url, {"grade": foreign.pk, "name": "1班"})
    assert response.status_code == 200
    assert "选择一个有效的选项" in response.content.decode()
    assert not SchoolClass.objects.exists()


def test_class_create_refuses_a_zero_capacity(client_for, registrar, school, grade):
    url = reverse("registrar:class_create", args=[school.code])
    response = client_for(registrar).post(url, {"grade": grade.pk, "name": "1班", "capacity": "0"})
    assert "确保该值大于或等于1" in response.content.decode()
    assert not SchoolClass.objects.exists()


# --- edit a class --------------------------------------------------------------------------------


def test_class_edit_requires_login(client, school_class):
    url = reverse("registrar:class_edit", args=[school_class.pk])
    assert client.get(url)["Location"] == login_url(url)


def test_class_edit_is_404_for_an_outsider(client_for, outsider, school_class):
    url = reverse("registrar:class_edit", args=[school_class.pk])
    assert client_for(outsider).post(url, {"name": "x", "capacity": 10}).status_code == 404


@pytest.mark.parametrize("persona", ["principal", "class_teacher", "county_reviewer", "province_admin"])
def test_class_edit_is_403_without_the_registrar_role(request, client_for, school_class, persona):
    user = request.getfixturevalue(persona)
    url = reverse("registrar:class_edit", args=[school_class.pk])
    assert client_for(user).post(url, {"name": "x", "capacity": 10}).status_code == 403
    school_class.refresh_from_db()
    assert school_class.name == "1班"


def test_class_edit_saves_with_reason_in_history(client_for, registrar, school_class):
    url = reverse("registrar:class_edit", args=[school_class.pk])
    client = client_for(registrar)
    assert client.get(url).status_code == 200
    client.post(url, {"name": "1班", "capacity": 40, "reason": "教室较小"})
    school_class.refresh_from_db()
    assert school_class.capacity == 40
    assert school_class.history.first().history_change_reason == "教室较小"
    page = client.get(reverse("registrar:class_history", args=[school_class.pk])).content.decode()
    assert "教室较小" in page
    assert "45" in page and "40" in page


def test_class_edit_bad_input_changes_nothing(client_for, registrar, school_class):
    url = reverse("registrar:class_edit", args=[school_class.pk])
    response = client_for(registrar).post(url, {"name": "", "capacity": "abc"})
    assert response.status_code == 200
    assert "这个字段是必填项" in response.content.decode()
    school_class.refresh_from_db()
    assert (school_class.name, school_class.capacity) == ("1班", 45)
    assert school_class.history.count() == 1


def test_class_edit_with_no_change_writes_no_history(client_for, registrar, school_class):
    url = reverse("registrar:class_edit", args=[school_class.pk])
    client_for(registrar).post(url, {"name": "1班", "capacity": 45})
    assert school_class.history.count() == 1
    assert not AuditEvent.objects.filter(action="registrar.class.updated").exists()


# --- class history -------------------------------------------------------------------------------


def test_class_history_is_scoped(
    client, client_for, outsider, outsider_reviewer, class_teacher, school_class
):
    url = reverse("registrar:class_history", args=[school_class.pk])
    assert client.get(url).status_code == 302
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider_reviewer).get(url).status_code == 404
    assert client_for(class_teacher).get(url).status_code == 200


def test_county_reviewer_sees_the_class_timeline(client_for, county_reviewer, school_class):
    response = client_for(county_reviewer).get(reverse("registrar:class_history", args=[school_class.pk]))
    titles = [entry.title for entry in response.context["timeline"]]
    assert "建立班级" in titles


# --- accounts, language, admin -------------------------------------------------------------------


def test_login_page_is_in_chinese(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "登录" in response.content.decode()


def test_english_can_be_chosen(client, db):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Log in" in client.get(reverse("login")).content.decode()


def test_logout_is_a_post(client_for, registrar):
    client = client_for(registrar)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("registrar:dashboard")).status_code == 302


def test_admin_is_for_administrators_only(client_for, registrar, db):
    response = client_for(registrar).get(reverse("admin:index"))
    assert response.status_code == 302


def test_admin_shows_staff_only_their_subtree(client_for, tree, county_reviewer):
    county_reviewer.is_staff = True
    county_reviewer.save()
    from django.contrib.auth.models import Permission

    county_reviewer.user_permissions.add(Permission.objects.get(codename="view_organisation"))
    response = client_for(county_reviewer).get(reverse("admin:registrar_organisation_changelist"))
    codes = {node.code for node in response.context["cl"].queryset}
    assert codes == {"420102", "1420102001", "1420102004"}


def test_superuser_admin_pages_load(client_for, tree, school_class):
    admin = User.objects.create_superuser("root", password="pw")
    client = client_for(admin)
    for name in ["organisation", "grade", "schoolclass", "user", "auditevent"]:
        assert client.get(reverse(f"admin:registrar_{name}_changelist")).status_code == 200
    school = tree["1420102001"]
    assert client.get(reverse("admin:registrar_organisation_change", args=[school.pk])).status_code == 200
    assert Grade.objects.filter(school=school).count() == 6


def test_an_english_browser_still_gets_chinese(client, db):
    response = client.get(reverse("login"), headers={"accept-language": "en-US,en;q=0.9"})
    assert "登录" in response.content.decode()


def test_reviewers_find_their_queue_in_the_navigation(client_for, county_reviewer, class_teacher):
    queue = reverse("registrar:approvals")
    assert queue in client_for(county_reviewer).get(reverse("registrar:dashboard")).content.decode()
    assert queue not in client_for(class_teacher).get(reverse("registrar:dashboard")).content.decode()


def test_the_demo_answers_a_mistyped_address_with_our_own_page(client_for, registrar, settings):
    """With DEBUG on (make run), not Django's technical page listing every URL pattern."""
    settings.DEBUG = True
    for client in (Client(), client_for(registrar)):
        response = client.get("/no-such-page/")
        page = response.content.decode()
        assert response.status_code == 404
        assert "页面不存在" in page and "URLconf" not in page and "roster-files/" not in page


def test_the_login_page_asks_for_the_password(client, db):
    page = client.get(reverse("login")).content.decode()
    assert ">密码<" in page and "修改密码" not in page
    assert 'rel="icon"' in page


def test_each_language_is_offered_in_its_own_words(client, db):
    page = client.get(reverse("login")).content.decode()
    assert '<option value="en">English</option>' in page
    assert '<option value="zh-hans" selected>简体中文</option>' in page


def test_a_grade_and_its_class_read_apart_in_english(school_class):
    from django.utils import translation

    assert str(school_class) == "一年级1班"
    with translation.override("en"):
        assert str(school_class) == "Grade 1 1班"


def test_code_values_read_in_english_on_english_pages(client_for, registrar, school_class):
    """男, 汉族, 居民身份证 … are shown in the language of the page; every code has an English label."""
    from students.codes import code_tables, english_labels
    from students.services import register_student
    from tests.student_helpers import register

    student = register_student(register(registrar, school_class), by=registrar)
    client = client_for(registrar)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("students:detail", args=[student.pk])).content.decode()
    assert "Male" in page and "Han" in page and "Resident identity card" in page
    assert "居民身份证" not in page
    for name, table in code_tables().items():
        assert {row["code"] for row in table.rows} <= set(english_labels()[name]), name
