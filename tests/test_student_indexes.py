"""The indexes a county's roster import writes for every student (issue 19): each is read by a query.

- 学籍号 has one index, unique, that serves equality and prefix searches (not a unique constraint
  plus a pattern index, as Django makes for unique=True on PostgreSQL).
- The history of students and family members is read by record, never by date or user across
  records: their history tables have no index on history_date or history_user.
"""

import gc

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from students.management.commands.import_roster import Command
from students.models import Guardian, Student
from tests.correction_helpers import enrol


def indexed_columns(model):
    """The column lists of every index of `model`'s table (constraints' indexes included)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [tuple(info["columns"]) for info in constraints.values() if info["index"] or info["unique"]]


def test_the_registration_number_stays_unique(registrar, school_class):
    student = enrol(registrar, school_class)
    other = enrol(registrar, school_class, name="李小红", sequence=3)
    other.number = student.number
    with pytest.raises(ValidationError) as error:
        other.validate_constraints()
    assert "学籍号" in str(error.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        Student.objects.filter(pk=other.pk).update(number=student.number)
    # Students without a number yet (in the registration review) are many.
    assert Student.objects.filter(pk__in=[student.pk, other.pk]).update(number=None) == 2


def test_the_registration_number_has_one_index(db):
    assert indexed_columns(Student).count(("number",)) == 1


def test_postgresql_searches_registration_numbers_by_that_index(registrar, school_class):
    if connection.vendor != "postgresql":
        pytest.skip("operator classes are PostgreSQL's")
    student = enrol(registrar, school_class)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    for lookup in ({"number": student.number}, {"number__startswith": student.number[:6]}):
        plan = Student.objects.filter(**lookup).explain()
        assert "student_unique_number" in plan, (lookup, plan)


@pytest.mark.parametrize("model", [Student, Guardian])
def test_history_written_in_bulk_is_indexed_by_record_only(db, model):
    columns = indexed_columns(model.history.model)
    assert ("history_date",) not in columns
    assert ("history_user_id",) not in columns
    assert ("id",) in columns


def test_a_history_is_still_read_by_its_records_index(registrar, school_class):
    student = enrol(registrar, school_class)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    plan = student.history.order_by("history_date", "history_id").explain()
    assert "students_historicalstudent_id_" in plan, plan


def test_call_command_leaves_the_collector_alone(registrar, school, tmp_path):
    assert gc.isenabled()
    with pytest.raises(CommandError):
        call_command("import_roster", str(tmp_path / "missing.xlsx"), school=school.code)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_the_command_line_leaves_the_import_to_the_exit(capsys):
    """From manage.py the collector stays off and what is left is frozen: the process ends next."""
    try:
        with pytest.raises(SystemExit):
            Command().run_from_argv(["manage.py", "import_roster", "--help"])
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()
    assert "--national-load" in capsys.readouterr().out
