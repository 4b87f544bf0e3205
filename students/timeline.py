"""A student's timeline: status events, decisions and field changes (old → new), newest first."""

from django.utils.translation import gettext as _

from registrar.audit import TimelineEntry, event_entries, history_entries_from
from registrar.models import AuditEvent
from students.models import Guardian, Student


def student_timeline(student, user):
    entries = history_entries_from(
        Student.history.filter(id=student.pk), Student, hidden_fields=("status", "updated_at")
    )
    entries += history_entries_from(
        Guardian.history.filter(student_id=student.pk),
        Guardian,
        hidden_fields=("order",),
        label=_("Guardian: "),
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
