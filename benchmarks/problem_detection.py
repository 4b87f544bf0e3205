"""Benchmark: the problem-record detection (问题学籍) over a province of 1,000,000 students.

Builds, in a PostgreSQL database of its own (created here, dropped at the end), a province of
1,000,000 students in 500 九年一贯制 schools of 10 counties, with a field-history row per student (as
every real record has one), and plants problems of every kind at known rates:
- the same person live twice (first 17 digits alike, the second with another check digit: it is
  an invalid ID as well), 1 in 5,000;
- a live record with the ID number of a graduated one, 1 in 2,000;
- the same 姓名 + 性别 + 出生日期 without an ID number, one live and one who left, 1 in 10,000;
- an invalid check digit, 1 in 3,000;
- a former ID number (in the history) that another record holds now, 1 in 4,000.
Then it times `problems.services.detect_problems(province)`: the first run (writes every
record), then steady-state runs (finds the same, writes nothing). It checks that the findings are
exactly the planted ones.

    .venv/bin/python benchmarks/problem_detection.py
    .venv/bin/python benchmarks/problem_detection.py --quick            # 100,000 students
    .venv/bin/python benchmarks/problem_detection.py --database-url postgres://postgres@127.0.0.1:5432/bench_x
    .venv/bin/python benchmarks/problem_detection.py --json results.json
    .venv/bin/python benchmarks/problem_detection.py --keep     # then, to measure it again:
    .venv/bin/python benchmarks/problem_detection.py --reuse    # (migrated first; size as built)

Target: a province of 1,000,000 students scanned in ≤ 10 s (each steady-state run).
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import TYPICAL_STUDENT, built_once, create_migrated, insert_students  # noqa: E402
from benchmarks.roster_page import build_tree  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_problems_detection"
TARGET_S = 10.0
RUNS = 3


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help="PostgreSQL URL; the database is created and dropped"
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of the size")
    parser.add_argument("--json", help="write the result rows to this file")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the database of a previous --keep run again (migrated first; implies --keep)",
    )
    return parser.parse_args()


def admin(url, statement):
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(statement)


def check_digit(body):
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(char) * weight for char, weight in zip(body, weights, strict=True)) % 11]


def wrong(number):
    return number[:17] + ("0" if number[17] != "0" else "1")


def build(total):
    """The province, its students with the planted problems; returns the expected counts."""
    from django.db import connection

    from registrar.models import SchoolClass
    from students.identity import school_year_start
    from students.models import Status, Student

    # The tree of roster_page.py (500 schools), with classes of 80.
    built_once("problem_detection", build_tree, 500, 80)
    classes = list(SchoolClass.objects.select_related("grade__school__parent"))
    start_year = school_year_start(date.today()).year
    sequences = {}
    expected = {"duplicate_id": 0, "duplicate_person": 0, "invalid_id": 0, "changed_id": 0}
    batch, previous_live_id, previous_without = [], None, None
    former = []  # (index of the changer, number it held before)
    started = time.perf_counter()

    def student(index, school_class, **fields):
        """A student's field values (for common.insert_students)."""
        grade = school_class.grade
        return {
            "name": fields.pop("name", f"学生{index}"),
            **TYPICAL_STUDENT,
            "id_type": fields.pop("id_type", "1"),
            "school_id": grade.school_id,
            "grade_id": grade.pk,
            "school_class_id": school_class.pk,
            "enrolled_on": date(start_year - grade.level + 1, 9, 1),
            "status": fields.pop("status", Status.ENROLLED).value,
            **fields,
        }

    for index in range(total):
        school_class = classes[index % len(classes)]
        level = school_class.grade.level
        birth = date(start_year - 5 - level, 1, 1) + timedelta(days=(index * 7) % 240)
        region = school_class.grade.school.parent.code
        key = (region, birth)
        sequence = sequences.get(key, 0) + 1
        sequences[key] = sequence
        gender = "1" if sequence % 2 else "2"
        body = f"{region}{birth:%Y%m%d}{sequence:03d}"
        number = body + check_digit(body)
        if index % 50 == 0:
            # Without an ID number (1 in 50); every 10,000th is the same person as one who left.
            if index % 10_000 == 0 and previous_without is not None:
                name, g, b = previous_without
                batch.append(
                    student(index, school_class, name=name, gender=g, birth_date=b, id_type="Z", id_number="")
                )
                expected["duplicate_person"] += 1
                continue
            name = f"无证{index}"
            previous_without = (name, gender, birth)
            batch.append(
                student(
                    index,
                    school_class,
                    name=name,
                    gender=gender,
                    birth_date=birth,
                    id_type="Z",
                    id_number="",
                    status=Status.LEFT if index % 10_000 == 9_950 else Status.ENROLLED,
                )
            )
            continue
        if index % 5_000 == 1 and previous_live_id is not None:
            # The same person live twice: the previous student's first 17 digits, another check digit.
            other_number, other_gender, other_birth = previous_live_id
            batch.append(
                student(
                    index,
                    school_class,
                    gender=other_gender,
                    birth_date=other_birth,
                    id_number=wrong(other_number),
                )
            )
            expected["duplicate_id"] += 1
            expected["invalid_id"] += 1
            continue
        if index % 2_000 == 3:
            # A graduate's number registered again.
            batch.append(
                student(
                    index,
                    school_class,
                    gender=gender,
                    birth_date=birth,
                    id_number=number,
                    status=Status.GRADUATED,
                )
            )
            batch.append(student(index, school_class, gender=gender, birth_date=birth, id_number=number))
            expected["duplicate_id"] += 1
            continue
        if index % 3_000 == 7:
            number = wrong(number)
            expected["invalid_id"] += 1
        elif index % 4_000 == 11 and previous_live_id is not None:
            # This record held the previous student's number before a change.
            former.append((len(batch), previous_live_id[0]))
            expected["changed_id"] += 1
        previous_live_id = (number, gender, birth) if index % 3_000 != 7 else previous_live_id
        batch.append(student(index, school_class, gender=gender, birth_date=birth, id_number=number))
    # Planted rows that no rule of the forms would let in: written straight, as old imports did.
    ids = insert_students(batch)
    created = Student.objects.in_bulk([ids[position] for position, _old in former])
    history = Student.history.model
    fields = [
        field.column
        for field in history._meta.local_fields
        if field.column
        not in ("history_id", "history_date", "history_change_reason", "history_type", "history_user_id")
    ]
    columns = ", ".join(f'"{column}"' for column in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{history._meta.db_table}" ({columns}, history_date, history_type) '
            f"SELECT {columns}, now(), '+' FROM \"{Student._meta.db_table}\""
        )
    student_fields = {f.attname for f in Student._meta.local_fields} - {"id", "id_number"}
    history.objects.bulk_create(
        [
            history(
                **{
                    f.attname: getattr(created[ids[position]], f.attname)
                    for f in history._meta.local_fields
                    if f.attname in student_fields
                },
                id=ids[position],
                id_number=old,
                history_date=created[ids[position]].created_at - timedelta(days=30),
                history_type="~",
            )
            for position, old in former
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        # What was planted, for a later --reuse of this database.
        cursor.execute(
            f"COMMENT ON DATABASE {connection.ops.quote_name(connection.settings_dict['NAME'])} IS %s",
            [json.dumps({"size": total, "expected": expected})],
        )
    print(
        f"built {Student.objects.count()} students in {time.perf_counter() - started:.0f} s; "
        f"planted {expected}"
    )
    return expected


def planted():
    """The size and counts a previous --keep run planted in this database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()"
        )
        (comment,) = cursor.fetchone()
    if not comment:
        raise SystemExit("--reuse: this database was not built by problem_detection.py --keep")
    stored = json.loads(comment)
    return stored["size"], stored["expected"]


def measure(expected, size, reused=False):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from problems.services import detect_problems
    from registrar.models import Organisation

    province = Organisation.objects.get(code="420000")
    timings, first, queries, exact = [], None, None, True
    # A reused database has its records already: every run is a steady-state one (three of them).
    for run in range(RUNS + 1 if not reused else RUNS):
        # The build filled the query log (at most 9,000 kept): empty it, or nothing is counted.
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            summary = detect_problems(province)
            elapsed = time.perf_counter() - started
        print(
            f"run {run + 1}: {elapsed:.2f} s, {len(captured)} queries, {summary['by_kind']}, "
            f"created {summary['created']}, cleared {summary['cleared']}"
        )
        if summary["by_kind"] != {kind: count for kind, count in expected.items() if count}:
            print(f"  findings differ from the planted problems: {expected}")
            exact = False
        if run == 0 and not reused:
            first = elapsed
        else:
            timings.append(elapsed)
            queries = len(captured)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    median = statistics.median(timings)
    target = f"≤ {TARGET_S:.0f} s" if size >= 1_000_000 else f"≤ {TARGET_S / 10:.0f} s (a tenth)"
    limit = TARGET_S if size >= 1_000_000 else TARGET_S / 10
    rows = [
        {
            "what": "problem detection, steady state (finds, writes nothing)",
            "size": size,
            "median_s": round(median, 2),
            "p95_s": round(max(timings), 2),
            "queries": queries,
            "peak_mb": round(peak_mb),
            "target": target,
            "met": exact and median <= limit,
        },
    ]
    if reused:
        return rows
    return [
        *rows,
        {
            "what": "problem detection, first run (writes every record)",
            "size": size,
            "median_s": round(first, 2),
            "p95_s": round(first, 2),
            "queries": None,
            "peak_mb": round(peak_mb),
            "target": target,
            "met": exact and first <= limit,
        },
    ]


def main():
    args = parse_args()
    size = 100_000 if args.quick else 1_000_000
    url = args.database_url
    name = url.rsplit("/", 1)[1]
    if args.reuse:
        args.keep = True
    else:
        create_migrated(url)
    rows = []
    try:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registrar.settings")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if args.reuse:
            size, expected = planted()
            print(f"reusing {name}: {size} students, planted {expected}")
        else:
            expected = build(size)
        rows = measure(expected, size, reused=args.reuse)
        for row in rows:
            print(
                f"{row['what']}: {row['median_s']} s (target {row['target']}): "
                f"{'met' if row['met'] else 'NOT met'}"
            )
        if args.json:
            Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=2))
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0 if rows and all(row["met"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
