"""升级: the preview, the run, every refusal, and the undo (schoolyear/promotion.py)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from registrar.models import AuditEvent, BusinessCalendar
from reports.counts import drift
from reports.models import stored_counts_kept
from schoolyear import promotion
from schoolyear.errors import SchoolYearError
from schoolyear.models import ClassMapping, PromotionMove, PromotionRun
from schoolyear.promotion import (
    DONE_ACTION,
    PromotionRefused,
    build_plan,
    execute_run,
    execute_runs,
    start_promotion,
    start_promotions,
    undo_promotion,
)
from students.models import Event, ProblemKind, ProblemRecord, Status, StatusEvent, Student
from tests.student_helpers import register
from tests.transfer_helpers import class_of, enrolled, reload, run_chain, started, submitted
from transfers.models import Kind

pytest_plugins = ["tests.transfer_fixtures"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
AUGUST = datetime(2026, 8, 10, 10, 0, tzinfo=SHANGHAI)
IN_TERM = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def year(school):
    """育才小学 (小学, 6-3-3) with 1班 in every grade and students in grades 1, 2 and 6."""
    classes = {level: class_of(school, level) for level in range(1, 7)}
    with time_machine.travel(IN_TERM, tick=False):
        students = {
            "first": enrolled(classes[1], name="一年级甲"),
            "second": enrolled(classes[1], name="一年级乙"),
            "grade2": enrolled(classes[2], name="二年级甲"),
            "grade6": enrolled(classes[6], name="六年级甲"),
        }
    return {"classes": classes, "students": students}


def promote(school, by, on=date(2026, 8, 10)):
    run = start_promotion(school, by=by, on=on)
    assert execute_run(run.pk, on=on) == PromotionRun.State.DONE
    run.refresh_from_db()
    return run


def test_the_preview_counts_what_moves_and_what_stays(school, year):
    plan = build_plan(school, on=date(2026, 8, 10))
    assert plan.ready, plan.problems
    assert plan.promoted == 3
    assert plan.graduating == 1
    assert [(move.source.grade.level, move.target.grade.level, move.students) for move in plan.moves] == [
        (1, 2, 2),
        (2, 3, 1),
    ]


def test_the_province_promotes_a_school(school, year, province_admin):
    classes, students = year["classes"], year["students"]
    with time_machine.travel(AUGUST, tick=False):
        run = promote(school, province_admin)
    assert run.promoted_count == 3
    first = reload(students["first"])
    assert (first.grade.level, first.school_class_id, first.status) == (2, classes[2].pk, Status.ENROLLED)
    assert reload(students["grade2"]).grade.level == 3
    # The last grade of the stage stays for graduation.
    assert reload(students["grade6"]).grade.level == 6
    event = StatusEvent.objects.filter(student=first).latest("id")
    assert (event.event, event.grade_id, event.approved_by_id) == (
        Event.PROMOTED,
        classes[2].grade_id,
        province_admin.pk,
    )
    assert StatusEvent.objects.filter(event=Event.PROMOTED).count() == 3
    history = first.history.latest("history_date")
    assert (history.grade_id, history.history_user_id) == (classes[2].grade_id, province_admin.pk)
    assert AuditEvent.objects.filter(action=DONE_ACTION).count() == 1


def test_suspended_students_stay(school, year, suspended, province_admin):
    with time_machine.travel(AUGUST, tick=False):
        plan = build_plan(school)
        assert plan.suspended == 1
        promote(school, province_admin)
    assert reload(suspended).grade.level == 1


def test_a_missing_class_is_a_problem_and_nothing_moves(school, year, province_admin):
    two = class_of(school, 1, name="2班")
    with time_machine.travel(IN_TERM, tick=False):
        enrolled(two, name="二班学生")
    plan = build_plan(school, on=date(2026, 8, 10))
    assert any("2班" in problem for problem in plan.problems)
    with pytest.raises(PromotionRefused):
        start_promotion(school, by=province_admin, on=date(2026, 8, 10))
    assert reload(year["students"]["first"]).grade.level == 1


def test_a_class_over_capacity_is_a_problem(school, year, province_admin):
    target = year["classes"][2]
    # Its own student moves on and two arrive: one too many for a capacity of 1.
    target.capacity = 1
    target.save()
    with translation.override("en"):
        plan = build_plan(school, on=date(2026, 8, 10))
    assert any("capacity of 1" in problem for problem in plan.problems)
    assert not plan.ready


def test_a_student_with_an_open_request_is_a_problem(school, year, registrar):
    with time_machine.travel(IN_TERM, tick=False):
        started(Kind.SUSPENSION, registrar, year["students"]["first"])
    plan = build_plan(school, on=date(2026, 8, 10))
    assert any("一年级甲" in problem for problem in plan.problems)


def test_a_student_with_an_open_problem_record_is_a_problem(school, year):
    ProblemRecord.objects.create(student=year["students"]["second"], kind=ProblemKind.INVALID_ID)
    plan = build_plan(school, on=date(2026, 8, 10))
    assert any("一年级乙" in problem for problem in plan.problems)


def test_a_registration_in_review_is_a_problem(school, year, registrar):
    with time_machine.travel(IN_TERM, tick=False):
        register(registrar, year["classes"][1], name="审核中", sequence=77)
    with translation.override("en"):
        plan = build_plan(school, on=date(2026, 8, 10))
    assert any("registration review" in problem for problem in plan.problems)


def test_a_school_is_promoted_once_a_school_year(school, year, province_admin):
    promote(school, province_admin)
    with pytest.raises(PromotionRefused):
        start_promotion(school, by=province_admin, on=date(2026, 8, 20))


def test_a_mapping_sends_a_class_elsewhere(school, year, province_admin):
    other = class_of(school, 2, name="3班")
    ClassMapping.objects.create(school=school, from_class=year["classes"][1], to_class=other)
    promote(school, province_admin)
    assert reload(year["students"]["first"]).school_class_id == other.pk


def test_a_county_runs_it_only_when_the_province_allows(school, year, county_reviewer, tree):
    with pytest.raises(SchoolYearError):
        start_promotion(school, by=county_reviewer, on=date(2026, 8, 10))
    BusinessCalendar.objects.create(province=tree["420000"], county_promotion=True)
    run = promote(school, county_reviewer)
    assert run.authority == tree["420102"]


def test_a_school_registrar_cannot_run_it(school, year, registrar, outsider_reviewer):
    for user in (registrar, outsider_reviewer):
        with pytest.raises(SchoolYearError):
            start_promotion(school, by=user, on=date(2026, 8, 10))


def test_an_approved_repeat_is_kept(school, year, registrar, principal, county_reviewer, province_admin):
    pupil = year["students"]["grade2"]
    with time_machine.travel(datetime(2026, 6, 20, 10, 0, tzinfo=SHANGHAI), tick=False):
        change = submitted(Kind.REPEAT, registrar, pupil, to_class=year["classes"][1])
        run_chain(change, [principal, county_reviewer])
    assert reload(pupil).grade.level == 1
    with time_machine.travel(AUGUST, tick=False):
        assert build_plan(school).repeated_or_skipped == 1
        promote(school, province_admin)
    # Back in grade 2 for a second year: the repeated year is kept.
    assert reload(pupil).grade.level == 2


# --- undo -------------------------------------------------------------------------------------------


def test_undo_restores_every_student_exactly(school, year, province_admin):
    first = year["students"]["first"]
    Student.objects.filter(pk=first.pk).update(class_number="07")
    with time_machine.travel(AUGUST, tick=False):
        run = promote(school, province_admin)
        undo_promotion(run, by=province_admin)
    run.refresh_from_db()
    assert run.state == PromotionRun.State.UNDONE
    restored = reload(first)
    assert (restored.grade.level, restored.school_class_id, restored.class_number) == (
        1,
        year["classes"][1].pk,
        "07",
    )
    assert StatusEvent.objects.filter(event=Event.PROMOTION_UNDONE).count() == 3
    assert reload(year["students"]["grade6"]).grade.level == 6
    # Undone, the school may be promoted again.
    with time_machine.travel(AUGUST, tick=False):
        promote(school, province_admin)


def test_undo_is_refused_after_the_term_starts(school, year, province_admin):
    with time_machine.travel(AUGUST, tick=False):
        run = promote(school, province_admin)
    with pytest.raises(SchoolYearError, match="2026-09-01"):
        undo_promotion(run, by=province_admin, on=date(2026, 9, 1))


def test_undo_only_by_the_same_authority(school, year, province_admin, county_reviewer, tree):
    BusinessCalendar.objects.create(province=tree["420000"], county_promotion=True)
    with time_machine.travel(AUGUST, tick=False):
        run = promote(school, province_admin)
        with pytest.raises(SchoolYearError):
            undo_promotion(run, by=county_reviewer)


def test_undo_is_refused_when_a_student_changed_since(
    school, year, province_admin, registrar, principal, county_reviewer
):
    with time_machine.travel(AUGUST, tick=False):
        run = promote(school, province_admin)
        pupil = year["students"]["grade2"]
        change = submitted(Kind.REPEAT, registrar, pupil, to_class=year["classes"][2])
        run_chain(change, [principal, county_reviewer])
        with pytest.raises(SchoolYearError, match="二年级甲"):
            undo_promotion(run, by=province_admin)
    assert reload(year["students"]["first"]).grade.level == 2


def test_a_refused_run_says_why(school, year, province_admin):
    run = start_promotion(school, by=province_admin, on=date(2026, 8, 10))
    ProblemRecord.objects.create(student=year["students"]["second"], kind=ProblemKind.INVALID_ID)
    assert execute_run(run.pk, on=date(2026, 8, 10)) == PromotionRun.State.REFUSED
    run.refresh_from_db()
    assert any("一年级乙" in problem for problem in run.problems)
    assert reload(year["students"]["first"]).grade.level == 1
    assert not StatusEvent.objects.filter(event=Event.PROMOTED).exists()


# --- many schools ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_schools_run_side_by_side_each_all_or_nothing(school, year, huaqiao, province_admin):
    """A province's run: each school in its own transaction (two connections at once on PostgreSQL);
    one school refused at the run leaves the other promoted."""
    on = date(2026, 8, 10)
    class_of(huaqiao, 4)
    with time_machine.travel(IN_TERM, tick=False):
        pupil = enrolled(class_of(huaqiao, 3), name="李小红")
    runs, refused = start_promotions([school, huaqiao], by=province_admin, on=on)
    assert not refused
    # Found after the preview: 育才小学 is refused when it runs.
    ProblemRecord.objects.create(student=year["students"]["second"], kind=ProblemKind.INVALID_ID)
    states = execute_runs([run.pk for run in runs], on=on)
    assert states == {runs[0].pk: PromotionRun.State.REFUSED, runs[1].pk: PromotionRun.State.DONE}
    assert reload(pupil).grade.level == 4
    assert StatusEvent.objects.filter(event=Event.PROMOTED, student=pupil).count() == 1
    assert reload(year["students"]["first"]).grade.level == 1
    assert not StatusEvent.objects.filter(event=Event.PROMOTED, school=school).exists()
    runs[0].refresh_from_db()
    assert any("一年级乙" in problem for problem in runs[0].problems)
    assert AuditEvent.objects.filter(action=DONE_ACTION).count() == 1
    # The stored counts (kept by triggers on PostgreSQL; none on SQLite) still agree with the students.
    if stored_counts_kept():
        assert drift() == {}


def test_a_school_started_meanwhile_by_another_office_is_refused_alone(
    school, year, huaqiao, province_admin, monkeypatch
):
    """The runs are queued in one statement; when another office queued one of the schools between the
    preview and that statement, that school is refused with the reason and the others are queued."""
    on = date(2026, 8, 10)
    with time_machine.travel(IN_TERM, tick=False):
        enrolled(class_of(huaqiao, 1), name="李小红")
    class_of(huaqiao, 2)
    previews = promotion.build_plans

    def preview_then_another_office(schools, **kwargs):
        plans = previews(schools, **kwargs)
        PromotionRun.objects.create(
            school=school, authority=school.parent, school_year_end=plans[0].school_year_end
        )
        return plans

    monkeypatch.setattr(promotion, "build_plans", preview_then_another_office)
    runs, refused = start_promotions([school, huaqiao], by=province_admin, on=on)
    assert [run.school_id for run in runs] == [huaqiao.pk]
    assert [plan.school for plan in refused] == [school]
    assert refused[0].problems == [f"{school.name}本学年已有升级。"]


@pytest.mark.django_db(transaction=True)
def test_a_school_failing_midway_leaves_the_others_of_its_batch_promoted(
    school, year, huaqiao, province_admin, monkeypatch
):
    """Schools locked and checked together are each written in their own savepoint: one failing after
    its snapshot and its move (here its history rows) is rolled back whole; the other is promoted."""
    on = date(2026, 8, 10)
    class_of(huaqiao, 4)
    with time_machine.travel(IN_TERM, tick=False):
        pupil = enrolled(class_of(huaqiao, 3), name="李小红")
    runs, refused = start_promotions([school, huaqiao], by=province_admin, on=on)
    assert not refused
    write = promotion._write_history_and_events

    def fail_for_the_first_school(runs_written, *args, **kwargs):
        write(runs_written, *args, **kwargs)
        if runs_written[0].school_id == school.pk:
            raise SchoolYearError("学生在升级过程中发生了变化")

    monkeypatch.setattr(promotion, "_write_history_and_events", fail_for_the_first_school)
    states = execute_runs([run.pk for run in runs], on=on)
    assert states == {runs[0].pk: PromotionRun.State.REFUSED, runs[1].pk: PromotionRun.State.DONE}
    assert reload(pupil).grade.level == 4
    assert reload(year["students"]["first"]).grade.level == 1
    assert not StatusEvent.objects.filter(event=Event.PROMOTED, school=school).exists()
    assert not PromotionMove.objects.filter(run=runs[0]).exists()
    assert AuditEvent.objects.filter(action=DONE_ACTION).count() == 1
    if stored_counts_kept():
        assert drift() == {}
