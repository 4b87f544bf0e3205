from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from registrar.orgimport import OrgImportError, import_organisations_file


class Command(BaseCommand):
    help = (
        "Load the organisation tree from a workbook with the header 代码, 名称, 类型, 上级代码, 学段, 学制."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx workbook")

    def handle(self, *args, file, **options):
        try:
            result = import_organisations_file(file)
        except OrgImportError as error:
            for line in error.errors:
                self.stderr.write(line)
            raise CommandError(
                _("%(count)d problems found; nothing was written.") % {"count": len(error.errors)}
            ) from error
        self.stdout.write(
            _("Created %(created)d, updated %(updated)d, unchanged %(unchanged)d; %(grades)d grades set up.")
            % {
                "created": len(result.created),
                "updated": len(result.updated),
                "unchanged": result.unchanged,
                "grades": result.grades_created,
            }
        )
