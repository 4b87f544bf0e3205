import gc
import os
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from registrar.audit import record_event
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.models import Organisation, User
from students.roster.importer import import_file, prepare
from students.roster.validate import NEW, UNCHANGED, UPDATE, RosterInvalid


class Command(BaseCommand):
    help = (
        "Import a roster workbook for a school, or for every school of a county or city (the 学校标识码 "
        "column says which). All or nothing: when any row has a problem nothing is written and the "
        "command exits with status 1. As a school's 学校学籍管理员 (--user): new students enter the "
        "registration review, as in the browser. With --national-load, a county's or city's administrator "
        "loads existing records from the national system: new students are enrolled at once with the "
        "file's 学籍号 (else G + resident ID, else a J number); the load is logged."
    )
    # Django's system checks (about 0.2 s at every start) are for the server and deployments
    # (`manage.py check`, runserver, migrate); a roster load needs none of them.
    requires_system_checks = []

    def run_from_argv(self, argv):
        """From the command line, Python's cyclic garbage collector is off from start to end, and the
        interpreter's last collection at exit passes over what the import made. A county's plan is
        millions of objects in no cycle: turning the collector back on after the writing set off a
        full collection (0.1 s), and the one at exit took another 0.12 s. (call_command, from tests
        or a long-lived process, leaves the collector as it is.)"""
        gc.disable()
        try:
            super().run_from_argv(argv)
        finally:
            gc.freeze()

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx (or .xls) workbook")
        parser.add_argument(
            "--school", required=True, help="a school's 学校标识码, or a county's or city's division code"
        )
        parser.add_argument("--dry-run", action="store_true", help="check only; write nothing")
        parser.add_argument("--errors", help="where to write the error workbook when rows have problems")
        parser.add_argument(
            "--user", help="who imports: the username of a staff member (see --national-load)"
        )
        parser.add_argument(
            "--national-load",
            action="store_true",
            help=(
                "load existing records from the national system (导入已有学籍): county or city "
                "administrators only; new students are enrolled at once with their 学籍号"
            ),
        )
        parser.add_argument(
            "--create-classes",
            action="store_true",
            help="create the classes the file names that do not exist yet (in grades the school teaches)",
        )

    def handle(self, *args, file, school, dry_run, errors, create_classes, user, national_load, **options):
        started = time.monotonic()
        scope = Organisation.objects.filter(code=school).first()
        if scope is None:
            raise CommandError(_("No school or region with the code %(code)s.") % {"code": school})
        by = importer(user, scope, national_load=national_load, dry_run=dry_run)
        processes = checking_processes()
        try:
            if dry_run:
                plan = prepare(
                    file,
                    scope=scope,
                    by=by,
                    create_classes=create_classes,
                    processes=processes,
                    national_load=national_load,
                )
                if not plan.is_valid:
                    raise RosterInvalid(plan)
            else:
                plan, batch = import_file(
                    file,
                    scope=scope,
                    by=by,
                    register=national_load,
                    processes=processes,
                    create_classes=create_classes,
                )
                if national_load:
                    record_event(
                        "students.roster.national_load",
                        actor=by,
                        obj=batch,
                        node=scope,
                        file=batch.original_name,
                        new=plan.count(NEW),
                        updated=plan.count(UPDATE),
                    )
        except RosterInvalid as error:
            # Here, not at the top: the error workbook's openpyxl takes 0.1 s to load, at every start.
            from students.roster.error_workbook import report_problems

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
        elif national_load:
            message = _(
                "%(rows)d rows imported: %(new)d new students registered, %(updated)d updated, "
                "%(unchanged)d unchanged. %(seconds).1f s."
            )
        else:
            message = _(
                "%(rows)d rows imported: %(new)d new students entered the registration review, %(updated)d "
                "updated, %(unchanged)d unchanged. %(seconds).1f s."
            )
        self.stdout.write(message % counts)
        if options["verbosity"] >= 2:
            for step, seconds in plan.timings.items():
                self.stdout.write(f"  {step}: {seconds:.2f} s")


def checking_processes():
    """How many processes check a large file's rows while this one writes them:
    settings.REGISTRAR["IMPORT_PROCESSES"], by default one for each CPU but the one the writing takes
    (on two cores one process checks a county's rows about as fast as the writing takes them, and a
    second only took CPU time from the writing: 1.2 s slower on SQLite, 1.4 s on PostgreSQL)."""
    configured = settings.REGISTRAR.get("IMPORT_PROCESSES")
    if configured is not None:
        return configured
    return max((os.cpu_count() or 1) - 1, 0)


# Who loads the national system's records: the county and city offices that hold their 学籍号.
NATIONAL_LOAD_ROLES = (Role.COUNTY_REVIEWER, Role.CITY_REVIEWER)


def importer(username, scope, *, national_load, dry_run):
    """The user the import acts as (--user): for --national-load a county's or city's administrator
    over `scope`, refused to school users; otherwise the school's 学校学籍管理员, whose new students
    enter the registration review. A dry run may go without a user (it writes nothing)."""
    if not username:
        if dry_run:
            return None
        raise CommandError(
            _(
                "Say who imports: --user (a school's 学校学籍管理员, or with --national-load a county's or "
                "city's administrator)."
            ),
            returncode=1,
        )
    user = User.objects.filter(username=username, is_active=True).select_related("node").first()
    if user is None:
        raise CommandError(_("No active user %(name)s.") % {"name": username}, returncode=1)
    covers = user.node_id is not None and scope.path.startswith(user.node.path)
    if national_load:
        if not user.is_superuser and (
            not covers or user.node.is_school or not user.has_role(*NATIONAL_LOAD_ROLES)
        ):
            raise CommandError(
                _(
                    "Loading records from the national system is for the administrators of a county or city "
                    "over %(scope)s; school users register new students through the registration review."
                )
                % {"scope": scope.name},
                returncode=1,
            )
        return user
    if not (covers and scope.is_school and user.node_id == scope.pk and user.has_role(Role.SCHOOL_REGISTRAR)):
        raise CommandError(
            _(
                "%(name)s is not a 学校学籍管理员 of %(scope)s: a school's file is imported by its registrar "
                "(its new students enter the registration review); existing records from the national "
                "system are loaded with --national-load."
            )
            % {"name": username, "scope": scope.name},
            returncode=1,
        )
    return user
