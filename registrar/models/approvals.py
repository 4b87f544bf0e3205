"""The approval engine's records: requests, their steps and decisions, and the holiday calendar
that deadlines count by. The services are in registrar/approvals.py."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from registrar.choices import (
    OPEN_STATES,
    REVIEW_STATES,
    ApprovalState,
    DecisionAction,
    Role,
    StepState,
)
from registrar.kinds import kind_label, may_act_as_applicant, may_decide_step
from registrar.models.tree import Organisation


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


def _may_act_as_applicant(approval, user):
    return may_act_as_applicant(approval, user)


def _may_decide_current_step(approval, user):
    return (
        approval.current_step_id is not None
        and may_decide_step(approval.current_step, user)
        and not approval.duty_conflict(user)
    )


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
            approval=models.OuterRef("pk"), node__path__startswith=prefix
        )
        visible = self.filter(
            Q(school__path__startswith=prefix)
            | Q(applicant_node__path__startswith=prefix)
            | Q(models.Exists(steps_inside))
        )
        # A draft is the applying office's own business until it is submitted: the bureaus above
        # do not see a school's unfinished requests (issue #18, item 5).
        return visible.exclude(Q(state=ApprovalState.DRAFT) & ~Q(applicant_node_id=user.node_id))

    def open(self):
        return self.filter(state__in=OPEN_STATES)

    def waiting_for(self, user):
        """Requests whose current step is at the user's node, for one of the user's roles, and that
        separation of duties lets the user decide (`ApprovalRequest.duty_conflict`)."""
        if not user.is_authenticated or not user.is_active or user.node_id is None or not user.roles:
            return self.none()
        return self.filter(
            state__in=REVIEW_STATES,
            current_node_id=user.node_id,
            current_step__state=StepState.CURRENT,
            # The same node again, for the step's side of the join: both sides are then read from
            # their own index, a county's thousands each, not the province's open requests.
            current_step__node_id=user.node_id,
            current_step__role__in=list(user.roles),
        ).exclude(self.duty_conflicts(user))

    @staticmethod
    def duty_conflicts(user):
        """The condition of `duty_conflict` for a whole queryset (one EXISTS each, no row by row)."""
        # What the user submitted, as one hashed set (a correlated EXISTS here is costed by
        # PostgreSQL as if run for every request of the table, which plans a queue badly and has
        # it JIT-compiled: 0.5-2 s a page once the reviewer has decided a few thousand steps).
        sent = Decision.objects.filter(
            actor_id=user.pk, action__in=[DecisionAction.SUBMITTED, DecisionAction.RESUBMITTED]
        ).values("approval_id")
        other_step = ApprovalStep.objects.filter(
            approval=models.OuterRef("pk"), decided_by_id=user.pk
        ).exclude(position=models.OuterRef("current_step__position"))
        # The requests with any step the user decided, as one hashed set first: the correlated
        # EXISTS then runs only for those few, not for each of a county's 10,000 waiting requests.
        decided = ApprovalStep.objects.filter(decided_by_id=user.pk).values("approval_id")
        return Q(applicant_id=user.pk) | Q(pk__in=sent) | (Q(pk__in=decided) & Q(models.Exists(other_step)))


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
    # The organisation of the current step, kept with it by registrar.approvals (`set_current_step`):
    # a reviewer's queue finds its requests by it in one index, where through the steps the database
    # joins every open request of the province to the node's steps.
    current_node = models.ForeignKey(
        Organisation,
        verbose_name=_("waiting at"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # Each submission (the first and every resubmission after a return) is a round of steps.
    round = models.PositiveSmallIntegerField(_("round"), default=0)
    chain_key = models.CharField(_("approval chain"), max_length=120, blank=True)
    # The named nodes of the case as codes ({"school": "1420102001", "sending_school": …}) and its
    # other facts ({"scope": "other_county", "segment": "senior"}): the chain is resolved from them
    # at every submission.
    nodes = models.JSONField(_("nodes of the case"), default=dict, blank=True)
    facts = models.JSONField(_("facts of the case"), default=dict, blank=True)
    # The rules in force when the request started (rules.RuleSnapshot): it keeps them to the end.
    rules_digest = models.CharField(_("rules in force"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    history = HistoricalRecords()
    objects = ApprovalRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "kind"], name="approvalrequest_state_kind"),
            # A reviewer's queue: the requests waiting at a node, joined to their current steps
            # (approvalstep_queue) by hash; covering, so that counting a county's 10,000 reads no
            # table row. Only waiting requests have a node, so only they are in it.
            models.Index(
                fields=["current_node"],
                include=["id", "state", "applicant", "school", "kind", "current_step"],
                condition=Q(current_node__isnull=False),
                name="approvalrequest_waiting",
            ),
        ]

    def __str__(self):
        return f"{kind_label(self.kind)} {self.subject_label}"

    def get_absolute_url(self):
        return reverse("registrar:approval", args=[self.pk])

    def audit_node(self):
        return self.school

    @property
    def is_open(self):
        return self.state in OPEN_STATES

    def duty_conflict(self, user):
        """Why `user` may not decide the current step although they hold its role (separation of
        duties), or "": nobody decides a step of a request they applied for or submitted, nor two
        steps of one request (deciding the same step again in a later round is no second step)."""
        known = self.__dict__.get("_known_duty_conflict")
        if known is not None and known[0] == user.pk:
            return known[1]
        return duty_conflicts_of([self], user).get(self.pk, "")

    # What set_current_step changes: a save after it names both.
    CURRENT_FIELDS = ["current_step", "current_node"]

    def set_current_step(self, step):
        """The step now waiting for a decision (None: none is), and where it waits, in memory
        (saved with `CURRENT_FIELDS`)."""
        self.current_step = step
        self.current_node_id = step.node_id if step is not None else None

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


def duty_conflicts_of(approvals, user, *, remember=False):
    """{approval pk: why `user` may not decide its current step} for those of `approvals` where
    separation of duties forbids it (`ApprovalRequest.duty_conflict`, the one place of the rule):
    two queries at most however many requests. `remember`: each request keeps its answer for
    `duty_conflict` (and so for the FSM's permission check), for a bulk decision's checks."""
    conflicts = {}
    for approval in approvals:
        if approval.applicant_id == user.pk:
            conflicts[approval.pk] = _(
                "You applied for this request: another holder of the role must decide it."
            )
    left = [approval for approval in approvals if approval.pk not in conflicts]
    if left:
        sent = set(
            Decision.objects.filter(
                approval_id__in=[approval.pk for approval in left],
                actor_id=user.pk,
                action__in=[DecisionAction.SUBMITTED, DecisionAction.RESUBMITTED],
            ).values_list("approval_id", flat=True)
        )
        for approval in left:
            if approval.pk in sent:
                conflicts[approval.pk] = _(
                    "You submitted this request: another holder of the role must decide it."
                )
        left = [approval for approval in left if approval.pk not in sent and approval.current_step_id]
    if left:
        decided = set(
            ApprovalStep.objects.filter(
                approval_id__in=[approval.pk for approval in left], decided_by_id=user.pk
            ).values_list("approval_id", "position")
        )
        for approval in left:
            position = approval.current_step.position
            if any(pk == approval.pk and other != position for pk, other in decided):
                conflicts[approval.pk] = _(
                    "You have decided another step of this request: another holder of the role must "
                    "decide this one."
                )
    if remember:
        for approval in approvals:
            approval._known_duty_conflict = (user.pk, conflicts.get(approval.pk, ""))
    return conflicts


class ApprovalStep(models.Model):
    """One step of a request's chain: a role at a node, resolved when the request is submitted."""

    approval = models.ForeignKey(
        ApprovalRequest, verbose_name=_("approval"), on_delete=models.CASCADE, related_name="steps"
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
        ordering = ["approval", "round", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["approval", "round", "position"], name="approvalstep_unique_position_per_round"
            ),
        ]
        indexes = [
            # The overdue watch lists: current steps by due date (and their order on the page),
            # with the node to scope them by, read from the index alone.
            models.Index(
                fields=["due_date", "started_at", "id"],
                include=["node"],
                condition=Q(state=StepState.CURRENT),
                name="approvalstep_current_due",
            ),
            models.Index(fields=["node", "state"], name="approvalstep_node_state"),
            # A reviewer's queue: the current steps at a node for a role, in the queue's order (due
            # date, waiting since), so that a page reads its rows in order and stops.
            models.Index(
                fields=["node", "role", "due_date", "started_at"],
                include=["id", "approval", "position"],
                condition=Q(state=StepState.CURRENT),
                name="approvalstep_queue",
            ),
        ]

    def __str__(self):
        return f"{self.position}. {self.get_role_display()} · {self.node}"


class Decision(models.Model):
    """Who did what to a request, when, and why: the record every review keeps."""

    approval = models.ForeignKey(
        ApprovalRequest, verbose_name=_("approval"), on_delete=models.CASCADE, related_name="decisions"
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


class ApprovalSubject(models.Model):
    """One more subject of a request that is about many (a graduation list's students): while the
    request is open, each counts as having a request in progress (在办业务), as a request's own
    `subject_key` does."""

    approval = models.ForeignKey(
        ApprovalRequest, verbose_name=_("approval"), on_delete=models.CASCADE, related_name="subjects"
    )
    key = models.CharField(_("subject key"), max_length=60)

    class Meta:
        verbose_name = _("subject of a request")
        verbose_name_plural = _("subjects of requests")
        constraints = [models.UniqueConstraint(fields=["approval", "key"], name="approvalsubject_once")]
        indexes = [models.Index(fields=["key"], name="approvalsubject_key")]

    def __str__(self):
        return self.key
