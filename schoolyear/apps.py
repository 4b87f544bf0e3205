from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchoolyearConfig(AppConfig):
    name = "schoolyear"
    verbose_name = _("School year")

    def ready(self):
        from registrar.events import register_actions

        register_actions(
            {
                "schoolyear.promotion.done": _("Promotion to the next grade"),
                "schoolyear.promotion.undone": _("Promotion undone"),
                "schoolyear.mapping.saved": _("Class mapping for the promotion saved"),
                "schoolyear.mapping.cleared": _("Class mapping for the promotion removed"),
                "schoolyear.classes.prepared": _("Next year's classes prepared"),
                "schoolyear.class_teacher.assigned": _("Class teacher assigned"),
            }
        )

    def nav_items(self, user):
        from schoolyear.views import nav_items

        return nav_items(user)
