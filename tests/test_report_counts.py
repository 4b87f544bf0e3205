"""The student counts PostgreSQL keeps for the 学生情况统计表 (reports/models.py): after every kind
of write (the services, a roster import's COPY, bulk updates and deletes, a renamed county, a
TRUNCATE) they equal a count made here from the students; the report reads them; the command
finds and repairs a difference. On SQLite nothing is kept and the report counts directly."""

import pytest
from django.core.management import CommandError, call_command
from django.core.paginator import Paginator
from django.db import connection
from django.urls import reverse

from registrar.models import Organisation
from reports.counts import drift, stored
from reports.models import StudentCount
from students.filters import RosterFilterForm, RosterPaginator, roster_queryset
from students.models import Status, Student
from tests import test_reports
from tests.roster_helpers import pupil as roster_pupil
from tests.roster_helpers import write_file

pytestmark = pytest.mark.django_db
# The students of the report's tests, made through the services, at the report's frozen time.
world, frozen = test_reports.world, test_reports.frozen


@pytest.fixture(autouse=True)
def postgresql_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("the counts are kept on PostgreSQL only")


def enrolled_in(school):
    """{field: count} of the students 在校 of `school`, counted here from the students."""
    students = Student.objects.filter(school=school, status=Status.ENROLLED)
    return {
        "students": students.count(),
        "female": students.filter(gender="2").count(),
        "non_local": sum("江岸区" not in place for place in students.values_list("hukou_place", flat=True)),
    }


def kept_for(school):
    rows = StudentCount.objects.filter(school=school, status=Status.ENROLLED)
    return {name: sum(getattr(row, name) for row in rows) for name in ("students", "female", "non_local")}


def test_the_counts_follow_the_services(world):
    assert stored()
    assert drift() == {}
    school = world["a"].school
    assert kept_for(school) == enrolled_in(school)


def test_the_counts_follow_bulk_updates_inserts_and_deletes(world):
    a, b = world["a"], world["b"]
    # What the admin or a bulk action does: one UPDATE of many rows, of counted and other columns.
    Student.objects.filter(pk__in=[a.pk, b.pk]).update(gender="2", hukou_place="河南省", phone="1")
    Student.objects.filter(pk=a.pk).update(school_class=world["c"].school_class, grade=world["c"].grade)
    Student.objects.filter(pk=b.pk).update(phone="2")
    assert drift() == {}
    copy = Student.objects.get(pk=a.pk)
    copy.pk, copy.number, copy.id_number = None, None, "420102201503150999"
    Student.objects.bulk_create([copy])
    assert drift() == {}
    Student.objects.filter(pk=copy.pk).delete()
    assert drift() == {}


def test_the_counts_follow_a_roster_import(tmp_path, school, school_class, registrar):
    path = write_file(tmp_path / "roster.xlsx", [roster_pupil(n) for n in range(1, 6)])
    call_command("import_roster", str(path), "--school", school.code, "--user", registrar.username)
    assert Student.objects.filter(school=school).count() == 5
    assert drift() == {}
    assert kept_for(school) == enrolled_in(school)


def test_a_renamed_county_counts_its_households_again(world):
    school = world["a"].school
    before = kept_for(school)["non_local"]
    county = Organisation.objects.get(code="420102")
    county.name = "江岸新区"
    county.save(update_fields=["name"])
    # No household names 江岸新区: every student of the county now lives outside it.
    assert kept_for(school)["non_local"] == kept_for(school)["students"] > before
    assert drift() == {}


def test_a_truncated_students_table_leaves_no_counts(world):
    with connection.cursor() as cursor:
        # The test's transaction has deferred foreign key checks pending; TRUNCATE wants none.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE students_student CASCADE")
    assert not StudentCount.objects.exists()


def test_the_report_reads_the_kept_counts(world, province_admin, client):
    # A count changed behind the triggers' back shows on the page: the page reads the kept counts.
    school = world["a"].school
    StudentCount.objects.filter(school=school, status=Status.ENROLLED).update(orphan=100)
    client.force_login(province_admin)
    response = client.get(reverse("reports:students", args=[school.code]))
    rows = {row.label: row for row in response.context["report"].in_school.rows}
    assert any(row.values.get("orphan", 0) >= 100 for row in rows.values())


def test_the_command_finds_and_repairs_a_difference(world, capsys):
    call_command("recount_students", "--check")
    StudentCount.objects.filter(status=Status.ENROLLED).update(students=0)
    with pytest.raises(CommandError):
        call_command("recount_students", "--check")
    call_command("recount_students")
    assert drift() == {}
    call_command("recount_students", "--check")
    assert capsys.readouterr().out.strip().endswith(("agree with the students.", "一致。"))


def test_the_roster_pages_from_the_counts_are_the_counted_pages(world, county_reviewer, city_reviewer):
    for user, params in ((county_reviewer, {}), (city_reviewer, {"status": "enrolled"}), (city_reviewer, {})):
        form = RosterFilterForm(params or None, user=user)
        students = form.filter(roster_queryset(user))
        counted = Paginator(students, 2)
        kept = RosterPaginator(students, 2, counts=form.counts(), by_school=True)
        assert form.counts() is not None
        assert kept.count == counted.count > 4
        for number in counted.page_range:
            assert [s.pk for s in kept.page(number)] == [s.pk for s in counted.page(number)], number
