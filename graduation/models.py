"""Graduation (毕业, domain §10): the rules per province × stage, the results other offices send,
the graduation list reviewed on the approval engine, the certificates it issues and the cases that
come after (结业换毕业, 毕业生回退).

A student's status is never written here: the services call `students.services.record_status_event`
with the lifecycle's events (GRADUATED, COMPLETED, DROPPED_OUT, CERTIFICATE_EXCHANGED,
GRADUATION_REVERSED).
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from graduation.formats import check_format
from registrar.choices import NodeKind, Segment
from registrar.models import ApprovalRequest, Organisation, ScopedQuerySet
from students.models import Student

# How long a withheld certificate (缓发) or a completion (结业) keeps its right: one year (source 002).
RIGHT_LAPSES_AFTER = timedelta(days=365)


class Check(models.TextChoices):
    """The named checks a rule may apply. The first five are preconditions: a student who fails one
    cannot be proposed at all until it is put right; the others are the standard of graduation."""

    ENROLLED = "enrolled", _("Status enrolled")
    FINAL_GRADE = "final_grade", _("In the final grade of the school")
    NO_OPEN_REQUEST = "no_open_request", _("No request in progress")
    NO_PROBLEM_RECORD = "no_problem_record", _("No unresolved problem record")
    PHOTO = "photo", _("Photo on file")
    SCHOOL_YEARS = "school_years", _("The years of the school system completed")
    CREDITS = "credits", _("Credits")
    MORAL = "moral", _("Moral character and civic literacy")
    FITNESS = "fitness", _("Physical fitness standard")
    COURSES = "courses", _("Every course passed")
    INTERNSHIP = "internship", _("Internship passed")
    INTERNSHIP_REPORT = "internship_report", _("Internship report submitted")
    FEES = "fees", _("Fees paid")


PRECONDITIONS = (
    Check.ENROLLED,
    Check.FINAL_GRADE,
    Check.NO_OPEN_REQUEST,
    Check.NO_PROBLEM_RECORD,
    Check.PHOTO,
)


class RuleSetQuerySet(ScopedQuerySet):
    # The installation's defaults (no province) are visible to superusers only.
    scope_path = "province__path"


class RuleSet(models.Model):
    """The graduation rules of one province for one stage, or (without a province) the defaults that
    apply wherever a province has not set its own. A province's rule replaces the default rule of the
    same check; the others stay."""

    province = models.ForeignKey(
        Organisation,
        verbose_name=_("province"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": NodeKind.PROVINCE},
        help_text=_("Empty: the defaults for every province without rules of its own."),
    )
    segment = models.CharField(_("stage"), max_length=12, choices=Segment.choices)
    # Certificate numbers: {year}, {school} (学校标识码), {province} and {seq} (e.g. {seq:05d}).
    graduation_format = models.CharField(_("graduation certificate number"), max_length=60, blank=True)
    completion_format = models.CharField(_("completion certificate number"), max_length=60, blank=True)
    dropout_format = models.CharField(_("certificate number after leaving"), max_length=60, blank=True)

    history = HistoricalRecords()
    objects = RuleSetQuerySet.as_manager()

    class Meta:
        verbose_name = _("graduation rule set")
        verbose_name_plural = _("graduation rule sets")
        ordering = ["province__code", "segment"]
        constraints = [
            models.UniqueConstraint(fields=["province", "segment"], name="ruleset_one_per_province_stage"),
            models.UniqueConstraint(
                fields=["segment"], condition=Q(province__isnull=True), name="ruleset_one_default_per_stage"
            ),
        ]

    def __str__(self):
        where = self.province.name if self.province_id else _("Defaults")
        return f"{where} · {self.get_segment_display()}"

    def audit_node(self):
        return self.province

    def clean(self):
        errors = {}
        for name in ("graduation_format", "completion_format", "dropout_format"):
            value = getattr(self, name)
            message = check_format(value) if value else ""
            if message:
                errors[name] = message
        if errors:
            raise ValidationError(errors)


class Rule(models.Model):
    rule_set = models.ForeignKey(
        RuleSet, verbose_name=_("rule set"), on_delete=models.CASCADE, related_name="rules"
    )
    check_name = models.CharField(_("check"), max_length=20, choices=Check.choices)
    enabled = models.BooleanField(_("applies"), default=True)
    threshold = models.DecimalField(
        _("threshold"),
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_("The least credits, or the pass mark of a course given as a score."),
    )
    courses = models.CharField(
        _("planned courses"),
        max_length=500,
        blank=True,
        help_text=_(
            "The courses of the plan, separated by commas: each is a column of the results template."
        ),
    )
    optional_input = models.BooleanField(
        _("passes without results"),
        default=False,
        help_text=_("Tick when the check applies only to the results that were loaded."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("graduation rule")
        verbose_name_plural = _("graduation rules")
        ordering = ["rule_set", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["rule_set", "check_name"], name="rule_one_per_check")]

    def __str__(self):
        return self.get_check_name_display()

    def audit_node(self):
        return self.rule_set.province

    def course_names(self):
        return [name.strip() for name in self.courses.replace("，", ",").split(",") if name.strip()]


class PassFail(models.TextChoices):
    """A pass/fail result (综合素质评价, 实习)."""

    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")


class Fitness(models.TextChoices):
    """体质健康: the national standard's levels."""

    EXCELLENT = "excellent", _("Excellent")
    GOOD = "good", _("Good")
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")


