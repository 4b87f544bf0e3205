"""The permission matrix: every URL of the project × every persona and anonymous × GET and POST.

The URLs are read from the resolver, so a new URL without an entry in MATRIX fails
`test_every_url_has_an_entry`. Each entry names the personas that may use the URL by GET and by
POST (None: the method is not allowed at all, 405). For each URL and method one test runs every
persona, in and out of scope, each in a transaction rolled back afterwards:

- allowed personas succeed: 200, or a redirect that is not to the login page;
- anonymous is sent to the login page; any other persona gets 403, 404 or 405, the database is
  exactly as before (every row of every table but the sessions), and a persona outside our county
  finds nothing of our students in the page.

The world (the tree, the personas, a student of every kind of case) is built once for the module,
through the same services as the other tests, inside a transaction rolled back at the end.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from corrections.rules import EvidenceKind
from problems import services as problem_services
from problems.models import DetectionRun, Method
from problems.services import detect_problems
from registrar.choices import Role
from registrar.models import Organisation
from registrar.orgimport import import_organisations, parse_rows
from registrar.services import create_class
from registrar.uploads import clean_photo
from schoolyear.models import PromotionRun
from schoolyear.promotion import execute_run
from students import services as student_services
from students.models import ProblemKind, ProblemRecord, Status, Student
from students.registration import submit_for_review
from students.roster import batches, export_jobs
from tests.conftest import TREE, make_user, raw_rows
from tests.correction_helpers import attach, ethnicity_change
from tests.graduation_helpers import graduation_world
from tests.intake_helpers import intake_world
from tests.roster_helpers import pupil, write_file
from tests.student_helpers import register
from tests.transfer_helpers import enrolled, png, started
from tests.verification_helpers import open_for, upload_all
from transfers import services as transfer_services
from transfers.models import EvidenceType, Kind

NOW = datetime(2025, 10, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

# Not in the matrix, on purpose:
EXCLUDED_NAMESPACES = {
    # Django's admin has its own permission system (is_staff, model permissions), tested in the admin's tests.
    "admin",
}
EXCLUDED_NAMES = {
    # The language switch at the foot of every page: open to anyone, it only sets a cookie.
    "set_language",
}

ANONYMOUS = "anonymous"
IN_SCOPE = ("registrar", "principal", "class_teacher", "county_reviewer", "city_reviewer", "province_admin")
# The registrar of a school in another city, and the reviewer of another county.
OUTSIDERS = ("outsider", "outsider_reviewer")
PERSONAS = (ANONYMOUS, *IN_SCOPE, *OUTSIDERS)

EVERYONE = frozenset(PERSONAS)
LOGGED_IN = frozenset(IN_SCOPE + OUTSIDERS)
IN = frozenset(IN_SCOPE)
# What a class teacher may not see: approvals and the requests built on them.
REVIEWING = IN - {"class_teacher"}
REGISTRAR = frozenset({"registrar"})
# Pages about "my own school": every registrar, ours and the outsider.
ANY_REGISTRAR = frozenset({"registrar", "outsider"})
# A school's office (registrar and principal), ours or another.
SCHOOL_OFFICE = frozenset({"registrar", "principal", "outsider"})
# A draft (the world's status change and correction are drafts) is its school's own until it is
# submitted: the bureaus above do not see it.
OWN_SCHOOL = frozenset({"registrar", "principal"})
# The reviewers above the schools, ours or another county's.
ABOVE_SCHOOLS = frozenset({"county_reviewer", "city_reviewer", "province_admin", "outsider_reviewer"})
STAFF_BUT_TEACHERS = LOGGED_IN - {"class_teacher"}
ROSTER_FILES = frozenset({"registrar", "county_reviewer", "city_reviewer", "province_admin"})
OUTSIDERS_SET = frozenset(OUTSIDERS)
# Reports of our school: its office and the reviewers above it (reports/access.py).
REPORTERS = REVIEWING
# The queue board: reviewers above the schools, of our county, city and province.
OVERSEERS = frozenset({"county_reviewer", "city_reviewer", "province_admin"})
NOBODY = frozenset()
# Window exceptions: the reviewers of a county, ours or another.
COUNTY_REVIEWERS = frozenset({"county_reviewer", "outsider_reviewer"})
# Campaigns are opened by county and city reviewers (another county's for its own schools).
CAMPAIGN_OPENERS = frozenset({"county_reviewer", "city_reviewer", "outsider_reviewer"})
SCHOOL_STAFF = frozenset({"registrar", "principal", "class_teacher"})
CLASS_TEACHER = frozenset({"class_teacher"})
EXPORTER = frozenset({"county_reviewer"})


@dataclass(frozen=True)
class Entry:
    args: tuple = ()
    get: frozenset | None = NOBODY
    post: frozenset | None = NOBODY


def url_args(*names):
    """The reverse() arguments, as names of the world's objects."""
    return tuple(names)


