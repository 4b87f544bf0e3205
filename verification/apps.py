from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    name = "verification"
    verbose_name = _("Data verification")

    def ready(self):
        from registrar.events import register_actions

        register_actions(
            {
                "verification.campaign.opened": _("Data-quality campaign opened"),
                "verification.campaign.closed": _("Data-quality campaign closed"),
                "verification.forms.printed": _("Confirmation forms printed"),
                "verification.form.uploaded": _("Signed confirmation form uploaded"),
                "verification.form.checked": _("Confirmation form checked by the class teacher"),
                "verification.form.handled": _("Wrong fields of a confirmation form put right"),
                "verification.scan.opened": _("Signed confirmation form opened"),
                "verification.class.confirmed": _("Class confirmed in the data-quality campaign"),
                "verification.attendance.confirmed": _("Students in class confirmed for the term"),
            }
        )

    def nav_items(self, user):
        from verification.views import nav_items

        return nav_items(user)

    def waiting_items(self, user):
        from verification.views import waiting_items

        return waiting_items(user)
