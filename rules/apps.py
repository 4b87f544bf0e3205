from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from registrar.events import register_actions


class RulesConfig(AppConfig):
    name = "rules"
    verbose_name = _("Province rules")

    def nav_items(self, user):
        from rules.navigation import rules_nav_items

        return rules_nav_items(user)

    def ready(self):
        register_actions(
            {
                "rules.rule.changed": _("Rule changed"),
                "rules.rule.deleted": _("Rule removed"),
                "rules.window_exception.opened": _("Transfer window exception opened"),
                "rules.window_exception.used": _("Request started under a window exception"),
            }
        )
