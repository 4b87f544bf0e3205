from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistrarConfig(AppConfig):
    name = "registrar"
    verbose_name = _("Organisation and staff")

    def nav_items(self, user):
        from registrar.navigation import registrar_nav_items

        return registrar_nav_items(user)

    def waiting_items(self, user):
        from registrar.dashboard import registrar_waiting_items

        return registrar_waiting_items(user)
