from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from graduation import documents
from graduation.audit import audit
from registrar.models import Organisation


class Command(BaseCommand):
    help = (
        "Audit the graduating grades of a school (or of every school of a county or city) and print the "
        "counts per verdict and per failing rule; -o writes every student with the reasons to a workbook."
    )

    def add_arguments(self, parser):
        parser.add_argument("--school", required=True, help="a 学校标识码, or a county's or city's code")
        parser.add_argument("-o", "--output", help="the .xlsx file to write")

    def handle(self, *args, school, output, **options):
        node = Organisation.objects.filter(code=school).first()
        if node is None:
            raise CommandError(_("No school or region with the code %(code)s.") % {"code": school})
        result = audit(node)
        self.stdout.write(
            f"{node.name}: " + _("%(total)s students in the graduating grades") % {"total": len(result.rows)}
        )
        for _verdict, label, count in result.counts():
            self.stdout.write(f"  {label}: {count}")
        for _check, label, count in result.reason_counts():
            self.stdout.write(f"    {label}: {count}")
        if output:
            count = documents.write_xlsx(
                "毕业资格审核", documents.audit_columns(), documents.audit_rows(result.rows), output
            )
            self.stdout.write(_("%(count)s rows written to %(file)s.") % {"count": count, "file": output})
