"""Changing the rules and opening window exceptions: one service each, audited.

A province administrator writes the province's rules; a city or county reviewer writes its own
rows of the topics the province delegates. Every change is an audit event with the value before and
after; requests already started keep the rules they started with (rules.reading.snapshot).
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.audit import record_event, stamp
from registrar.choices import NodeKind, Role
from rules.errors import RulesError
from rules.models import RULE_NODE_KINDS, Rule, WindowException
from rules.reading import rules_for
from rules.topics import Topic
from rules.validation import clean_rule
from students.models import LIVE_STATUSES
from transfers.models import Kind

EDITOR_ROLES = {
    NodeKind.PROVINCE: Role.PROVINCE_ADMIN,
    NodeKind.CITY: Role.CITY_REVIEWER,
    NodeKind.COUNTY: Role.COUNTY_REVIEWER,
}


def may_edit_rules(user, node):
    """The editor of `node`'s rules: its province administrator, city or county reviewer."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if node.kind not in RULE_NODE_KINDS:
        return False
    return user.node_id == node.pk and user.has_role(EDITOR_ROLES[node.kind])


def editable_topics(node):
    """The topics `node` may write: all of them for a province; what it delegates for the others."""
    if node.kind == NodeKind.PROVINCE:
        return list(Topic)
    in_force = rules_for(node)
    return [topic for topic in Topic if topic != Topic.DELEGATION and in_force.delegated(topic)]


def _check(node, topic, by):
    if not may_edit_rules(by, node):
        raise PermissionDenied
    if Topic(topic) not in editable_topics(node):
        raise RulesError(
            _("%(topic)s is the province's to set: it has not delegated it.") % {"topic": Topic(topic).label}
        )


@transaction.atomic
def set_rule(node, *, topic, key, value, by):
    """Write one rule of `node` (a new row or a new value); the audit keeps before and after."""
    topic, key, value = clean_rule(topic, key, value)
    _check(node, topic, by)
    rule = Rule.objects.select_for_update().filter(node=node, topic=topic, key=key).first()
    before = rule.value if rule is not None else None
    if rule is None:
        rule = Rule(node=node, topic=topic, key=key)
    elif rule.value == value:
        return rule
    rule.value = value
    stamp(rule, by=by)
    rule.save()
    record_event(
        "rules.rule.changed",
        actor=by,
        obj=rule,
        node=node,
        topic=str(topic),
        key=key,
        before=before,
        after=value,
    )
    return rule


@transaction.atomic
def import_rule(rule, *, by):
    """Save a row read from a workbook in the administration (checked there), audited like the page."""
    before = Rule.objects.filter(pk=rule.pk).values_list("value", flat=True).first() if rule.pk else None
    stamp(rule, by=by, reason="import")
    rule.save()
    record_event(
        "rules.rule.changed",
        actor=by,
        obj=rule,
        node=rule.node,
        topic=rule.topic,
        key=rule.key,
        before=before,
        after=rule.value,
    )


@transaction.atomic
def delete_rule(node, *, topic, key, by):
    """Take a row away: the rule above it (the province's, or the national default) applies again."""
    if topic not in Topic.values:
        raise RulesError(_("Choose a topic of the rules."))
    _check(node, topic, by)
    rule = Rule.objects.select_for_update().filter(node=node, topic=topic, key=key).first()
    if rule is None:
        raise RulesError(_("This rule has no row of its own here."))
    record_event(
        "rules.rule.deleted",
        actor=by,
        obj=rule,
        node=node,
        topic=topic,
        key=key,
        before=rule.value,
        after=None,
    )
    stamp(rule, by=by)
    rule.delete()


# --- window exceptions ----------------------------------------------------------------------------


def may_open_exceptions(user):
    return (
        getattr(user, "is_authenticated", False)
        and user.is_active
        and user.node_id is not None
        and user.node.kind == NodeKind.COUNTY
        and user.has_role(Role.COUNTY_REVIEWER)
    )


@transaction.atomic
def open_window_exception(student, *, kind, reason, expires_on, by, today=None):
    """Let `student` start one `kind` request outside the transfer window until `expires_on`."""
    if not may_open_exceptions(by) or not student.school.path.startswith(by.node.path):
        raise PermissionDenied
    today = today or timezone.localdate()
    reason = (reason or "").strip()
    if kind not in Kind.values:
        raise RulesError(_("Choose the kind of request."))
    if not reason:
        raise RulesError(_("Give the reason for the exception."))
    if expires_on is None or expires_on < today:
        raise RulesError(_("The exception must run until today or a later day."))
    if student.status not in LIVE_STATUSES:
        raise RulesError(_("%(name)s has no live record.") % {"name": student.name})
    exception = WindowException(
        student=student, kind=kind, reason=reason, expires_on=expires_on, opened_by=by
    )
    stamp(exception, by=by, reason=reason)
    exception.save()
    record_event(
        "rules.window_exception.opened",
        actor=by,
        obj=exception,
        reason=reason,
        student=student.name,
        kind=kind,
        expires_on=expires_on.isoformat(),
    )
    return exception


def use_window_exception(exception, approval, *, by):
    """Tie the exception to the request it let start: it serves once, and the request shows it."""
    exception.approval = approval
    stamp(exception, by=by)
    exception.save(update_fields=["approval"])
    record_event(
        "rules.window_exception.used", actor=by, obj=exception, approval=approval.pk, kind=exception.kind
    )