class ResultQuerySet(ScopedQuerySet):
    scope_path = "student__school__path"


class Result(models.Model):
    """What the other offices said about one student: empty where no file has said it yet."""

    student = models.OneToOneField(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="graduation_result"
    )
    credits = models.DecimalField(_("credits"), max_digits=6, decimal_places=1, null=True, blank=True)
    moral = models.CharField(
        _("moral character and civic literacy"), max_length=4, choices=PassFail.choices, blank=True
    )
    fitness = models.CharField(_("physical fitness"), max_length=10, choices=Fitness.choices, blank=True)
    # {course: {"value": "85" or "补考合格", "passed": true}}
    courses = models.JSONField(_("courses"), default=dict, blank=True)
    internship = models.CharField(_("internship"), max_length=4, choices=PassFail.choices, blank=True)
    internship_report = models.BooleanField(_("internship report submitted"), null=True, blank=True)
    fees_paid = models.BooleanField(_("fees paid"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = ResultQuerySet.as_manager()

    class Meta:
        verbose_name = _("graduation result")
        verbose_name_plural = _("graduation results")

    def __str__(self):
        return str(self.student)

    def audit_node(self):
        return self.student.school


class ResultImportQuerySet(ScopedQuerySet):
    scope_path = "school__path"


class ResultImport(models.Model):
    """One results file imported (or refused): who, when, what came of it, and its error workbook."""

    class State(models.TextChoices):
        INVALID = "invalid", _("Has errors")
        CHECKED = "checked", _("Checked without writing")
        DONE = "done", _("Imported")

    school = models.ForeignKey(
        Organisation, verbose_name=_("school"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    changed_rows = models.PositiveIntegerField(_("students changed"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    error_file = models.FileField(_("error workbook"), upload_to="graduation/errors/%Y/", blank=True)

    objects = ResultImportQuerySet.as_manager()

    class Meta:
        verbose_name = _("results import")
        verbose_name_plural = _("results imports")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.original_name or f"#{self.pk}"

    def audit_node(self):
        return self.school


class Outcome(models.TextChoices):
    """What the list proposes for a student; the values are the statuses they lead to."""

    GRADUATED = "graduated", _("Graduation")
    COMPLETED = "completed", _("Completion without graduating")
    DROPPED_OUT = "dropped_out", _("Leaving after study")


class Destination(models.TextChoices):
    FURTHER_STUDY = "further_study", _("Further study")
    EMPLOYMENT = "employment", _("Employment")
    MILITARY = "military", _("Military service")
    ABROAD = "abroad", _("Abroad")
    OTHER = "other", _("Other")


class ByApprovalQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The cases whose approval the user sees (the school, the applicant or a step in their node)."""
        return self.filter(approval__in=ApprovalRequest.objects.visible_to(user))


class GraduationList(models.Model):
    """A school's graduation list of one stage and year (毕业结业名单), reviewed as one request."""

    approval = models.OneToOneField(
        ApprovalRequest, verbose_name=_("approval"), on_delete=models.PROTECT, related_name="graduation_list"
    )
    school = models.ForeignKey(
        Organisation, verbose_name=_("school"), on_delete=models.PROTECT, related_name="+"
    )
    segment = models.CharField(_("stage"), max_length=12, choices=Segment.choices)
    year = models.PositiveSmallIntegerField(_("graduation year"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("proposed by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)

    history = HistoricalRecords()
    objects = ByApprovalQuerySet.as_manager()

    class Meta:
        verbose_name = _("graduation list")
        verbose_name_plural = _("graduation lists")
        ordering = ["-year", "-created_at", "-id"]

    def __str__(self):
        return f"{self.school.name} {self.year} {self.get_segment_display()}"

    def get_absolute_url(self):
        return reverse("graduation:list", args=[self.pk])

    def audit_node(self):
        return self.school


class Entry(models.Model):
    """One student on a list, with the proposed outcome and destination (去向)."""

    graduation_list = models.ForeignKey(
        GraduationList, verbose_name=_("graduation list"), on_delete=models.CASCADE, related_name="entries"
    )
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    destination = models.CharField(_("destination"), max_length=15, choices=Destination.choices, blank=True)
    destination_school = models.CharField(_("school of further study"), max_length=100, blank=True)
    # A reviewer took the student out of the list: the entry stays, with who and why.
    removed_at = models.DateTimeField(_("taken out"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken out by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    removed_reason = models.TextField(_("why taken out"), blank=True)
    certificate = models.OneToOneField(
        "Certificate",
        verbose_name=_("certificate"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="list_entry",
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("graduation list entry")
        verbose_name_plural = _("graduation list entries")
        ordering = [
            "graduation_list",
            "student__school_class__name",
            "student__class_number",
            "student__name",
        ]
        constraints = [
            models.UniqueConstraint(fields=["graduation_list", "student"], name="entry_one_per_student"),
        ]

    def __str__(self):
        return f"{self.student} · {self.get_outcome_display()}"

    def audit_node(self):
        return self.graduation_list.school

    @property
    def is_removed(self):
        return self.removed_at is not None


class CertificateKind(models.TextChoices):
    GRADUATION = "graduation", _("Graduation certificate")
    COMPLETION = "completion", _("Completion certificate")
    DROPOUT = "dropout", _("Certificate of study")


class CertificateQuerySet(ScopedQuerySet):
    scope_path = "school__path"

    def valid(self):
        return self.filter(voided_on__isnull=True)


class Certificate(models.Model):
    """A certificate number given to a student. Unique and never given again: a voided number (after
    an exchange or a reversal) stays here, voided, for ever."""

    number = models.CharField(_("certificate number"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=CertificateKind.choices)
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="certificates"
    )
    school = models.ForeignKey(
        Organisation, verbose_name=_("school"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("graduation year"))
    issued_on = models.DateField(_("issued"))
    voided_on = models.DateField(_("voided"), null=True, blank=True)
    void_reason = models.TextField(_("why voided"), blank=True)
    # 缓发: the certificate is withheld until released; the right lapses a year after.
    withheld_on = models.DateField(_("withheld since"), null=True, blank=True)
    withheld_reason = models.TextField(_("why withheld"), blank=True)

    history = HistoricalRecords()
    objects = CertificateQuerySet.as_manager()

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["school", "-year", "number"]
        indexes = [models.Index(fields=["school", "year"], name="certificate_school_year")]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("graduation:certificate", args=[self.pk])

    def audit_node(self):
        return self.school

    @property
    def is_valid(self):
        return self.voided_on is None

    @property
    def is_withheld(self):
        return self.is_valid and self.withheld_on is not None

    @property
    def right_lapses_on(self):
        return self.withheld_on + RIGHT_LAPSES_AFTER if self.withheld_on else None


class CertificateCounter(models.Model):
    """The last sequence number used for one certificate number prefix; it only ever grows."""

    key = models.CharField(max_length=120, unique=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("certificate number counter")
        verbose_name_plural = _("certificate number counters")

    def __str__(self):
        return f"{self.key}: {self.last}"


class CaseKind(models.TextChoices):
    EXCHANGE = "exchange", _("Completion exchanged for graduation")
    REVERSAL = "reversal", _("Graduation reversed")


class CertificateCase(models.Model):
    """After graduation: 结业换毕业 (a completion exchanged once the make-up exams are passed) or
    毕业生回退 (an authority reverses a wrong graduation), each a request of the engine."""

    approval = models.OneToOneField(
        ApprovalRequest, verbose_name=_("approval"), on_delete=models.PROTECT, related_name="certificate_case"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=CaseKind.choices)
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="+"
    )
    certificate = models.ForeignKey(
        Certificate, verbose_name=_("certificate"), on_delete=models.PROTECT, related_name="cases"
    )
    reason = models.TextField(_("reason"))
    new_certificate = models.OneToOneField(
        Certificate,
        verbose_name=_("new certificate"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()
    objects = ByApprovalQuerySet.as_manager()

    class Meta:
        verbose_name = _("certificate case")
        verbose_name_plural = _("certificate cases")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.student}"

    def get_absolute_url(self):
        return reverse("graduation:case", args=[self.pk])

    def audit_node(self):
        return self.student.school
