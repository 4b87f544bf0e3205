"""Stable names of business events and how each reads on a timeline.

Each app registers its own actions when it loads (`register_actions` in `AppConfig.ready`).
"""

from django.utils.translation import gettext_lazy as _

ACTION_TITLES = {
    "registrar.orgs.imported": _("Organisation tree imported"),
    "registrar.grades.synced": _("Grades set up from the school system"),
    "registrar.class.created": _("Class created"),
    "registrar.class.updated": _("Class changed"),
}


def register_actions(titles):
    ACTION_TITLES.update(titles)


def describe(event):
    return str(ACTION_TITLES.get(event.action, event.action))
