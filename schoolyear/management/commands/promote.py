"""python manage.py promote --scope CODE [--dry-run]: the year-end promotion (升级) of every school
under a node (a school, a county, a city or the province), by the province's authority.

Each school is checked (its preview) and, unless --dry-run, promoted on its own, all or nothing; a
school with problems is refused and its problems are printed. Exit 0 when every school was promoted
(or, with --dry-run, could be); 1 when any was refused.
"""

from django.core.management.base import BaseCommand, CommandError

from registrar.choices import NodeKind
from registrar.models import Organisation
from schoolyear.models import PromotionRun
from schoolyear.promotion import build_plans, execute_runs, start_promotions


class Command(BaseCommand):
    help = "Promote every enrolled student under a node one grade up (升级), school by school."

    def add_arguments(self, parser):
        parser.add_argument("--scope", required=True, help="code of a school, county, city or province")
        parser.add_argument(
            "--dry-run", action="store_true", help="show each school's preview; change nothing"
        )

    def handle(self, *args, scope, dry_run=False, **options):
        node = Organisation.objects.filter(code=scope).first()
        if node is None:
            raise CommandError(f"No organisation with the code {scope}.")
        schools = Organisation.objects.filter(path__startswith=node.path, kind=NodeKind.SCHOOL).order_by(
            "path"
        )
        plans = build_plans(schools)
        for plan in plans:
            school = plan.school
            self.stdout.write(
                f"{school.code} {school.name}: {plan.promoted} to promote, {plan.suspended} suspended stay, "
                f"{plan.graduating} left for graduation — {'ready' if plan.ready else 'REFUSED'}"
            )
            for problem in plan.problems:
                self.stdout.write(f"    {problem}")
        refused = sum(1 for plan in plans if not plan.ready)
        started = []
        if not dry_run:
            started, late = start_promotions(
                [plan.school for plan in plans if plan.ready], by=None, source=PromotionRun.Source.COMMAND
            )
            for plan in late:
                refused += 1
                self.stdout.write(f"{plan.school.code} {plan.school.name}: REFUSED")
                for problem in plan.problems:
                    self.stdout.write(f"    {problem}")
        promoted = 0
        if started:
            # The ready schools together, set-based; each school all or nothing.
            states = execute_runs([run.pk for run in started])
            for run in PromotionRun.objects.filter(pk__in=[run.pk for run in started]).select_related(
                "school"
            ):
                if states[run.pk] == PromotionRun.State.DONE:
                    promoted += 1
                    self.stdout.write(f"{run.school.code} {run.school.name}: promoted ({run.promoted_count})")
                else:
                    refused += 1
                    self.stdout.write(f"{run.school.code} {run.school.name}: {run.get_state_display()}")
                    for problem in run.problems:
                        self.stdout.write(f"    {problem}")
        done = len(schools) - refused if dry_run else promoted
        self.stdout.write(f"Schools {'ready' if dry_run else 'promoted'}: {done}; refused: {refused}.")
        if refused:
            raise SystemExit(1)
