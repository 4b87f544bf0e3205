"""升级: the year-end promotion of one school (domain §12), previewed, run and undone.

`build_plan(school)` is the preview: how many students move from each class and where to, and every
problem that stops the school (a missing class, a class over its 班额, a student with a request in
progress or an unresolved problem record, a registration still in review, a promotion already done
this school year). `promote_schools(runs)` promotes each school in its own savepoint (ten schools
locked, checked and committed together), all or nothing, set-based: one INSERT … SELECT keeps where
every student was (the snapshot an undo restores), one UPDATE moves them, one INSERT … SELECT writes
their history rows and one their status events (PROMOTED, asked of the lifecycle table as
`record_status_event` asks it), then one audit entry for the run; on PostgreSQL two connections
promote batches side by side. A province of a million students is
written in a minute, not in a million saves.

Who moves: 在校 students of every grade but the last of its stage (`is_graduating_level`, the rule the
graduation freeze and the graduation audit use). 休学 students stay in their grade and class. The last
grade of a stage stays for graduation, in a 九年一贯制 or 完全中学 school too: 六年级 of a nine-year school
finishes primary school (小学毕业) and enters 初一 by the intake (升学) as the same record, the way the
national system keeps the two stages apart. An approved 留级 or 跳级 has already placed the student in
the grade below or above (transfers/); the promotion then moves them on with that grade, so the
repeated or skipped year is kept; the preview counts them.
"""

import logging
import os
import queue
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from problems.blocks import blocked_students
from registrar.audit import record_event
from registrar.calendar import calendar_for, is_graduating_level
from registrar.models import ApprovalRequest, ApprovalSubject, Grade, Organisation, SchoolClass
from reports.models import StudentCount, stored_counts_kept
from schoolyear.authority import ensure_authority
from schoolyear.errors import SchoolYearError
from schoolyear.models import ClassMapping, PromotionMove, PromotionRun
from students import lifecycle
from students.models import LIVE_STATUSES, Event, Status, StatusEvent, Student
from students.roster import bulk
from students.services import subject_key

logger = logging.getLogger(__name__)

DONE_ACTION = "schoolyear.promotion.done"
UNDONE_ACTION = "schoolyear.promotion.undone"
# The job's steps, for its progress bar: check, snapshot, move, history, status events. A school's
# steps happen in one transaction, which no other connection sees before it commits: the run shows 0
# while running and all of them when done (a step written in between cost a statement and showed nothing).
PROMOTION_STEPS = 5
# Schools promoted side by side by a province's run (connections to PostgreSQL, each a core's work).
PROMOTION_WORKERS = int(os.environ.get("PROMOTION_WORKERS", "2"))
# Schools locked, checked and committed together by a worker (each still all or nothing in a savepoint).
PROMOTION_BATCH = int(os.environ.get("PROMOTION_BATCH", "10"))
# Names listed in one message before "and N more".
NAMES_SHOWN = 10
STUDENT_KEY_PREFIX = subject_key(Student(pk=0)).removesuffix("0")


@dataclass
class ClassMove:
    source: SchoolClass
    target: SchoolClass | None
    students: int


@dataclass
class Plan:
    """The preview of one school's promotion."""

    school: Organisation
    school_year_end: object
    moves: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    suspended: int = 0
    graduating: int = 0
    repeated_or_skipped: int = 0

    @property
    def promoted(self):
        return sum(move.students for move in self.moves)

    @property
    def ready(self):
        return not self.problems

    def summary(self):
        return {
            "promoted": self.promoted,
            "suspended": self.suspended,
            "graduating": self.graduating,
            "repeated_or_skipped": self.repeated_or_skipped,
            "classes": [
                [str(move.source), str(move.target) if move.target else "", move.students]
                for move in self.moves
            ],
        }


class PromotionRefused(SchoolYearError):
    def __init__(self, plan):
        super().__init__(
            _("%(school)s cannot be promoted: %(count)d problems.")
            % {"school": plan.school.name, "count": len(plan.problems)}
        )
        self.plan = plan


