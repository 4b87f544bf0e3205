"""Approval chains: which roles, at which nodes of the tree, review a request and in what order.

A chain is a list of steps written `role@anchor`, for example

    "principal@school, county_reviewer@county(school)|city_reviewer@city(school)"

- `role` is a `registrar.choices.Role` value.
- `anchor` names a node of the case (`school`, `receiving_school`, `sending_school` … as the
  workflow passes them in its context) or an ancestor of one: `county(x)`, `city(x)`,
  `province(x)`, `township(x)` (the 乡镇中心校 above a rural school).
- `a|b`: the first alternative that resolves; a school run directly by a city (市直学校) has no
  county, so `county_reviewer@county(school)|city_reviewer@city(school)` falls to the city.
- a trailing `?` makes the step optional: it is left out when its node is not in the case (a
  sending school in another province, a school without a township central school).
- When the same role at the same node appears twice, only its last occurrence stays.

Chains are looked up by a key `kind:scope:segment`, from the most to the least specific, `*`
standing for any: `transfers.transfer:other_county:senior`, `transfers.transfer:other_county:*`,
`transfers.transfer:*:senior`, `transfers.transfer:*:*`, then `*:other_county:senior` … `*:*:*`.
`scope` is `same_county`, `other_county` or `other_province`; `segment` a `Segment` value.
settings.REGISTRAR["APPROVAL_CHAINS"] adds keys or replaces the defaults below (domain §6, §7).
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from registrar.choices import ROLE_NODE_KINDS, NodeKind, Role
from registrar.errors import ApprovalError

SAME_COUNTY = "same_county"
OTHER_COUNTY = "other_county"
OTHER_PROVINCE = "other_province"
SCOPES = (SAME_COUNTY, OTHER_COUNTY, OTHER_PROVINCE)
ANY = "*"

ANCESTOR_KINDS = {
    "county": NodeKind.COUNTY,
    "city": NodeKind.CITY,
    "province": NodeKind.PROVINCE,
    "township": NodeKind.TOWNSHIP,
}


def _county(name):
    """The county that reviews for a node, or its city when a city runs the school directly."""
    return f"county_reviewer@county({name})|city_reviewer@city({name})"


def _city(name):
    return f"city_reviewer@city({name})"


DEFAULT_CHAINS = {
    # 休学, 复学, 退学, 留级, 跳级, 出国 … and key-data corrections: the registrar applies (the
    # submission), the principal approves for the school, then the county; the city instead of the
    # county for high-school and vocational cases (domain §6, §7).
    "*": f"principal@school, {_county('school')}",
    "*:*:senior": f"principal@school, {_city('school')}",
    "*:*:vocational": f"principal@school, {_city('school')}",
    # Registration: the county, and the city after it for high schools.
    "students.registration:*:senior": f"principal@school, {_county('school')}, {_city('school')}",
    "students.registration:*:vocational": f"principal@school, {_county('school')}, {_city('school')}",
    # Transfers: the receiving school applies.
    "transfers.transfer:same_county": f"school_registrar@sending_school, {_county('receiving_school')}",
    "transfers.transfer:same_county:senior": (
        f"school_registrar@sending_school, {_county('receiving_school')}, {_city('receiving_school')}"
    ),
    "transfers.transfer:other_county": (
        f"{_county('receiving_school')}, school_registrar@sending_school, {_county('sending_school')}"
    ),
    "transfers.transfer:other_county:senior": (
        f"{_county('receiving_school')}, {_city('receiving_school')}, school_registrar@sending_school, "
        f"{_county('sending_school')}, {_city('sending_school')}"
    ),
    # Another province: the sending side reviews here only when its schools are in this system;
    # otherwise the receiving school pulls the record (调档) once its own side has approved.
    "transfers.transfer:other_province": (
        f"{_county('receiving_school')}, school_registrar@sending_school?, {_county('sending_school')}?"
    ),
    "transfers.transfer:other_province:senior": (
        f"{_county('receiving_school')}, {_city('receiving_school')}, school_registrar@sending_school?, "
        f"{_county('sending_school')}?, {_city('sending_school')}?"
    ),
    # With a school outside the system only this side is here (issue #16): a transfer out is the
    # current school's (its registrar applies, the principal, the county; the city after it for high
    # school, as the sending side of another province's transfer); a transfer in is the receiving
    # school's, verified by its county (and city), as the receiving side of one.
    "transfers.transfer_out": f"principal@school, {_county('school')}",
    "transfers.transfer_out:*:senior": f"principal@school, {_county('school')}, {_city('school')}",
    "transfers.transfer_out:*:vocational": f"principal@school, {_county('school')}, {_city('school')}",
    "transfers.transfer_in": _county("school"),
    "transfers.transfer_in:*:senior": f"{_county('school')}, {_city('school')}",
    "transfers.transfer_in:*:vocational": f"{_county('school')}, {_city('school')}",
}
DEFAULT_CHAINS["transfers.transfer:same_county:vocational"] = DEFAULT_CHAINS[
    "transfers.transfer:same_county:senior"
]
DEFAULT_CHAINS["transfers.transfer:other_county:vocational"] = DEFAULT_CHAINS[
    "transfers.transfer:other_county:senior"
]
DEFAULT_CHAINS["transfers.transfer:other_province:vocational"] = DEFAULT_CHAINS[
    "transfers.transfer:other_province:senior"
]

ANCHOR_RE = re.compile(r"^(?:(?P<func>[a-z_]+)\((?P<inner>[a-z_]+)\)|(?P<name>[a-z_]+))$")


class ChainError(ApprovalError):
    """A step of the chain cannot be resolved for this case; the message is shown to the user."""


@dataclass(frozen=True)
class Alternative:
    role: str
    func: str  # "" for the named node itself, else a key of ANCESTOR_KINDS
    name: str


@dataclass(frozen=True)
class StepSpec:
    alternatives: tuple
    optional: bool
    text: str


@dataclass(frozen=True)
class ResolvedStep:
    role: str
    node: object  # Organisation

    @property
    def role_label(self):
        return Role(self.role).label


def parse_step(text):
    text = text.strip()
    optional = text.endswith("?")
    body = text[:-1].strip() if optional else text
    alternatives = []
    for part in body.split("|"):
        role, at, anchor = part.strip().partition("@")
        role, anchor = role.strip(), anchor.strip()
        if not at or role not in Role.values:
            raise ImproperlyConfigured(f"Approval chain step {text!r}: write role@anchor with a known role.")
        match = ANCHOR_RE.match(anchor)
        if not match or (match["func"] and match["func"] not in ANCESTOR_KINDS):
            raise ImproperlyConfigured(
                f"Approval chain step {text!r}: the anchor is a node name or "
                f"{', '.join(f'{func}(name)' for func in ANCESTOR_KINDS)}."
            )
        alternatives.append(Alternative(role, match["func"] or "", match["inner"] or match["name"]))
    return StepSpec(tuple(alternatives), optional, text)


def parse_chain(value):
    """A chain written as one comma-separated string or as a list of step strings."""
    parts = value.replace("，", ",").split(",") if isinstance(value, str) else list(value)
    return [parse_step(part) for part in parts if part.strip()]


def normalise_key(key):
    parts = [part.strip() or ANY for part in key.split(":")]
    if len(parts) > 3:
        raise ImproperlyConfigured(f"Approval chain key {key!r}: write kind:scope:segment.")
    return ":".join(parts + [ANY] * (3 - len(parts)))


def configured_chains():
    """The default chains with the province's settings.REGISTRAR["APPROVAL_CHAINS"] over them."""
    chains = {normalise_key(key): value for key, value in DEFAULT_CHAINS.items()}
    overrides = getattr(settings, "REGISTRAR", {}).get("APPROVAL_CHAINS") or {}
    chains.update({normalise_key(key): value for key, value in overrides.items()})
    return chains


