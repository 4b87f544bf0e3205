import pytest
from django.core.exceptions import ValidationError

from registrar.choices import Role
from registrar.models import Grade, Organisation, SchoolClass, User
from tests.conftest import make_user


@pytest.mark.parametrize(
    ("stages", "system", "levels"),
    [
        (["primary"], "6-3-3", [1, 2, 3, 4, 5, 6]),
        (["primary"], "5-4-3", [1, 2, 3, 4, 5]),
        (["junior"], "5-4", [6, 7, 8, 9]),
        (["junior"], "", [7, 8, 9]),
        (["nine_year"], "6-3", list(range(1, 10))),
        (["complete"], "6-3-3", list(range(7, 13))),
        (["twelve_year"], "6-3-3", list(range(1, 13))),
        (["senior"], "3", [10, 11, 12]),
        (["vocational"], "3", [10, 11, 12]),
        (["special"], "9", list(range(1, 10))),
    ],
)
def test_grade_levels_follow_stages_and_school_system(stages, system, levels):
    school = Organisation(code="1420102001", kind="school", stages=stages, school_system=system)
    assert school.grade_levels() == levels


def test_grade_names_read_as_schools_write_them(tree):
    complete = tree["1420102004"]
    names = [grade.name for grade in Grade.objects.filter(school=complete)]
    assert names == ["七年级", "八年级", "九年级", "高一", "高二", "高三"]


def test_class_capacity_defaults_by_stage(school, tree):
    from registrar.services import create_class

    primary = create_class(school.grades.get(level=1), by=None, name="1班")
    senior = create_class(tree["1420102004"].grades.get(level=10), by=None, name="1班")
    assert (primary.capacity, senior.capacity) == (45, 50)


def test_a_role_must_fit_its_node(tree):
    user = User(username="x", node=tree["420102"], roles=[Role.SCHOOL_REGISTRAR])
    with pytest.raises(ValidationError):
        user.full_clean()


def test_a_node_code_must_have_the_right_length(tree):
    node = Organisation(code="4201", name="x", kind="county", parent=tree["420100"])
    with pytest.raises(ValidationError):
        node.full_clean()


def test_visible_to_keeps_each_user_in_its_subtree(tree, school, other_school, school_class):
    registrar = make_user("r", school, [Role.SCHOOL_REGISTRAR])
    county = make_user("c", tree["420102"], [Role.COUNTY_REVIEWER])
    city = make_user("y", tree["420500"], [Role.CITY_REVIEWER])
    province = make_user("p", tree["420000"], [Role.PROVINCE_ADMIN])
    nobody = User.objects.create_user("n", password="pw")

    def codes(user):
        return set(Organisation.objects.visible_to(user).values_list("code", flat=True))

    assert codes(registrar) == {"1420102001"}
    assert codes(county) == {"420102", "1420102001", "1420102004"}
    assert codes(city) == {"420500", "420506", "1420506003"}
    assert codes(province) == set(tree)
    assert codes(nobody) == set()
    assert SchoolClass.objects.visible_to(registrar).get() == school_class
    assert not SchoolClass.objects.visible_to(city).exists()
    assert set(User.objects.visible_to(county)) == {registrar, county}