def names(students):
    """张三、李四 … and 3 more."""
    students = list(students)
    shown = "、".join(students[:NAMES_SHOWN])
    if len(students) > NAMES_SHOWN:
        shown += _(" and %(count)d more") % {"count": len(students) - NAMES_SHOWN}
    return shown


def today():
    return timezone.localdate()


def build_plan(school, *, on=None, exclude_run=None):
    """The preview of `school`'s promotion on `on` (default today)."""
    return build_plans([school], on=on, exclude_runs=[exclude_run] if exclude_run else [])[0]


def build_plans(schools, *, on=None, exclude_runs=()):
    """The previews of `schools`, in their order: a dozen queries however many schools (a province's
    promotion previews them all at once)."""
    on = on or today()
    schools = list(schools)
    facts = _Facts(schools, on=on, exclude_runs=exclude_runs)
    return [_plan(school, facts) for school in schools]


class _Facts:
    """What the previews of many schools read, each in one query, grouped by school."""

    def __init__(self, schools, *, on, exclude_runs):
        ids = [school.pk for school in schools]
        by_id = {school.pk: school for school in schools}
        calendars = {}
        self.year_end = {}
        for school in schools:
            province = school.path.split("/", 1)[0]
            if province not in calendars:
                calendars[province] = calendar_for(school)
            self.year_end[school.pk] = calendars[province].school_year_end_for(on)
        self.grades = defaultdict(dict)
        for grade in Grade.objects.filter(school_id__in=ids):
            grade.school = by_id[grade.school_id]
            self.grades[grade.school_id][grade.level] = grade
        self.classes = defaultdict(dict)
        for school_class in SchoolClass.objects.filter(grade__school_id__in=ids).select_related("grade"):
            school_class.grade.school = by_id[school_class.grade.school_id]
            self.classes[school_class.grade.school_id][school_class.pk] = school_class
        self.mapping = dict(
            ClassMapping.objects.filter(school_id__in=ids).values_list("from_class_id", "to_class_id")
        )
        self.counts = defaultdict(list)
        if stored_counts_kept():
            # PostgreSQL keeps them exact, in the same transactions as the students (reports/): a row
            # a class and status instead of a count of 2,000 students a school.
            counted = (
                StudentCount.objects.filter(school_id__in=ids, status__in=LIVE_STATUSES)
                .values_list("school_id", "school_class_id", "status")
                .annotate(count=Sum("students"))
            )
        else:
            counted = (
                Student.objects.filter(school_id__in=ids, status__in=LIVE_STATUSES)
                .values_list("school_id", "school_class_id", "status")
                .annotate(count=Count("pk"))
            )
        for school_id, class_id, status, count in counted.order_by():
            if count:
                self.counts[school_id].append((class_id, status, count))
        self.busy = defaultdict(list)
        for school_id, class_id, name in (
            Student.objects.filter(
                pk__in=_students_with_open_requests(), school_id__in=ids, status=Status.ENROLLED
            )
            .order_by("name")
            .values_list("school_id", "school_class_id", "name")
        ):
            self.busy[school_id].append((class_id, name))
        self.flagged = defaultdict(list)
        # Either party of an open problem record (problems.blocks: the one question of what it blocks).
        for school_id, class_id, name in (
            blocked_students(Student.objects.filter(school_id__in=ids, status=Status.ENROLLED))
            .order_by("name")
            .values_list("school_id", "school_class_id", "name")
        ):
            self.flagged[school_id].append((class_id, name))
        # By the event's own school column (indexed): the students table stays out of it.
        earliest = min(self.year_end.values(), default=on) - timedelta(days=365)
        self.changes = defaultdict(list)
        for school_id, occurred_on in StatusEvent.objects.filter(
            school_id__in=ids, event__in=[Event.REPEATED, Event.SKIPPED], occurred_on__gt=earliest
        ).values_list("school_id", "occurred_on"):
            self.changes[school_id].append(occurred_on)
        self.earlier = {}
        active = PromotionRun.objects.filter(
            school_id__in=ids,
            state__in=[PromotionRun.State.QUEUED, PromotionRun.State.RUNNING, PromotionRun.State.DONE],
        ).exclude(pk__in=[run.pk for run in exclude_runs])
        for run in active.order_by("created_at"):
            if run.school_year_end == self.year_end[run.school_id]:
                self.earlier.setdefault(run.school_id, run)


