"""Resolving problem records: 佐证 and 删除 reviewed by the county, 变更 through a key-data
correction, 仲裁 by the county or the city; every refusal; the scope of the pages; the blocks."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from corrections import services as corrections
from graduation.audit import problems_of
from problems import blocks, services
from problems.errors import ProblemError
from problems.models import Method
from registrar import approvals
from registrar.errors import ApprovalError, DomainError
from students.models import ProblemOutcome, ProblemRecord, Status
from students.services import ensure_student_free
from tests.conftest import make_user
from tests.correction_helpers import approved_through, attach_required, new_id_for
from tests.problem_helpers import planted_world
from tests.transfer_helpers import png

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tree):
    w = planted_world(tree)
    services.detect_problems()
    return w


def problem(kind, student):
    return ProblemRecord.objects.get(kind=kind, student=student)


@pytest.fixture
def sixth_registrar(tree):
    from registrar.choices import Role

    return make_user("sixth", tree["1420102004"], [Role.SCHOOL_REGISTRAR])


def test_confirm_with_evidence_reviewed_by_the_county(world, registrar, county_reviewer):
    record = problem("invalid_id", world.young)
    resolution = services.create_resolution(
        record, by=registrar, method=Method.CONFIRM, explanation="确实提前入学"
    )
    with pytest.raises(ApprovalError):
        services.submit_resolution(resolution, by=registrar)
    services.add_evidence(resolution, by=registrar, uploaded_file=png())
    services.submit_resolution(resolution, by=registrar)
    assert ProblemRecord.objects.get(pk=record.pk).is_open
    approvals.approve(resolution.approval, by=county_reviewer)
    record.refresh_from_db()
    assert (record.outcome, record.resolution, record.resolved_by) == (
        ProblemOutcome.CONFIRMED,
        "确实提前入学",
        county_reviewer,
    )


def test_delete_closes_the_false_registration_as_a_lifecycle_event(world, registrar, county_reviewer):
    record = problem("duplicate_id", world.again)
    resolution = services.create_resolution(
        record, by=registrar, method=Method.DELETE, explanation="重复注册", record_to_delete=world.again
    )
    services.submit_resolution(resolution, by=registrar)
    approvals.approve(resolution.approval, by=county_reviewer)
    world.again.refresh_from_db()
    assert world.again.status == Status.CANCELLED
    assert world.again.status_events.latest("pk").event == "voided"
    record.refresh_from_db()
    assert record.outcome == ProblemOutcome.DELETED


def test_refusals(world, registrar, outsider, sixth_registrar):
    record = problem("duplicate_id", world.second)
    with pytest.raises(PermissionDenied):
        services.create_resolution(record, by=outsider, method=Method.CONFIRM, explanation="x")
    with pytest.raises(ProblemError):
        services.create_resolution(record, by=registrar, method=Method.CONFIRM, explanation=" ")
    # Our school may not delete the record of 第六中学.
    with pytest.raises(ProblemError):
        services.create_resolution(
            record, by=registrar, method=Method.DELETE, explanation="x", record_to_delete=world.second
        )
    # An invalid ID is corrected, not deleted.
    with pytest.raises(ProblemError):
        services.create_resolution(
            problem("invalid_id", world.bad),
            by=registrar,
            method=Method.DELETE,
            explanation="x",
            record_to_delete=world.bad,
        )
    services.create_resolution(record, by=sixth_registrar, method=Method.CONFIRM, explanation="x")
    with pytest.raises(ProblemError):
        services.create_resolution(record, by=registrar, method=Method.CONFIRM, explanation="y")


def test_change_closes_the_problem_when_the_correction_is_applied(
    world, registrar, principal, county_reviewer
):
    record = problem("invalid_id", world.bad)
    new_number = new_id_for(world.bad, sequence=5 if world.bad.gender == "1" else 6)
    correction = corrections.create_correction(
        world.bad, by=registrar, changes={"id_number": (new_number, "input_error")}
    )
    services.link_correction(record, correction, by=registrar)
    attach_required(correction, registrar)
    corrections.submit_correction(correction, by=registrar)
    approved_through(correction, principal, county_reviewer)
    record.refresh_from_db()
    assert record.outcome == ProblemOutcome.CORRECTED


def test_arbitration_by_the_county_closes_the_other_registration(world, county_reviewer, city_reviewer):
    record = problem("duplicate_id", world.second)
    assert services.arbiter_for(record).code == "420102"
    with pytest.raises(PermissionDenied):
        services.arbitrate(record, by=city_reviewer, keep=world.first, reason="x")
    with pytest.raises(ProblemError):
        services.arbitrate(record, by=county_reviewer, keep=world.first, reason="")
    services.arbitrate(record, by=county_reviewer, keep=world.first, reason="公安户籍核实")
    world.second.refresh_from_db()
    assert world.second.status == Status.CANCELLED
    record.refresh_from_db()
    assert record.outcome == ProblemOutcome.ARBITRATED and "公安户籍核实" in record.resolution
    # The other open record of the closed registration (its invalid ID) goes with it.
    assert not ProblemRecord.objects.unresolved().involving(world.second).exists()


def test_arbitration_across_counties_is_the_citys(world, county_reviewer, outsider_reviewer, city_reviewer):
    record = problem("duplicate_id", world.again)
    # 江岸区 (Wuhan) and 夷陵区 (Yichang): different cities, no arbiter of ours.
    assert services.arbiter_for(record) is None
    with pytest.raises(PermissionDenied):
        services.arbitrate(record, by=county_reviewer, keep=world.again, reason="x")


def test_the_arbiter_of_two_counties_of_one_city_is_the_city(world, tree, city_reviewer):
    from registrar.orgimport import import_organisations, parse_rows
    from tests.conftest import raw_rows

    import_organisations(parse_rows(raw_rows([("420103", "江汉区", "区", "420100", "", "")])))
    from registrar.models import Organisation
    from students.models import Student

    school = world.sixth
    Organisation.objects.filter(pk=school.pk).update(parent=Organisation.objects.get(code="420103"))
    Organisation.objects.filter(pk=school.pk).update(
        path=Organisation.objects.get(code="420103").path + school.path.rsplit("/", 2)[-2] + "/"
    )
    record = problem("duplicate_id", world.second)
    record = ProblemRecord.objects.select_related("student__school", "other_student__school").get(
        pk=record.pk
    )
    assert services.arbiter_for(record).code == "420100"
    services.arbitrate(record, by=city_reviewer, keep=world.second, reason="市级仲裁")
    assert Student.objects.get(pk=world.first.pk).status == Status.CANCELLED


def test_open_problems_block_both_parties(world):
    for student in (world.first, world.second):
        found = blocks.open_problem_for(student)
        assert found is not None
        with pytest.raises(DomainError, match=f"#{found.pk}"):
            ensure_student_free(student)
    assert world.graduate.pk in problems_of([world.graduate.pk, world.clean.pk])
    assert world.clean.pk not in problems_of([world.graduate.pk, world.clean.pk])
    from students.models import Student

    assert set(blocks.blocked_students(Student.objects.all()).values_list("pk", flat=True)) == {
        world.first.pk,
        world.second.pk,
        world.again.pk,
        world.graduate.pk,
        world.back.pk,
        world.left.pk,
        world.bad.pk,
        world.young.pk,
        world.changer.pk,
        world.holder.pk,
    }


def test_pages_are_scoped(world, registrar, outsider, class_teacher, county_reviewer, client_for):
    record = problem("duplicate_id", world.second)
    assert client_for(outsider).get(reverse("problems:detail", args=[record.pk])).status_code == 404
    assert client_for(class_teacher).get(reverse("problems:detail", args=[record.pk])).status_code == 403
    page = client_for(registrar).get(reverse("problems:list"))
    assert page.status_code == 200 and "李双籍" in page.text and "郑持号" in page.text
    listed = client_for(outsider).get(reverse("problems:list"))
    # 夷陵区实验学校 sees its own two records, not ours alone.
    assert "孙校验" not in listed.text and "郑持号" in listed.text
    detail = client_for(county_reviewer).get(reverse("problems:detail", args=[record.pk]))
    assert "arbitrate" in detail.text


def test_dashboard_and_roster_filter(world, registrar, client_for):
    client = client_for(registrar)
    roster = client.get(reverse("students:roster") + "?problem=on")
    assert "孙校验" in roster.text and "王清白" not in roster.text
    dashboard = client.get(reverse("registrar:dashboard"))
    assert reverse("problems:list") in dashboard.text


def test_arbitration_never_voids_a_locked_record(world, tree, county_reviewer):
    # A graduate of our county registered again in our county: keeping the new one would void the graduate.
    from tests.problem_helpers import plant

    plant(world.graduate, school=world.school, grade=world.ours.grade, school_class=world.ours)
    record = ProblemRecord.objects.select_related("student__school", "other_student__school").get(
        kind="duplicate_id", student=world.again
    )
    with pytest.raises(ProblemError, match="锁定"):
        services.arbitrate(record, by=county_reviewer, keep=world.again, reason="x")
    services.arbitrate(record, by=county_reviewer, keep=world.graduate, reason="重复注册")
    world.again.refresh_from_db()
    assert world.again.status == Status.CANCELLED


def test_evidence_is_scoped_and_each_opening_logged(world, registrar, outsider, client_for):
    from registrar.models import AuditEvent

    record = problem("invalid_id", world.young)
    resolution = services.create_resolution(record, by=registrar, method=Method.CONFIRM, explanation="x")
    evidence = services.add_evidence(resolution, by=registrar, uploaded_file=png())
    url = reverse("problems:evidence_file", args=[resolution.pk, evidence.pk])
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(registrar).get(url).status_code == 200
    assert AuditEvent.objects.filter(action="problems.evidence.opened", actor=registrar).count() == 1
