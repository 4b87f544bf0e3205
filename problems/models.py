"""问题学籍 (domain §8): the detection runs, and the school's resolutions on the approval engine.

The problem record itself is `students.models.ProblemRecord` (the blocks of transfers, graduation
and promotion read it there). A resolution is 佐证 (the record is right: an explanation and evidence
images) or 删除 (a false record: which registration, and why), reviewed by the county; 变更 is a
key-data correction of corrections/ linked to the problem (`CorrectionLink`), which closes the
problem when it is applied.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registrar.models import ApprovalRequest, Organisation, ScopedQuerySet
from registrar.uploads import PrivateFile


class DetectionRunQuerySet(ScopedQuerySet):
    scope_path = "node__path"


class DetectionRun(models.Model):
    """One run of the detection over a node of the tree, in the background."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    node = models.ForeignKey(
        Organisation, verbose_name=_("scope"), on_delete=models.PROTECT, related_name="+"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # {"found": n, "created": n, "cleared": n, "by_kind": {kind: n}, "seconds": s}
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(_("task"), max_length=64, blank=True)

    objects = DetectionRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("problem detection run")
        verbose_name_plural = _("problem detection runs")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.node} {self.created_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        return reverse("problems:run", args=[self.pk])

    def audit_node(self):
        return self.node

    @property
    def is_finished(self):
        return self.state in (self.State.DONE, self.State.FAILED)


class Method(models.TextChoices):
    CONFIRM = "confirm", _("Prove it right (佐证)")
    DELETE = "delete", _("Delete a false record (删除)")


class ResolutionQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(approval__in=ApprovalRequest.objects.visible_to(user))


class Resolution(models.Model):
    approval = models.OneToOneField(
        ApprovalRequest,
        verbose_name=_("approval"),
        on_delete=models.PROTECT,
        related_name="problem_resolution",
    )
    problem = models.ForeignKey(
        "students.ProblemRecord",
        verbose_name=_("problem record"),
        on_delete=models.PROTECT,
        related_name="resolutions",
    )
    method = models.CharField(_("resolution"), max_length=10, choices=Method.choices)
    explanation = models.TextField(_("explanation"))
    # 删除: the registration the school says is false (one of its own).
    record_to_delete = models.ForeignKey(
        "students.Student",
        verbose_name=_("record to delete"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()
    objects = ResolutionQuerySet.as_manager()

    class Meta:
        verbose_name = _("problem resolution")
        verbose_name_plural = _("problem resolutions")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_method_display()} · {self.problem}"

    def get_absolute_url(self):
        return reverse("problems:resolution", args=[self.pk])

    def audit_node(self):
        return self.approval.school


class Evidence(PrivateFile):
    """One evidence image of a 佐证 (JPG or PNG, checked and stripped of metadata by registrar.uploads)."""

    resolution = models.ForeignKey(
        Resolution, verbose_name=_("problem resolution"), on_delete=models.PROTECT, related_name="evidence"
    )

    class Meta:
        verbose_name = _("evidence image")
        verbose_name_plural = _("evidence images")
        ordering = ["resolution_id", "uploaded_at", "id"]

    def audit_node(self):
        return self.resolution.approval.school


class CorrectionLink(models.Model):
    """变更: the key-data correction that resolves a problem record once it is applied."""

    problem = models.ForeignKey(
        "students.ProblemRecord", verbose_name=_("problem record"), on_delete=models.PROTECT, related_name="+"
    )
    correction = models.ForeignKey(
        "corrections.Correction",
        verbose_name=_("key-data correction"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("linked correction")
        verbose_name_plural = _("linked corrections")
        constraints = [
            models.UniqueConstraint(fields=["problem", "correction"], name="correctionlink_unique"),
        ]

    def __str__(self):
        return f"#{self.problem_id} → {self.correction_id}"
