"""Audit: who did what, when and why.

Two sources make one timeline per object: the django-simple-history rows (every field change,
old → new) and the AuditEvent log (business actions with their reason). Services call
`stamp()` before saving a tracked row and `record_event()` for the action itself.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.utils.translation import gettext as _

from registrar.models import AuditEvent, Grade, Organisation, SchoolClass


def stamp(obj, *, by, reason=""):
    """Tell django-simple-history who makes the next save of `obj`, and why."""
    obj._history_user = by
    # simple-history keeps the reason in a 100-character column; the full text stays in the
    # decision or audit event that the service writes beside it.
    obj._change_reason = str(reason)[:100] if reason else None
    return obj


def changed_values(obj, changes):
    """The part of `changes` ({field: new value}) that differs from what `obj` holds."""
    return {name: value for name, value in changes.items() if getattr(obj, name) != value}


def save_changes(obj, changes, *, by, reason="", check=None, save=None):
    """Diff and save: set the fields of `changes` that differ, stamp the history, and save only
    those fields. `check(obj)` (optional) judges the object with the new values set, before it is
    saved (raise to refuse; the caller's transaction undoes the rest); `save(fields)` replaces the
    plain save when the caller saves in its own way. Returns {field: [before, after]} as the audit
    log keeps them ({} and no save when nothing changed)."""
    changed = changed_values(obj, changes)
    if not changed:
        return {}
    before = {name: plain(getattr(obj, name)) for name in changed}
    for name, value in changed.items():
        setattr(obj, name, value)
    if check is not None:
        check(obj)
    stamp(obj, by=by, reason=reason)
    if save is None:
        obj.save(update_fields=list(changed))
    else:
        save(list(changed))
    return {name: [before[name], plain(value)] for name, value in changed.items()}


def plain(value):
    """A value as the audit log's JSON keeps it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, Model):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def record_event(action, *, actor, obj=None, node=None, reason="", **data):
    """Write one business event. `node` defaults to the object's own node, for scoping."""
    event = new_event(action, actor=actor, obj=obj, node=node, reason=reason, **data)
    event.save()
    return event


def new_event(action, *, actor, obj=None, node=None, reason="", **data):
    """The event `record_event` writes, unsaved: `record_events` writes many in one statement."""
    if node is None and obj is not None:
        node = owning_node(obj)
    return AuditEvent(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        node=node,
        reason=reason,
        data=data,
    )


def record_events(events):
    """Write the events of `new_event` (one statement per kind of database batch)."""
    return AuditEvent.objects.bulk_create(events)


def owning_node(obj):
    """The node of the tree an object belongs to; models say so with `audit_node`."""
    if isinstance(obj, Organisation):
        return obj
    if isinstance(obj, Grade):
        return obj.school
    if isinstance(obj, SchoolClass):
        return obj.grade.school
    node = getattr(obj, "audit_node", None)
    return node() if callable(node) else node


# Logged for privacy (who looked at or printed a full record) but not shown on timelines.
QUIET_ACTIONS = (
    "students.student.viewed",
    "students.student.printed",
    "students.photo.viewed",
    "transfers.request.printed",
    "transfers.evidence.opened",
    "problems.evidence.opened",
    "students.search.by_number",
    "transfers.student.looked_up",
)


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class TimelineEntry:
    time: datetime
    actor: object
    title: str
    reason: str = ""
    changes: list = field(default_factory=list)
    action: str = ""
    url: str = ""


def _display(record, field_name):
    model_field = record.instance_type._meta.get_field(field_name)
    value = getattr(record, field_name, None)
    if value is None or value == "":
        return "—"
    if getattr(model_field, "choices", None):
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, list):
        return "、".join(str(item) for item in value)
    return str(value)


def _field_label(model, field_name):
    try:
        return str(model._meta.get_field(field_name).verbose_name)
    except Exception:
        return field_name


def history_entries(obj, *, hidden_fields=()):
    """Field changes of one object from its simple-history rows, oldest first."""
    return history_entries_from(obj.history.all(), type(obj), hidden_fields=hidden_fields)


def history_entries_from(records, model, *, hidden_fields=(), label="", describe=None):
    """Field changes from historical rows of `model` (any number of objects), oldest first.

    Each row is compared with the previous row of the same object; `describe(record)` says in words
    what the row is ("登记家庭成员 张三（父亲）"), else `label` prefixes a plain 新建/修改/删除.
    """
    records = records.select_related("history_user").order_by("history_date", "history_id")
    titles = {"+": _("Created"), "~": _("Changed"), "-": _("Deleted")}
    entries = []
    previous_by_object = {}
    pk_name = model._meta.pk.attname
    for record in records:
        previous = previous_by_object.get(getattr(record, pk_name))
        changes = []
        if previous is not None:
            delta = record.diff_against(previous)
            for change in delta.changes:
                if change.field in hidden_fields:
                    continue
                changes.append(
                    Change(
                        field=_field_label(model, change.field),
                        old=_display(previous, change.field),
                        new=_display(record, change.field),
                    )
                )
        previous_by_object[getattr(record, pk_name)] = record
        if previous is not None and not changes and record.history_type == "~":
            continue
        if describe is not None:
            title = str(describe(record))
        else:
            title = str(titles.get(record.history_type, record.history_type))
            title = f"{label}{title}" if label else title
        entries.append(
            TimelineEntry(
                time=record.history_date,
                actor=record.history_user,
                title=title,
                reason=record.history_change_reason or "",
                changes=changes,
            )
        )
    return entries


def event_entries(events):
    from registrar.events import describe

    events = events.exclude(action__in=QUIET_ACTIONS)
    return [
        TimelineEntry(
            time=event.created_at,
            actor=event.actor,
            title=describe(event),
            reason=event.reason,
            action=event.action,
            url=event.data.get("url", "") if isinstance(event.data, dict) else "",
        )
        for event in events
    ]


def object_timeline(obj, user, *, hidden_fields=()):
    """Every recorded change and event of `obj` that `user` may see, newest first."""
    events = AuditEvent.objects.visible_to(user).for_object(obj).select_related("actor")
    entries = history_entries(obj, hidden_fields=hidden_fields) + event_entries(events)
    return sorted(entries, key=lambda entry: entry.time, reverse=True)
