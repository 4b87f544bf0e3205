"""Benchmark: the year-end promotion (升级) of a province of 1,000,000 students on PostgreSQL.

Builds, in a database of its own (created and dropped here), a province of 500 primary schools of
2,000 enrolled students each (grades 1–5, eight classes of 50 a grade; 六年级 has graduated), loaded
with COPY. Then promotes the whole province as `manage.py promote --scope` does,
school after school, each all or nothing (the preview made again under lock, the snapshot, the move,
history rows and status events by INSERT … SELECT, one audit entry), undoes every school, and promotes
again. Reports each pass with its query count.

    .venv/bin/python benchmarks/promotion.py                                   # 1,000,000 students
    .venv/bin/python benchmarks/promotion.py --quick                           # 100,000
    .venv/bin/python benchmarks/promotion.py --database-url postgres://postgres@127.0.0.1:5432/bench_x \
        --json promotion.json

Target: the promotion of 1,000,000 students in ≤ 60 s.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import threading
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import TYPICAL_STUDENT, create_migrated  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_promotion"
TARGET_SECONDS = 60
CLASS_SIZE = 50
CLASSES_PER_GRADE = 8
# A primary school after graduation: grades 1–5 move up, 六年级 has graduated.
PROMOTED_GRADES = 5
# The day the province promotes (August, after graduation).
PROMOTION_DAY = date(2026, 8, 10)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL URL (created and dropped)")
    parser.add_argument("--quick", action="store_true", help="a tenth of the size")
    parser.add_argument("--json", help="write the result rows to this file")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the database afterwards, and a copy of it as built (NAME_built)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="start from the copy a --keep run kept (no build; implies --keep)",
    )
    parser.add_argument(
        "--build-only", action="store_true", help="build and keep the database; measure nothing"
    )
    parser.add_argument("--once", action="store_true", help="one promotion pass only (no undo, no second)")
    parser.add_argument("--profile", action="store_true", help="print the slowest statements of each pass")
    return parser.parse_args()


def admin_connection(url):
    import psycopg

    return psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True)


def recreate_database(url):
    create_migrated(url)


def built_name(url):
    return url.rsplit("/", 1)[1] + "_built"


def save_built(url):
    """Keep the database as built (before any pass) for --reuse: a file copy, seconds not minutes."""
    from django.db import connections

    connections.close_all()
    name = url.rsplit("/", 1)[1]
    with admin_connection(url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{built_name(url)}"')
        connection.execute(f'CREATE DATABASE "{built_name(url)}" TEMPLATE "{name}"')


def copy_built(url):
    """The database again as a --keep run built it."""
    name = url.rsplit("/", 1)[1]
    with admin_connection(url) as connection:
        if not connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [built_name(url)]
        ).fetchone():
            raise SystemExit(f"--reuse: no {built_name(url)}; run once with --keep first")
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{built_name(url)}"')


def drop_database(url):
    from django.db import connections

    connections.close_all()
    name = url.rsplit("/", 1)[1]
    with admin_connection(url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build(schools_wanted):
    from django.db import connection
    from stdnum.iso7064 import mod_11_2

    from registrar.models import Grade, Organisation, SchoolClass
    from registrar.orgimport import import_organisations, parse_rows
    from students.models import Status, Student
    from students.roster import bulk

    counties = [f"4201{n:02d}" for n in (2, 3, 4, 5, 6, 7, 11, 12, 13, 14)]
    rows = [
        {"code": "420000", "name": "湖北省", "kind": "省", "parent": ""},
        {"code": "420100", "name": "武汉市", "kind": "市", "parent": "420000"},
    ]
    rows += [{"code": code, "name": f"县{code}", "kind": "区", "parent": "420100"} for code in counties]
    for index in range(schools_wanted):
        county = counties[index % len(counties)]
        rows.append(
            {
                "code": f"1{county}{index:03d}",
                "name": f"{county}第{index + 1}学校",
                "kind": "学校",
                "parent": county,
                "stages": "小学",
                "school_system": "6-3-3",
            }
        )
    for number, row in enumerate(rows, start=2):
        row.setdefault("stages", "")
        row.setdefault("school_system", "")
        row["number"] = number
    started = time.perf_counter()
    import_organisations(parse_rows(rows))
    grades = list(Grade.objects.select_related("school"))
    SchoolClass.objects.bulk_create(
        [
            SchoolClass(grade=grade, name=f"{n}班", capacity=CLASS_SIZE + 5)
            for grade in grades
            for n in range(1, CLASSES_PER_GRADE + 1)
        ],
        batch_size=5000,
    )
    classes = [
        school_class
        for school_class in SchoolClass.objects.select_related("grade__school__parent").order_by("pk")
        if school_class.grade.level <= PROMOTED_GRADES
    ]
    print(
        f"tree: {len(rows)} nodes, {len(classes)} classes with students "
        f"in {time.perf_counter() - started:.1f} s"
    )

    started = time.perf_counter()
    columns = bulk.columns_of(Student)
    names = [attname for attname, _column in columns]
    now = datetime(2026, 7, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    base = {
        **TYPICAL_STUDENT,
        "auxiliary_number": "",
        "class_number": "",
        "name_pinyin": "",
        "former_name": "",
        "political_status": "",
        "mailing_address": "",
        "home_address": "",
        "postcode": "",
        "only_child": False,
        "left_behind": False,
        "migrant_child": False,
        "orphan": False,
        "martyr_child": False,
        "disability": "",
        "photo": "",
        "registration_id": None,
        "status": Status.ENROLLED.value,
        "created_at": now,
        "updated_at": now,
    }
    ids = iter(bulk.allocate_ids(Student, len(classes) * CLASS_SIZE))
    index = 0
    chunk = []
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    for school_class in classes:
        grade = school_class.grade
        region = grade.school.parent.code
        for seat in range(CLASS_SIZE):
            birth = date(2010, 1, 1) + timedelta(days=(index // 1000) % 5000)
            sequence = index % 1000
            body = f"{region}{birth:%Y%m%d}{sequence:03d}"
            id_number = body + mod_11_2.calc_check_digit(body)
            values = {
                **base,
                "id": next(ids),
                "number": f"G{id_number}",
                "name": f"学生{index}",
                "gender": "1" if sequence % 2 else "2",
                "birth_date": birth,
                "id_number": id_number,
                "school_id": grade.school_id,
                "grade_id": grade.pk,
                "school_class_id": school_class.pk,
                "class_number": str(seat + 1),
                "enrolled_on": date(2026 - grade.level, 9, 1),
            }
            chunk.append(tuple(values[name] for name in names))
            index += 1
        if len(chunk) >= 50_000:
            bulk.insert_rows(Student, [column for _attname, column in columns], chunk)
            chunk = []
            print(f"  {index} students …", end="\r", flush=True)
    bulk.insert_rows(Student, [column for _attname, column in columns], chunk)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"students: {index} in {time.perf_counter() - started:.1f} s")
    return Organisation.objects.get(code="420000"), index


def promote_all(province, on):
    """What `promote --scope` does: each school previewed and started, then the ready ones run together,
    each school all or nothing."""
    from registrar.models import Organisation
    from schoolyear.models import PromotionRun
    from schoolyear.promotion import execute_runs, start_promotions

    schools = Organisation.objects.filter(path__startswith=province.path, kind="school").order_by("path")
    runs, refused_plans = start_promotions(schools, by=None, source=PromotionRun.Source.COMMAND, on=on)
    assert not refused_plans, refused_plans[0].problems
    states = execute_runs([run.pk for run in runs], on=on)
    refused = sum(1 for state in states.values() if state != PromotionRun.State.DONE)
    promoted = sum(PromotionRun.objects.filter(pk__in=list(states)).values_list("promoted_count", flat=True))
    return promoted, refused


def undo_all(admin, on):
    """Every school's promotion undone, together (all or nothing)."""
    from schoolyear.models import PromotionRun
    from schoolyear.promotion import undo_promotions

    runs = list(PromotionRun.objects.filter(state=PromotionRun.State.DONE))
    return sum(run.promoted_count for run in undo_promotions(runs, by=admin, on=on))


