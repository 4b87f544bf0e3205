"""What an open problem record blocks (domain §8): the one question the other workflows ask.

Transfers and status changes ask through `students.services.ensure_free`, graduation through its
audit; promotion (schoolyear/) asks `open_problem_for` and `blocked_students`.
"""

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from students.models import ProblemRecord


def open_problems():
    return ProblemRecord.objects.unresolved()


def open_problem_for(student):
    """The oldest open problem record naming `student` (either party of a pair), or None."""
    return open_problems().involving(student).order_by("detected_at", "pk").first()


def has_open_problem():
    """An expression for `Student` querysets: `.filter(has_open_problem())` keeps the blocked ones."""
    return Exists(open_problems().filter(Q(student=OuterRef("pk")) | Q(other_student=OuterRef("pk"))))


def blocked_students(students):
    """The students of `students` that an open problem record blocks."""
    return students.filter(has_open_problem())


def block_message(student, problem):
    """The refusal, naming the problem."""
    return _("%(name)s has an unresolved problem record (%(problem)s, #%(pk)s): resolve it first.") % {
        "name": student.name,
        "problem": problem.get_kind_display(),
        "pk": problem.pk,
    }
