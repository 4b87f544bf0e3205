from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from intake import admission
from intake.services import registrar_school
from registrar.errors import DomainError
from registrar.models import Organisation, User
from students.roster.error_workbook import report_problems


class Command(BaseCommand):
    help = (
        "Import a receiving school's admission list (录取名单: 学籍号 or 身份证件号, 姓名, 年级, 班级). "
        "Graduates of this system are taken in with their own record and number, in one intake request "
        "reviewed as registrations are; rows matching nobody are counted as new students to register. "
        "All or nothing: with any bad row nothing is written and the command exits with status 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx (or .xls) workbook")
        parser.add_argument("--school", required=True, help="the receiving school's 学校标识码")
        parser.add_argument("--dry-run", action="store_true", help="check only; write nothing")
        parser.add_argument("--errors", help="where to write the error workbook when rows have problems")
        parser.add_argument(
            "--user",
            help="the username of the school's 学校学籍管理员, who applies (not needed for --dry-run)",
        )

    def handle(self, *args, file, school, dry_run, errors, user, **options):
        target = Organisation.objects.filter(code=school, kind="school").first()
        if target is None:
            raise CommandError(_("No school with the code %(code)s.") % {"code": school}, returncode=1)
        by = self.applicant(user, target, dry_run)
        try:
            if dry_run:
                plan = admission.check_admission_list(file, school=target, by=by)
                if not plan.is_valid:
                    raise admission.AdmissionListInvalid(plan)
            else:
                plan, intake = admission.import_admission_list(file, school=target, by=by)
        except admission.AdmissionListInvalid as error:
            report_problems(error.plan, errors, self.stderr)
            raise CommandError(error.message, returncode=1) from error
        except DomainError as error:
            raise CommandError(error.message, returncode=1) from error
        self.stdout.write(admission.summary(plan))
        for row in plan.unmatched:
            self.stdout.write(
                _("Row %(row)d: %(name)s is new to this system: register as a new student.")
                % {
                    "row": row.number,
                    "name": row.values.get("name", ""),
                }
            )
        if dry_run:
            self.stdout.write(_("Nothing was written (dry run)."))
        elif intake is not None:
            self.stdout.write(
                _("Intake %(pk)d submitted for review: %(label)s")
                % {"pk": intake.pk, "label": intake.approval.subject_label}
            )

    def applicant(self, username, school, dry_run):
        """The school's registrar named by --user; a dry run may go without (it only reads)."""
        if not username:
            if dry_run:
                return None
            raise CommandError(_("Say who applies: --user, a 学校学籍管理员 of the school."), returncode=1)
        user = User.objects.filter(username=username, is_active=True).select_related("node").first()
        if user is None:
            raise CommandError(_("No active user %(name)s.") % {"name": username}, returncode=1)
        try:
            if registrar_school(user).pk != school.pk:
                raise PermissionDenied
        except PermissionDenied:
            raise CommandError(
                _("%(name)s is not a 学校学籍管理员 of %(school)s.")
                % {"name": username, "school": school.name},
                returncode=1,
            ) from None
        return user
