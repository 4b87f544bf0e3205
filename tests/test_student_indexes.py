"""The indexes and constraints a county's roster import writes for every student (issue 19): each
index is read by a query, each constraint guards something no other one does.

- 学籍号 has one index, unique, that serves equality and prefix searches (not a unique constraint
  plus a pattern index, as Django makes for unique=True on PostgreSQL).
- The history of students and family members is read by record, never by date or user across
  records: their history tables have no index on history_date or history_user.
- A student's class is a foreign key constraint; its school and grade, the class's copied, are not:
  the class's own constraints keep them in being.
"""

import gc

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from registrar.models import Grade
from students.management.commands.import_roster import Command
from students.models import Guardian, Student
from tests.correction_helpers import enrol


def indexed_columns(model):
    """The column lists of every index of `model`'s table (constraints' indexes included)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [tuple(info["columns"]) for info in constraints.values() if info["index"] or info["unique"]]


def foreign_keys(model):
    """The columns of `model`'s table that have a foreign key constraint."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {column for info in constraints.values() if info["foreign_key"] for column in info["columns"]}


def test_a_students_class_is_a_constraint_and_its_copies_of_school_and_grade_are_not(db):
    keys = foreign_keys(Student)
    assert "school_class_id" in keys
    assert not keys & {"school_id", "grade_id"}


def test_the_database_refuses_a_student_in_a_class_that_does_not_exist(registrar, school_class):
    student = enrol(registrar, school_class)
    with pytest.raises(IntegrityError), transaction.atomic():
        Student.objects.filter(pk=student.pk).update(school_class_id=school_class.pk + 1000)
        connection.check_constraints(table_names=[Student._meta.db_table])


@pytest.mark.parametrize("table", ["registrar_grade", "registrar_organisation"])
def test_a_students_school_and_grade_cannot_vanish_from_under_it(registrar, school_class, table):
    """Deleted past the ORM (which PROTECT stops first), the student's grade or school is still
    refused by the database: its class points at the grade, and the grade at the school."""
    student = enrol(registrar, school_class)
    row = student.grade_id if table == "registrar_grade" else student.school_id
    # The copies are the class's: its grade, and the grade's school.
    assert Grade.objects.filter(pk=student.grade_id, school=student.school_id, classes=school_class).exists()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [row])
        connection.check_constraints()


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
