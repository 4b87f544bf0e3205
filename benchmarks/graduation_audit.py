"""Benchmark: the graduation audit of a county's 100,000 graduating students.

Builds, in a database of its own, a county (江岸区) of 100 senior schools, each with a senior year 3
of ten classes, and 100,000 students in them (bulk inserts: this measures reading and judging), with
results of every kind (eligible, short of credits, moral or fitness failed, nothing loaded, a few
open requests and problem records), then times `graduation.audit.audit(county)` — what the county's
audit page, its Excel download and `manage.py graduation_audit --school 420102` all run — and counts
its queries, at two sizes to show that the count does not grow.

    .venv/bin/python benchmarks/graduation_audit.py                      # SQLite, a temporary file
    .venv/bin/python benchmarks/graduation_audit.py --database-url postgres://postgres@127.0.0.1:5432/bench_graduation

Target: 100,000 students audited in 10 s or less, with a constant number of queries (exit 1 if not).
"""

import random
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import finish, open_database, parser, result, scaled, setup_django

TARGET_SECONDS = 10.0


def parse_args():
    arguments = parser(__doc__, sqlite=True)
    arguments.add_argument("--students", type=int, default=100_000)
    arguments.add_argument("--schools", type=int, default=100)
    arguments.add_argument("--runs", type=int, default=3)
    args = arguments.parse_args()
    args.students = scaled(args, args.students)
    return args


def build(students_wanted, schools_wanted):
    from stdnum.iso7064 import mod_11_2

    from graduation.models import Result
    from registrar.models import ApprovalRequest, Grade, Organisation, SchoolClass, User
    from registrar.orgimport import import_organisations, parse_rows
    from students.models import ProblemRecord, Status, Student

    rows = [
        {"code": "420000", "name": "湖北省", "kind": "省", "parent": ""},
        {"code": "420100", "name": "武汉市", "kind": "市", "parent": "420000"},
        {"code": "420102", "name": "江岸区", "kind": "区", "parent": "420100"},
    ]
    rows += [
        {
            "code": f"1420102{n:03d}",
            "name": f"江岸区第{n + 1}高级中学",
            "kind": "学校",
            "parent": "420102",
            "stages": "高中",
            "school_system": "6-3-3",
        }
        for n in range(schools_wanted)
    ]
    for number, row in enumerate(rows, start=2):
        row.setdefault("stages", "")
        row.setdefault("school_system", "")
        row["number"] = number
    started = time.perf_counter()
    import_organisations(parse_rows(rows))
    final = list(Grade.objects.filter(level=12).select_related("school"))
    SchoolClass.objects.bulk_create(
        [SchoolClass(grade=grade, name=f"{n}班", capacity=200) for grade in final for n in range(1, 11)]
    )
    classes = list(SchoolClass.objects.filter(grade__level=12).select_related("grade__school"))
    print(f"tree: {len(rows)} nodes, {len(classes)} classes in {time.perf_counter() - started:.1f} s")

    rng = random.Random(1)
    started = time.perf_counter()
    batch = []
    for index in range(students_wanted):
        school_class = classes[index % len(classes)]
        birth = date(2008, 1, 1) + timedelta(days=(index // 1000) % 3000)
        body = f"420102{birth:%Y%m%d}{index % 1000:03d}"
        id_number = body + mod_11_2.calc_check_digit(body)
        batch.append(
            Student(
                number=f"G{id_number}",
                name="王" + "子轩浩然宇航俊杰梓豪博文欣怡梓涵"[index % 14] + "明",
                gender="1" if index % 2 else "2",
                birth_date=birth,
                birth_place="湖北省",
                native_place="湖北省",
                ethnicity="01",
                nationality="156",
                id_type="1",
                id_number=id_number,
                overseas="00",
                health="10",
                hukou_place="湖北省武汉市",
                hukou_type="2",
                address="武汉市",
                phone="13800000000",
                school=school_class.grade.school,
                grade=school_class.grade,
                school_class=school_class,
                enrolled_on=date(2023, 9, 1),
                admission="21",
                attendance="1",
                photo="photos/2026/x.jpg" if index % 40 else "",
                status=Status.ENROLLED if index % 100 else Status.SUSPENDED,
            )
        )
        if len(batch) == 20_000:
            Student.objects.bulk_create(batch)
            batch = []
    Student.objects.bulk_create(batch)
    ids = list(Student.objects.order_by("pk").values_list("pk", flat=True))
    results = []
    for position, student_id in enumerate(ids):
        # Every kind of result: most eligible, some short of credits, some failed, some not loaded.
        kind = rng.random()
        if kind < 0.05:
            continue
        results.append(
            Result(
                student_id=student_id,
                credits=Decimal(150 if kind > 0.15 else 130),
                moral="pass" if kind < 0.9 or kind > 0.92 else "fail",
                fitness="good" if kind < 0.95 or kind > 0.97 else "fail",
            )
        )
        if len(results) == 20_000 or position == len(ids) - 1:
            Result.objects.bulk_create(results)
            results = []
    someone = User.objects.create(
        username="bench_registrar", node=classes[0].grade.school, roles=["school_registrar"]
    )
    ApprovalRequest.objects.bulk_create(
        [
            ApprovalRequest(
                kind="transfers.suspension",
                subject_label="bench",
                subject_key=f"student:{student_id}",
                school=classes[0].grade.school,
                applicant=someone,
                applicant_node=classes[0].grade.school,
            )
            for student_id in ids[::500]
        ]
    )
    ProblemRecord.objects.bulk_create(
        [ProblemRecord(student_id=student_id, kind="invalid_id") for student_id in ids[250::1000]]
    )
    print(f"students: {len(ids)} with results in {time.perf_counter() - started:.1f} s")
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return Organisation.objects.get(code="420102")


def measure(county, runs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from graduation.audit import audit

    timings = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            audited = audit(county)
            timings.append(time.perf_counter() - started)
    counts = {label: count for _verdict, label, count in audited.counts()}
    school = county.children.order_by("code").first()
    with CaptureQueriesContext(connection) as school_queries:
        audit(school)
    print(f"audited {len(audited.rows)} students: {counts}")
    print(f"time: median {statistics.median(timings):.2f} s, max {max(timings):.2f} s over {runs} runs")
    print(f"queries: county {len(queries)}, one school {len(school_queries)}")
    met = statistics.median(timings) <= TARGET_SECONDS and len(queries) == len(school_queries)
    print(f"target {TARGET_SECONDS:.0f} s and a constant number of queries: {'met' if met else 'NOT met'}")
    return result(
        f"graduation audit of a county ({connection.vendor})",
        len(audited.rows),
        timings,
        queries=len(queries),
        target=f"≤ {TARGET_SECONDS:g} s (100,000), queries as for one school",
        met=met,
    )


def main():
    args = parse_args()
    url, drop = open_database(args.database_url)
    setup_django(url)
    try:
        county = build(args.students, args.schools)
        row = measure(county, args.runs)
    finally:
        if not args.keep:
            drop()
    finish(args, [row])


if __name__ == "__main__":
    main()
