"""The shared core: the organisation tree, staff and their roles, and the business-event audit log."""

import re

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from registrar.choices import (
    ALLOWED_PARENTS,
    CODE_LENGTH,
    ROLE_NODE_KINDS,
    STAGE_SEGMENTS,
    NodeKind,
    Role,
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
        return f"{self.grade.name}{self.name}"

    @property
    def school(self):
        return self.grade.school


class UserQuerySet(ScopedQuerySet):
    scope_path = "node__path"


class StaffManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """A member of staff: belongs to one node of the tree and holds one or more roles there."""

    full_name = models.CharField(_("full name"), max_length=50, blank=True)
    node = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    roles = models.JSONField(_("roles"), default=list, blank=True)
    # A class teacher (班主任) acts only for the classes named here.
    classes = models.ManyToManyField(
        SchoolClass,
        verbose_name=_("classes taught as class teacher"),
        blank=True,
        related_name="class_teachers",
    )

    history = HistoricalRecords(excluded_fields=["password", "last_login"], m2m_fields=[classes])
    objects = StaffManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.full_name or self.username

    def clean(self):
        super().clean()
        unknown = [role for role in self.roles if role not in Role.values]
        if unknown:
            raise ValidationError({"roles": _("Unknown role: %(roles)s") % {"roles": ", ".join(unknown)}})
        if self.roles and self.node_id is None:
            raise ValidationError({"node": _("A user with roles belongs to a node of the tree.")})
        for role in self.roles:
            if self.node.kind not in ROLE_NODE_KINDS[Role(role)]:
                raise ValidationError(
                    {
                        "roles": _("The role %(role)s does not belong at a %(kind)s.")
                        % {"role": Role(role).label, "kind": self.node.get_kind_display()}
                    }
                )

    def has_role(self, *roles):
        return any(role in self.roles for role in roles)

    def get_roles_display(self):
        return "、".join(str(Role(role).label) for role in self.roles if role in Role.values)


class AuditEventQuerySet(ScopedQuerySet):
    scope_path = "node__path"

    def for_object(self, obj):
        return self.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))


class AuditEvent(models.Model):
    """A business event: who did what to which object, when and why.

    Field-level changes are in the django-simple-history tables; this log holds the actions
    (imports, approvals, exports …) in stable dotted names such as `registrar.class.created`.
    """

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT
    )
    action = models.CharField(_("action"), max_length=80, db_index=True)
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    # The node the object belongs to: the event is visible to whoever may see that node.
    node = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), null=True, blank=True, on_delete=models.PROTECT
    )
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="auditevent_object")]

    def __str__(self):
        return f"{self.action} {self.object_repr}"


# --- The approval engine (see registrar/approvals.py for the services) ---------------------------


