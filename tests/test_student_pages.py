"""The roster, the student page and the printouts: scope, search, masking, constant queries."""

import pytest
from django.urls import reverse

from registrar.models import AuditEvent
from registrar.services import create_class
from students.models import Status
from students.privacy import mask_id
from students.services import register_student
from tests.student_helpers import register


@pytest.fixture
def enrolled(registrar, school_class):
    student = register(registrar, school_class, name="张小明", sequence=1)
    register_student(student, by=registrar)
    student.refresh_from_db()
    return student


@pytest.fixture
def pending(registrar, school_class):
    return register(registrar, school_class, name="李小红", sequence=2)


@pytest.fixture
def other_class_student(registrar, school):
    other_class = create_class(school.grades.get(level=1), by=None, name="2班")
    return register(registrar, other_class, name="王小刚", sequence=3)


@pytest.fixture
def outsider_student(outsider, other_school):
    outsider_class = create_class(other_school.grades.get(level=1), by=None, name="1班")
    return register(outsider, outsider_class, name="赵外校", sequence=5)


def names(response):
    return [student.name for student in response.context["page"]]


# --- roster --------------------------------------------------------------------------------------


def test_roster_requires_login(client, db):
    url = reverse("students:roster")
    assert client.get(url)["Location"].startswith(reverse("login"))


def test_roster_shows_the_schools_students_only(client_for, registrar, enrolled, pending, outsider_student):
    response = client_for(registrar).get(reverse("students:roster"))
    assert response.status_code == 200
    assert sorted(names(response)) == ["张小明", "李小红"]


def test_outsider_sees_none_of_our_students(client_for, outsider, enrolled, school, outsider_student):
    response = client_for(outsider).get(reverse("students:roster"), {"school": school.code})
    assert names(response) == ["赵外校"]
    assert "张小明" not in response.content.decode()


def test_roster_masks_id_numbers(client_for, registrar, enrolled):
    page = client_for(registrar).get(reverse("students:roster")).content.decode()
    assert enrolled.id_number not in page
    assert enrolled.id_number[:6] + "********" + enrolled.id_number[-4:] in page


def test_class_teacher_sees_only_their_class(client_for, class_teacher, enrolled, other_class_student):
    response = client_for(class_teacher).get(reverse("students:roster"))
    assert names(response) == ["张小明"]


def test_county_sees_its_schools_and_picks_one(
    client_for, county_reviewer, school, enrolled, outsider_student
):
    client = client_for(county_reviewer)
    assert names(client.get(reverse("students:roster"))) == ["张小明"]
    response = client.get(reverse("students:roster"), {"school": school.code, "grade": 1})
    assert names(response) == ["张小明"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("张", ["张小明"]), ("李小红", ["李小红"]), ("number", ["张小明"]), ("id", ["张小明"]), ("nobody", [])],
)
def test_roster_search(client_for, registrar, enrolled, pending, query, expected):
    text = {"number": enrolled.number, "id": enrolled.id_number.lower()}.get(query, query)
    response = client_for(registrar).get(reverse("students:roster"), {"q": text})
    assert names(response) == expected


def test_numbers_are_found_whole_only_and_each_search_is_logged(client_for, registrar, enrolled):
    """Searching by ID prefix, one character at a time, would recover a masked number."""
    client = client_for(registrar)
    for prefix in (enrolled.id_number[:6], enrolled.id_number[:-1], enrolled.number[:10]):
        assert names(client.get(reverse("students:roster"), {"q": prefix})) == []
    assert names(client.get(reverse("students:roster"), {"q": enrolled.id_number})) == ["张小明"]
    searches = AuditEvent.objects.filter(action="students.search.by_number", actor=registrar)
    assert searches.count() == 4
    logged = searches.order_by("-pk").first()
    assert (logged.data["found"], logged.data["query"]) == (1, mask_id(enrolled.id_number))
    assert enrolled.id_number not in str(logged.data)


def test_searches_by_number_are_limited_per_user(client_for, registrar, enrolled, settings):
    settings.REGISTRAR = {**settings.REGISTRAR, "IDENTITY_LOOKUPS_PER_HOUR": 2}
    client = client_for(registrar)
    for _ in range(2):
        client.get(reverse("students:roster"), {"q": "420102201001011234"})
    response = client.get(reverse("students:roster"), {"q": enrolled.id_number})
    assert names(response) == []
    assert "一小时内" in response.content.decode()
    assert AuditEvent.objects.filter(action="students.search.by_number").count() == 2
    # Names are searched as before.
    assert names(client.get(reverse("students:roster"), {"q": "张"})) == ["张小明"]


