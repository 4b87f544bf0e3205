"""The organisation tree: provinces, cities, counties, township central schools and schools, with
their grades and classes; `ScopedQuerySet` keeps every query to the part of the tree a user sees."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registrar.choices import (
    ALLOWED_PARENTS,
    CODE_LENGTH,
    STAGE_SEGMENTS,
    NodeKind,
    Segment,
    Stage,
)

SCHOOL_SYSTEM_RE = re.compile(r"^[1-9](-[1-9]){0,2}$")


class ScopedQuerySet(models.QuerySet):
    """A queryset that knows how to keep to the part of the tree a user may see.

    `scope_path` names the lookup that reaches the owning node's `path`; every scoped model
    sets it, and every page and export starts from `visible_to(user)`.
    """

    scope_path = "path"

    def visible_to(self, user):
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        if user.node_id is None:
            return self.none()
        return self.filter(**{f"{self.scope_path}__startswith": user.node.path})


class OrganisationQuerySet(ScopedQuerySet):
    scope_path = "path"

    def schools(self):
        return self.filter(kind=NodeKind.SCHOOL)


def parse_school_system(value):
    """'6-3-3' → [6, 3, 3]; raises ValueError on anything else."""
    if not SCHOOL_SYSTEM_RE.match(value or ""):
        raise ValueError(value)
    return [int(part) for part in value.split("-")]


class Organisation(models.Model):
    """A node of the tree: province, city, county, township central school or school."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("type"), max_length=10, choices=NodeKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Codes from the root down, each followed by "/": descendants are a prefix match away.
    path = models.CharField(_("path"), max_length=80, unique=True, editable=False)
    stages = models.JSONField(_("stages"), default=list, blank=True)
    school_system = models.CharField(
        _("school system"), max_length=8, blank=True, help_text=_("For example 6-3-3")
    )

    history = HistoricalRecords()
    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=NodeKind.PROVINCE, parent__isnull=True)
                | (~Q(kind=NodeKind.PROVINCE) & Q(parent__isnull=False)),
                name="organisation_only_provinces_are_roots",
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "path"], name="organisation_kind_path"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("registrar:node", args=[self.code])

    def clean(self):
        errors = {}
        kind = NodeKind(self.kind) if self.kind in NodeKind.values else None
        if kind:
            length = CODE_LENGTH[kind]
            if not (self.code.isdigit() and len(self.code) == length):
                errors["code"] = _("The code of a %(kind)s has %(length)d digits.") % {
                    "kind": kind.label,
                    "length": length,
                }
            allowed = ALLOWED_PARENTS[kind]
            if self.parent is not None and self.parent.kind not in allowed:
                errors["parent"] = _("A %(kind)s cannot sit under a %(parent)s.") % {
                    "kind": kind.label,
                    "parent": self.parent.get_kind_display(),
                }
            if kind == NodeKind.SCHOOL:
                if not self.stages:
                    errors["stages"] = _("A school teaches at least one stage.")
                elif any(stage not in Stage.values for stage in self.stages):
                    errors["stages"] = _("Unknown stage.")
                if self.school_system:
                    try:
                        parse_school_system(self.school_system)
                    except ValueError:
                        errors["school_system"] = _(
                            "Write the school system as numbers joined by dashes, e.g. 6-3-3."
                        )
            elif self.stages or self.school_system:
                errors["stages"] = _("Only schools have stages and a school system.")
        if errors:
            raise ValidationError(errors)

    def compute_path(self):
        prefix = self.parent.path if self.parent_id else ""
        return f"{prefix}{self.code}/"

    @property
    def is_school(self):
        return self.kind == NodeKind.SCHOOL

    def ancestors(self):
        """From the root down to the parent, in one query."""
        codes = self.path.rstrip("/").split("/")[:-1]
        by_code = {node.code: node for node in Organisation.objects.filter(code__in=codes)}
        return [by_code[code] for code in codes if code in by_code]

    def ancestor_of_kind(self, kind):
        for node in self.ancestors():
            if node.kind == kind:
                return node
        return None

    def get_stages_display(self):
        return "、".join(str(Stage(stage).label) for stage in self.stages if stage in Stage.values)

    def segments(self):
        """The segments this school teaches, in order of schooling."""
        found = []
        for stage in self.stages:
            for segment in STAGE_SEGMENTS.get(stage, []):
                if segment not in found:
                    found.append(segment)
        order = list(Segment)
        return sorted(found, key=order.index)

    def grade_levels(self):
        """The grade levels (1–12 counted from the first year of primary school) this school teaches.

        The 学制 gives the length of primary, junior and senior schooling (6-3-3, 5-4-3, 6-3 …);
        primary and junior together always make the nine compulsory years, senior and vocational
        schooling start at level 10.
        """
        segments = self.segments()
        try:
            lengths = parse_school_system(self.school_system) if self.school_system else []
        except ValueError:
            lengths = []
        primary_years = lengths[0] if len(lengths) >= 2 else 6
        if len(lengths) == 1 and segments and segments[0] in (Segment.SENIOR, Segment.VOCATIONAL):
            upper_years = lengths[0]
        elif len(lengths) == 3:
            upper_years = lengths[2]
        else:
            upper_years = 3
        levels = []
        for segment in segments:
            if segment == Segment.PRIMARY:
                levels += range(1, primary_years + 1)
            elif segment == Segment.JUNIOR:
                levels += range(primary_years + 1, 10)
            elif segment == Segment.SPECIAL:
                levels += range(1, 10)
            else:
                levels += range(10, 10 + upper_years)
        return sorted(set(levels))

    def segment_of_level(self, level):
        segments = self.segments()
        if level >= 10:
            return Segment.VOCATIONAL if Segment.VOCATIONAL in segments else Segment.SENIOR
        if Segment.SPECIAL in segments:
            return Segment.SPECIAL
        primary_years = 6
        try:
            lengths = parse_school_system(self.school_system) if self.school_system else []
            if len(lengths) >= 2:
                primary_years = lengths[0]
        except ValueError:
            pass
        return Segment.PRIMARY if level <= primary_years else Segment.JUNIOR


