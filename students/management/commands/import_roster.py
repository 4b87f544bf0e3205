import os
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from registrar.errors import DomainError
from registrar.models import Organisation
from students.roster.error_workbook import report_problems
from students.roster.importer import import_file, prepare
from students.roster.validate import NEW, UNCHANGED, UPDATE, RosterInvalid


class Command(BaseCommand):
    help = (
        "Import a roster workbook for a school, or for every school of a county or city (the 学校标识码 "
        "column says which). All or nothing: when any row has a problem nothing is written and the "
        "command exits with status 1. New students are registered at once and get their 学籍号."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx (or .xls) workbook")
        parser.add_argument(
            "--school", required=True, help="a school's 学校标识码, or a county's or city's division code"
        )
        parser.add_argument("--dry-run", action="store_true", help="check only; write nothing")
        parser.add_argument("--errors", help="where to write the error workbook when rows have problems")
        parser.add_argument(
            "--create-classes",
            action="store_true",
            help="create the classes the file names that do not exist yet (in grades the school teaches)",
        )

    def handle(self, *args, file, school, dry_run, errors, create_classes, **options):
        started = time.monotonic()
        scope = Organisation.objects.filter(code=school).first()
        if scope is None:
            raise CommandError(_("No school or region with the code %(code)s.") % {"code": school})
        processes = settings.REGISTRAR.get("IMPORT_PROCESSES") or os.cpu_count() or 1
        try:
            if dry_run:
                plan = prepare(file, scope=scope, create_classes=create_classes, processes=processes)
                if not plan.is_valid:
                    raise RosterInvalid(plan)
            else:
                plan, _batch = import_file(
                    file, scope=scope, register=True, processes=processes, create_classes=create_classes
                )
        except RosterInvalid as error:
            report_problems(error.plan, errors, self.stderr)
            raise CommandError(error.message, returncode=1) from error
        except DomainError as error:
            raise CommandError(error.message, returncode=1) from error
        for warning in plan.warnings:
            self.stderr.write(warning)
        counts = {
            "rows": len(plan.rows),
            "new": plan.count(NEW),
            "updated": plan.count(UPDATE),
            "unchanged": plan.count(UNCHANGED),
            "seconds": time.monotonic() - started,
        }
        if dry_run:
            message = _(
                "%(rows)d rows checked, no problems: %(new)d new, %(updated)d to update, %(unchanged)d "
                "unchanged. Nothing was written (dry run). %(seconds).1f s."
            )
        else:
            message = _(
                "%(rows)d rows imported: %(new)d new students registered, %(updated)d updated, "
                "%(unchanged)d unchanged. %(seconds).1f s."
            )
        self.stdout.write(message % counts)
        if options["verbosity"] >= 2:
            for step, seconds in plan.timings.items():
                self.stdout.write(f"  {step}: {seconds:.2f} s")
