"""Compare the stored student counts of the reports with the students themselves, and repair them.

manage.py recount_students --check    # exit 1 and list the groups that differ
manage.py recount_students            # count every student again (PostgreSQL)
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from reports.counts import drift, recount
from reports.models import stored_counts_kept


class Command(BaseCommand):
    help = "Check (--check) or rebuild the student counts the 学生情况统计表 reads on PostgreSQL."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="only compare; exit 1 when they differ")

    def handle(self, *args, check=False, **options):
        if not stored_counts_kept():
            self.stdout.write(_("This database keeps no counts: the reports count the students directly."))
            return
        differences = drift()
        for (school, grade, school_class, status), (kept, counted) in sorted(differences.items()):
            group = f"school {school} grade {grade} class {school_class} {status}"
            self.stdout.write(f"{group}: stored {kept}, counted {counted}")
        if check:
            if differences:
                raise CommandError(
                    _("%(count)d groups differ from the students.") % {"count": len(differences)}
                )
            self.stdout.write(_("The stored counts agree with the students."))
            return
        recount()
        self.stdout.write(_("Counted again (%(count)d groups differed).") % {"count": len(differences)})
