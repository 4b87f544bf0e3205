from django.core.management import call_command

from problems.models import Resolution
from registrar.models import REVIEW_STATES
from students.models import ProblemKind, ProblemRecord


def test_the_demo_plants_problem_records_of_every_kind(db):
    call_command("seed_demo", class_size=2)
    kinds = set(ProblemRecord.objects.unresolved().values_list("kind", flat=True))
    assert kinds == set(ProblemKind.values)
    resolution = Resolution.objects.get()
    assert resolution.approval.state in REVIEW_STATES
    assert resolution.evidence.count() == 1
    before = ProblemRecord.objects.count(), Resolution.objects.count()
    call_command("seed_demo", class_size=2)
    assert (ProblemRecord.objects.count(), Resolution.objects.count()) == before
