from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from graduation import importer, services
from graduation.management.commands._stages import segment_of
from graduation.models import ResultImport
from registrar.choices import NodeKind
from registrar.models import Organisation

SHOWN_PROBLEMS = 30


class Command(BaseCommand):
    help = (
        "Import a results workbook (credits, evaluations, fitness, courses, internship, fees) for a "
        "school's graduating grade. All or nothing: when any row has an error nothing is written, the "
        "error workbook is kept, and the command exits with status 1. The same file again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--school", required=True, help="the school's 学校标识码")
        parser.add_argument(
            "--stage", help="小学, 初中, 高中, 中职 (needed when the school has two graduating grades)"
        )
        parser.add_argument("--dry-run", action="store_true", help="check only; write nothing")
        parser.add_argument("--errors", help="where to write the error workbook when rows have errors")

    def handle(self, *args, file, school, stage, dry_run, errors, **options):
        node = Organisation.objects.filter(code=school, kind=NodeKind.SCHOOL).first()
        if node is None:
            raise CommandError(_("No school with the code %(code)s.") % {"code": school})
        segments = services.graduating_segments(node)
        segment = segment_of(stage) if stage else (segments[0] if len(segments) == 1 else None)
        if segment not in segments:
            raise CommandError(
                _("Give --stage: the school graduates %(stages)s.")
                % {"stages": "、".join(str(s.label) for s in segments)}
            )
        data = Path(file).read_bytes()
        record = importer.import_results(
            node,
            data,
            by=None,
            province=services.province_of(node),
            segment=segment,
            original_name=Path(file).name,
            dry_run=dry_run,
        )
        if record.state == ResultImport.State.INVALID:
            for error in record.errors[:SHOWN_PROBLEMS]:
                self.stderr.write(f"行 {error['row'] or '—'}: {'；'.join(error['messages'])}")
            if errors:
                Path(errors).write_bytes(record.error_file.read())
                self.stderr.write(_("Error workbook: %(file)s") % {"file": errors})
            raise CommandError(
                _("%(count)s rows with errors: nothing was imported.") % {"count": len(record.errors)},
                returncode=1,
            )
        if dry_run:
            self.stdout.write(
                _("%(rows)s rows checked, nothing written (dry run).") % {"rows": record.total_rows}
            )
        else:
            self.stdout.write(
                _("%(rows)s rows imported; %(changed)s students' results changed.")
                % {"rows": record.total_rows, "changed": record.changed_rows}
            )
