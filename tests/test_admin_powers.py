"""The administration grants no power (issue #12, item 2): staff who are not superusers cannot make
anyone a superuser or staff, hand out groups or permissions, move themselves up the tree, or pick a
node, class or anything else outside their subtree."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from registrar.choices import Role
from registrar.models import Organisation, User
from tests.admin_helpers import form_data
from tests.conftest import make_user


@pytest.fixture
def county_admin(tree):
    """A county reviewer who was given the administration's user permissions."""
    user = make_user("county_admin", tree["420102"], [Role.COUNTY_REVIEWER], is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user", "add_user", "view_organisation"])
    )
    return user


def user_url(user):
    return reverse("admin:registrar_user_change", args=[user.pk])


def test_staff_cannot_make_themselves_superuser_or_move_up_the_tree(client_for, county_admin, tree):
    client = client_for(county_admin)
    data = form_data(client.get(user_url(county_admin)))
    for field in ("is_superuser", "is_staff", "groups", "user_permissions", "node", "roles"):
        assert field not in data
    data.update(
        is_superuser="on",
        is_staff="on",
        node=str(tree["420000"].pk),
        roles=Role.PROVINCE_ADMIN,
        full_name="县管理员",
    )

    response = client.post(user_url(county_admin), data)

    assert response.status_code == 302
    county_admin.refresh_from_db()
    assert not county_admin.is_superuser
    assert (county_admin.node, county_admin.roles, county_admin.full_name) == (
        tree["420102"],
        [Role.COUNTY_REVIEWER],
        "县管理员",
    )


def test_staff_cannot_grant_power_to_others(client_for, county_admin, registrar):
    client = client_for(county_admin)
    data = form_data(client.get(user_url(registrar)))
    assert "is_superuser" not in data and "user_permissions" not in data
    data.update(is_superuser="on", is_staff="on", user_permissions=[str(Permission.objects.first().pk)])

    client.post(user_url(registrar), data)

    registrar.refresh_from_db()
    assert not registrar.is_superuser and not registrar.is_staff
    assert not registrar.user_permissions.exists()


def test_a_node_outside_the_subtree_is_refused(client_for, county_admin, registrar, tree):
    client = client_for(county_admin)
    page = client.get(user_url(registrar))
    nodes = page.context["adminform"].form.fields["node"].queryset
    assert set(nodes.values_list("code", flat=True)) == {"420102", "1420102001", "1420102004"}
    data = form_data(page)
    data["node"] = str(tree["420500"].pk)

    response = client.post(user_url(registrar), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["node"]
    assert User.objects.get(pk=registrar.pk).node == registrar.node


def test_the_choices_of_every_admin_form_keep_to_the_subtree(client_for, county_admin, tree):
    county_admin.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_schoolclass", "view_grade"])
    )
    page = client_for(county_admin).get(reverse("admin:registrar_schoolclass_add"))
    grades = page.context["adminform"].form.fields["grade"].queryset
    assert grades.exists()
    assert {grade.school.path.startswith(tree["420102"].path) for grade in grades} == {True}


def test_a_superuser_still_grants_what_the_offices_need(client_for, registrar, tree):
    root = User.objects.create_superuser("root", password="pw")
    client = client_for(root)
    data = form_data(client.get(user_url(registrar)))
    data.update(is_staff="on", node=str(Organisation.objects.get(code="1420102004").pk))

    response = client.post(user_url(registrar), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    registrar.refresh_from_db()
    assert registrar.is_staff and registrar.node.code == "1420102004"
