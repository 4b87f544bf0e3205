"""Reading the rules in force: for a node now, or for a request as they were when it started.

`rules_for(node)` overlays, topic by topic, the national defaults, the province's rows and the rows
of its city and county for the topics the province delegates. `snapshot(node)` keeps those rules
for a new request (registrar.approvals.create_request) and `rules_of(approval)` reads them back,
so that a rule changed later reaches only the requests started after it.
"""

import hashlib
import json

from registrar.choices import NodeKind
from rules.defaults import DEFAULTS
from rules.models import Rule, RuleSnapshot, WindowException
from rules.topics import YES, Topic

ANY = "*"


def groups(text):
    """'a; b|c' → [("a",), ("b", "c")]: each item satisfied by any of its documents."""
    items = []
    for item in (text or "").replace("；", ";").split(";"):
        kinds = tuple(part.strip() for part in item.split("|") if part.strip())
        if kinds:
            items.append(kinds)
    return items


def items(text):
    """'a, b' → ["a", "b"]."""
    return [part.strip() for part in (text or "").replace("，", ",").split(",") if part.strip()]


class Rules:
    """The rules of one place, as {topic: {key: value}} over the national defaults."""

    def __init__(self, data):
        self.data = {topic: dict(DEFAULTS.get(topic, {})) | data.get(topic, {}) for topic in Topic.values}

    def topic(self, topic):
        return self.data[str(topic)]

    def chains(self):
        return self.topic(Topic.CHAIN)

    def initiator(self, segment):
        initiators = self.topic(Topic.INITIATOR)
        return initiators.get(str(segment), initiators.get(ANY, "receiving"))

    def kind_enabled(self, kind, segment):
        value = self.topic(Topic.KINDS).get(str(kind), ANY)
        segments = items(value)
        return ANY in segments or str(segment) in segments

    def evidence(self, kind, reason=""):
        """The groups of documents a status change of `kind` (and `reason`) needs."""
        by_key = self.topic(Topic.EVIDENCE)
        found = groups(by_key.get(str(kind), ""))
        if reason:
            found += groups(by_key.get(f"{kind}:{reason}", ""))
        return found

    def added_key_fields(self):
        return items(self.topic(Topic.CORRECTIONS).get("added_fields", ""))

    def input_errors_first_term_only(self):
        return self.topic(Topic.CORRECTIONS).get("input_errors_first_term_only", YES) == YES

    def correction_evidence(self, reason, field):
        by_key = self.topic(Topic.CORRECTION_EVIDENCE)
        value = by_key.get(f"{reason}:{field}", by_key.get(f"{reason}:{ANY}"))
        return groups(value)

    def windows(self, segment, level):
        """The transfer windows of a grade as written ('none' for no window at all), or None
        where the business calendar's apply."""
        by_key = self.topic(Topic.WINDOWS)
        for key in (f"{segment}:{level}", str(segment), ANY):
            if key in by_key:
                return by_key[key]
        return None

    def graduation_day(self, what, segment):
        """The freeze or deadline day ('MM-DD') of a stage, or None for the calendar's."""
        return self.topic(Topic.GRADUATION).get(f"{what}:{segment}")

    def delegated(self, topic):
        return self.topic(Topic.DELEGATION).get(str(topic), "") == YES


def rules_for(node):
    """The rules in force at `node` now (any node: its province's, city's and county's), in one query."""
    codes = node.path.rstrip("/").split("/")
    rows = sorted(
        Rule.objects.filter(node__code__in=codes).values_list(
            "node__path", "node__kind", "topic", "key", "value"
        ),
        key=lambda row: len(row[0]),
    )
    delegated = {
        key
        for _path, kind, topic, key, value in rows
        if kind == NodeKind.PROVINCE and topic == Topic.DELEGATION and value == YES
    }
    data = {}
    for _path, kind, topic, key, value in rows:
        # Below the province only what it delegates counts, and never the delegation itself.
        if kind != NodeKind.PROVINCE and (topic not in delegated or topic == Topic.DELEGATION):
            continue
        data.setdefault(topic, {})[key] = value
    return Rules(data)


def snapshot(node):
    """The digest of the rules in force at `node`, kept once per distinct content."""
    data = rules_for(node).data
    text = json.dumps(data, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(text.encode()).hexdigest()
    RuleSnapshot.objects.get_or_create(digest=digest, defaults={"data": data})
    return digest


def rules_of(approval):
    """The rules a request keeps: those in force when it started (now's for an older request)."""
    if approval.rules_digest:
        kept = (
            RuleSnapshot.objects.filter(digest=approval.rules_digest).values_list("data", flat=True).first()
        )
        if kept is not None:
            return Rules(kept)
    return rules_for(approval.school)


def window_exception(student, kind, on):
    """The exception in force that lets `student` start a `kind` request outside the window."""
    return WindowException.objects.in_force(on).filter(student=student, kind=str(kind)).first()
