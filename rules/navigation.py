from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from registrar.choices import Role
from registrar.navigation import NavItem
from rules.models import RULE_NODE_KINDS


def rules_nav_items(user):
    if user.node_id is None or user.node.kind not in RULE_NODE_KINDS:
        return []
    items = []
    if user.has_role(Role.PROVINCE_ADMIN, Role.CITY_REVIEWER, Role.COUNTY_REVIEWER):
        items.append(NavItem(_("Rules"), reverse("rules:node", args=[user.node.code])))
    if user.has_role(Role.COUNTY_REVIEWER):
        items.append(NavItem(_("Window exceptions"), reverse("rules:exceptions")))
    return items
