"""Fixtures of the graduation tests, loaded with `pytest_plugins = ["tests.graduation_fixtures"]`.

第六中学 (a 完全中学 of 江岸区, 6-3-3) has a senior year 3 class (高三1班) with graduating students;
育才小学 a grade 6 class. The senior chain is principal → city (武汉市)."""

import pytest

from registrar.choices import Role
from tests.conftest import make_user
from tests.graduation_helpers import class_of, graduate_candidate


@pytest.fixture
def high_school(tree):
    return tree["1420102004"]


@pytest.fixture
def senior_class(high_school):
    return class_of(high_school, 12)


@pytest.fixture
def hs_registrar(high_school):
    return make_user("hs_registrar", high_school, [Role.SCHOOL_REGISTRAR])


@pytest.fixture
def hs_principal(high_school):
    return make_user("hs_principal", high_school, [Role.PRINCIPAL])


@pytest.fixture
def seniors(senior_class, hs_registrar):
    """Three students of 高三1班: 甲 and 乙 will be eligible, 丙 short of credits."""
    return [
        graduate_candidate(senior_class, name=name, registrar=hs_registrar)
        for name in ("赵一甲", "钱二乙", "孙三丙")
    ]


@pytest.fixture
def sixth_class(school):
    return class_of(school, 6)
