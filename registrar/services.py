"""Use cases of the shared core. Each locks what it changes, checks its rules, saves, and audits."""

from django.db import transaction
from django.utils.translation import gettext as _

from registrar.audit import record_event, stamp
from registrar.choices import NodeKind
from registrar.errors import DomainError
from registrar.models import Grade, Organisation, SchoolClass, default_capacity
from registrar.text import clean_text


class RegistrarError(DomainError):
    """A rule of the shared core was broken; the message is shown to the user as it is."""


@transaction.atomic
def save_organisation(node, *, by, reason=""):
    """Save a node with its path; when it moved, its whole subtree moves with it."""
    node.name = clean_text(node.name)
    old_path = (
        Organisation.objects.filter(pk=node.pk).values_list("path", flat=True).first() if node.pk else None
    )
    node.path = node.compute_path()
    stamp(node, by=by, reason=reason)
    node.save()
    if old_path and old_path != node.path:
        for descendant in Organisation.objects.filter(path__startswith=old_path).exclude(pk=node.pk):
            descendant.path = node.path + descendant.path[len(old_path) :]
            stamp(descendant, by=by, reason=_("Moved with its parent"))
            descendant.save(update_fields=["path"])
    return node


def missing_grade_levels(school):
    existing = set(school.grades.values_list("level", flat=True))
    return [level for level in school.grade_levels() if level not in existing]


@transaction.atomic
def sync_grades(school, *, by):
    """Create the grades the school's stages and 学制 call for and that do not exist yet."""
    school = Organisation.objects.select_for_update().get(pk=school.pk)
    if school.kind != NodeKind.SCHOOL:
        raise RegistrarError(_("Only schools have grades."))
    levels = missing_grade_levels(school)
    if not levels:
        raise RegistrarError(_("Every grade of this school already exists."))
    for level in levels:
        grade = Grade(school=school, level=level)
        stamp(grade, by=by, reason=_("Set up from the school system"))
        grade.save()
    record_event("registrar.grades.synced", actor=by, obj=school, levels=levels)
    return levels


def _check_class_name(grade, name, *, exclude=None):
    name = clean_text(name)
    if not name:
        raise RegistrarError(_("Enter the class name."))
    clash = SchoolClass.objects.filter(grade=grade, name=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise RegistrarError(
            _("%(grade)s already has a class named %(name)s.") % {"grade": grade.name, "name": name}
        )
    return name


@transaction.atomic
def create_class(grade, *, by, name, capacity=None):
    grade = Grade.objects.select_for_update().select_related("school").get(pk=grade.pk)
    name = _check_class_name(grade, name)
    if capacity is None:
        capacity = default_capacity(grade.segment)
    if capacity < 1:
        raise RegistrarError(_("The capacity must be at least 1."))
    school_class = SchoolClass(grade=grade, name=name, capacity=capacity)
    stamp(school_class, by=by)
    school_class.save()
    record_event("registrar.class.created", actor=by, obj=school_class, capacity=capacity)
    return school_class


@transaction.atomic
def update_class(school_class, *, by, name, capacity, reason=""):
    school_class = (
        SchoolClass.objects.select_for_update().select_related("grade__school").get(pk=school_class.pk)
    )
    name = _check_class_name(school_class.grade, name, exclude=school_class)
    if capacity < 1:
        raise RegistrarError(_("The capacity must be at least 1."))
    changed = {"name": (school_class.name, name), "capacity": (school_class.capacity, capacity)}
    changed = {key: pair for key, pair in changed.items() if pair[0] != pair[1]}
    if not changed:
        return school_class
    school_class.name = name
    school_class.capacity = capacity
    stamp(school_class, by=by, reason=reason)
    school_class.save(update_fields=["name", "capacity"])
    record_event(
        "registrar.class.updated",
        actor=by,
        obj=school_class,
        reason=reason,
        changes={key: [str(old), str(new)] for key, (old, new) in changed.items()},
    )
    return school_class
