"""Whether a rule reads: its key and value in the notation of each topic (rules.topics).

The vocabularies are the workflows' own (roles, status change kinds and reasons, evidence kinds,
student record fields, stages); this module is used by the editing services only, so that the
workflows, which read rules through rules.reading, do not import it.
"""

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from corrections.rules import EvidenceKind
from corrections.rules import Reason as CorrectionReason
from registrar.calendar import parse_month_day, parse_windows
from registrar.chains import normalise_key, parse_chain
from registrar.choices import Segment
from rules.errors import RulesError
from rules.reading import ANY, groups, items
from rules.topics import INITIATOR_CHOICES, KEY_HELP, NO_WINDOW, VALUE_HELP, YES, Topic
from students.validation import CORRECTABLE_FIELDS
from transfers.models import EvidenceType, Kind
from transfers.models import Reason as ChangeReason

SEGMENTS = (ANY, *Segment.values)


def _segment_and_level(key):
    segment, _colon, level = key.partition(":")
    return segment in Segment.values and (not level or (level.isdigit() and 1 <= int(level) <= 12))


def _key_ok(topic, key):
    if topic == Topic.CHAIN:
        try:
            normalise_key(key)
        except ImproperlyConfigured:
            return False
        return True
    if topic == Topic.INITIATOR:
        return key in SEGMENTS
    if topic == Topic.KINDS:
        return key in Kind.values
    if topic == Topic.EVIDENCE:
        kind, _colon, reason = key.partition(":")
        return kind in Kind.values and (not reason or reason in ChangeReason.values)
    if topic == Topic.CORRECTIONS:
        return key in ("added_fields", "input_errors_first_term_only")
    if topic == Topic.CORRECTION_EVIDENCE:
        reason, _colon, field = key.partition(":")
        return reason in CorrectionReason.values and (field == ANY or field in CORRECTABLE_FIELDS)
    if topic == Topic.WINDOWS:
        return key == ANY or _segment_and_level(key)
    if topic == Topic.GRADUATION:
        what, _colon, segment = key.partition(":")
        return what in ("freeze", "deadline") and segment in Segment.values
    if topic == Topic.DELEGATION:
        return key in Topic.values and key != Topic.DELEGATION
    return False


def _evidence_ok(value, known):
    found = groups(value)
    return all(kind in known for group in found for kind in group)


def _value_ok(topic, key, value):
    if topic == Topic.CHAIN:
        try:
            return bool(parse_chain(value))
        except ImproperlyConfigured:
            return False
    if topic == Topic.INITIATOR:
        return value in INITIATOR_CHOICES
    if topic == Topic.KINDS:
        return all(part in SEGMENTS for part in items(value))
    if topic == Topic.EVIDENCE:
        return _evidence_ok(value, EvidenceType.values)
    if topic == Topic.CORRECTION_EVIDENCE:
        return bool(groups(value)) and _evidence_ok(value, EvidenceKind.values)
    if topic == Topic.CORRECTIONS:
        if key == "added_fields":
            return all(field in CORRECTABLE_FIELDS for field in items(value))
        return value in (YES, "no")
    if topic == Topic.WINDOWS:
        if value == NO_WINDOW:
            return True
        try:
            parse_windows(value)
        except ValueError:
            return False
        return True
    if topic == Topic.GRADUATION:
        try:
            parse_month_day(value)
        except ValueError:
            return False
        return True
    if topic == Topic.DELEGATION:
        return value in (YES, "no")
    return False


def clean_rule(topic, key, value):
    """(topic, key, value) trimmed; RulesError naming the notation when one does not read."""
    if topic not in Topic.values:
        raise RulesError(_("Choose a topic of the rules."))
    topic, key, value = Topic(topic), key.strip(), value.strip().replace("，", ",").replace("；", ";")
    if not _key_ok(topic, key):
        raise RulesError(
            _("The key %(key)s does not read as a rule of %(topic)s: write %(help)s.")
            % {"key": key or "—", "topic": topic.label, "help": KEY_HELP[topic]}
        )
    if not _value_ok(topic, key, value):
        raise RulesError(
            _("The value %(value)s does not read as a rule of %(topic)s: write %(help)s.")
            % {"value": value or "—", "topic": topic.label, "help": VALUE_HELP[topic]}
        )
    return topic, key, value
