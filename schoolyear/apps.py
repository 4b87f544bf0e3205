from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchoolyearConfig(AppConfig):
    name = "schoolyear"
    verbose_name = _("School year")
