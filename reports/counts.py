"""The stored student counts (reports/models.py) beside a direct count of the students: where they
are used, and the check that they agree (`manage.py recount_students`, the tests)."""

from django.db import connection
from django.db.models import Count

from reports.models import COUNTED, StudentCount
from reports.students import IN_SCHOOL_COUNTS
from students.models import Student

KEY = ("school_id", "grade_id", "school_class_id", "status")


def direct():
    """{key: counts} counted from the students themselves."""
    rows = Student.objects.values(*KEY).annotate(n=Count("pk"), **IN_SCHOOL_COUNTS).order_by()
    return {tuple(row[key] for key in KEY): tuple(row[name] for name in ("n", *COUNTED[1:])) for row in rows}


def stored():
    """{key: counts} as stored (groups of no student left out)."""
    rows = StudentCount.objects.exclude(students=0)
    return {
        tuple(getattr(row, key) for key in KEY): tuple(getattr(row, name) for name in COUNTED) for row in rows
    }


def drift():
    """The groups whose stored counts differ from the students: {key: (stored, counted)}."""
    counted, kept = direct(), stored()
    return {
        key: (kept.get(key), counted.get(key))
        for key in counted.keys() | kept.keys()
        if kept.get(key) != counted.get(key)
    }


def recount():
    """Count every student again (a repair; the triggers keep the counts exact without it)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reports_recount_students(NULL)")
