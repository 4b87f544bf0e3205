"""Reference data through the administration as xlsx (django-import-export): the organisation tree,
holidays, business calendars and the rule table go out and come back in with a preview, only for
superusers and province administrators, and only within a province administrator's province."""

import io

import pytest
import tablib
from django.contrib.auth.models import Permission
from django.urls import reverse
from openpyxl import load_workbook

from registrar.choices import Role
from registrar.models import AuditEvent, BusinessCalendar, Holiday, Organisation, User
from registrar.resources import (
    BusinessCalendarResource,
    HolidayResource,
    OrganisationResource,
    is_reference_admin,
)
from rules.models import Rule
from rules.resources import RuleResource
from tests.conftest import make_user
from tests.rules_helpers import set_rule


@pytest.fixture
def province_staff(tree):
    user = make_user("province_staff", tree["420000"], [Role.PROVINCE_ADMIN], is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_rule", "view_organisation"]))
    return user


@pytest.fixture
def neighbour(tree):
    """Another province, whose administrator starts from 湖北's rules."""
    node = Organisation(code="430000", name="湖南省", kind="province")
    node.path = node.compute_path()
    node.save()
    return node


def imported(resource, rows, headers, user, *, dry_run=False):
    dataset = tablib.Dataset(*rows, headers=headers)
    return resource.import_data(dataset, dry_run=dry_run, user=user)


def test_a_province_copies_its_rules_to_a_neighbour(tree, neighbour, superuser_for_import):
    set_rule(tree["420000"], "initiator", "*", "current")
    set_rule(tree["420000"], "kinds", "repeat", "junior, senior")
    exported = RuleResource().export()
    rows = [("430000", *row[1:]) for row in exported]
    preview = imported(RuleResource(), rows, exported.headers, superuser_for_import, dry_run=True)
    assert not preview.has_errors() and not preview.has_validation_errors()
    assert not Rule.objects.filter(node=neighbour).exists()
    result = imported(RuleResource(), rows, exported.headers, superuser_for_import)
    assert not result.has_errors()
    assert dict(Rule.objects.filter(node=neighbour).values_list("key", "value")) == {
        "*": "current",
        "repeat": "junior, senior",
    }
    # Audited like a change on the page.
    assert AuditEvent.objects.filter(action="rules.rule.changed", node=neighbour).count() == 2


@pytest.fixture
def superuser_for_import(db):
    return User.objects.create_superuser("root", "root@example.org", "pw")


def test_a_rule_that_does_not_read_is_an_error_of_its_row(province_staff):
    result = imported(
        RuleResource(),
        [("420000", "initiator", "*", "nobody")],
        ["node", "topic", "key", "value"],
        province_staff,
    )
    assert result.has_validation_errors()
    assert not Rule.objects.exists()


def test_a_province_administrator_imports_only_into_their_province(province_staff, neighbour):
    result = imported(
        RuleResource(),
        [("430000", "initiator", "*", "current")],
        ["node", "topic", "key", "value"],
        province_staff,
    )
    assert result.has_validation_errors()
    result = imported(
        OrganisationResource(),
        [("430100", "长沙市", "city", "430000", "[]", "")],
        ["code", "name", "kind", "parent", "stages", "school_system"],
        province_staff,
    )
    assert result.has_validation_errors()
    assert not Organisation.objects.filter(code="430100").exists()


def test_the_organisation_tree_comes_in_with_its_paths(province_staff, tree):
    result = imported(
        OrganisationResource(),
        [("420103", "江汉区", "county", "420100", "[]", "")],
        ["code", "name", "kind", "parent", "stages", "school_system"],
        province_staff,
    )
    assert not result.has_errors() and not result.has_validation_errors()
    assert Organisation.objects.get(code="420103").path == "420000/420100/420103/"


def test_holidays_and_calendars(province_staff, superuser_for_import, tree):
    refused = imported(
        HolidayResource(), [("2026-10-01", "国庆节", "0")], ["date", "name", "is_workday"], province_staff
    )
    assert refused.has_errors() and not Holiday.objects.exists()
    imported(
        HolidayResource(),
        [("2026-10-01", "国庆节", "0")],
        ["date", "name", "is_workday"],
        superuser_for_import,
    )
    assert Holiday.objects.get().name == "国庆节"
    BusinessCalendar.objects.create(province=tree["420000"], transfer_windows="02-01..02-28")
    exported = BusinessCalendarResource().export()
    assert exported.dict[0]["province"] == "420000"


def test_only_superusers_and_province_administrators(tree, county_reviewer, province_staff):
    assert is_reference_admin(province_staff)
    assert not is_reference_admin(county_reviewer)


def test_the_admin_exports_the_rule_table_as_xlsx(client_for, province_staff, tree):
    set_rule(tree["420000"], "initiator", "*", "either")
    client = client_for(province_staff)
    page = client.get(reverse("admin:rules_rule_changelist"))
    assert reverse("admin:rules_rule_export") in page.content.decode()
    response = client.post(
        reverse("admin:rules_rule_export"),
        {
            "format": "0",
            "resource": "0",
            **{f"ruleresource_{name}": "on" for name in ("node", "topic", "key", "value")},
        },
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [cell.value for cell in sheet[2]] == ["420000", "initiator", "*", "either"]