MATRIX = {
    # registrar: the dashboard, the tree, classes, approvals
    "registrar:dashboard": Entry(get=LOGGED_IN, post=LOGGED_IN),
    "registrar:node": Entry(url_args("school_code"), get=IN, post=IN),
    "registrar:node_history": Entry(url_args("school_code"), get=IN, post=IN),
    "registrar:sync_grades": Entry(url_args("school_code"), get=REGISTRAR, post=REGISTRAR),
    "registrar:class_create": Entry(url_args("school_code"), get=REGISTRAR, post=REGISTRAR),
    "registrar:class_edit": Entry(url_args("class_pk"), get=REGISTRAR, post=REGISTRAR),
    "registrar:class_history": Entry(url_args("class_pk"), get=IN, post=IN),
    "registrar:approvals": Entry(get=LOGGED_IN, post=LOGGED_IN),
    "registrar:approvals_overdue": Entry(get=ABOVE_SCHOOLS, post=None),
    "registrar:approval": Entry(url_args("approval_pk"), get=REVIEWING, post=None),
    "registrar:approval_decide": Entry(url_args("approval_pk"), get=None, post=REVIEWING),
    # students: the roster, the record, registration
    "students:roster": Entry(get=LOGGED_IN, post=LOGGED_IN),
    "students:roster_print": Entry(get=LOGGED_IN, post=LOGGED_IN),
    "students:detail": Entry(url_args("student_pk"), get=IN, post=IN),
    "students:card": Entry(url_args("student_pk"), get=IN, post=IN),
    "students:photo": Entry(url_args("student_pk"), get=IN, post=IN),
    "students:photo_upload": Entry(url_args("student_pk"), get=REGISTRAR, post=REGISTRAR),
    "students:edit": Entry(url_args("student_pk"), get=REGISTRAR, post=REGISTRAR),
    "students:create": Entry(get=ANY_REGISTRAR, post=ANY_REGISTRAR),
    "students:registration": Entry(url_args("approval_pk"), get=REVIEWING, post=REVIEWING),
    # Only the holder of the registration's current step (its principal) takes a student out.
    "students:registration_take_out": Entry(
        url_args("approval_pk", "in_review_pk"), get=None, post=frozenset({"principal"})
    ),
    "students:submit_registration": Entry(url_args("student_pk"), get=None, post=REGISTRAR),
    # students: roster files
    # Roster files hold full ID numbers: for registrars and the bureaus, not principals or class
    # teachers (issue 12, item 4); the list is of the user's own node, so outsiders see theirs.
    "students:roster_imports": Entry(get=ROSTER_FILES | OUTSIDERS_SET, post=ROSTER_FILES | OUTSIDERS_SET),
    "students:roster_template": Entry(get=LOGGED_IN, post=LOGGED_IN),
    "students:roster_export": Entry(get=LOGGED_IN, post=LOGGED_IN),
    # A background export is its creator's alone (the world's is the county reviewer's).
    "students:roster_export_job": Entry(url_args("export_pk"), get=EXPORTER, post=EXPORTER),
    "students:roster_export_progress": Entry(url_args("export_pk"), get=EXPORTER, post=EXPORTER),
    "students:roster_export_download": Entry(url_args("export_pk"), get=EXPORTER, post=EXPORTER),
    "students:roster_upload": Entry(url_args("school_code"), get=REGISTRAR, post=REGISTRAR),
    "students:roster_batch": Entry(url_args("batch_pk"), get=ROSTER_FILES, post=ROSTER_FILES),
    "students:roster_confirm": Entry(url_args("batch_pk"), get=None, post=REGISTRAR),
    "students:roster_progress": Entry(url_args("batch_pk"), get=ROSTER_FILES, post=ROSTER_FILES),
    "students:roster_errors": Entry(url_args("batch_pk"), get=ROSTER_FILES, post=ROSTER_FILES),
    # transfers: 学籍异动
    "transfers:list": Entry(get=STAFF_BUT_TEACHERS, post=None),
    "transfers:start": Entry(get=ANY_REGISTRAR, post=None),
    "transfers:start_transfer": Entry(get=ANY_REGISTRAR, post=ANY_REGISTRAR),
    "transfers:start_transfer_by_current": Entry(get=ANY_REGISTRAR, post=ANY_REGISTRAR),
    "transfers:start_transfer_in": Entry(get=ANY_REGISTRAR, post=ANY_REGISTRAR),
    "transfers:start_kind": Entry(url_args("kind"), get=ANY_REGISTRAR, post=ANY_REGISTRAR),
    "transfers:suspensions": Entry(get=SCHOOL_OFFICE, post=None),
    "transfers:detail": Entry(url_args("change_pk"), get=OWN_SCHOOL, post=None),
    "transfers:edit": Entry(url_args("change_pk"), get=REGISTRAR, post=REGISTRAR),
    "transfers:submit": Entry(url_args("change_pk"), get=None, post=REGISTRAR),
    "transfers:withdraw": Entry(url_args("change_pk"), get=REGISTRAR, post=REGISTRAR),
    "transfers:print": Entry(url_args("change_pk"), get=OWN_SCHOOL, post=None),
    "transfers:student_photo": Entry(url_args("change_pk"), get=OWN_SCHOOL, post=None),
    "transfers:evidence_add": Entry(url_args("change_pk"), get=None, post=REGISTRAR),
    "transfers:evidence": Entry(url_args("transfer_evidence_pk"), get=OWN_SCHOOL, post=None),
    "transfers:evidence_delete": Entry(url_args("transfer_evidence_pk"), get=None, post=REGISTRAR),
    # corrections: 关键数据变更
    "corrections:list": Entry(get=STAFF_BUT_TEACHERS, post=None),
    "corrections:review": Entry(get=LOGGED_IN, post=None),
    "corrections:packet": Entry(get=None, post=STAFF_BUT_TEACHERS),
    "corrections:create": Entry(url_args("student_pk"), get=REGISTRAR, post=REGISTRAR),
    "corrections:detail": Entry(url_args("correction_pk"), get=OWN_SCHOOL, post=None),
    "corrections:edit": Entry(url_args("correction_pk"), get=REGISTRAR, post=REGISTRAR),
    "corrections:withdraw": Entry(url_args("correction_pk"), get=REGISTRAR, post=REGISTRAR),
    "corrections:evidence_add": Entry(url_args("correction_pk"), get=None, post=REGISTRAR),
    "corrections:evidence_file": Entry(
        url_args("correction_pk", "correction_evidence_pk"), get=OWN_SCHOOL, post=None
    ),
    "corrections:evidence_delete": Entry(
        url_args("correction_pk", "correction_evidence_pk"), get=None, post=REGISTRAR
    ),
    # reports: statistics, 学籍异动 reports, the queue board (GET only; ?download=xlsx for Excel)
    "reports:index": Entry(get=STAFF_BUT_TEACHERS, post=None),
    "reports:students": Entry(url_args("school_code"), get=REPORTERS, post=None),
    "reports:students_grade": Entry(url_args("school_code", "grade_level"), get=REPORTERS, post=None),
    "reports:changes": Entry(url_args("school_code"), get=REPORTERS, post=None),
    "reports:change_list": Entry(url_args("school_code"), get=REPORTERS, post=None),
    "reports:queues": Entry(url_args("school_code"), get=OVERSEERS, post=None),
    # intake: 升学. The world's intake is 第六中学's: the bureaus above it see it, 育才小学 does not.
    "intake:home": Entry(get=STAFF_BUT_TEACHERS, post=None),
    "intake:find": Entry(get=ANY_REGISTRAR, post=ANY_REGISTRAR),
    "intake:admission_list": Entry(get=ANY_REGISTRAR, post=ANY_REGISTRAR),
    "intake:detail": Entry(url_args("intake_pk"), get=OVERSEERS, post=None),
    # graduation: 毕业
    "graduation:home": Entry(get=STAFF_BUT_TEACHERS, post=None),
    "graduation:template": Entry(url_args("school_code"), get=REGISTRAR, post=None),
    "graduation:results": Entry(url_args("school_code"), get=REGISTRAR, post=REGISTRAR),
    "graduation:import_errors": Entry(url_args("results_import_pk"), get=REGISTRAR, post=None),
    "graduation:audit": Entry(url_args("school_code"), get=REVIEWING, post=None),
    "graduation:audit_export": Entry(url_args("school_code"), get=REVIEWING, post=None),
    "graduation:propose": Entry(url_args("school_code"), get=None, post=REGISTRAR),
    "graduation:documents": Entry(url_args("school_code"), get=REVIEWING, post=None),
    "graduation:documents_export": Entry(url_args("school_code"), get=REVIEWING, post=None),
    # The world's list and case are drafts: the school's own until submitted.
    "graduation:list": Entry(url_args("graduation_list_pk"), get=OWN_SCHOOL, post=None),
    "graduation:list_entries": Entry(url_args("graduation_list_pk"), get=None, post=REGISTRAR),
    "graduation:list_add": Entry(url_args("graduation_list_pk"), get=None, post=REGISTRAR),
    "graduation:entry_delete": Entry(url_args("graduation_list_pk", "entry_pk"), get=None, post=REGISTRAR),
    # Only the reviewer of the current step takes a student out; the world's list is a draft.
    "graduation:entry_take_out": Entry(url_args("graduation_list_pk", "entry_pk"), get=None, post=NOBODY),
    "graduation:certificate": Entry(url_args("certificate_pk"), get=REVIEWING, post=None),
    "graduation:certificate_withhold": Entry(url_args("certificate_pk"), get=None, post=REGISTRAR),
    "graduation:certificate_release": Entry(url_args("certificate_pk"), get=None, post=REGISTRAR),
    "graduation:proof": Entry(
        url_args("certificate_pk"), get=frozenset({"registrar", "principal"}), post=None
    ),
    "graduation:case_start": Entry(url_args("certificate_pk", "case_kind"), get=None, post=REGISTRAR),
    "graduation:case": Entry(url_args("case_pk"), get=OWN_SCHOOL, post=None),
    # problems: 问题学籍 (the world's pair is in our county; its resolution is a draft)
    "problems:list": Entry(get=STAFF_BUT_TEACHERS, post=None),
    "problems:detect": Entry(get=None, post=ABOVE_SCHOOLS),
    "problems:run": Entry(url_args("run_pk"), get=OVERSEERS, post=None),
    "problems:detail": Entry(url_args("problem_pk"), get=REVIEWING, post=None),
    "problems:resolve": Entry(url_args("problem_pk"), get=None, post=REGISTRAR),
    "problems:arbitrate": Entry(url_args("problem_pk"), get=None, post=frozenset({"county_reviewer"})),
    "problems:resolution": Entry(url_args("resolution_pk"), get=OWN_SCHOOL, post=None),
    "problems:evidence_add": Entry(url_args("resolution_pk"), get=None, post=REGISTRAR),
    "problems:evidence_file": Entry(
        url_args("resolution_pk", "problem_evidence_pk"), get=OWN_SCHOOL, post=None
    ),
    "problems:evidence_delete": Entry(
        url_args("resolution_pk", "problem_evidence_pk"), get=None, post=REGISTRAR
    ),
    # rules: a province's rules, a county's delegated ones, window exceptions
    "rules:home": Entry(get=OVERSEERS | {"outsider_reviewer"}, post=None),
    "rules:node": Entry(url_args("county_code"), get=OVERSEERS, post=None),
    # Only the county's own reviewer writes the county's rows (of what the province delegates).
    "rules:set": Entry(url_args("county_code"), get=None, post=frozenset({"county_reviewer"})),
    "rules:delete": Entry(url_args("county_code"), get=None, post=frozenset({"county_reviewer"})),
    "rules:exceptions": Entry(get=COUNTY_REVIEWERS, post=COUNTY_REVIEWERS),
    # schoolyear: promotion, next year's classes, class teachers
    "schoolyear:home": Entry(get=STAFF_BUT_TEACHERS, post=None),
    "schoolyear:preview": Entry(url_args("school_code"), get=REVIEWING, post=None),
    # Only the province (or a county the province allows; the world's province does not) runs it.
    "schoolyear:run_start": Entry(url_args("school_code"), get=None, post=frozenset({"province_admin"})),
    "schoolyear:run": Entry(url_args("promotion_run_pk"), get=REVIEWING, post=None),
    "schoolyear:undo": Entry(
        url_args("promotion_run_pk"), get=frozenset({"province_admin"}), post=frozenset({"province_admin"})
    ),
    "schoolyear:mapping": Entry(url_args("school_code"), get=REGISTRAR, post=REGISTRAR),
    "schoolyear:classes": Entry(url_args("school_code"), get=REGISTRAR, post=REGISTRAR),
    "schoolyear:teachers": Entry(url_args("school_code"), get=REGISTRAR, post=REGISTRAR),
    # verification: 数据质量核查 and 人籍一致
    "verification:home": Entry(get=LOGGED_IN, post=None),
    "verification:open": Entry(get=CAMPAIGN_OPENERS, post=CAMPAIGN_OPENERS),
    "verification:campaign": Entry(url_args("campaign_pk"), get=IN, post=None),
    "verification:close": Entry(url_args("campaign_pk"), get=None, post=frozenset({"county_reviewer"})),
    "verification:class": Entry(url_args("campaign_pk", "class_pk"), get=IN, post=None),
    "verification:print": Entry(url_args("campaign_pk", "class_pk"), get=SCHOOL_STAFF, post=None),
    "verification:upload_bulk": Entry(url_args("campaign_pk", "class_pk"), get=None, post=REGISTRAR),
    "verification:confirm": Entry(url_args("campaign_pk", "class_pk"), get=None, post=REGISTRAR),
    "verification:upload": Entry(url_args("campaign_pk", "student_pk"), get=None, post=REGISTRAR),
    # Only the class teacher checks a form; everyone of ours may look at it.
    "verification:form": Entry(url_args("confirmation_form_pk"), get=IN, post=CLASS_TEACHER),
    "verification:scan": Entry(url_args("confirmation_form_pk"), get=IN, post=None),
    "verification:handle": Entry(url_args("confirmation_form_pk"), get=None, post=REGISTRAR),
    "verification:attendance": Entry(get=LOGGED_IN, post=None),
    "verification:attendance_class": Entry(url_args("class_pk"), get=CLASS_TEACHER, post=CLASS_TEACHER),
    # accounts
    "login": Entry(get=EVERYONE, post=EVERYONE),
    "logout": Entry(get=None, post=LOGGED_IN),
    "password_change": Entry(get=LOGGED_IN, post=LOGGED_IN),
    "password_change_done": Entry(get=LOGGED_IN, post=None),
}