def validate_chains(chains=None):
    """Parse every configured chain; ImproperlyConfigured names the first bad one."""
    for key, value in (chains or configured_chains()).items():
        if not parse_chain(value):
            raise ImproperlyConfigured(f"Approval chain {key!r} has no steps.")


def chain_key(kind, *, scope=None, segment=None):
    """`kind:scope:segment` with `*` for what the case does not say."""
    if scope is not None and scope not in SCOPES:
        raise ValueError(f"Unknown scope {scope!r}")
    return ":".join([kind, scope or ANY, str(segment) if segment else ANY])


def lookup_order(key):
    kind, scope, segment = normalise_key(key).split(":")
    keys = []
    for kind_part in (kind, ANY):
        for scope_part, segment_part in ((scope, segment), (scope, ANY), (ANY, segment), (ANY, ANY)):
            candidate = f"{kind_part}:{scope_part}:{segment_part}"
            if candidate not in keys:
                keys.append(candidate)
    return keys


def find_chain(key):
    """(the key that matched, its parsed steps) for the most specific configured chain."""
    chains = configured_chains()
    for candidate in lookup_order(key):
        if candidate in chains:
            return candidate, parse_chain(chains[candidate])
    raise ChainError(_("No approval chain is configured for %(key)s.") % {"key": key})