def _students_with_open_requests():
    """The ids of the students with a request in progress (在办业务): its own subject, or one of the
    subjects of a request about many. Open requests are few, whatever the number of students."""
    open_keys = set(
        ApprovalRequest.objects.open()
        .filter(subject_key__startswith=STUDENT_KEY_PREFIX)
        .values_list("subject_key", flat=True)
    )
    open_keys |= set(
        ApprovalSubject.objects.filter(
            key__startswith=STUDENT_KEY_PREFIX, approval__in=ApprovalRequest.objects.open()
        ).values_list("key", flat=True)
    )
    return sorted(
        int(key.removeprefix(STUDENT_KEY_PREFIX))
        for key in open_keys
        if key[len(STUDENT_KEY_PREFIX) :].isdigit()
    )


def _plan(school, facts):
    plan = Plan(school=school, school_year_end=facts.year_end[school.pk])
    grades = facts.grades[school.pk]
    classes = facts.classes[school.pk]
    by_name = {
        (school_class.grade.level, school_class.name): school_class for school_class in classes.values()
    }
    live, enrolled, registering = Counter(), Counter(), Counter()
    for class_id, status, count in facts.counts[school.pk]:
        live[class_id] += count
        if status == Status.ENROLLED:
            enrolled[class_id] += count
        elif status == Status.SUSPENDED:
            plan.suspended += count
        else:
            registering[class_id] += count

    leaving, arriving = Counter(), Counter()
    ordered = sorted(classes.values(), key=lambda school_class: (school_class.grade.level, school_class.name))
    # Asked once a grade, not once a class (it reads the school's stages and 学制 each time: a province's
    # 24,000 classes, twice, cost 15 s of the run).
    graduating = {level: is_graduating_level(school, level) for level in grades}
    for school_class in ordered:
        level = school_class.grade.level
        if graduating[level]:
            plan.graduating += enrolled[school_class.pk]
            continue
        if registering[school_class.pk]:
            plan.problems.append(
                _("%(class)s: %(count)d students are still in registration review; finish the review first.")
                % {"class": school_class, "count": registering[school_class.pk]}
            )
        if not enrolled[school_class.pk]:
            continue
        next_grade = grades.get(level + 1)
        if school_class.pk in facts.mapping:
            target = classes.get(facts.mapping[school_class.pk])
        else:
            target = by_name.get((level + 1, school_class.name))
        plan.moves.append(ClassMove(school_class, target, enrolled[school_class.pk]))
        if next_grade is None:
            plan.problems.append(
                _("%(class)s: the school has no grade %(level)d to move up to.")
                % {"class": school_class, "level": level + 1}
            )
        elif target is None:
            plan.problems.append(
                _(
                    "%(class)s: %(grade)s has no class named %(name)s. Create next year's classes or give "
                    "a class mapping."
                )
                % {"class": school_class, "grade": next_grade.name, "name": school_class.name}
            )
        else:
            leaving[school_class.pk] += enrolled[school_class.pk]
            arriving[target.pk] += enrolled[school_class.pk]
    for target_id, count in sorted(arriving.items()):
        target = classes[target_id]
        after = live[target_id] - leaving[target_id] + count
        if after > target.capacity:
            plan.problems.append(
                _("%(class)s would hold %(after)d students, more than its capacity of %(capacity)d.")
                % {"class": target, "after": after, "capacity": target.capacity}
            )

    moving = {move.source.pk for move in plan.moves}
    busy = [name for class_id, name in facts.busy[school.pk] if class_id in moving]
    if busy:
        plan.problems.append(
            _("Students with a request in progress (在办业务): %(names)s. Finish or withdraw it first.")
            % {"names": names(busy)}
        )
    flagged = [name for class_id, name in facts.flagged[school.pk] if class_id in moving]
    if flagged:
        plan.problems.append(
            _("Students with an unresolved problem record: %(names)s. Resolve it first.")
            % {"names": names(flagged)}
        )
    start = plan.school_year_end - timedelta(days=365)
    plan.repeated_or_skipped = sum(1 for occurred_on in facts.changes[school.pk] if occurred_on > start)
    earlier = facts.earlier.get(school.pk)
    if earlier is not None:
        plan.problems.insert(
            0,
            _("%(school)s already has a promotion for this school year (%(state)s, %(date)s).")
            % {
                "school": school.name,
                "state": earlier.get_state_display(),
                "date": timezone.localtime(earlier.created_at).date().isoformat(),
            },
        )
    return plan


