"""Rules in words: each row of the rules page said as an administrator reads it, beside its notation.

`transfers.transfer:same_county:*` → 转学 · 本县区内 · 各学段;
`principal@school, county_reviewer@county(school)` → 校长/分管领导（本校） → 县级审核员（本校所在县区）.
What cannot be read is shown as written; the notation stays the thing that is saved.
"""

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from corrections.rules import EvidenceKind
from corrections.rules import Reason as CorrectionReason
from corrections.services import LATE_CHAIN
from registrar.chains import OTHER_COUNTY, OTHER_PROVINCE, SAME_COUNTY, parse_chain
from registrar.choices import Role, Segment
from registrar.kinds import kind_label
from rules.reading import ANY, groups
from rules.topics import Topic
from students.validation import field_label
from transfers.models import EvidenceType, Kind
from transfers.models import Reason as ChangeReason


def _label(choices, value, *, any_text):
    if value == ANY:
        return any_text
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _scope(value):
    return {
        SAME_COUNTY: _("within the county"),
        OTHER_COUNTY: _("another county of the province"),
        OTHER_PROVINCE: _("another province"),
        ANY: _("any place"),
    }.get(value, value)


def _segment(value):
    return _label(Segment, value, any_text=_("every stage"))


def _kind(value):
    return _label(Kind, value, any_text=_("every kind"))


def _anchor(alternative):
    places = {
        "school": _("the school"),
        "sending_school": _("the sending school"),
        "receiving_school": _("the receiving school"),
    }
    place = places.get(alternative.name, alternative.name)
    levels = {
        "county": _("the county of %(place)s"),
        "city": _("the city of %(place)s"),
        "province": _("the province of %(place)s"),
        "township": _("the township central school of %(place)s"),
    }
    return levels[alternative.func] % {"place": place} if alternative.func else place


def _chain(value):
    steps = []
    for step in parse_chain(value):
        said = _(" or ").join(
            f"{_label(Role, alternative.role, any_text='')}（{_anchor(alternative)}）"
            for alternative in step.alternatives
        )
        steps.append(_("%(step)s, where there is one") % {"step": said} if step.optional else said)
    return " → ".join(steps)


def _documents(value, choices):
    return _("; ").join(
        _(" or ").join(_label(choices, document, any_text=document) for document in item)
        for item in groups(value)
    )


def _chain_name(kind):
    """A request kind's name; a chain of its own that is not a kind (a late correction) by its words."""
    if kind == ANY:
        return _("every request")
    if kind == LATE_CHAIN:
        return _("Late key-data correction (exception)")
    return kind_label(kind)


def _chain_key(key):
    kind, scope, segment = [*key.split(":"), ANY, ANY][:3]
    return " · ".join([_chain_name(kind), _scope(scope), _segment(segment)])


def _reason_key(key, kind_words, reasons):
    kind, _colon, reason = key.partition(":")
    words = kind_words(kind)
    return f"{words} · {_label(reasons, reason, any_text=reason)}" if reason else words


def _field(value):
    return _("any field") if value == ANY else field_label(value)


def _correction_key(key):
    reason, _colon, field = key.partition(":")
    return f"{_label(CorrectionReason, reason, any_text=reason)} · {_field(field or ANY)}"


def _initiator(value):
    return {
        "receiving": _("the receiving school"),
        "current": _("the student's current school"),
        "either": _("either school"),
    }.get(value, value)


KEY_WORDS = {
    Topic.CHAIN: _chain_key,
    Topic.INITIATOR: _segment,
    Topic.KINDS: _kind,
    Topic.EVIDENCE: lambda key: _reason_key(key, _kind, ChangeReason),
    Topic.CORRECTION_EVIDENCE: _correction_key,
}
VALUE_WORDS = {
    Topic.CHAIN: _chain,
    Topic.INITIATOR: _initiator,
    Topic.KINDS: lambda value: ", ".join(_segment(part.strip()) for part in value.split(",") if part.strip()),
    Topic.EVIDENCE: lambda value: _documents(value, EvidenceType),
    Topic.CORRECTION_EVIDENCE: lambda value: _documents(value, EvidenceKind),
}


def describe(topic, key, value):
    """(the key in words, the value in words); "" where the notation says it as well."""
    try:
        key_words = KEY_WORDS[topic](key) if topic in KEY_WORDS else ""
        value_words = VALUE_WORDS[topic](value) if topic in VALUE_WORDS and value else ""
    except (ImproperlyConfigured, KeyError, ValueError):
        return "", ""
    return key_words, value_words
