from django.core.management.base import BaseCommand

from students.roster.template import write_template


class Command(BaseCommand):
    help = (
        "Write the roster template (花名册模板): the header row, text formats, drop-down lists and 填写说明."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", help="the .xlsx file to write")

    def handle(self, *args, out, **options):
        write_template(out)
        self.stdout.write(out)
