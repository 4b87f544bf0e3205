"""Lookups by identity are logged and counted per user (domain §9).

Searching the roster by ID number or 学籍号, and the receiving school's lookup of a student for a
transfer, can each reveal whose record a number is. Every such lookup is an audit event (who, when,
what, whether it found anyone), and a user who asks more than the limit within an hour is refused
until the hour has passed, so that nobody recovers hidden data by asking again and again. The
events are the count: the limit holds across processes and machines without a cache.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.audit import record_event
from registrar.errors import DomainError
from registrar.models import AuditEvent

DEFAULT_PER_HOUR = 60


class TooManyLookups(DomainError):
    """The user has looked up too many identities within the hour."""


def per_hour():
    return int(getattr(settings, "REGISTRAR", {}).get("IDENTITY_LOOKUPS_PER_HOUR", DEFAULT_PER_HOUR))


def check_lookup(user, action, *, now=None):
    """Refuse (TooManyLookups) when `user` has made the hour's allowance of `action` lookups."""
    now = now or timezone.now()
    limit = per_hour()
    since = now - timedelta(hours=1)
    made = AuditEvent.objects.filter(actor_id=user.pk, action=action, created_at__gte=since)
    if made.count() >= limit:
        raise TooManyLookups(
            _(
                "You have looked up %(limit)s ID numbers or registration numbers within the hour, the most "
                "allowed: try again later. Every lookup is recorded."
            )
            % {"limit": limit}
        )


def record_lookup(user, action, **data):
    """The audit event of one lookup (`data`: what was asked, masked, and what it found)."""
    return record_event(action, actor=user, node=user.node, **data)
