from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = _("Intake")

    def ready(self):
        from intake import services
        from registrar.approvals import register_kind
        from registrar.events import register_actions

        register_kind(services.INTAKE)
        register_actions(
            {
                services.LOOKUP_ACTION: _("Intake: graduate looked up"),
                "intake.intake.started": _("Intake started"),
                "intake.student.admitted": _("Taken in at the next stage (升学)"),
                "intake.admission_list.checked": _("Intake: admission list checked"),
                "intake.viewed": _("Intake viewed"),
            }
        )

    def nav_items(self, user):
        from intake.views import nav_items

        return nav_items(user)