def project_url_names(patterns=None, namespace=""):
    """namespace:name of every named URL pattern the resolver knows, but the excluded ones."""
    names = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in EXCLUDED_NAMESPACES:
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= project_url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"a URL without a name: {pattern.pattern}"
            if pattern.name not in EXCLUDED_NAMES:
                names.add(namespace + pattern.name)
    return names


def test_every_url_has_an_entry():
    names = project_url_names()
    assert sorted(names - set(MATRIX)) == [], "add these URLs to MATRIX"
    assert sorted(set(MATRIX) - names) == [], "these URLs are gone: remove them from MATRIX"


# --- the world ------------------------------------------------------------------------------------


def roster_file(tmp_path):
    """A roster with one good row and one without a name: checked, it has an error workbook."""
    path = write_file(tmp_path / "roster.xlsx", [pupil(1), pupil(2, 姓名="")])
    return SimpleUploadedFile("花名册.xlsx", Path(path).read_bytes())


def photo_upload():
    buffer = png("photo.png", size=(358, 441))
    return clean_photo(buffer)


def build_world(tmp_path):
    import_organisations(parse_rows(raw_rows(TREE)))
    nodes = {node.code: node for node in Organisation.objects.all()}
    school, other_school = nodes["1420102001"], nodes["1420506003"]
    school_class = create_class(school.grades.get(level=1), by=None, name="1班")
    users = {
        "registrar": make_user("registrar", school, [Role.SCHOOL_REGISTRAR]),
        "principal": make_user("principal", school, [Role.PRINCIPAL]),
        "class_teacher": make_user("teacher", school, [Role.CLASS_TEACHER]),
        "county_reviewer": make_user("county", nodes["420102"], [Role.COUNTY_REVIEWER]),
        "city_reviewer": make_user("city", nodes["420100"], [Role.CITY_REVIEWER]),
        "province_admin": make_user("province", nodes["420000"], [Role.PROVINCE_ADMIN]),
        "outsider": make_user("outsider", other_school, [Role.SCHOOL_REGISTRAR]),
        "outsider_reviewer": make_user("outsider_county", nodes["420506"], [Role.COUNTY_REVIEWER]),
    }
    users["class_teacher"].classes.add(school_class)
    registrar = users["registrar"]

    student = enrolled(school_class, name="范冰洁")
    student_services.set_photo(student, by=registrar, clean_file=photo_upload())
    in_review = register(registrar, school_class, name="陈审核", sequence=41)
    (registration,) = submit_for_review([in_review], by=registrar)
    change = started(Kind.SUSPENSION, registrar, student)
    transfer_evidence = transfer_services.add_evidence(
        change, by=registrar, uploaded_file=png(), kind=EvidenceType.APPLICATION
    )
    corrected = enrolled(school_class, name="林更正")
    correction = ethnicity_change(registrar, corrected)
    [correction_evidence] = attach(correction, registrar, EvidenceKind.ID_CARD)
    batch = batches.upload_roster(school, by=registrar, uploaded_file=roster_file(tmp_path))
    roster_export = export_jobs.start_export(users["county_reviewer"], {})
    graduation = graduation_world(school, users)
    problem_world = build_problem_world(school_class, nodes["420102"], registrar)
    intake = intake_world(nodes, registrar)
    promotion_run = PromotionRun.objects.create(
        school=school,
        authority=nodes["420000"],
        created_by=users["province_admin"],
        school_year_end=NOW.date().replace(year=NOW.year + 1, month=8, day=31),
    )
    execute_run(promotion_run.pk)
    campaign = open_for(users["county_reviewer"])
    [confirmation_form] = upload_all(campaign, [student], registrar)
    return {
        **problem_world,
        **graduation,
        "users": users,
        # What an outsider must never find in a page.
        "secrets": [
            student.name,
            student.number,
            in_review.name,
            corrected.name,
            *problem_world.pop("problem_secrets"),
            *graduation.pop("graduation_secrets"),
            intake.entries.get().student.name,
        ],
        "intake_pk": intake.pk,
        "school_code": school.code,
        "county_code": "420102",
        "grade_level": 1,
        "class_pk": school_class.pk,
        "student_pk": student.pk,
        "approval_pk": registration.pk,
        "in_review_pk": in_review.pk,
        "kind": Kind.SUSPENSION.value,
        "change_pk": change.pk,
        "transfer_evidence_pk": transfer_evidence.pk,
        "correction_pk": correction.pk,
        "correction_evidence_pk": correction_evidence.pk,
        "batch_pk": batch.pk,
        "export_pk": roster_export.pk,
        "promotion_run_pk": promotion_run.pk,
        "campaign_pk": campaign.pk,
        "confirmation_form_pk": confirmation_form.pk,
    }


