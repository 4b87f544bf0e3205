"""Fixtures of the 学籍异动 tests, loaded with `pytest_plugins = ["tests.transfer_fixtures"]`."""

from datetime import date

import pytest

from registrar.choices import Role
from registrar.models import Organisation
from registrar.orgimport import import_organisations, parse_rows
from tests.conftest import make_user, raw_rows
from tests.transfer_helpers import MORE_TREE, class_of, enrolled, reload, run_chain, submitted
from transfers.models import Kind


@pytest.fixture
def more_tree(tree):
    import_organisations(parse_rows(raw_rows(MORE_TREE)))
    return {node.code: node for node in Organisation.objects.all()}


@pytest.fixture
def first_class(school):
    return class_of(school, 1)


@pytest.fixture
def student(first_class):
    return enrolled(first_class)


@pytest.fixture
def huaqiao(more_tree):
    return more_tree["1420102002"]


@pytest.fixture
def huaqiao_registrar(huaqiao):
    return make_user("huaqiao", huaqiao, [Role.SCHOOL_REGISTRAR])


@pytest.fixture
def pupil_at_huaqiao(huaqiao):
    return enrolled(class_of(huaqiao, 3), name="李小红")


@pytest.fixture
def third_class(school):
    return class_of(school, 3)


@pytest.fixture
def suspended(registrar, principal, county_reviewer, student):
    """The student suspended (for illness) until the end of 2026."""
    change = submitted(Kind.SUSPENSION, registrar, student, ends_on=date(2026, 12, 31))
    run_chain(change, [principal, county_reviewer])
    return reload(student)