def backend_cpu(database):
    """{pid: CPU seconds} of the PostgreSQL backends connected to `database` (a local server)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            if not command.startswith(b"postgres: ") or f" {database} ".encode() not in command:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


class CpuWatch:
    """The CPU time the database's backends spend during a pass (every connection, the promotion's
    workers' too), sampled twice a second: load inflates it less than the wall time."""

    def __init__(self, database):
        self.database = database
        self.before = backend_cpu(database)
        self.last = dict(self.before)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def watch(self):
        while not self.stop.wait(0.5):
            self.last.update(backend_cpu(self.database))

    def seconds(self):
        self.stop.set()
        self.thread.join()
        self.last.update(backend_cpu(self.database))
        return sum(cpu - self.before.get(pid, 0) for pid, cpu in self.last.items())


def timed(label, job, profile=False):
    from django.db import connection
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.signals import connection_created

    # Every statement of every connection (the promotion's workers open their own), timed; and the
    # commits, where the deferred foreign-key checks run. Django's own query log keeps only 9,000.
    statements = []
    lock = threading.Lock()

    def clock(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            with lock:
                statements.append((time.perf_counter() - started, sql))

    def wrap(sender, connection, **kwargs):
        connection.execute_wrappers.append(clock)

    original_commit = BaseDatabaseWrapper._commit

    def timed_commit(self):
        started = time.perf_counter()
        try:
            return original_commit(self)
        finally:
            with lock:
                statements.append((time.perf_counter() - started, "COMMIT"))

    cpu = CpuWatch(connection.settings_dict["NAME"])
    connection_created.connect(wrap)
    BaseDatabaseWrapper._commit = timed_commit
    try:
        with connection.execute_wrapper(clock):
            started, started_cpu = time.perf_counter(), time.process_time()
            result = job()
            seconds, client_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    finally:
        connection_created.disconnect(wrap)
        BaseDatabaseWrapper._commit = original_commit
    database_cpu = cpu.seconds()
    if profile:
        # By kind of statement (its first words), summed over schools and connections.
        kinds = defaultdict(lambda: [0.0, 0])
        for spent, sql in statements:
            kind = kinds[" ".join(sql.split())[:90]]
            kind[0] += spent
            kind[1] += 1
        for sql, (spent, count) in sorted(kinds.items(), key=lambda item: -item[1][0])[:12]:
            print(f"  {spent:7.2f} s  {count:6d}×  {sql}")
    # The process's peak resident memory (tracemalloc's count of Python objects slowed the ORM's many
    # small allocations down by half at this size).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{label}: {seconds:.1f} s, {len(statements)} queries, database CPU {database_cpu:.1f} s, "
        f"client CPU {client_cpu:.1f} s, peak {peak:.0f} MB"
    )
    return seconds, len(statements), peak, result


