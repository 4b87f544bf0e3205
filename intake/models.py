"""升学 (intake, domain §12): a junior or senior school takes over the record of a student who
graduated from a school in this system, the same record with the same 学籍号, reviewed as
registration is (county; city for 普通高中). One request (`Intake`) covers the students one school
takes in at once (a lookup: one; an admission list: all of its matched rows); `IntakeEntry` is one
student with the grade and class waiting for them."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registrar.choices import Segment
from registrar.models import ApprovalRequest, Grade, Organisation, SchoolClass
from students.models import Student


class Source(models.TextChoices):
    LOOKUP = "lookup", _("Looked up one by one")
    ADMISSION_LIST = "admission_list", _("Admission list")


class IntakeQuerySet(models.QuerySet):
    def visible_to(self, user):
        """As the approval engine scopes the request: the receiving school, the county or city above it."""
        return self.filter(approval__in=ApprovalRequest.objects.visible_to(user))


class Intake(models.Model):
    approval = models.OneToOneField(
        ApprovalRequest, verbose_name=_("approval"), on_delete=models.PROTECT, related_name="intake"
    )
    school = models.ForeignKey(
        Organisation, verbose_name=_("receiving school"), on_delete=models.PROTECT, related_name="+"
    )
    segment = models.CharField(_("stage"), max_length=12, choices=Segment.choices)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)

    history = HistoricalRecords()
    objects = IntakeQuerySet.as_manager()

    class Meta:
        verbose_name = _("intake")
        verbose_name_plural = _("intakes")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{_('Intake')} {self.school.name} {self.get_segment_display()}"

    def get_absolute_url(self):
        return reverse("intake:detail", args=[self.pk])

    def audit_node(self):
        return self.school


class IntakeEntry(models.Model):
    """One graduate taken in: where they come from and the class that waits for them."""

    intake = models.ForeignKey(
        Intake, verbose_name=_("intake"), on_delete=models.CASCADE, related_name="entries"
    )
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="intake_entries"
    )
    previous_school = models.ForeignKey(
        Organisation, verbose_name=_("previous school"), on_delete=models.PROTECT, related_name="+"
    )
    grade = models.ForeignKey(Grade, verbose_name=_("grade"), on_delete=models.PROTECT, related_name="+")
    school_class = models.ForeignKey(
        SchoolClass, verbose_name=_("class"), on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("intake entry")
        verbose_name_plural = _("intake entries")
        ordering = ["intake", "school_class__name", "student__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["intake", "student"], name="intake_entry_one_per_student"),
        ]

    def __str__(self):
        return f"{self.student.name} → {self.school_class}"

    def audit_node(self):
        return self.intake.school
