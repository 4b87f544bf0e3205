from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = _("Status changes")

    def ready(self):
        from registrar.approvals import register_kind
        from registrar.events import register_actions
        from transfers.kinds import approval_kinds

        for kind in approval_kinds():
            register_kind(kind)
        register_actions(
            {
                "transfers.request.updated": _("Status change request revised"),
                "transfers.evidence.added": _("Evidence attached"),
                "transfers.evidence.removed": _("Evidence removed"),
                "transfers.request.printed": _("Status change form printed"),
                "transfers.evidence.opened": _("Evidence opened"),
                "transfers.student.looked_up": _("Student looked up for a transfer"),
            }
        )

    def nav_items(self, user):
        from transfers.views import nav_items

        return nav_items(user)

    def waiting_items(self, user):
        from transfers.views import waiting_items

        return waiting_items(user)
