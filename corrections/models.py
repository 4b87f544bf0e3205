"""关键数据变更 (domain §7): a request to correct key fields of a student record, its field
changes (old → new, each with its reason) and its evidence images. The review runs on the approval
engine (registrar.approvals); the change is applied when the last step approves."""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from corrections import rules
from corrections.rules import EvidenceKind, Reason
from registrar.models import ApprovalRequest
from registrar.uploads import PrivateFile
from students.privacy import mask_id


class Group(models.TextChoices):
    """The sheets of the submission packet (source 003)."""

    NEW = "new", _("New students (first term)")
    ENROLLED = "enrolled", _("Students in school")
    GRADUATE = "graduate", _("Graduates")


class CorrectionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """As the approval engine scopes the request: the school, the county or city above it."""
        return self.filter(approval__in=ApprovalRequest.objects.visible_to(user))


class Correction(models.Model):
    approval = models.OneToOneField(
        ApprovalRequest, verbose_name=_("approval"), on_delete=models.PROTECT, related_name="correction"
    )
    student = models.ForeignKey(
        "students.Student", verbose_name=_("student"), on_delete=models.PROTECT, related_name="corrections"
    )
    # Decided when the request is made and again at each submission: the packet's sheet.
    group = models.CharField(_("group"), max_length=10, choices=Group.choices, default=Group.ENROLLED)
    note = models.TextField(_("explanation"), blank=True)
    # An input error found after the first term, submitted as an exception: the school's written
    # explanation, and the county's explicit approval (the chain "corrections.late_correction").
    late_explanation = models.TextField(_("explanation of the late correction"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)

    history = HistoricalRecords()
    objects = CorrectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("key-data correction")
        verbose_name_plural = _("key-data corrections")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{_('Key-data correction')} {self.student.name}"

    def get_absolute_url(self):
        return reverse("corrections:detail", args=[self.pk])

    def audit_node(self):
        return self.approval.school


class FieldChange(models.Model):
    """One field of the request: its value when the request was made, the new value, the reason."""

    correction = models.ForeignKey(
        Correction, verbose_name=_("correction"), on_delete=models.CASCADE, related_name="changes"
    )
    position = models.PositiveSmallIntegerField(_("order"))
    field = models.CharField(_("field"), max_length=40)
    old_value = models.CharField(_("old value"), max_length=100, blank=True)
    new_value = models.CharField(_("new value"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)

    class Meta:
        verbose_name = _("field change")
        verbose_name_plural = _("field changes")
        ordering = ["correction_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["correction", "field"], name="fieldchange_one_per_field"),
        ]

    def __str__(self):
        return f"{self.label}: {self.old_display} → {self.new_display}"

    @property
    def label(self):
        return rules.label(self.field)

    @property
    def old_display(self):
        return rules.display(self.field, self.old_value)

    @property
    def new_display(self):
        return rules.display(self.field, self.new_value)

    # Lists mask ID numbers (domain §9); the request's own page shows them whole to those who decide.
    @property
    def old_masked(self):
        return mask_id(self.old_value) if self.field == "id_number" else self.old_display

    @property
    def new_masked(self):
        return mask_id(self.new_value) if self.field == "id_number" else self.new_display


class Evidence(PrivateFile):
    """One evidence image (JPG or PNG, checked and stripped of metadata by registrar.uploads)."""

    correction = models.ForeignKey(
        Correction, verbose_name=_("correction"), on_delete=models.PROTECT, related_name="evidence"
    )
    kind = models.CharField(_("evidence"), max_length=20, choices=EvidenceKind.choices)

    class Meta:
        verbose_name = _("evidence image")
        verbose_name_plural = _("evidence images")
        ordering = ["correction_id", "uploaded_at", "id"]

    @property
    def file_label(self):
        return rules.FILE_LABELS[self.kind]

    @property
    def download_name(self):
        return f"{self.file_label}.{self.extension}"

    def audit_node(self):
        return self.correction.approval.school