def _ancestor_or_self(node, kind, cache):
    if node.kind == kind:
        return node
    if node.pk not in cache:
        cache[node.pk] = node.ancestors()
    for ancestor in reversed(cache[node.pk]):
        if ancestor.kind == kind:
            return ancestor
    return None


def resolve_alternative(alternative, context, cache):
    node = context.get(alternative.name)
    if node is None or not hasattr(node, "path"):
        return None
    if alternative.func:
        node = _ancestor_or_self(node, ANCESTOR_KINDS[alternative.func], cache)
    return node


def resolve(specs, context):
    """The steps of a chain for a case: a list of ResolvedStep, or ChainError."""
    cache = {}
    resolved = []
    for spec in specs:
        found = None
        for alternative in spec.alternatives:
            node = resolve_alternative(alternative, context, cache)
            if node is not None:
                found = ResolvedStep(alternative.role, node)
                break
        if found is None:
            if spec.optional:
                continue
            raise ChainError(
                _("The reviewing organisation of the step %(step)s cannot be found for this case.")
                % {"step": spec.text}
            )
        if found.node.kind not in ROLE_NODE_KINDS[Role(found.role)]:
            raise ChainError(
                _("The approval chain is misconfigured: a %(role)s cannot review at %(node)s.")
                % {"role": Role(found.role).label, "node": found.node.name}
            )
        resolved.append(found)
    # The same reviewer twice (both counties of one city, a city school's county and city): the
    # later, higher review is the one that counts.
    unique = []
    for index, step in enumerate(resolved):
        later = resolved[index + 1 :]
        if not any(other.role == step.role and other.node.pk == step.node.pk for other in later):
            unique.append(step)
    return unique


def scope_between(receiving, sending):
    """same_county, other_county or other_province for two schools of this system.

    A school run directly by a city belongs to that city's "county" for this purpose.
    """

    def regions(node):
        chain = [*node.ancestors(), node]
        province = next((n for n in chain if n.kind == NodeKind.PROVINCE), None)
        county = next((n for n in chain if n.kind == NodeKind.COUNTY), None)
        city = next((n for n in chain if n.kind == NodeKind.CITY), None)
        return province, county or city

    receiving_province, receiving_area = regions(receiving)
    sending_province, sending_area = regions(sending)
    if receiving_province != sending_province:
        return OTHER_PROVINCE
    if receiving_area != sending_area:
        return OTHER_COUNTY
    return SAME_COUNTY
