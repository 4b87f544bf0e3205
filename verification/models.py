"""数据质量核查 and 人籍一致 (domain §8).

A campaign is opened by a county or city for the schools under it, with a deadline. For each
student the school uploads the scan of the signed 学籍信息确认表 (ConfirmationForm, one per student
and campaign); the class teacher checks it against the record; the registrar handles what was found
wrong and confirms the class (ClassConfirmation). Each term the class teacher confirms who is really
in class (AttendanceCheck), listing the absent ones with a reason (Absence: 在籍不在校).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registrar.models import Organisation, SchoolClass, ScopedQuerySet
from registrar.uploads import PrivateFile


class CampaignQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The campaigns of the user's node, of the nodes below it, and those covering it from above."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        if user.node_id is None:
            return self.none()
        path = user.node.path
        above = [code + "/" for code in _prefixes(path)]
        return self.filter(Q(node__path__startswith=path) | Q(node__path__in=above))

    def open(self):
        return self.filter(closed_at__isnull=True)

    def covering(self, school):
        """The campaigns whose node is the school's county, city … (never the school itself)."""
        return self.filter(node__path__in=[code + "/" for code in _prefixes(school.path)])


def _prefixes(path):
    """'420000/420100/420102/1420102001/' → the paths (without the final slash) of its ancestors."""
    codes = path.rstrip("/").split("/")
    return ["/".join(codes[:length]) for length in range(1, len(codes))]


class Campaign(models.Model):
    node = models.ForeignKey(
        Organisation, verbose_name=_("opened for"), on_delete=models.PROTECT, related_name="campaigns"
    )
    title = models.CharField(_("title"), max_length=100)
    deadline = models.DateField(_("deadline"))
    note = models.TextField(_("instructions"), blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    history = HistoricalRecords()
    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("data-quality campaign")
        verbose_name_plural = _("data-quality campaigns")
        ordering = ["-opened_at", "-id"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("verification:campaign", args=[self.pk])

    def audit_node(self):
        return self.node

    @property
    def is_open(self):
        return self.closed_at is None

    @property
    def is_overdue(self):
        return self.is_open and self.deadline < timezone.localdate()


class Outcome(models.TextChoices):
    UNCHECKED = "unchecked", _("Waiting for the class teacher")
    CONSISTENT = "consistent", _("Consistent with the record")
    WRONG = "wrong", _("Fields found wrong")


class ConfirmationFormQuerySet(ScopedQuerySet):
    scope_path = "student__school__path"


class ConfirmationForm(PrivateFile):
    """The scan of one student's signed 学籍信息确认表 in one campaign, and the class teacher's check."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="forms"
    )
    student = models.ForeignKey(
        "students.Student",
        verbose_name=_("student"),
        on_delete=models.PROTECT,
        related_name="confirmation_forms",
    )
    outcome = models.CharField(_("check"), max_length=12, choices=Outcome.choices, default=Outcome.UNCHECKED)
    # The record's fields the parent marked wrong (names of students.Student fields, or "guardians").
    wrong_fields = models.JSONField(_("wrong fields"), default=list, blank=True)
    remark = models.TextField(_("remark"), blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)
    # What the registrar did about the wrong fields: a key-data correction or a direct edit.
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    handling = models.TextField(_("how it was handled"), blank=True)

    history = HistoricalRecords(excluded_fields=["file", "sha256"])
    objects = ConfirmationFormQuerySet.as_manager()

    class Meta:
        verbose_name = _("signed confirmation form")
        verbose_name_plural = _("signed confirmation forms")
        ordering = ["campaign_id", "student_id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "student"], name="confirmationform_one_per_student"),
        ]

    def __str__(self):
        return f"{_('Confirmation form')} {self.student.name}"

    def get_absolute_url(self):
        return reverse("verification:form", args=[self.pk])

    def audit_node(self):
        return self.student.school

    @property
    def needs_handling(self):
        return self.outcome == Outcome.WRONG and self.handled_at is None


class ClassConfirmation(models.Model):
    """The registrar's confirmation that a class's records were checked and put right."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="confirmations"
    )
    school_class = models.ForeignKey(
        SchoolClass, verbose_name=_("class"), on_delete=models.PROTECT, related_name="+"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("confirmed by"), on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("confirmed"), default=timezone.now)
    students = models.PositiveIntegerField(_("students"))

    class Meta:
        verbose_name = _("class confirmation")
        verbose_name_plural = _("class confirmations")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "school_class"], name="classconfirmation_once"),
        ]

    def __str__(self):
        return f"{self.school_class} · {self.campaign}"

    def audit_node(self):
        return self.school_class.grade.school


class AttendanceCheckQuerySet(ScopedQuerySet):
    scope_path = "school_class__grade__school__path"


class AttendanceCheck(models.Model):
    """人籍一致: the class teacher's confirmation, once a term, of who on the roster is in class."""

    school_class = models.ForeignKey(
        SchoolClass, verbose_name=_("class"), on_delete=models.PROTECT, related_name="attendance_checks"
    )
    term_start = models.DateField(_("term from"))
    term_end = models.DateField(_("term to"))
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("confirmed by"), on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("confirmed"), default=timezone.now)
    on_roster = models.PositiveIntegerField(_("students on the roster"))

    objects = AttendanceCheckQuerySet.as_manager()

    class Meta:
        verbose_name = _("attendance check")
        verbose_name_plural = _("attendance checks")
        ordering = ["-term_start", "school_class_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["school_class", "term_start"], name="attendancecheck_once_a_term"
            ),
        ]

    def __str__(self):
        return f"{self.school_class} · {self.term_start:%Y-%m-%d}"

    def audit_node(self):
        return self.school_class.grade.school


class AbsenceReason(models.TextChoices):
    DROPPED_OUT = "dropped_out", _("Dropped out (not attending)")
    ILLNESS = "illness", _("Long illness")
    MOVED = "moved", _("Moved away with the family")
    WORKING = "working", _("Gone out to work")
    OTHER = "other", _("Other")


class AbsenceQuerySet(ScopedQuerySet):
    scope_path = "student__school__path"


class Absence(models.Model):
    """在籍不在校: a student on the roster who is not in class, with the reason (控辍保学 follow-up)."""

    attendance = models.ForeignKey(
        AttendanceCheck, verbose_name=_("attendance check"), on_delete=models.CASCADE, related_name="absences"
    )
    student = models.ForeignKey(
        "students.Student", verbose_name=_("student"), on_delete=models.PROTECT, related_name="absences"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=AbsenceReason.choices)
    detail = models.CharField(_("details"), max_length=200, blank=True)

    objects = AbsenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("student absent from class")
        verbose_name_plural = _("students absent from class")
        ordering = ["attendance_id", "student_id"]
        constraints = [
            models.UniqueConstraint(fields=["attendance", "student"], name="absence_once_per_check"),
        ]

    def __str__(self):
        return f"{self.student.name} · {self.get_reason_display()}"

    def audit_node(self):
        return self.student.school
