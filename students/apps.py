from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StudentsConfig(AppConfig):
    name = "students"
    verbose_name = _("Students")

    def ready(self):
        from registrar.approvals import register_kind
        from registrar.events import register_actions
        from students.registration import REGISTRATION

        register_kind(REGISTRATION)

        register_actions(
            {
                "students.registration.created": _("Registration entered"),
                "students.registration.revised": _("Registration revised"),
                "students.registration.approved": _("Registration approved, registration number issued"),
                "students.student.updated": _("Student record changed"),
                "students.guardians.replaced": _("Family members changed"),
                "students.number.promoted": _("Registration number promoted"),
                "students.registration.rejected": _("Registration refused"),
                "students.registration.withdrawn": _("Registration withdrawn by the school"),
                "students.photo.replaced": _("Photo replaced"),
                "students.registration.taken_out": _("Returned alone from the registration review"),
                "students.photo.viewed": _("Photo viewed"),
                "students.search.by_number": _("Roster searched by ID number or registration number"),
            }
        )

    def nav_items(self, user):
        from django.urls import reverse

        from registrar.choices import Role
        from registrar.navigation import NavItem

        if user.node_id is None:
            return []
        items = [NavItem(_("Roster"), reverse("students:roster"))]
        if user.node.is_school and user.has_role(Role.SCHOOL_REGISTRAR):
            items.append(NavItem(_("New student"), reverse("students:create")))
        return items

    def summary_items(self, user):
        from students.views import summary_items

        return summary_items(user)
