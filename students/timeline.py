"""A student's timeline: status events, decisions and field changes (old → new), newest first."""

from django.utils.translation import gettext as _

from registrar.audit import TimelineEntry, event_entries, history_entries_from
from registrar.models import AuditEvent
from students.models import Guardian, Student


def describe_record(record):
    """What a history row of the record itself means to a clerk."""
    return {
        "+": _("Record entered"),
        "~": _("Record changed"),
        "-": _("Record deleted"),
    }.get(record.history_type, record.history_type)


def describe_family_member(record):
    """What a history row of a family member means: whom it is about, and what happened."""
    who = {"name": record.name, "relation": record.get_relation_display()}
    return {
        "+": _("Family member entered: %(name)s (%(relation)s)"),
        "~": _("Family member changed: %(name)s (%(relation)s)"),
        "-": _("Family member removed: %(name)s (%(relation)s)"),
    }.get(record.history_type, record.history_type) % who


def student_timeline(student, user):
    entries = history_entries_from(
        Student.history.filter(id=student.pk),
        Student,
        hidden_fields=("status", "updated_at"),
        describe=describe_record,
    )
    entries += history_entries_from(
        Guardian.history.filter(student_id=student.pk),
        Guardian,
        hidden_fields=("order",),
        describe=describe_family_member,
    )
    entries += event_entries(AuditEvent.objects.visible_to(user).for_object(student).select_related("actor"))
    for event in student.status_events.select_related("approved_by"):
        entries.append(
            TimelineEntry(
                time=event.created_at,
                actor=event.approved_by,
                title=_("Status: %(from)s → %(to)s (%(date)s)")
                % {
                    "from": event.get_from_status_display() or "—",
                    "to": event.get_to_status_display(),
                    "date": event.occurred_on.isoformat(),
                },
                reason=event.reason,
                action=event.action,
            )
        )
    return sorted(entries, key=lambda entry: entry.time, reverse=True)
