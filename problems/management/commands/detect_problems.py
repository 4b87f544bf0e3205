from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from problems.services import detect_problems
from registrar.models import Organisation
from students.models import ProblemKind


class Command(BaseCommand):
    help = (
        "Detect problem records (问题学籍): duplicate ID numbers, duplicate persons without an ID, "
        "invalid ID numbers, changed ID numbers that collide. New findings are written, open ones "
        "no longer found are closed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scope", help="the code of a school, county, city or province (default: everything)"
        )

    def handle(self, *args, scope=None, **options):
        node = None
        if scope:
            node = Organisation.objects.filter(code=scope).first()
            if node is None:
                raise CommandError(_("No school or region with the code %(code)s.") % {"code": scope})
        summary = detect_problems(node)
        self.stdout.write(
            _("%(found)s findings: %(created)s new, %(cleared)s closed as no longer found (%(seconds)s s).")
            % summary
        )
        for kind in ProblemKind:
            self.stdout.write(f"  {kind.label}: {summary['by_kind'].get(kind.value, 0)}")
