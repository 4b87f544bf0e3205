from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GraduationConfig(AppConfig):
    name = "graduation"
    verbose_name = _("Graduation")
