from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StudentsConfig(AppConfig):
    name = "students"
    verbose_name = _("Students")

    def ready(self):
        from registrar.events import register_actions

        register_actions(
            {
                "students.registration.created": _("Registration entered"),
                "students.registration.revised": _("Registration revised"),
                "students.registration.approved": _("Registration approved, registration number issued"),
                "students.student.updated": _("Student record changed"),
                "students.guardians.replaced": _("Family members changed"),
                "students.number.promoted": _("Registration number promoted"),
            }
        )