class Holiday(models.Model):
    """A day that breaks the Monday-to-Friday rule: a public holiday on a weekday, or a make-up
    working day (调休) on a weekend. Deadlines count working days (registrar/workdays.py)."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=50)
    is_workday = models.BooleanField(
        _("make-up working day"),
        default=False,
        help_text=_("Tick for a weekend day that is worked (调休); leave empty for a day off."),
    )

    class Meta:
        verbose_name = _("holiday or make-up working day")
        verbose_name_plural = _("holidays and make-up working days")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.name}"


class ApprovalState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned for revision")
    WITHDRAWN = "withdrawn", _("Withdrawn by the applicant")


# Waiting for a reviewer's decision.
REVIEW_STATES = (ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW)
# Not finished: counts as 在办业务 for the case it belongs to.
OPEN_STATES = (ApprovalState.DRAFT, ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW, ApprovalState.RETURNED)


class StepState(models.TextChoices):
    WAITING = "waiting", _("Waiting for its turn")
    CURRENT = "current", _("Being reviewed")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned for revision")
    SKIPPED = "skipped", _("Not reached")


class DecisionAction(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned for revision")
    WITHDRAWN = "withdrawn", _("Withdrawn by the applicant")
    RESUBMITTED = "resubmitted", _("Resubmitted")


def _may_act_as_applicant(request, user):
    from registrar.approvals import may_act_as_applicant

    return may_act_as_applicant(request, user)


def _may_decide_current_step(request, user):
    from registrar.approvals import may_decide_step

    return request.current_step_id is not None and may_decide_step(request.current_step, user)


class ApprovalRequestQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Requests whose school, applicant or any step sits inside the user's node.

        A county reviewer of the receiving county sees a transfer from a school of another county,
        because one of its steps is theirs.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        if user.node_id is None:
            return self.none()
        # Class teachers take no part in approvals; the subjects are other classes' students.
        if not [role for role in user.roles if role != Role.CLASS_TEACHER]:
            return self.none()
        prefix = user.node.path
        steps_inside = ApprovalStep.objects.filter(
            request=models.OuterRef("pk"), node__path__startswith=prefix
        )
        return self.filter(
            Q(school__path__startswith=prefix)
            | Q(applicant_node__path__startswith=prefix)
            | Q(models.Exists(steps_inside))
        )

    def open(self):
        return self.filter(state__in=OPEN_STATES)

    def waiting_for(self, user):
        """Requests whose current step is at the user's node and for one of the user's roles."""
        if not user.is_authenticated or not user.is_active or user.node_id is None or not user.roles:
            return self.none()
        return self.filter(
            state__in=REVIEW_STATES,
            current_step__state=StepState.CURRENT,
            current_step__node_id=user.node_id,
            current_step__role__in=list(user.roles),
        )


class ApprovalRequest(FSMModelMixin, models.Model):
    """One request of any kind going through its approval chain.

    Workflows link their own model to it with a OneToOneField; the state only changes through the
    services of registrar/approvals.py, which lock the row, check the step, and record a Decision.
    """

    kind = models.CharField(_("kind"), max_length=60, db_index=True)
    state = FSMField(
        _("state"), max_length=20, choices=ApprovalState.choices, default=ApprovalState.DRAFT, protected=True
    )
    subject_label = models.CharField(_("subject"), max_length=200)
    # What the case is about, for the "one open request per subject" rule (在办业务): "student:42".
    subject_key = models.CharField(_("subject key"), max_length=60, blank=True, db_index=True)
    school = models.ForeignKey(
        Organisation, verbose_name=_("school"), on_delete=models.PROTECT, related_name="approval_requests"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("applicant"), on_delete=models.PROTECT, related_name="+"
    )
    applicant_node = models.ForeignKey(
        Organisation, verbose_name=_("applying organisation"), on_delete=models.PROTECT, related_name="+"
    )
    current_step = models.ForeignKey(
        "ApprovalStep",
        verbose_name=_("current step"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Each submission (the first and every resubmission after a return) is a round of steps.
    round = models.PositiveSmallIntegerField(_("round"), default=0)
    chain_key = models.CharField(_("approval chain"), max_length=120, blank=True)
    # The named nodes of the case as codes ({"school": "1420102001", "sending_school": …}) and its
    # other facts ({"scope": "other_county", "segment": "senior"}): the chain is resolved from them
    # at every submission.
    nodes = models.JSONField(_("nodes of the case"), default=dict, blank=True)
    facts = models.JSONField(_("facts of the case"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    history = HistoricalRecords()
    objects = ApprovalRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "kind"], name="approvalrequest_state_kind")]

    def __str__(self):
        from registrar.approvals import kind_label

        return f"{kind_label(self.kind)} {self.subject_label}"

    def get_absolute_url(self):
        return reverse("registrar:approval", args=[self.pk])

    def audit_node(self):
        return self.school

    @property
    def is_open(self):
        return self.state in OPEN_STATES

    # Transitions only change the row in memory; registrar.approvals does the rest.

    @transition(
        field=state,
        source=ApprovalState.DRAFT,
        target=ApprovalState.SUBMITTED,
        permission=_may_act_as_applicant,
    )
    def submit(self):
        pass

    @transition(
        field=state,
        source=list(REVIEW_STATES),
        target=RETURN_VALUE(ApprovalState.IN_REVIEW, ApprovalState.APPROVED),
        permission=_may_decide_current_step,
    )
    def approve(self, *, final=False):
        return ApprovalState.APPROVED if final else ApprovalState.IN_REVIEW

    @transition(
        field=state,
        source=list(REVIEW_STATES),
        target=ApprovalState.REJECTED,
        permission=_may_decide_current_step,
    )
    def reject(self):
        pass

    @transition(
        field=state,
        source=list(REVIEW_STATES),
        target=ApprovalState.RETURNED,
        permission=_may_decide_current_step,
    )
    def return_for_revision(self):
        pass

    @transition(
        field=state,
        source=list(OPEN_STATES),
        target=ApprovalState.WITHDRAWN,
        permission=_may_act_as_applicant,
    )
    def withdraw(self):
        pass

    @transition(
        field=state,
        source=ApprovalState.RETURNED,
        target=ApprovalState.SUBMITTED,
        permission=_may_act_as_applicant,
    )
    def resubmit(self):
        pass


class ApprovalStep(models.Model):
    """One step of a request's chain: a role at a node, resolved when the request is submitted."""

    request = models.ForeignKey(
        ApprovalRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="steps"
    )
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    position = models.PositiveSmallIntegerField(_("position"))
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    node = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="approval_steps"
    )
    state = models.CharField(_("state"), max_length=10, choices=StepState.choices, default=StepState.WAITING)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # The last working day for the decision; the day after it the step is overdue.
    due_date = models.DateField(_("due"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")
        ordering = ["request", "round", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "round", "position"], name="approvalstep_unique_position_per_round"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_date"], name="approvalstep_state_due"),
            models.Index(fields=["node", "state"], name="approvalstep_node_state"),
        ]

    def __str__(self):
        return f"{self.position}. {self.get_role_display()} · {self.node}"


class Decision(models.Model):
    """Who did what to a request, when, and why: the record every review keeps."""

    request = models.ForeignKey(
        ApprovalRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="decisions"
    )
    step = models.ForeignKey(
        ApprovalStep,
        verbose_name=_("step"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(_("action"), max_length=20, choices=DecisionAction.choices)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.get_action_display()} · {self.actor}"


# --- The business calendar (see registrar/calendar.py for the rules that read it) ------------------

# What applies where a province has no row, or leaves a field empty (domain §6, §10).
# settings.REGISTRAR["BUSINESS_CALENDAR"] may replace any of these for the whole installation.
BUSINESS_CALENDAR_DEFAULTS = {
    # "Two weeks before the end of term to two weeks after the start".
    "transfer_windows": "01-06..03-06, 06-26..09-15",
    "graduation_freeze": "05-31",
    "graduation_deadline": "06-15",
    "school_year_end": "08-31",
    # The autumn term ends on 31 January, the spring term in July.
    "term_ends": "01-31, 07-15",
    "suspension_max_months": 12,
    "suspension_total_max_months": 24,
    "suspension_reminder_days": 30,
}


class BusinessCalendarQuerySet(ScopedQuerySet):
    scope_path = "province__path"


class BusinessCalendar(models.Model):
    """A province's dates and limits of the school year (the "province switches" of domain §1).

    Every field may stay empty: the default applies. Dates are written MM-DD, windows
    MM-DD..MM-DD separated by commas (a window may run over the new year: 12-20..01-10).
    """

    province = models.OneToOneField(
        Organisation,
        verbose_name=_("province"),
        on_delete=models.PROTECT,
        related_name="business_calendar",
        limit_choices_to={"kind": NodeKind.PROVINCE},
    )
    transfer_windows = models.CharField(
        _("transfer windows"),
        max_length=200,
        blank=True,
        help_text=_("When schools may start transfers, e.g. 01-06..03-06, 06-26..09-15."),
    )
    graduation_freeze = models.CharField(
        _("graduation data freeze"),
        max_length=5,
        blank=True,
        help_text=_("From this day (MM-DD) to the end of the school year graduating students are frozen."),
    )
    graduation_deadline = models.CharField(
        _("graduation processed by"), max_length=5, blank=True, help_text=_("MM-DD")
    )
    school_year_end = models.CharField(
        _("end of the school year"), max_length=5, blank=True, help_text=_("MM-DD")
    )
    term_ends = models.CharField(
        _("ends of term"),
        max_length=50,
        blank=True,
        help_text=_(
            "The last day of each term, e.g. 01-31, 07-15; new students' input errors may be corrected "
            "until the end of their first term."
        ),
    )
    suspension_max_months = models.PositiveSmallIntegerField(
        _("longest suspension (months)"), null=True, blank=True
    )
    suspension_total_max_months = models.PositiveSmallIntegerField(
        _("longest suspension in total (months)"), null=True, blank=True
    )
    suspension_reminder_days = models.PositiveSmallIntegerField(
        _("reminder before a suspension ends (days)"), null=True, blank=True
    )

    history = HistoricalRecords()
    objects = BusinessCalendarQuerySet.as_manager()

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["province__code"]

    def __str__(self):
        return f"{self.province.name} · {self._meta.verbose_name}"

    def audit_node(self):
        return self.province

    def clean(self):
        from registrar.calendar import validate_calendar_row

        validate_calendar_row(self)
