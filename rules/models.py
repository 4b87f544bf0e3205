"""A province's rules as rows (topic, key, value), the snapshots requests keep, and exceptions."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registrar.choices import NodeKind
from registrar.models import Organisation, ScopedQuerySet
from rules.topics import Topic
from transfers.models import Kind

RULE_NODE_KINDS = (NodeKind.PROVINCE, NodeKind.CITY, NodeKind.COUNTY)


class RuleQuerySet(ScopedQuerySet):
    scope_path = "node__path"


class Rule(models.Model):
    """One rule of a province, or of a city or county for a topic the province delegates.

    The most specific node wins: a county's row over its city's over its province's over the
    national default (rules/defaults.py).
    """

    node = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="rules",
        limit_choices_to={"kind__in": RULE_NODE_KINDS},
    )
    topic = models.CharField(_("topic"), max_length=30, choices=Topic.choices)
    key = models.CharField(_("key"), max_length=120)
    value = models.TextField(_("value"), blank=True)

    history = HistoricalRecords()
    objects = RuleQuerySet.as_manager()

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["node__path", "topic", "key"]
        constraints = [
            models.UniqueConstraint(fields=["node", "topic", "key"], name="rule_one_per_node_topic_key"),
        ]

    def __str__(self):
        return f"{self.node} · {self.get_topic_display()} · {self.key}"

    def audit_node(self):
        return self.node


class RuleSnapshot(models.Model):
    """The rules in force for a request when it started, kept once per distinct content.

    `ApprovalRequest.rules_digest` names the snapshot; a rule changed afterwards does not reach it.
    """

    digest = models.CharField(_("digest"), max_length=64, unique=True)
    data = models.JSONField(_("rules"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("rules snapshot")
        verbose_name_plural = _("rules snapshots")

    def __str__(self):
        return self.digest[:12]


class WindowExceptionQuerySet(ScopedQuerySet):
    scope_path = "student__school__path"

    def in_force(self, on):
        return self.filter(expires_on__gte=on, approval__isnull=True)


class WindowException(models.Model):
    """A county reviewer lets one named student start one kind of request outside the window."""

    student = models.ForeignKey(
        "students.Student", verbose_name=_("student"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind of request"), max_length=20, choices=Kind.choices)
    reason = models.TextField(_("reason"))
    expires_on = models.DateField(_("expires on"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    # The request started under it: an exception serves once.
    approval = models.OneToOneField(
        "registrar.ApprovalRequest",
        verbose_name=_("request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="window_exception",
    )

    history = HistoricalRecords()
    objects = WindowExceptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("transfer window exception")
        verbose_name_plural = _("transfer window exceptions")
        ordering = ["-opened_at"]

    def __str__(self):
        return f"{self.student} · {self.kind} · {self.expires_on}"

    def audit_node(self):
        return self.student.school
