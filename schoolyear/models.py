"""The school year's turn: promotion runs (升级) with the snapshot that undoes them, and the class
mapping a school gives for its promotion."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registrar.choices import NodeKind
from registrar.models import Grade, Organisation, SchoolClass, ScopedQuerySet


class PromotionRunQuerySet(ScopedQuerySet):
    scope_path = "school__path"


class PromotionRun(models.Model):
    """One school's promotion: queued, run as a background job, done (or refused), perhaps undone."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting to run")
        RUNNING = "running", _("Running")
        DONE = "done", _("Promoted")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Not run")
        UNDONE = "undone", _("Undone")

    class Source(models.TextChoices):
        WEB = "web", _("In the browser")
        COMMAND = "command", _("Command line")

    school = models.ForeignKey(
        Organisation,
        verbose_name=_("school"),
        on_delete=models.PROTECT,
        related_name="promotion_runs",
        limit_choices_to={"kind": NodeKind.SCHOOL},
    )
    # The node whose power ran it (the province, or a county the province lets run its schools'):
    # only the same authority undoes it.
    authority = models.ForeignKey(
        Organisation, verbose_name=_("run by the authority of"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.WEB)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    # The last day of the school year that ends with this promotion: one promotion per school and year.
    school_year_end = models.DateField(_("school year ending"))
    # Progress: steps of the job done out of PROMOTION_STEPS.
    steps_done = models.PositiveSmallIntegerField(_("steps done"), default=0)
    promoted_count = models.PositiveIntegerField(_("students promoted"), default=0)
    # What the preview said when it ran: counts and, when refused, every problem.
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    problems = models.JSONField(_("problems"), default=list, blank=True)
    task_id = models.CharField(_("task"), max_length=64, blank=True)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = PromotionRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One promotion per school and school year (a queued, running or finished one); an undone or
            # refused run leaves the way open for another.
            models.UniqueConstraint(
                fields=["school", "school_year_end"],
                condition=Q(state__in=["queued", "running", "done"]),
                name="promotionrun_one_per_school_year",
            )
        ]

    def __str__(self):
        return f"{self.school.name} · {self.school_year_end.year - 1}–{self.school_year_end.year}"

    def get_absolute_url(self):
        return reverse("schoolyear:run", args=[self.pk])

    def audit_node(self):
        return self.school

    @property
    def is_finished(self):
        return self.state not in (self.State.QUEUED, self.State.RUNNING)


class PromotionMove(models.Model):
    """Where one student was before a promotion and where it took them: what an undo restores.

    Written in bulk by INSERT … SELECT (a province has a million students): the snapshot columns keep
    no database constraint, like StatusEvent's, and no index but the one its reads use.
    """

    # A million rows per province: no constraint checked for each at the commit (the run outlives them).
    run = models.ForeignKey(
        PromotionRun,
        verbose_name=_("promotion"),
        on_delete=models.CASCADE,
        related_name="moves",
        db_index=False,
        db_constraint=False,
    )
    student = models.ForeignKey(
        "students.Student",
        verbose_name=_("student"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    from_grade = models.ForeignKey(
        Grade,
        verbose_name=_("grade before"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    from_class = models.ForeignKey(
        SchoolClass,
        verbose_name=_("class before"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    class_number = models.CharField(_("number in class before"), max_length=10, blank=True)
    to_grade = models.ForeignKey(
        Grade,
        verbose_name=_("grade after"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    to_class = models.ForeignKey(
        SchoolClass,
        verbose_name=_("class after"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        verbose_name = _("promotion move")
        verbose_name_plural = _("promotion moves")
        constraints = [models.UniqueConstraint(fields=["run", "student"], name="promotionmove_once_per_run")]

    def __str__(self):
        return f"{self.student_id}: {self.from_class_id} → {self.to_class_id}"


class ClassMappingQuerySet(ScopedQuerySet):
    scope_path = "school__path"


class ClassMapping(models.Model):
    """A school's own rule for its promotion: the students of `from_class` go to `to_class` (of the next
    grade) instead of the class of the same name. Replaced as a whole by each upload."""

    school = models.ForeignKey(
        Organisation, verbose_name=_("school"), on_delete=models.PROTECT, related_name="class_mappings"
    )
    from_class = models.OneToOneField(
        SchoolClass, verbose_name=_("class now"), on_delete=models.CASCADE, related_name="promotion_mapping"
    )
    to_class = models.ForeignKey(
        SchoolClass, verbose_name=_("class after the promotion"), on_delete=models.CASCADE, related_name="+"
    )

    history = HistoricalRecords()
    objects = ClassMappingQuerySet.as_manager()

    class Meta:
        verbose_name = _("class mapping")
        verbose_name_plural = _("class mappings")
        ordering = ["school", "from_class__grade__level", "from_class__name"]

    def __str__(self):
        return f"{self.from_class} → {self.to_class}"

    def audit_node(self):
        return self.school