# --- starting and running ---------------------------------------------------------------------------


def start_promotion(school, *, by, source=PromotionRun.Source.WEB, on=None):
    """Queue `school`'s promotion (PromotionRun, state queued) when its preview has no problem; the job
    runs it. SchoolYearError when `by` may not, PromotionRefused when the preview has problems."""
    runs, refused = start_promotions([school], by=by, source=source, on=on)
    if refused:
        raise PromotionRefused(refused[0])
    return runs[0]


def start_promotions(schools, *, by, source=PromotionRun.Source.WEB, on=None):
    """Queue the promotion of each of `schools` whose preview has no problem: (runs, refused plans).
    `by=None` is the system (the command), with the province's authority."""
    schools = list(schools)
    provinces = {}
    authorities = {}
    for school in schools:
        if by is not None:
            authorities[school.pk] = ensure_authority(by, school)
        else:
            code = school.path.split("/", 1)[0]
            if code not in provinces:
                provinces[code] = Organisation.objects.get(code=code)
            authorities[school.pk] = provinces[code]
    plans = build_plans(schools, on=on)
    refused = [plan for plan in plans if not plan.ready]
    ready = [plan for plan in plans if plan.ready]

    def run_of(plan):
        return PromotionRun(
            school=plan.school,
            authority=authorities[plan.school.pk],
            created_by=by,
            source=source,
            school_year_end=plan.school_year_end,
            summary=plan.summary(),
        )

    try:
        # Every run in one statement and one transaction (a province's 500 commits were 500 flushes).
        with transaction.atomic():
            runs = PromotionRun.objects.bulk_create([run_of(plan) for plan in ready])
    except IntegrityError:
        # Another office started one of them a moment ago: each school on its own, as it comes.
        runs = []
        for plan in ready:
            run = run_of(plan)
            try:
                with transaction.atomic():
                    run.save()
            except IntegrityError:
                message = _("%(school)s already has a promotion for this school year.")
                plan.problems.append(message % {"school": plan.school.name})
                refused.append(plan)
            else:
                runs.append(run)
        order = {school.pk: index for index, school in enumerate(schools)}
        refused.sort(key=lambda plan: order[plan.school.pk])
    return runs, refused


def unexpected_failure():
    return _("The promotion stopped on an unexpected problem and nothing was changed. Try again later.")


def execute_run(run_id, *, on=None):
    """The job of one school's run: it ends done, refused (with the problems) or failed, never hanging."""
    return execute_runs([run_id], on=on)[run_id]


def execute_runs(run_ids, *, on=None):
    """Run queued promotions together (the command runs a whole scope so): each school is promoted all or
    nothing, a school with problems is refused with them. {run id: state afterwards}."""
    runs = list(
        PromotionRun.objects.select_related("school", "created_by").filter(
            pk__in=run_ids, state=PromotionRun.State.QUEUED
        )
    )
    if runs:
        PromotionRun.objects.filter(pk__in=[run.pk for run in runs]).update(
            state=PromotionRun.State.RUNNING, steps_done=0
        )
        try:
            promote_schools(runs, on=on)
        except SchoolYearError as error:
            _finish_running(runs, PromotionRun.State.REFUSED, [error.message])
        except Exception:
            logger.exception("Promotions %s failed", [run.pk for run in runs])
            _finish_running(runs, PromotionRun.State.FAILED, [unexpected_failure()])
        else:
            # A school whose worker could not even record its failure (its connection lost) is not left
            # running for ever.
            _finish_running(runs, PromotionRun.State.FAILED, [unexpected_failure()])
    return dict(PromotionRun.objects.filter(pk__in=run_ids).values_list("pk", "state"))


