"""学籍异动: status changes of a student (转学, 休学, 复学, 退学 …), each one request of the approval engine.

One model holds every kind: they share the student, the reason and its explanation, the evidence,
the approval and the pages; the few kind-specific fields (where the student goes, the dates of a
suspension) are nullable and required per kind by the constraints below. The change itself is
applied only when the last step approves (services.apply_change).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registrar.models import (
    EDITABLE_STATES,
    ApprovalRequest,
    Grade,
    Organisation,
    SchoolClass,
    ScopedQuerySet,
)
from registrar.uploads import PrivateFile
from students.models import Student


class Kind(models.TextChoices):
    TRANSFER = "transfer", _("Transfer")
    SUSPENSION = "suspension", _("Suspension")
    EXTENSION = "extension", _("Suspension extension")
    RESUMPTION = "resumption", _("Resumption")
    WITHDRAWAL = "withdrawal", _("Withdrawal")
    REPEAT = "repeat", _("Repeating a grade")
    SKIP = "skip", _("Skipping a grade")
    ABROAD = "abroad", _("Going abroad")
    DEATH = "death", _("Death")
    OTHER = "other", _("Other departure")
    # Transfers with a school outside this system (another province's system, a private or overseas
    # Chinese school): only one side is here, so the request is that side's alone.
    TRANSFER_OUT = "transfer_out", _("Transfer out of the system")
    TRANSFER_IN = "transfer_in", _("Transfer in from outside the system")


# Kinds that place the student in a class: another school's (转学) or another grade of the same school.
PLACING_KINDS = (Kind.TRANSFER, Kind.RESUMPTION, Kind.REPEAT, Kind.SKIP)
SUSPENSION_KINDS = (Kind.SUSPENSION, Kind.EXTENSION)
# Kinds whose other school is outside the system, named in the `outside_*` fields: the destination
# of a transfer out, the origin of a transfer in.
OUTSIDE_KINDS = (Kind.TRANSFER_OUT, Kind.TRANSFER_IN)
OUTSIDE_FIELDS = ("outside_school", "outside_province", "outside_county", "outside_address")


def approval_kind(kind):
    """The approval engine's name of a kind: "transfers.transfer", "transfers.suspension" …"""
    return f"transfers.{kind}"


class Reason(models.TextChoices):
    # Transfers (source 001: 户口迁移, 父母工作调动, 购房 …)
    MOVED = "moved", _("The family moved house")
    PARENT_JOB = "parent_job", _("A parent's work moved")
    # Suspensions (domain §6)
    ILLNESS = "illness", _("Illness")
    INFECTIOUS = "infectious", _("Infectious disease")
    ABSENCE = "absence", _("Absent for more than ten weeks in a term")
    OTHER = "other", _("Other reason")


TRANSFER_REASONS = (Reason.MOVED, Reason.PARENT_JOB, Reason.OTHER)
REASONS = {
    Kind.TRANSFER: TRANSFER_REASONS,
    Kind.TRANSFER_OUT: TRANSFER_REASONS,
    Kind.TRANSFER_IN: TRANSFER_REASONS,
    Kind.SUSPENSION: (Reason.ILLNESS, Reason.INFECTIOUS, Reason.ABSENCE, Reason.OTHER),
}


class EvidenceType(models.TextChoices):
    APPLICATION = "application", _("Application signed by the guardian")
    HUKOU_BOOK = "hukou_book", _("Household register")
    HUKOU_TRANSFER = "hukou_transfer", _("Household migration certificate")
    JOB_TRANSFER = "job_transfer", _("Proof of a parent's job transfer")
    PROPERTY = "property", _("Property deed or tenancy contract")
    HOSPITAL = "hospital", _("Hospital certificate (county level or above)")
    MEDICAL_RECORD = "medical_record", _("Medical record and bills")
    RECOVERY = "recovery", _("Hospital certificate of recovery")
    ACADEMIC = "academic", _("Assessment of the student's studies")
    PASSPORT = "passport", _("Passport and visa or admission letter")
    DEATH = "death", _("Death certificate or cancelled household registration")
    # 接收证明: the receiving school outside the system agrees to take the student.
    ACCEPTANCE = "acceptance", _("Letter of acceptance from the receiving school")
    # 转出审批: the sending school's and its bureau's approval of a transfer from outside the system.
    SENDING_APPROVAL = "sending_approval", _("Approval of the sending school and its bureau")
    OTHER = "other", _("Other document")


class StatusChangeRequestQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The requests whose approval the user sees (school, applicant or a step in their node)."""
        return self.filter(approval__in=ApprovalRequest.objects.visible_to(user))

    def for_list(self):
        return self.select_related(
            "approval__current_step__node",
            "student",
            "from_school",
            "from_grade__school",
            "from_class",
            "to_school",
            "to_grade__school",
            "to_class",
        )


class StatusChangeRequest(models.Model):
    approval = models.OneToOneField(
        ApprovalRequest, verbose_name=_("approval"), on_delete=models.PROTECT, related_name="status_change"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="status_changes"
    )
    # Where the student was when the request was made: the sending school of a transfer.
    from_school = models.ForeignKey(
        Organisation, verbose_name=_("school"), on_delete=models.PROTECT, related_name="+"
    )
    from_grade = models.ForeignKey(Grade, verbose_name=_("grade"), on_delete=models.PROTECT, related_name="+")
    from_class = models.ForeignKey(
        SchoolClass, verbose_name=_("class"), on_delete=models.PROTECT, related_name="+"
    )
    # Where the student goes: the receiving school of a transfer, or a grade of the same school.
    to_school = models.ForeignKey(
        Organisation,
        verbose_name=_("receiving school"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    to_grade = models.ForeignKey(
        Grade, verbose_name=_("new grade"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    to_class = models.ForeignKey(
        SchoolClass,
        verbose_name=_("new class"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    # A choice of `Reason` for the kinds that have them (transfers, suspensions), blank for the others;
    # the explanation is the applicant's own words, for every kind.
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    explanation = models.TextField(_("explanation"))
    # The school outside the system (OUTSIDE_KINDS): where a transfer out goes, where a transfer in
    # comes from, as an office records it on the 转学联系表.
    outside_school = models.CharField(_("school outside the system"), max_length=100, blank=True)
    outside_province = models.CharField(_("its province"), max_length=50, blank=True)
    outside_county = models.CharField(_("its county or district"), max_length=50, blank=True)
    outside_address = models.CharField(_("its address"), max_length=200, blank=True)
    # A suspension: from, to (an extension: the new end).
    starts_on = models.DateField(_("from"), null=True, blank=True)
    ends_on = models.DateField(_("until"), null=True, blank=True)
    # The day the change took effect (the last approval).
    applied_on = models.DateField(_("applied on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()
    objects = StatusChangeRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind__in=PLACING_KINDS) | Q(to_school__isnull=False, to_class__isnull=False),
                name="statuschange_placing_kinds_have_a_class",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=SUSPENSION_KINDS) | Q(ends_on__isnull=False),
                name="statuschange_suspensions_have_an_end",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=OUTSIDE_KINDS) | (~Q(outside_school="") & ~Q(outside_province="")),
                name="statuschange_outside_kinds_name_the_school",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.student.name}"

    def get_absolute_url(self):
        return reverse("transfers:detail", args=[self.pk])

    def audit_node(self):
        return self.approval.school

    @property
    def is_transfer(self):
        return self.kind == Kind.TRANSFER

    @property
    def is_outside(self):
        """A transfer with a school outside the system (转出 to it, 转入 from it)."""
        return self.kind in OUTSIDE_KINDS

    @property
    def outside_place(self):
        """ "某某学校（广东省 顺德区）" for pages, forms and the status history."""
        region = " ".join(part for part in (self.outside_province, self.outside_county) if part)
        return f"{self.outside_school}（{region}）" if region else self.outside_school

    @property
    def is_editable(self):
        """Draft or returned: the applicant may still change the request and its evidence."""
        return self.approval.state in EDITABLE_STATES


class Evidence(PrivateFile):
    """One scan (image or PDF) attached to a request: 户口本, 医院证明 …"""

    change = models.ForeignKey(
        StatusChangeRequest,
        verbose_name=_("status change"),
        on_delete=models.CASCADE,
        related_name="evidence",
    )
    kind = models.CharField(_("document"), max_length=20, choices=EvidenceType.choices)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["change_id", "uploaded_at", "id"]

    def audit_node(self):
        return self.change.approval.school


class SuspensionQuerySet(ScopedQuerySet):
    scope_path = "student__school__path"

    def current(self):
        return self.filter(ended_on__isnull=True)


class Suspension(models.Model):
    """A period of 休学: started by an approved suspension, moved by extensions, ended by a
    resumption or a departure. The limits (one year at a time, two in total) count these."""

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="suspensions"
    )
    change = models.OneToOneField(
        StatusChangeRequest,
        verbose_name=_("status change"),
        on_delete=models.PROTECT,
        related_name="suspension",
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)

    history = HistoricalRecords()
    objects = SuspensionQuerySet.as_manager()

    class Meta:
        verbose_name = _("suspension")
        verbose_name_plural = _("suspensions")
        ordering = ["student_id", "starts_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student"],
                condition=Q(ended_on__isnull=True),
                name="suspension_one_current_per_student",
            ),
        ]

    def __str__(self):
        return f"{self.student.name} {self.starts_on:%Y-%m-%d}–{self.ends_on:%Y-%m-%d}"

    def audit_node(self):
        return self.student.school

    def days_used(self):
        """Days of suspension this period counts: to its actual end, or to its planned end."""
        return ((self.ended_on or self.ends_on) - self.starts_on).days
