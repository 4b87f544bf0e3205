"""The one stored figure of the reports: students counted per class and 学籍状态 (PostgreSQL).

The 学生情况统计表 of a province reads every student once when it counts them directly, about a
second for a million students. On PostgreSQL it reads these counts instead: one row per class and
status with the number of students and of each category the report shows, kept exact by triggers
in the database (reports/migrations/0001_student_counts.py), so that every writer of the students
table is counted, whether a service, the roster import's COPY, the admin or SQL by hand:

- after each INSERT, UPDATE or DELETE statement on students_student, the rows it added and removed
  (its transition tables) are grouped by class and status and added to the counts, in the same
  transaction as the statement; an UPDATE counts only the rows whose counted columns changed;
- after a TRUNCATE of the students, the counts are emptied;
- after an UPDATE of organisations that renames a node or moves it, the counts of the schools whose
  "household outside the county" depends on it are counted again from the students;
- `manage.py recount_students [--check]` compares every count with the students (and repairs them).

On SQLite (small installations) nothing is stored: the report counts the students directly.
"""

from django.db import connection, models

from registrar.models import Grade, Organisation, SchoolClass
from students.models import StudentQuerySet


class StudentCount(models.Model):
    # No foreign keys in the database: the triggers write these rows, and the rows of a school,
    # grade or class go with their students (none may be deleted while it has any).
    school = models.ForeignKey(
        Organisation, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    grade = models.ForeignKey(Grade, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    school_class = models.ForeignKey(
        SchoolClass, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    status = models.CharField(max_length=20)
    students = models.IntegerField(default=0)
    male = models.IntegerField(default=0)
    female = models.IntegerField(default=0)
    minority = models.IntegerField(default=0)
    agricultural = models.IntegerField(default=0)
    non_agricultural = models.IntegerField(default=0)
    non_local = models.IntegerField(default=0)
    migrant_child = models.IntegerField(default=0)
    left_behind = models.IntegerField(default=0)
    orphan = models.IntegerField(default=0)
    martyr_child = models.IntegerField(default=0)
    disabled = models.IntegerField(default=0)
    overseas = models.IntegerField(default=0)

    # Scoped as the students they count: visible_to(user) keeps the counts of the students the user sees.
    objects = StudentQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school", "grade", "school_class", "status"], name="studentcount_one_per_class_status"
            )
        ]

    def __str__(self):
        return f"{self.school_class_id} {self.status}: {self.students}"


# The counted columns, in the order of the model (the triggers and the checks use this list).
COUNTED = (
    "students",
    "male",
    "female",
    "minority",
    "agricultural",
    "non_agricultural",
    "non_local",
    "migrant_child",
    "left_behind",
    "orphan",
    "martyr_child",
    "disabled",
    "overseas",
)


def stored_counts_kept():
    """Whether the database keeps the counts (PostgreSQL: the triggers of reports' migrations)."""
    return connection.vendor == "postgresql"
