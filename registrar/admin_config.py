"""The admin, its modules loaded with the URLs (registrar/urls.py) rather than at every start."""

from django.contrib.admin import autodiscover
from django.contrib.admin.apps import SimpleAdminConfig
from django.contrib.admin.checks import check_admin_app, check_dependencies
from django.core import checks


def check_admin(app_configs, **kwargs):
    """Django's checks of every registered ModelAdmin, once the admin modules are loaded (the checks
    may run before the URLs are)."""
    autodiscover()
    return check_admin_app(app_configs, **kwargs)


class AdminConfig(SimpleAdminConfig):
    """django.contrib.admin, whose admin.py modules are found when the URLs are loaded.

    Django's AdminConfig imports every app's admin.py at start, and with them import-export and the
    Excel formats it offers: 0.15 s of every management command and task worker's start (a county's
    roster import from the command line among them), none of which serves the admin.
    """

    def ready(self):
        checks.register(check_dependencies, checks.Tags.admin)
        checks.register(check_admin, checks.Tags.admin)
