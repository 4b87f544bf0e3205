"""Detection of problem records on planted data: every kind found, nothing else; again without
duplicates; what disappeared closed; the scope; the command and the county's background run."""

from datetime import date

import pytest
from django.core.management import call_command
from django.urls import reverse

from problems import detection
from problems.models import DetectionRun
from problems.services import detect_problems
from registrar.services import create_class
from students.models import ProblemOutcome, ProblemRecord, ProblemState
from tests.problem_helpers import bad_check, expected_findings, plant, planted_world

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


def test_the_per_row_id_checks_follow_every_write_and_agree_with_the_rules(tree):
    """The per-row checks of a number (kept by PostgreSQL in the partial index of migration
    students/0013, made row by row elsewhere) find exactly the numbers that the Python rules fault
    for their form, check digit, birth date or sex, after each write; neither the age nor the region
    is theirs (the age has its own query; the region is explained only of a candidate)."""
    from students.models import Status, Student
    from tests.student_helpers import make_id
    from tests.transfer_helpers import enrolled

    school_class = create_class(tree["1420102001"].grades.get(level=1), by=None, name="9班")
    student = enrolled(school_class, name="冯号码")
    birth, gender = student.birth_date, student.gender
    sequence = 1 if gender == "1" else 2
    good = make_id(birth=birth, sequence=sequence)
    body = good[:6] + "20150230" + good[14:17]
    with_x = next(
        number
        for number in (make_id(birth=birth, sequence=sequence + 2 * n) for n in range(200))
        if number.endswith("X")
    )
    numbers = [
        good,
        with_x,
        with_x[:17] + "x",
        good[:17],
        good + "0",
        good[:8] + "A" + good[9:],
        bad_check(good),
        body + detection.resident_check_digit(body),
        make_id(birth=birth.replace(day=birth.day % 28 + 1), sequence=sequence),
        make_id(birth=birth, sequence=sequence + 1),
        "９" * 18,
        # The forms migration 0019 tells apart by bytes: an X before the end, two, a wide digit.
        good[:5] + "X" + good[6:],
        good[:16] + "XX",
        good[:3] + "９" + good[4:],
    ]
    faulted = []
    for number in numbers:
        plant(student, id_number=number)
        found = detection.resident_id_faults(Student.objects.filter(pk=student.pk)).exists()
        reasons = detection.invalid_reasons(number, birth, gender, None, date.today())
        assert found == bool(set(reasons) - {"region"}), (number, reasons)
        faulted.append(found)
    assert faulted == [False, False] + [True] * 12
    # Only live records with a resident ID are read.
    plant(student, status=Status.GRADUATED)
    assert not detection.resident_id_faults(Student.objects.filter(pk=student.pk)).exists()
    plant(student, status=Status.ENROLLED, id_type="Z")
    assert not detection.resident_id_faults(Student.objects.filter(pk=student.pk)).exists()


def test_postgresql_reads_the_failing_numbers_from_their_index(tree):
    from django.db import connection

    from students.models import Student

    if connection.vendor != "postgresql":
        pytest.skip("the partial index is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    plan = detection.resident_id_faults(Student.objects.all()).explain()
    assert "student_resident_id_fault" in plan