def _finish_running(runs, state, problems):
    for run in PromotionRun.objects.filter(pk__in=[run.pk for run in runs], state=PromotionRun.State.RUNNING):
        finish_run(run, state, problems=problems)


def finish_run(run, state, *, problems=()):
    PromotionRun.objects.filter(pk=run.pk).update(
        state=state, problems=[str(problem) for problem in problems], finished_at=timezone.now()
    )


def promote_schools(runs, *, on=None, workers=None):
    """Promote the schools of `runs` (started by one user), all or nothing per school, in batches of
    PROMOTION_BATCH: the batch's plans are made again under lock; a school with problems is refused (its
    run says why), the others are written set-based, each in its own savepoint. On PostgreSQL, outside
    a transaction, `workers` connections (PROMOTION_WORKERS, default 2: the schools touch disjoint rows)
    promote batches side by side. The refused plans are returned."""
    on = on or today()
    by = runs[0].created_by
    if any(run.created_by_id != (by.pk if by else None) for run in runs):
        raise ValueError("promote_schools: runs of one user at a time")
    workers = min(workers or PROMOTION_WORKERS, len(runs))
    batches = [runs[start : start + PROMOTION_BATCH] for start in range(0, len(runs), PROMOTION_BATCH)]
    # Other connections see no uncommitted row: inside a transaction (a test's, a caller's) the schools
    # go one after another on this connection, each in a savepoint. SQLite has one writer anyway.
    if workers < 2 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return [plan for batch in batches for plan in _promote_batch(batch, on=on, by=by)]
    language = translation.get_language()
    pending = queue.SimpleQueue()
    for batch in batches:
        pending.put(batch)
    refused = []

    def work():
        try:
            with translation.override(language):
                while True:
                    try:
                        batch = pending.get_nowait()
                    except queue.Empty:
                        return
                    refused.extend(_promote_batch(batch, on=on, by=by))
        finally:
            # This thread's own connection.
            connection.close()

    threads = [threading.Thread(target=work, name=f"promotion-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    order = {run.school_id: index for index, run in enumerate(runs)}
    return sorted(refused, key=lambda plan: order[plan.school.pk])


def _promote_batch(runs, *, on, by):
    """A few schools locked together and checked again with one preview (a dozen queries for all of
    them), then each written all or nothing in its own savepoint: a school refused or failing leaves the
    others of the batch promoted. The refused plans are returned. Should the batch itself fail (its lock,
    its preview, its commit), each of its schools is tried again alone."""
    refused = []
    try:
        with transaction.atomic():
            plans = _lock_and_plan(runs, on=on)
            for run, plan in zip(runs, plans, strict=True):
                if _promote_school(run, plan, on=on, by=by) is not None:
                    refused.append(plan)
    except Exception:
        if len(runs) == 1:
            logger.exception("Promotion %s failed", runs[0].pk)
            finish_run(runs[0], PromotionRun.State.FAILED, problems=[unexpected_failure()])
            return []
        logger.exception("Promotions %s failed together; each again alone", [run.pk for run in runs])
        return [plan for run in runs for plan in _promote_batch([run], on=on, by=by)]
    return refused


def _lock_and_plan(runs, *, on):
    """Lock the runs' schools and their classes (runs and undos of a school, and other offices' class
    room checks, one after another), in id order; then their previews made again under the lock."""
    ids = sorted(run.school_id for run in runs)
    locked = Organisation.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    schools = {school.pk: school for school in locked}
    list(
        SchoolClass.objects.select_for_update()
        .filter(grade__school_id__in=ids)
        .order_by("grade__school_id", "pk")
        .values_list("pk")
    )
    return build_plans([schools[run.school_id] for run in runs], on=on, exclude_runs=runs)


def _promote_school(run, plan, *, on, by):
    """One school's promotion, all or nothing, in its own savepoint: None when done, else the plan that
    refused it. A failure ends the run refused (a student changed meanwhile) or failed; it never reaches
    the other schools."""
    try:
        with transaction.atomic():
            return _write_school(run, plan, on=on, by=by)
    except SchoolYearError as error:
        finish_run(run, PromotionRun.State.REFUSED, problems=[error.message])
    except DatabaseError:
        # The savepoint is rolled back; the batch goes on.
        logger.exception("Promotion %s failed", run.pk)
        finish_run(run, PromotionRun.State.FAILED, problems=[unexpected_failure()])
    return None


def _write_school(run, plan, *, on, by):
    if not plan.ready:
        finish_run(run, PromotionRun.State.REFUSED, problems=plan.problems)
        return plan
    promoted = str(lifecycle.check(Status.ENROLLED, Event.PROMOTED))
    now = timezone.now()
    rows = [
        (run.pk, move.source.pk, move.target.grade_id, move.target.pk) for move in plan.moves if move.students
    ]
    events_after = StatusEvent.objects.aggregate(last=Max("pk"))["last"] or 0
    if rows:
        _write_moves([run], rows, now=now)
        year_end = run.school_year_end
        years = f"{year_end.year - 1}–{year_end.year}"
        reason = _("Promotion of the school year %(years)s") % {"years": years}
        _write_history_and_events(
            [run], Event.PROMOTED, promoted, reason=reason, action=DONE_ACTION, on=on, now=now, by=by
        )
    run.summary = {**plan.summary(), "events_after": events_after}
    PromotionRun.objects.filter(pk=run.pk).update(
        state=PromotionRun.State.DONE,
        steps_done=PROMOTION_STEPS,
        promoted_count=plan.promoted,
        summary=run.summary,
        problems=[],
        finished_at=now,
    )
    run.state, run.promoted_count, run.finished_at = PromotionRun.State.DONE, plan.promoted, now
    record_event(
        DONE_ACTION,
        actor=by,
        obj=run,
        node=plan.school,
        promoted=plan.promoted,
        suspended=plan.suspended,
        graduating=plan.graduating,
    )
    return None


# The classes' moves of the runs being written: a temporary table, joined to the students.
CLASS_MAP = "schoolyear_class_map"


def _runs_condition(column, runs):
    """`column` is one of the runs' ids: one array parameter on PostgreSQL, IN (…) elsewhere."""
    ids = [run.pk for run in runs]
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [ids]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", ids


def _write_moves(runs, rows, *, now):
    """The snapshot (PromotionMove) of every student the `rows` (run, source class, grade, class) move,
    then the move itself."""
    move_table = PromotionMove._meta.db_table
    student_table = Student._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {CLASS_MAP}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {CLASS_MAP} "
            "(run_id bigint, source_id bigint, grade_id bigint, class_id bigint)"
        )
        cursor.executemany(f"INSERT INTO {CLASS_MAP} VALUES (%s, %s, %s, %s)", rows)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {CLASS_MAP}")
        cursor.execute(
            f'INSERT INTO "{move_table}" (run_id, student_id, from_grade_id, from_class_id, class_number, '
            f"to_grade_id, to_class_id) "
            f'SELECT map.run_id, s."id", s."grade_id", s."school_class_id", s."class_number", map.grade_id, '
            f'map.class_id FROM "{student_table}" s '
            f'JOIN {CLASS_MAP} map ON s."school_class_id" = map.source_id '
            f'WHERE s."status" = %s',
            [Status.ENROLLED.value],
        )
        expected = cursor.rowcount
        cursor.execute(f"DROP TABLE {CLASS_MAP}")
        moved = _apply_moves(cursor, runs, to="to", from_="from", now=now)
    if moved != expected:
        # A student changed between the snapshot and the move (another office's transaction).
        raise SchoolYearError(
            _("Students changed while the promotion ran; nothing was changed. Run it again.")
        )


def _apply_moves(cursor, runs, *, to, from_, now, class_number=False):
    """UPDATE the students of the runs' moves from their `from_` placement to their `to` placement (and
    their 班内学号 back, when asked); the rows moved. A student no longer where the snapshot says (status,
    class) is not moved."""
    student_table = Student._meta.db_table
    move_table = PromotionMove._meta.db_table
    runs_sql, runs_params = _runs_condition('m."run_id"', runs)
    number = ', "class_number" = m."class_number"' if class_number else ""
    cursor.execute(
        f'UPDATE "{student_table}" SET "grade_id" = m."{to}_grade_id", '
        f'"school_class_id" = m."{to}_class_id", "updated_at" = %s{number} FROM "{move_table}" m '
        f'WHERE m."student_id" = "{student_table}"."id" AND {runs_sql} '
        f'AND "{student_table}"."status" = %s AND "{student_table}"."school_class_id" = m."{from_}_class_id"',
        [bulk.datetime_value(now), *runs_params, Status.ENROLLED.value],
    )
    return cursor.rowcount


def _write_history_and_events(runs, event, to_status, *, reason, action, on, now, by):
    """One history row and one status event for each student of the runs, by INSERT … SELECT."""
    user_id = by.pk if by is not None and by.is_authenticated else None
    runs_sql, runs_params = _runs_condition('"run_id"', runs)
    of_runs = f'"id" IN (SELECT "student_id" FROM "{PromotionMove._meta.db_table}" WHERE {runs_sql})'
    history = bulk.history_values(
        Student, when=bulk.datetime_value(now), reason=reason, kind="~", user_id=user_id
    )
    event_columns = dict(bulk.columns_of(StatusEvent, exclude=("id",)))
    event_values = {
        "student_id": bulk.Column("id"),
        "event": event.value,
        "from_status": Status.ENROLLED.value,
        "to_status": to_status,
        "occurred_on": bulk.date_value(on),
        "school_id": bulk.Column("school_id"),
        "grade_id": bulk.Column("grade_id"),
        "school_class_id": bulk.Column("school_class_id"),
        "reason": reason,
        "action": action,
        "approved_by_id": user_id,
        "created_at": bulk.datetime_value(now),
    }
    event_values = {event_columns[attname]: value for attname, value in event_values.items()}
    bulk.execute_all(
        [bulk.insert_select_where(Student.history.model, history, Student, of_runs, runs_params)]
    )
    bulk.execute_all([bulk.insert_select_where(StatusEvent, event_values, Student, of_runs, runs_params)])


# --- undoing --------------------------------------------------------------------------------------------


def undo_deadline(run):
    """The day from which the run can no longer be undone: the province's next start of term."""
    finished = timezone.localtime(run.finished_at or run.created_at).date()
    return calendar_for(run.school).term_start_after(finished + timedelta(days=1))


def ensure_may_undo(run, *, by, on=None):
    on = on or today()
    if run.state != PromotionRun.State.DONE:
        raise SchoolYearError(_("Only a finished promotion can be undone."))
    authority = ensure_authority(by, run.school)
    if authority.pk != run.authority_id:
        raise SchoolYearError(
            _("Only the authority that ran this promotion (%(authority)s) may undo it.")
            % {"authority": run.authority.name}
        )
    deadline = undo_deadline(run)
    if on >= deadline:
        raise SchoolYearError(
            _("A promotion can be undone only before the term starts (%(date)s).")
            % {"date": deadline.isoformat()}
        )


def undo_promotion(run, *, by, on=None):
    """Put every student of the run back exactly where they were (grade, class, 班内学号), all or nothing."""
    return undo_promotions([run], by=by, on=on)[0]


def undo_promotions(runs, *, by, on=None):
    """Undo the runs together, all or nothing: refused when a student changed since (another status
    event, another class), or when a class would go beyond its 班额 on their return (new students placed
    meanwhile)."""
    on = on or today()
    undone = str(lifecycle.check(Status.ENROLLED, Event.PROMOTION_UNDONE))
    with transaction.atomic():
        list(Organisation.objects.select_for_update().filter(pk__in=[run.school_id for run in runs]))
        runs = list(
            PromotionRun.objects.select_for_update(of=("self",))
            .select_related("school", "authority")
            .filter(pk__in=[run.pk for run in runs])
            .order_by("pk")
        )
        for run in runs:
            ensure_may_undo(run, by=by, on=on)
            changed = _changed_since(run)
            if changed:
                raise SchoolYearError(
                    _(
                        "The promotion cannot be undone: these students changed since it ran: %(names)s. "
                        "Change them back through their own requests first."
                    )
                    % {"names": names(changed)}
                )
            _check_room_on_return(run)
        now = timezone.now()
        with connection.cursor() as cursor:
            moved = _apply_moves(cursor, runs, to="from", from_="to", now=now, class_number=True)
        if moved != sum(run.promoted_count for run in runs):
            raise SchoolYearError(_("Students changed while the promotion was undone; nothing was changed."))
        _write_history_and_events(
            runs,
            Event.PROMOTION_UNDONE,
            undone,
            reason=_("Promotion undone"),
            action=UNDONE_ACTION,
            on=on,
            now=now,
            by=by,
        )
        PromotionRun.objects.filter(pk__in=[run.pk for run in runs]).update(
            state=PromotionRun.State.UNDONE, undone_at=now, undone_by=by
        )
        for run in runs:
            run.state, run.undone_at, run.undone_by = PromotionRun.State.UNDONE, now, by
            record_event(UNDONE_ACTION, actor=by, obj=run, node=run.school, restored=run.promoted_count)
    return runs


def _changed_since(run):
    """Names of the run's students who are not where it put them, or have a status event after it."""
    moves = PromotionMove.objects.filter(run=run)
    elsewhere = Student.objects.filter(pk__in=moves.values("student_id")).exclude(status=Status.ENROLLED)
    names_found = list(elsewhere.values_list("name", flat=True))
    placed = {
        student_id: (grade_id, class_id)
        for student_id, grade_id, class_id in moves.values_list("student_id", "to_grade_id", "to_class_id")
    }
    for student_id, name, grade_id, class_id in Student.objects.filter(
        pk__in=moves.values("student_id"), status=Status.ENROLLED
    ).values_list("pk", "name", "grade_id", "school_class_id"):
        if placed.get(student_id) != (grade_id, class_id):
            names_found.append(name)
    later = (
        StatusEvent.objects.filter(
            student_id__in=moves.values("student_id"), id__gt=run.summary.get("events_after", 0)
        )
        .exclude(event=Event.PROMOTED)
        .values_list("student__name", flat=True)
    )
    names_found += list(later)
    return sorted(set(names_found))


def _check_room_on_return(run):
    moves = PromotionMove.objects.filter(run=run)
    returning = Counter(dict(moves.values_list("from_class_id").annotate(count=Count("pk"))))
    leaving = Counter(dict(moves.values_list("to_class_id").annotate(count=Count("pk"))))
    live = Counter(
        dict(
            Student.objects.filter(school_class_id__in=list(returning), status__in=LIVE_STATUSES)
            .values_list("school_class_id")
            .annotate(count=Count("pk"))
        )
    )
    classes = (
        SchoolClass.objects.select_for_update().select_related("grade__school").filter(pk__in=list(returning))
    )
    for school_class in classes:
        after = live[school_class.pk] - leaving[school_class.pk] + returning[school_class.pk]
        if after > school_class.capacity:
            raise SchoolYearError(
                _(
                    "The promotion cannot be undone: %(class)s would hold %(after)d students, more than its "
                    "capacity of %(capacity)d."
                )
                % {"class": school_class, "after": after, "capacity": school_class.capacity}
            )


__all__ = [
    "DONE_ACTION",
    "PROMOTION_STEPS",
    "UNDONE_ACTION",
    "Plan",
    "PromotionRefused",
    "build_plan",
    "build_plans",
    "ensure_may_undo",
    "execute_run",
    "execute_runs",
    "finish_run",
    "promote_schools",
    "start_promotion",
    "start_promotions",
    "undo_deadline",
    "undo_promotion",
    "undo_promotions",
    "unexpected_failure",
]