def build_problem_world(school_class, county, registrar):
    """Two registrations of one person in our school (one graduated), found by a detection run."""
    live = enrolled(school_class, name="黄双号")
    graduate = enrolled(school_class, name="黄双号")
    Student.objects.filter(pk=graduate.pk).update(status=Status.GRADUATED)
    Student.objects.filter(pk=live.pk).update(
        id_number=graduate.id_number, birth_date=graduate.birth_date, gender=graduate.gender
    )
    run = DetectionRun.objects.create(node=county, state=DetectionRun.State.DONE)
    detect_problems(county)
    problem = ProblemRecord.objects.get(kind=ProblemKind.DUPLICATE_ID, student=live)
    resolution = problem_services.create_resolution(
        problem, by=registrar, method=Method.CONFIRM, explanation="户籍核实无误"
    )
    evidence = problem_services.add_evidence(resolution, by=registrar, uploaded_file=png())
    return {
        "problem_secrets": [live.name],
        "run_pk": run.pk,
        "problem_pk": problem.pk,
        "resolution_pk": resolution.pk,
        "problem_evidence_pk": evidence.pk,
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once for the module and rolled back after it; the media in a folder of its own."""
    media = tmp_path_factory.mktemp("matrix-media")
    with (
        time_machine.travel(NOW, tick=False),
        override_settings(MEDIA_ROOT=media),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        yield build_world(tmp_path_factory.mktemp("matrix-files"))
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _private_media():
    """Replaces conftest's fixture of that name: the world's files stay in the world's folder."""


# --- the cells ------------------------------------------------------------------------------------

# Every table, the many-to-many ones too, but the sessions a login writes.
TABLES = [
    model._meta.db_table for model in apps.get_models(include_auto_created=True) if model is not Session
]


def database_state():
    """Every row of every table, to compare before and after (plain SQL: thousands of cells run it)."""
    with connection.cursor() as cursor:
        state = {}
        for table in TABLES:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} ORDER BY 1")
            state[table] = cursor.fetchall()
    return state


