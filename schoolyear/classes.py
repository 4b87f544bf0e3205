"""New-year classes (issue 14, item 6): next year's classes of every grade in one step, and the 班主任
of each class.

Classes belong to a grade and keep their names year after year; at the promotion each class's
students move up into the class of the same name of the next grade. So next year grade L needs the
classes grade L−1 has now (names and capacities copied); the first grade of each stage takes new
students and keeps its own classes. The registrar sees the proposal, edits names and capacities or
leaves a row out, and saves: all or nothing.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from registrar.audit import record_event
from registrar.choices import Role
from registrar.models import SchoolClass, User
from registrar.services import create_class, update_class
from schoolyear.errors import SchoolYearError
from students.permissions import ensure_registrar_of


@dataclass
class ProposedClass:
    grade: object
    name: str
    capacity: int
    # The class of that name in the grade today, if there is one.
    existing: SchoolClass | None

    @property
    def is_new(self):
        return self.existing is None


def propose_classes(school):
    """Next year's classes of every grade, in grade order, as ProposedClass rows."""
    grades = list(school.grades.order_by("level"))
    classes = {}
    for school_class in SchoolClass.objects.filter(grade__school=school).order_by("name"):
        classes.setdefault(school_class.grade_id, []).append(school_class)
    by_level = {grade.level: grade for grade in grades}
    proposal = []
    for grade in grades:
        grade.school = school
        below = by_level.get(grade.level - 1)
        first = below is None or school.segment_of_level(below.level) != school.segment_of_level(grade.level)
        model = classes.get(grade.pk, []) if first else classes.get(below.pk, [])
        own = {school_class.name: school_class for school_class in classes.get(grade.pk, [])}
        for school_class in model:
            proposal.append(
                ProposedClass(grade, school_class.name, school_class.capacity, own.get(school_class.name))
            )
    return proposal


def create_next_year_classes(school, *, by, rows):
    """Create (or set the capacity of) the classes `rows` name: (grade, name, capacity) each. One bad row
    and nothing is saved; the message names it."""
    ensure_registrar_of(by, school)
    created, updated = [], []
    with transaction.atomic():
        for grade, name, capacity in rows:
            if grade.school_id != school.pk:
                raise SchoolYearError(_("This grade does not belong to the school."))
            existing = SchoolClass.objects.filter(grade=grade, name=name).first()
            if existing is None:
                created.append(create_class(grade, by=by, name=name, capacity=capacity))
            elif existing.capacity != capacity:
                updated.append(
                    update_class(
                        existing, by=by, name=name, capacity=capacity, reason=_("Next year's classes")
                    )
                )
        record_event(
            "schoolyear.classes.prepared", actor=by, obj=school, created=len(created), updated=len(updated)
        )
    return created, updated


def class_teachers_of(school):
    """The school's users who hold the class-teacher role."""
    # roles is a JSON list: filtered here, a school has a few dozen staff.
    staff = User.objects.filter(node=school, is_active=True).order_by("full_name", "username")
    return [user for user in staff if user.has_role(Role.CLASS_TEACHER)]


def assign_class_teachers(school, *, by, assignments):
    """Make each chosen user the 班主任 of the class, and nobody else: `assignments` maps each class of
    the school to a class teacher of the school, or None for none. Returns the classes changed."""
    ensure_registrar_of(by, school)
    teachers = {user.pk: user for user in class_teachers_of(school)}
    changed = []
    with transaction.atomic():
        for school_class, teacher in assignments.items():
            if school_class.grade.school_id != school.pk:
                raise SchoolYearError(_("This class does not belong to the school."))
            if teacher is not None and teacher.pk not in teachers:
                raise SchoolYearError(
                    _("%(name)s is not a class teacher of this school.") % {"name": teacher}
                )
            current = set(school_class.class_teachers.values_list("pk", flat=True))
            wanted = {teacher.pk} if teacher is not None else set()
            if current == wanted:
                continue
            for user_id in current - wanted:
                User.objects.get(pk=user_id).classes.remove(school_class)
            if teacher is not None and teacher.pk not in current:
                teacher.classes.add(school_class)
            record_event(
                "schoolyear.class_teacher.assigned",
                actor=by,
                obj=school_class,
                teacher=str(teacher) if teacher is not None else "",
            )
            changed.append(school_class)
    return changed
