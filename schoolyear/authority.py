"""Who may run a school's promotion (升级) and undo it: the province administrator for the schools
of the province; a county reviewer for the county's schools when the province allows it (the switch
`county_promotion` of the province's business calendar, read here and nowhere else)."""

from django.utils.translation import gettext as _

from registrar.calendar import calendar_for
from registrar.choices import NodeKind, Role
from schoolyear.errors import SchoolYearError


def counties_may_promote(node):
    """The province switch: whether the counties of `node`'s province run their schools' promotion."""
    return calendar_for(node).county_promotion


def authority_for(user, school):
    """The node by whose power `user` may promote `school`, or None."""
    if not (user.is_authenticated and user.is_active and user.node_id):
        return None
    node = user.node
    if not school.path.startswith(node.path):
        return None
    if user.has_role(Role.PROVINCE_ADMIN) and node.kind == NodeKind.PROVINCE:
        return node
    if user.has_role(Role.COUNTY_REVIEWER) and node.kind == NodeKind.COUNTY and counties_may_promote(school):
        return node
    return None


def may_promote_in(user, node):
    """Whether `user` may promote schools under `node` at all (for showing the buttons)."""
    if not (user.is_authenticated and user.node_id and node.path.startswith(user.node.path)):
        return False
    if user.has_role(Role.PROVINCE_ADMIN):
        return True
    return user.has_role(Role.COUNTY_REVIEWER) and counties_may_promote(node)


def ensure_authority(user, school):
    authority = authority_for(user, school)
    if authority is None:
        raise SchoolYearError(
            _(
                "Only the province administrator (or the county reviewer, where the province allows it) "
                "may run the promotion of %(school)s."
            )
            % {"school": school.name}
        )
    return authority