def test_roster_filters_by_status(client_for, registrar, enrolled, pending):
    response = client_for(registrar).get(reverse("students:roster"), {"status": Status.REGISTERING})
    assert names(response) == ["李小红"]


def test_roster_ignores_an_unknown_filter_value(client_for, registrar, enrolled):
    response = client_for(registrar).get(reverse("students:roster"), {"status": "bogus", "grade": "x"})
    assert response.status_code == 200
    assert names(response) == ["张小明"]


def test_roster_queries_stay_constant(client_for, registrar, school_class, django_assert_num_queries):
    client = client_for(registrar)
    register(registrar, school_class, sequence=1)
    client.get(reverse("students:roster"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("students:roster"))
    given_names = "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸子丑寅"
    for sequence, given in enumerate(given_names, start=2):
        register(registrar, school_class, name=f"刘{given}", sequence=sequence)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse("students:roster"))
    assert len(names(response)) == 24


# --- student page --------------------------------------------------------------------------------


def test_student_page_requires_login(client, enrolled):
    url = reverse("students:detail", args=[enrolled.pk])
    assert client.get(url)["Location"].startswith(reverse("login"))


def test_student_page_is_404_outside_scope(
    client_for, outsider, outsider_reviewer, class_teacher, enrolled, other_class_student
):
    url = reverse("students:detail", args=[enrolled.pk])
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider_reviewer).get(url).status_code == 404
    other = reverse("students:detail", args=[other_class_student.pk])
    assert client_for(class_teacher).get(other).status_code == 404


