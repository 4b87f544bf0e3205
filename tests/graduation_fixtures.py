"""Fixtures of the graduation tests, loaded with `pytest_plugins = ["tests.graduation_fixtures"]`.

第六中学 (a 完全中学 of 江岸区, 6-3-3) has a senior year 3 class (高三1班) with graduating students;
育才小学 a grade 6 class. The senior chain is principal → city (武汉市)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from registrar.choices import Role
from tests.conftest import make_user
from tests.graduation_helpers import class_of, graduate_candidate, load_results, senior_results

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The graduation season: after the freeze (31 May), before the deadline (15 June).
SEASON = datetime(2026, 6, 5, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def season():
    with time_machine.travel(SEASON, tick=False):
        yield


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


@pytest.fixture
def loaded(high_school, hs_registrar, seniors):
    """Results loaded: 赵一甲 and 钱二乙 eligible, 孙三丙 with 120 credits."""
    rows = senior_results(seniors[:2]) + senior_results(seniors[2:], credits=120)[1:]
    load_results(high_school, rows, by=hs_registrar)
    return seniors
