from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        from django.db.backends.signals import connection_created

        from registrar.events import register_actions
        from reports.aggregates import register_sqlite_median

        connection_created.connect(register_sqlite_median, dispatch_uid="reports.sqlite_median")
        register_actions({"reports.exported": _("Report downloaded")})

    def nav_items(self, user):
        from django.urls import reverse

        from registrar.navigation import NavItem
        from reports.access import may_see_reports

        if not may_see_reports(user):
            return []
        return [NavItem(_("Statistics"), reverse("reports:students", args=[user.node.code]))]