GRADE_NAMES = {
    1: _("Grade 1"),
    2: _("Grade 2"),
    3: _("Grade 3"),
    4: _("Grade 4"),
    5: _("Grade 5"),
    6: _("Grade 6"),
    7: _("Grade 7"),
    8: _("Grade 8"),
    9: _("Grade 9"),
    10: _("Senior year 1"),
    11: _("Senior year 2"),
    12: _("Senior year 3"),
}
VOCATIONAL_GRADE_NAMES = {10: _("Vocational year 1"), 11: _("Vocational year 2"), 12: _("Vocational year 3")}


def grade_name(level, segment=None):
    """一年级 … 九年级, 高一 … 高三; vocational grades 中职一年级 …"""
    if segment == Segment.VOCATIONAL and level in VOCATIONAL_GRADE_NAMES:
        return VOCATIONAL_GRADE_NAMES[level]
    return GRADE_NAMES[level]


class GradeQuerySet(ScopedQuerySet):
    scope_path = "school__path"


class Grade(models.Model):
    school = models.ForeignKey(
        Organisation,
        verbose_name=_("school"),
        on_delete=models.PROTECT,
        related_name="grades",
        limit_choices_to={"kind": NodeKind.SCHOOL},
    )
    level = models.PositiveSmallIntegerField(_("level"), help_text=_("1–9 for compulsory years, 10–12 above"))

    history = HistoricalRecords()
    objects = GradeQuerySet.as_manager()

    class Meta:
        verbose_name = _("grade")
        verbose_name_plural = _("grades")
        ordering = ["school__path", "level"]
        constraints = [
            models.UniqueConstraint(fields=["school", "level"], name="grade_unique_level_per_school"),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=12), name="grade_level_1_to_12"),
        ]

    def __str__(self):
        return f"{self.school.name} {self.name}"

    @property
    def segment(self):
        return self.school.segment_of_level(self.level)

    @property
    def name(self):
        return grade_name(self.level, self.segment)


def join_grade_and_class(grade_label, class_name):
    """二年级1班 in Chinese, where the words run together; "Grade 2 1班" in other languages needs a space."""
    language = get_language() or ""
    separator = "" if not language or language.startswith("zh") else " "
    return f"{grade_label}{separator}{class_name}"


def default_capacity(segment):
    return settings.REGISTRAR["CLASS_CAPACITY"].get(segment, 50)


class SchoolClassQuerySet(ScopedQuerySet):
    scope_path = "grade__school__path"


class SchoolClass(models.Model):
    grade = models.ForeignKey(
        Grade, verbose_name=_("grade"), on_delete=models.PROTECT, related_name="classes"
    )
    name = models.CharField(_("class name"), max_length=30)
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), help_text=_("The most students this class may hold")
    )

    history = HistoricalRecords()
    objects = SchoolClassQuerySet.as_manager()

    class Meta:
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        ordering = ["grade__school__path", "grade__level", "name"]
        constraints = [
            models.UniqueConstraint(fields=["grade", "name"], name="class_unique_name_per_grade"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="class_capacity_positive"),
        ]

    def __str__(self):
        return join_grade_and_class(self.grade.name, self.name)

    @property
    def school(self):
        return self.grade.school
