from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils.translation import gettext as _

from registrar.audit import record_event
from registrar.models import Organisation
from students.models import LIVE_STATUSES, Status, Student
from students.roster.exporter import EXPORT_ACTION, write_roster
from students.roster.normalise import CellError, parse_grade


class Command(BaseCommand):
    help = (
        "Export the roster of a school, or of every school of a county or city, as a workbook with the "
        "template's columns, 学籍号 and 学校标识码 filled in. Importing it into an empty database gives the "
        "same roster back."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--school", required=True, help="a school's 学校标识码, or a county's or city's division code"
        )
        parser.add_argument("--grade", help="only this grade: 1–12 or its name (一年级, 初一, 高三 …)")
        parser.add_argument("--class", dest="class_name", help="only classes of this name (1班 or 1)")
        parser.add_argument(
            "--status",
            default=Status.ENROLLED.value,
            help="enrolled (the default), live (in review, enrolled, suspended), all, or any one status",
        )
        parser.add_argument("-o", "--output", required=True, help="the .xlsx file to write")

    def handle(self, *args, school, grade, class_name, status, output, **options):
        node = Organisation.objects.filter(code=school).first()
        if node is None:
            raise CommandError(_("No school or region with the code %(code)s.") % {"code": school})
        students = Student.objects.filter(school__path__startswith=node.path)
        if grade:
            try:
                students = students.filter(grade__level=parse_grade(grade))
            except CellError as error:
                raise CommandError(error.message) from error
        if class_name:
            name = class_name.strip()
            students = students.filter(Q(school_class__name=name) | Q(school_class__name=f"{name}班"))
        if status == "live":
            students = students.filter(status__in=LIVE_STATUSES)
        elif status != "all":
            if status not in Status.values:
                raise CommandError(_("Unknown status %(status)s.") % {"status": status})
            students = students.filter(status=status)
        count = write_roster(students, output)
        record_event(
            EXPORT_ACTION,
            actor=None,
            node=node,
            filter=" ".join(part for part in (node.name, grade or "", class_name or "", status) if part),
            rows=count,
        )
        self.stdout.write(_("%(count)d students written to %(file)s.") % {"count": count, "file": output})
