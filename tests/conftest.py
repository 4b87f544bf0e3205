"""Personas and a small tree shared by the tests.

Tree: 湖北省 › 武汉市 › 江岸区 › 育才小学 (our school) and 第六中学; 宜昌市 › 夷陵区 › 实验学校 (the
outsiders' school). Everything is built through the real services.
"""

import os

import pytest

# Playwright's sync API keeps an event loop running in the test thread once a browser test has
# started; the ORM calls of the tests that follow are synchronous all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from registrar.choices import Role
from registrar.kinds import KINDS, register_kind, unregister_kind
from registrar.models import Organisation, User
from registrar.orgimport import import_organisations, parse_rows
from registrar.services import create_class
from tests.approval_kinds import TEST_KINDS

TREE = [
    ("420000", "湖北省", "省", "", "", ""),
    ("420100", "武汉市", "市", "420000", "", ""),
    ("420102", "江岸区", "区", "420100", "", ""),
    ("1420102001", "育才小学", "学校", "420102", "小学", "6-3-3"),
    ("1420102004", "第六中学", "学校", "420102", "完全中学", "6-3-3"),
    ("420500", "宜昌市", "市", "420000", "", ""),
    ("420506", "夷陵区", "区", "420500", "", ""),
    ("1420506003", "夷陵区实验学校", "学校", "420506", "九年一贯制", "6-3"),
]
HEADER = ("code", "name", "kind", "parent", "stages", "school_system")


def raw_rows(rows):
    return [dict(zip(HEADER, row, strict=True), number=number) for number, row in enumerate(rows, start=2)]


@pytest.fixture
def tree(db):
    import_organisations(parse_rows(raw_rows(TREE)))
    return {node.code: node for node in Organisation.objects.all()}


@pytest.fixture
def school(tree):
    return tree["1420102001"]


@pytest.fixture
def other_school(tree):
    return tree["1420506003"]


@pytest.fixture
def school_class(school):
    return create_class(school.grades.get(level=1), by=None, name="1班")


def make_user(username, node, roles, **extra):
    user = User(
        username=username, full_name=username, node=node, roles=[str(role) for role in roles], **extra
    )
    user.set_password("pw")
    user.full_clean()
    user.save()
    return user


@pytest.fixture
def registrar(school):
    return make_user("registrar", school, [Role.SCHOOL_REGISTRAR])


@pytest.fixture
def principal(school):
    return make_user("principal", school, [Role.PRINCIPAL])


@pytest.fixture
def class_teacher(school, school_class):
    user = make_user("teacher", school, [Role.CLASS_TEACHER])
    user.classes.add(school_class)
    return user


@pytest.fixture
def county_reviewer(tree):
    return make_user("county", tree["420102"], [Role.COUNTY_REVIEWER])


@pytest.fixture
def city_reviewer(tree):
    return make_user("city", tree["420100"], [Role.CITY_REVIEWER])


@pytest.fixture
def province_admin(tree):
    return make_user("province", tree["420000"], [Role.PROVINCE_ADMIN])


@pytest.fixture
def outsider(other_school):
    """The registrar of a school in another city: sees nothing of ours."""
    return make_user("outsider", other_school, [Role.SCHOOL_REGISTRAR])


@pytest.fixture
def outsider_reviewer(tree):
    return make_user("outsider_county", tree["420506"], [Role.COUNTY_REVIEWER])


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def register_test_kind():
    """Register an approval kind for one test; the registry is as it was afterwards."""
    registered = []

    def register(kind):
        registered.append((kind.name, KINDS.get(kind.name)))
        return register_kind(kind)

    yield register
    for name, previous in reversed(registered):
        if previous is None:
            unregister_kind(name)
        else:
            KINDS[name] = previous


@pytest.fixture
def test_kinds(register_test_kind):
    """The engine's test kinds (tests/approval_kinds.py), for the tests that use them."""
    for kind in TEST_KINDS:
        register_test_kind(kind)


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's, and before it drops the test database, the end of any session still connected
    to it. Once a browser test has run, Playwright's sync API leaves the tests that follow in a copy
    of the test thread's context, where Django opens connections of its own; the session's teardown,
    back in the first context, cannot close the last of them, and PostgreSQL refused to drop a
    database in use ("being accessed by other users")."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _language_back_to_chinese():
    """A test that switches a page to English leaves the next test in the default language."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
