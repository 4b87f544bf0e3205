"""Detection of problem records on planted data: every kind found, nothing else; again without
duplicates; what disappeared closed; the scope; the command and the county's background run."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from problems import detection
from problems.models import DetectionRun
from problems.services import detect_problems
from students.models import ProblemOutcome, ProblemRecord, ProblemState
from tests.problem_helpers import expected_findings, plant, planted_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tree):
    return planted_world(tree)


def found(findings):
    return {(str(f.kind), f.student_id, f.other_id) for f in findings}


def records(**filters):
    return {(r.kind, r.student_id, r.other_student_id) for r in ProblemRecord.objects.filter(**filters)}


def test_every_kind_is_found_and_nothing_else(world):
    assert found(detection.detect()) == expected_findings(world)


def test_the_evidence_says_what_matched(world):
    by_student = {(f.kind, f.student_id): f for f in detection.detect()}
    assert by_student[("duplicate_id", world.second.pk)].evidence["match"] == "same_first_17"
    assert by_student[("duplicate_id", world.again.pk)].evidence["match"] == "same_number"
    assert by_student[("invalid_id", world.bad.pk)].evidence["reasons"] == ["check_digit"]
    assert by_student[("invalid_id", world.young.pk)].evidence["reasons"] == ["age"]
    assert by_student[("changed_id", world.changer.pk)].evidence["match"] == "former_number"


def test_running_again_creates_no_duplicate_and_closes_what_disappeared(world):
    first = detect_problems()
    assert first["created"] == 7
    again = detect_problems()
    assert again == {**again, "found": 7, "created": 0, "cleared": 0}
    assert ProblemRecord.objects.count() == 7
    plant(world.bad, id_number=world.bad.id_number[:17] + detection.resident_check_digit(world.bad.id_number))
    third = detect_problems()
    assert (third["created"], third["cleared"]) == (0, 1)
    closed = ProblemRecord.objects.get(student=world.bad)
    assert (closed.state, closed.outcome) == (ProblemState.RESOLVED, ProblemOutcome.CLEARED)
    assert records(state=ProblemState.OPEN) == expected_findings(world) - {("invalid_id", world.bad.pk, None)}


def test_the_scope_keeps_to_its_node_but_sees_the_other_party_anywhere(world, tree):
    detect_problems(tree["420506"])
    # 夷陵区: the graduate there, and the holder of the changed number, each with our school's record.
    assert records() == {
        ("duplicate_id", world.again.pk, world.graduate.pk),
        ("changed_id", world.changer.pk, world.holder.pk),
    }
    # A run over another area does not close what it did not look at.
    detect_problems(tree["1420102004"])
    assert ProblemRecord.objects.unresolved().count() == 5
    assert not ProblemRecord.objects.filter(outcome=ProblemOutcome.CLEARED).exists()


def test_the_command(world, capsys):
    call_command("detect_problems", "--scope", "420102")
    output = capsys.readouterr().out
    assert "7" in output and "0" in output
    assert records(state=ProblemState.OPEN) == expected_findings(world)


def test_the_command_refuses_an_unknown_scope(world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("detect_problems", "--scope", "999999")


def test_the_county_runs_it_from_its_page(world, county_reviewer, client_for):
    client = client_for(county_reviewer)
    response = client.post(reverse("problems:detect"))
    run = DetectionRun.objects.get()
    assert response.url == reverse("problems:run", args=[run.pk])
    assert run.state == DetectionRun.State.DONE and run.summary["created"] == 7
    page = client.get(response.url)
    assert page.status_code == 200
    assert ProblemRecord.objects.unresolved().count() == 7


def test_a_school_cannot_start_a_run(world, registrar, client_for):
    assert client_for(registrar).post(reverse("problems:detect")).status_code == 403
    assert not DetectionRun.objects.exists()
