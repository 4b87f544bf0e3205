"""Building blocks of the report tests: students with chosen attributes, through the real services,
and reading the tables of a report page or workbook."""

import io
import itertools

from openpyxl import load_workbook

from students.services import register_student
from tests.student_helpers import register

_sequence = itertools.count(201, 2)


def pupil(school_class, *, female=False, enrol=True, **overrides):
    """A student of `school_class` entered (and, unless `enrol` is false, registered) through the
    services; `overrides` are fields of the registration (ethnicity, hukou_place, orphan …)."""
    # The resident ID's sequence decides the sex: odd for a boy, even for a girl.
    sequence = next(_sequence) + (1 if female else 0)
    student = register(None, school_class, name="王小雨", sequence=sequence, **overrides)
    return register_student(student, by=None) if enrol else student


def row_values(table, label):
    """{column key: value} of the row of `table` labelled `label`."""
    for row in table.rows:
        if row.label == label:
            return {column.key: row.values.get(column.key, 0) for column in table.columns}
    raise AssertionError(f"no row {label!r} in {[row.label for row in table.rows]}")


def workbook_of(response):
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def sheet_rows(sheet):
    return list(sheet.iter_rows(values_only=True))