def main():
    args = parse_args()
    schools = 50 if args.quick else 500
    args.keep = args.keep or args.reuse or args.build_only
    if args.reuse:
        copy_built(args.database_url)
    else:
        recreate_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registrar.settings")
    import django

    django.setup()
    from django.core.management import call_command

    try:
        call_command("migrate", verbosity=0)
        from registrar.models import Organisation, User
        from students.models import Student

        if args.reuse:
            province, students = Organisation.objects.get(code="420000"), Student.objects.count()
            assert Organisation.objects.filter(kind="school").count() == schools, "--reuse: another size"
        else:
            province, students = build(schools)
            if args.keep:
                save_built(args.database_url)
            if args.build_only:
                return
        admin = User.objects.create(username="bench_province", node=province, roles=["province_admin"])
        rows = []
        runs = []
        undo_seconds = undo_queries = undo_peak = None
        for attempt in (1,) if args.once else (1, 2):
            seconds, queries, peak, (promoted, refused) = timed(
                f"promotion {attempt}", lambda: promote_all(province, PROMOTION_DAY), args.profile
            )
            assert refused == 0 and promoted == students, (promoted, refused, students)
            runs.append((seconds, queries, peak))
            if attempt == 1 and not args.once:
                undo_seconds, undo_queries, undo_peak, restored = timed(
                    "undo", lambda: undo_all(admin, PROMOTION_DAY + timedelta(days=1)), args.profile
                )
                assert restored == students, (restored, students)
        times = sorted(seconds for seconds, _queries, _peak in runs)
        rows.append(
            {
                "what": f"promote a province ({schools} schools), PostgreSQL",
                "size": students,
                "median_s": round(statistics.median(times), 2),
                "p95_s": round(times[-1], 2),
                "queries": runs[0][1],
                "peak_mb": round(max(peak for _s, _q, peak in runs), 1),
                "target": f"≤ {TARGET_SECONDS} s" if not args.quick else f"≤ {TARGET_SECONDS / 10:g} s",
                "met": statistics.median(times)
                <= (TARGET_SECONDS if not args.quick else TARGET_SECONDS / 10),
            }
        )
        if undo_seconds is not None:
            rows.append(
                {
                    "what": f"undo the promotion of every school ({schools} schools), PostgreSQL",
                    "size": students,
                    "median_s": round(undo_seconds, 2),
                    "p95_s": round(undo_seconds, 2),
                    "queries": undo_queries,
                    "peak_mb": round(undo_peak, 1),
                    "target": "—",
                    "met": True,
                }
            )
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        if args.json:
            Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    finally:
        if not args.keep:
            drop_database(args.database_url)


if __name__ == "__main__":
    main()
