from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from graduation.importer import build_template
from graduation.management.commands._stages import segment_of
from registrar.choices import NodeKind
from registrar.models import Organisation


class Command(BaseCommand):
    help = "Write the results template of a province and stage: 学籍号, 姓名 and one column per rule input."

    def add_arguments(self, parser):
        parser.add_argument("--province", required=True, help="the province's division code, e.g. 420000")
        parser.add_argument("--stage", required=True, help="小学, 初中, 高中, 中职 or 特殊教育")
        parser.add_argument("-o", "--output", required=True, help="the .xlsx file to write")

    def handle(self, *args, province, stage, output, **options):
        node = Organisation.objects.filter(code=province, kind=NodeKind.PROVINCE).first()
        if node is None:
            raise CommandError(_("No province with the code %(code)s.") % {"code": province})
        build_template(node, segment_of(stage)).save(output)
        self.stdout.write(_("Template written to %(file)s.") % {"file": output})