def test_student_page_shows_the_record_and_logs_the_view(client_for, county_reviewer, enrolled):
    response = client_for(county_reviewer).get(reverse("students:detail", args=[enrolled.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert enrolled.id_number in page
    assert enrolled.number in page
    assert "张大明" in page  # the guardian
    assert "注册审核中 → 在校" in page
    viewed = AuditEvent.objects.get(action="students.student.viewed")
    assert (viewed.actor, viewed.object_id) == (county_reviewer, str(enrolled.pk))


def test_student_page_timeline_hides_view_logs(client_for, registrar, enrolled):
    client = client_for(registrar)
    client.get(reverse("students:detail", args=[enrolled.pk]))
    response = client.get(reverse("students:detail", args=[enrolled.pk]))
    assert all(entry.action != "students.student.viewed" for entry in response.context["timeline"])


def test_the_timeline_says_in_words_what_happened(client_for, registrar, enrolled):
    titles = [
        entry.title for entry in client_for(registrar).get(enrolled.get_absolute_url()).context["timeline"]
    ]
    assert "登记学籍信息" in titles
    assert "登记家庭成员 张大明（父亲）" in titles
    assert not [title for title in titles if title in ("新建", "修改") or title.startswith("监护人：")]


def test_record_card_prints_and_is_logged(client_for, registrar, enrolled, outsider):
    url = reverse("students:card", args=[enrolled.pk])
    assert client_for(outsider).get(url).status_code == 404
    response = client_for(registrar).get(url)
    assert response.status_code == 200
    assert "学籍卡" in response.content.decode()
    assert AuditEvent.objects.filter(action="students.student.printed").count() == 1


def test_roster_print_is_masked_and_scoped(client_for, registrar, outsider, enrolled):
    page = client_for(registrar).get(reverse("students:roster_print")).content.decode()
    assert "张小明" in page and enrolled.id_number not in page
    assert "张小明" not in client_for(outsider).get(reverse("students:roster_print")).content.decode()


def test_photo_is_404_without_one_and_outside_scope(client_for, registrar, outsider, enrolled):
    url = reverse("students:photo", args=[enrolled.pk])
    assert client_for(registrar).get(url).status_code == 404
    assert client_for(outsider).get(url).status_code == 404


def test_roster_offers_export_of_the_current_filter(client_for, registrar, enrolled):
    page = client_for(registrar).get(reverse("students:roster"), {"q": "张"}).content.decode()
    assert reverse("students:roster_export") + "?q=" in page
    assert reverse("students:roster_imports") in page


def test_an_inactive_or_unplaced_user_sees_no_student(registrar, enrolled):
    from registrar.models import User
    from students.models import Student

    nobody = User.objects.create_user("nobody", password="pw")
    assert not Student.objects.visible_to(nobody).exists()
    registrar.is_active = False
    assert not Student.objects.visible_to(registrar).exists()


def test_the_dashboard_counts_students_by_status(client_for, registrar, county_reviewer, enrolled, pending):
    for user in (registrar, county_reviewer):
        page = client_for(user).get(reverse("registrar:dashboard")).content.decode()
        assert "学生学籍状态" in page
        assert f'href="{reverse("students:roster")}?status=enrolled">在校</a></dt><dd>1</dd>' in page


def test_the_class_choice_follows_the_grade_and_the_class_teacher(
    client_for, registrar, class_teacher, school
):
    create_class(school.grades.get(level=2), by=None, name="1班")
    client = client_for(registrar)
    every = client.get(reverse("students:roster")).context["form"].fields["school_class"].queryset
    second = client.get(reverse("students:roster"), {"grade": 2}).context["form"].fields["school_class"]
    assert every.count() == 2 and [c.grade.level for c in second.queryset] == [2]
    mine = client_for(class_teacher).get(reverse("students:roster")).context["form"].fields["school_class"]
    assert list(mine.queryset) == list(class_teacher.classes.all())


def test_the_roster_reads_classes_and_class_numbers_as_numbers(client_for, registrar, school):
    grade = school.grades.get(level=3)
    names = []
    for class_name, class_number, name in [("10班", "1", "甲"), ("2班", "10", "乙"), ("2班", "9", "丙")]:
        school_class = create_class(grade, by=None, name=class_name) if class_name not in names else None
        names.append(class_name)
        school_class = school_class or grade.classes.get(name=class_name)
        student = register(registrar, school_class, name=name, sequence=len(names), class_number=class_number)
        register_student(student, by=registrar)
    response = client_for(registrar).get(reverse("students:roster"), {"grade": 3, "per": 25})
    assert [student.name for student in response.context["page"].object_list] == ["丙", "乙", "甲"]
    assert response.context["page"].paginator.per_page == 25


def test_a_schools_roster_sorts_by_a_column_both_ways(client_for, registrar, school):
    grade = school.grades.get(level=3)
    school_class = create_class(grade, by=None, name="1班")
    for sequence, (name, pinyin) in enumerate([("乙", "YI"), ("甲", "JIA"), ("丙", "BING")], start=1):
        student = register(registrar, school_class, name=name, sequence=sequence, name_pinyin=pinyin)
        register_student(student, by=registrar)
    client = client_for(registrar)
    names = lambda response: [student.name for student in response.context["page"].object_list]  # noqa: E731
    by_number = client.get(reverse("students:roster"), {"sort": "number"})
    numbers = [student.number for student in by_number.context["page"].object_list]
    assert numbers == sorted(numbers)
    page = by_number.content.decode()
    assert 'aria-sort="ascending"' in page and "sort=-number" in page
    downwards = client.get(reverse("students:roster"), {"sort": "-number"})
    assert [student.number for student in downwards.context["page"].object_list] == sorted(numbers)[::-1]
    assert names(client.get(reverse("students:roster"), {"sort": "name"})) == ["丙", "甲", "乙"]
    # Anything else is ignored, and the default order (class, 班内学号, pinyin) stays.
    assert client.get(reverse("students:roster"), {"sort": "id_number"}).status_code == 200


def test_across_schools_the_roster_keeps_its_order_and_says_how_to_sort(client_for, county_reviewer):
    page = client_for(county_reviewer).get(reverse("students:roster"), {"sort": "name"}).content.decode()
    assert 'class="sort"' not in page and "Choose a school" not in page and "选择学校" in page


@pytest.mark.parametrize("sort", ["", "name", "-birth", "-grade"])
def test_roster_pages_read_in_two_steps_are_the_plain_pages(registrar, school, school_class, sort):
    """RosterPaginator reads a page's ids in the roster's order, then the rows: the same students in
    the same order as Django's paginator slicing the ordered roster, on every page."""
    from django.core.paginator import Paginator

    from students.filters import RosterFilterForm, RosterPaginator, roster_queryset

    other_class = create_class(school.grades.get(level=1), by=None, name="10班")
    for sequence, given in enumerate("一二三四五六七八九十甲", start=1):
        chosen = other_class if sequence % 3 else school_class
        register(registrar, chosen, name=f"刘{given}", sequence=sequence)
    form = RosterFilterForm({"sort": sort} if sort else None, user=registrar)
    students = form.filter(roster_queryset(registrar))
    plain = Paginator(students, 4)
    paged = RosterPaginator(students, 4, counts=form.counts(), by_school=form.school is None)
    assert paged.count == plain.count == 11
    for number in plain.page_range:
        assert [s.pk for s in paged.page(number)] == [s.pk for s in plain.page(number)], number
    assert next(iter(paged.page(1))).school_class.grade.school == school