def is_login_redirect(response):
    """Sent to log in first (LoginRequiredMiddleware names the page asked for)."""
    return response.status_code == 302 and response["Location"].startswith(f"{reverse('login')}?next=")


def page_text(response):
    if response.streaming or not response.get("Content-Type", "").startswith(("text/", "application/json")):
        return ""
    return response.content.decode()


def run(world, persona, method, url, *, compare=True):
    """One cell, in a transaction rolled back afterwards: (response, database changed?)."""
    with transaction.atomic():
        client = Client()
        if persona != ANONYMOUS:
            client.force_login(world["users"][persona])
        before = database_state() if compare else None
        response = client.get(url) if method == "GET" else client.post(url, {})
        changed = compare and database_state() != before
        transaction.set_rollback(True)
    return response, changed


def verdict(world, persona, method, url, allowed):
    """What is wrong with this cell, or None."""
    response, changed = run(world, persona, method, url, compare=persona not in allowed)
    status = response.status_code
    if persona in allowed:
        if status >= 400 or is_login_redirect(response):
            return f"{persona}: {status} {response.get('Location', '')}, expected success"
        return None
    refused = is_login_redirect(response) if persona == ANONYMOUS else status in (403, 404, 405)
    if not refused:
        return f"{persona}: {status} {response.get('Location', '')}, expected to be refused"
    if changed:
        return f"{persona}: refused with {status} but the database changed"
    if persona in OUTSIDERS and any(secret in page_text(response) for secret in world["secrets"]):
        return f"{persona}: refused with {status} but the page shows one of our students"
    return None


CELLS = [(name, method) for name in MATRIX for method in ("GET", "POST")]


@pytest.mark.parametrize(("name", "method"), CELLS, ids=[f"{name}-{method}" for name, method in CELLS])
def test_the_matrix(world, db, name, method):
    entry = MATRIX[name]
    url = reverse(name, args=[world[arg] for arg in entry.args])
    allowed = entry.get if method == "GET" else entry.post
    if allowed is None:
        allowed = NOBODY
    problems = [verdict(world, persona, method, url, allowed) for persona in PERSONAS]
    problems = [problem for problem in problems if problem]
    assert not problems, "\n".join(problems)


def test_outsiders_find_none_of_our_students_on_the_pages_they_may_open(world, db):
    for name, entry in MATRIX.items():
        if entry.args:
            continue
        for persona in OUTSIDERS:
            if persona in (entry.get or ()):
                response, _changed = run(world, persona, "GET", reverse(name), compare=False)
                text = page_text(response)
                assert not any(secret in text for secret in world["secrets"]), (name, persona)
