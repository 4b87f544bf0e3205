"""The navigation bar: each app's config may offer `nav_items(user)`; the bar shows them in app order."""

from dataclasses import dataclass

from django.apps import apps
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from registrar.choices import Role


@dataclass
class NavItem:
    label: str
    url: str


def nav_items(user):
    items = []
    for config in apps.get_app_configs():
        provider = getattr(config, "nav_items", None)
        if provider is not None:
            items += provider(user)
    return items


def registrar_nav_items(user):
    items = [NavItem(_("Dashboard"), reverse("registrar:dashboard"))]
    if user.node_id is not None:
        label = _("My school") if user.node.is_school else _("My area")
        items.append(NavItem(label, reverse("registrar:node", args=[user.node.code])))
    reviewers = (
        Role.PRINCIPAL,
        Role.TOWNSHIP_REVIEWER,
        Role.COUNTY_REVIEWER,
        Role.CITY_REVIEWER,
        Role.SCHOOL_REGISTRAR,
    )
    if user.node_id is not None and user.has_role(*reviewers):
        items.append(NavItem(_("Reviews"), reverse("registrar:approvals")))
    return items
