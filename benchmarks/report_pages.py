"""Benchmark: the report pages (/reports/) over a province of a million students, on PostgreSQL.

Builds, in a database of its own, a province of 4 cities, 12 counties (each with a township central
school over some of its schools) and about 500 nine-year schools, 1,000,000 students with a realistic
mix of statuses and categories, a registration event for each, about 62,000 status changes over the
last year with their approval requests (two steps each: the principal, the county), about a
thousand still waiting (a part past the deadline), key-data corrections and problem records. Everything is
written by SQL inside the database (INSERT … SELECT over generate_series): this measures reading.

Then it opens every report page as the users do (province administrator, city and county reviewers,
a school registrar), five times each, and prints the median and slowest time and the number of
queries of each page, and the same for the Excel downloads.

    .venv/bin/python benchmarks/report_pages.py                     # build, measure, drop
    .venv/bin/python benchmarks/report_pages.py --quick             # 100,000 students
    .venv/bin/python benchmarks/report_pages.py --keep              # keep the database for --reuse
    .venv/bin/python benchmarks/report_pages.py --reuse             # measure the data of a previous run

Target: every page in 1 s or less; the number of queries does not depend on the number of students.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import built_once, finish, open_database, parser, result, scaled, setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_report_pages"
TARGET_MS = 1000
# The 异动花名册 download grows with its lines: a file, not a page (about 0.5 ms a line).
FILE_TARGET_MS = 10_000
CITIES = {"420100": "武汉市", "420500": "宜昌市", "420600": "襄阳市", "420700": "鄂州市"}
COUNTIES_PER_CITY = 3
SCHOOLS_PER_COUNTY = 42
# Of each county's schools, these many sit under its township central school.
TOWNSHIP_SCHOOLS = 6
CLASSES_PER_GRADE = 4


def parse_args():
    arguments = parser(__doc__, reuse=True)
    arguments.add_argument("--students", type=int, default=1_000_000)
    arguments.add_argument("--runs", type=int, default=5)
    args = arguments.parse_args()
    args.students = scaled(args, args.students)
    args.database_url = args.database_url or DEFAULT_URL
    return args


def tree_rows():
    rows = [{"code": "420000", "name": "湖北省", "kind": "省", "parent": ""}]
    for city_code, city_name in CITIES.items():
        rows.append({"code": city_code, "name": city_name, "kind": "市", "parent": "420000"})
        for c in range(COUNTIES_PER_CITY):
            county = f"{city_code[:4]}{c + 2:02d}"
            rows.append(
                {"code": county, "name": f"{city_name[:-1]}{c + 1}区", "kind": "区", "parent": city_code}
            )
            township = f"1{county}900"
            rows.append({"code": township, "name": f"{county}中心校", "kind": "乡镇中心校", "parent": county})
            for n in range(SCHOOLS_PER_COUNTY):
                parent = township if n < TOWNSHIP_SCHOOLS else county
                rows.append(
                    {
                        "code": f"1{county}{n:03d}",
                        "name": f"{city_name}{c + 1}区第{n + 1}学校",
                        "kind": "学校",
                        "parent": parent,
                        "stages": "九年一贯制",
                        "school_system": "6-3",
                    }
                )
    for number, row in enumerate(rows, start=2):
        row.setdefault("stages", "")
        row.setdefault("school_system", "")
        row["number"] = number
    return rows


def build_tree():
    """The province's tree, its classes and the users (also approval_queues.py's)."""
    from registrar.models import Grade, Organisation, SchoolClass, User
    from registrar.orgimport import import_organisations, parse_rows

    import_organisations(parse_rows(tree_rows()))
    grades = list(Grade.objects.all())
    SchoolClass.objects.bulk_create(
        [
            SchoolClass(grade=grade, name=f"{n}班", capacity=60)
            for grade in grades
            for n in range(1, CLASSES_PER_GRADE + 1)
        ],
        batch_size=5000,
    )
    users = {
        "province": (Organisation.objects.get(code="420000"), ["province_admin"]),
        "city": (Organisation.objects.get(code="420100"), ["city_reviewer"]),
        "county": (Organisation.objects.get(code="420102"), ["county_reviewer"]),
        "school": (Organisation.objects.get(code="1420102010"), ["school_registrar"]),
        "principal": (Organisation.objects.get(code="1420102010"), ["principal"]),
    }
    for username, (node, roles) in users.items():
        User.objects.update_or_create(
            username=f"bench_{username}", defaults={"node": node, "roles": roles, "full_name": username}
        )


def build_students(students_wanted):
    """The province's tree, classes, users and students (SQL inside the database)."""
    from django.db import connection

    from registrar.models import Organisation, SchoolClass

    started = time.perf_counter()
    built_once("report_pages", build_tree)
    # Each class with the county its school belongs to (the local household place of its students).
    places = {}
    for school in Organisation.objects.filter(kind="school").select_related("parent__parent"):
        county = school.parent if school.parent.kind == "county" else school.parent.parent
        places[school.pk] = f"湖北省{county.parent.name}{county.name}"
    classes = [
        (
            index,
            school_class.pk,
            school_class.grade_id,
            school_class.grade.level,
            school_class.grade.school_id,
        )
        for index, school_class in enumerate(SchoolClass.objects.select_related("grade").order_by("pk"))
    ]
    print(f"tree: {len(places)} schools, {len(classes)} classes in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_class "
            "(n int, class_id int, grade_id int, level int, school_id int, place text)"
        )
        with cursor.copy("COPY bench_class FROM STDIN") as copy:
            for index, class_id, grade_id, level, school_id in classes:
                copy.write_row((index, class_id, grade_id, level, school_id, places[school_id]))
        cursor.execute(STUDENTS_SQL, {"students": students_wanted, "classes": len(classes)})
        print(f"students: {students_wanted} in {time.perf_counter() - started:.1f} s")


def build(students_wanted):
    from django.db import connection

    from registrar.models import User

    build_students(students_wanted)
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(REGISTRATION_EVENTS_SQL)
        cursor.execute(CHANGES_SQL, {"applicant": User.objects.get(username="bench_school").pk})
        cursor.execute(PROBLEMS_SQL)
        print(f"events, requests, corrections, problem records in {time.perf_counter() - started:.1f} s")
        # What autovacuum does to loaded tables in production: statistics and the visibility map.
        started = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")


# 90 % 在校, then 休学, 转出, 毕业, the other departures and registrations in review; 8 % of another
# ethnic group than 汉族; 15 % with a household outside the county; a few of every family situation.
STUDENTS_SQL = """
INSERT INTO students_student (
    number, auxiliary_number, class_number, name, name_pinyin, former_name, gender, birth_date,
    birth_place, native_place, ethnicity, nationality, id_type, id_number, overseas, health,
    political_status, hukou_place, hukou_type, address, mailing_address, home_address, postcode, phone,
    school_id, grade_id, school_class_id, enrolled_on, admission, attendance, only_child, left_behind,
    migrant_child, orphan, martyr_child, disability, photo, registration_id, status, created_at, updated_at
)
SELECT
    'G' || lpad(i::text, 18, '0'), '', '',
    (ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周'])[1 + i %% 10]
        || (ARRAY['子轩','浩然','宇航','欣怡','梓涵','诗涵','雨桐','可馨','一诺','俊杰'])[1 + (i / 10) %% 10],
    '', '', CASE WHEN i %% 2 = 0 THEN '1' ELSE '2' END,
    DATE '2010-01-01' + (i %% 3650), '湖北省', '湖北省',
    CASE WHEN i %% 25 = 0 THEN '03' WHEN i %% 25 = 1 THEN '08' ELSE '01' END,
    '156', '1', lpad(i::text, 18, '0'),
    CASE WHEN i %% 300 = 7 THEN '01' ELSE '00' END, '10', '',
    CASE WHEN i %% 7 = 3 THEN '河南省郑州市金水区' ELSE c.place END,
    CASE WHEN i %% 2 = 1 THEN '1' ELSE '2' END,
    c.place, '', '', '', '13800000000',
    c.school_id, c.grade_id, c.class_id, make_date(2026 - c.level, 9, 1), '11', '1',
    i %% 3 = 0, i %% 11 = 0, i %% 13 = 0, i %% 500 = 0, i %% 700 = 0,
    CASE WHEN i %% 97 = 0 THEN '4' WHEN i %% 5 = 0 THEN '0' ELSE '' END,
    '', NULL,
    CASE
        WHEN i %% 100 < 90 THEN 'enrolled'
        WHEN i %% 100 < 92 THEN 'suspended'
        WHEN i %% 100 < 95 THEN 'transferred_out'
        WHEN i %% 100 < 98 THEN 'graduated'
        WHEN i %% 100 = 98 THEN (ARRAY['withdrawn','abroad','left','deceased'])[1 + (i / 100) %% 4]
        ELSE 'registering'
    END,
    now(), now()
FROM generate_series(0, %(students)s - 1) AS i
JOIN bench_class c ON c.n = i %% %(classes)s
"""

REGISTRATION_EVENTS_SQL = """
INSERT INTO students_statusevent (student_id, event, from_status, to_status, occurred_on, school_id,
    grade_id, school_class_id, reason, action, approved_by_id, created_at)
SELECT id, 'imported_enrolled', '', 'enrolled', enrolled_on, school_id, grade_id, school_class_id, '', '',
    NULL, now()
FROM students_student
"""

# One student in sixteen had a status change in the last year: its event, and its approval request
# with two steps. One in five of the last month's is still waiting for the county (those waiting
# more than a fortnight are past the deadline); one in twenty was rejected or withdrawn; one in
# eight was a key-data correction instead.
CHANGES_SQL = """
CREATE TEMPORARY TABLE bench_change AS
SELECT s.id AS student_id, s.school_id, s.grade_id, s.school_class_id, o.parent_id,
    CASE WHEN p.kind = 'township' THEN p.parent_id ELSE p.id END AS county_id,
    (ARRAY['transfer','suspension','extension','resumption','withdrawal','repeat','skip','abroad','death','other',
           'transfer'])[1 + (s.id / 16) %% 11] AS kind,
    row_number() OVER (ORDER BY s.id) AS n,
    now() - ((s.id / 16) %% 365) * interval '1 day' - interval '3 hours' AS made
FROM students_student s
JOIN registrar_organisation o ON o.id = s.school_id
JOIN registrar_organisation p ON p.id = o.parent_id
WHERE s.id %% 16 = 0;

ALTER TABLE bench_change ADD COLUMN approval_id int, ADD COLUMN state text;
UPDATE bench_change SET state = CASE
    WHEN (made > now() - interval '30 days' AND n %% 5 = 0) THEN 'in_review'
    WHEN n %% 40 = 1 THEN 'rejected'
    WHEN n %% 40 = 2 THEN 'withdrawn'
    ELSE 'approved' END;

INSERT INTO registrar_approvalrequest (kind, state, subject_label, subject_key, school_id, applicant_id,
    applicant_node_id, current_step_id, round, chain_key, nodes, facts, rules_digest, created_at,
    submitted_at, decided_at)
SELECT CASE WHEN n %% 8 = 0 THEN 'corrections.correction' ELSE 'transfers.' || kind END,
    state, 'bench', 'student:' || student_id, school_id, %(applicant)s, school_id, NULL, 1, '', '{}', '{}',
    '', made, made, CASE WHEN state = 'in_review' THEN NULL ELSE made + ((n %% 9) + 1) * interval '1 day' END
FROM bench_change ORDER BY n;

UPDATE bench_change b SET approval_id = a.id
FROM registrar_approvalrequest a
WHERE a.subject_key = 'student:' || b.student_id AND a.subject_label = 'bench';

INSERT INTO registrar_approvalstep (approval_id, round, position, role, node_id, state, started_at, due_date,
    decided_by_id, decided_at, comment)
SELECT approval_id, 1, 1, 'principal', school_id, 'approved', made, (made + interval '14 days')::date,
    %(applicant)s, made + interval '1 day', ''
FROM bench_change
UNION ALL
SELECT approval_id, 1, 2, 'county_reviewer', county_id,
    CASE state WHEN 'in_review' THEN 'current' WHEN 'approved' THEN 'approved' WHEN 'rejected' THEN 'rejected'
        ELSE 'skipped' END,
    made + interval '1 day', (made + interval '15 days')::date,
    CASE WHEN state IN ('approved', 'rejected') THEN %(applicant)s END,
    CASE WHEN state IN ('approved', 'rejected') THEN made + ((n %% 9) + 1) * interval '1 day' END, ''
FROM bench_change;

UPDATE registrar_approvalrequest a SET current_step_id = s.id, current_node_id = s.node_id
FROM registrar_approvalstep s
WHERE s.approval_id = a.id AND s.state = 'current';

INSERT INTO transfers_statuschangerequest (approval_id, kind, student_id, from_school_id, from_grade_id,
    from_class_id, to_school_id, to_grade_id, to_class_id, reason, explanation, starts_on, ends_on,
    applied_on, created_by_id, created_at, outside_address, outside_county, outside_province, outside_school)
SELECT approval_id, kind, student_id, school_id, grade_id, school_class_id, school_id, grade_id,
    school_class_id, '', 'bench', made::date, made::date + 180,
    CASE WHEN state = 'approved' THEN (made + ((n %% 9) + 1) * interval '1 day')::date END,
    %(applicant)s, made, '', '', '', ''
FROM bench_change WHERE n %% 8 <> 0;

INSERT INTO students_statusevent (student_id, event, from_status, to_status, occurred_on, school_id,
    grade_id, school_class_id, reason, action, approved_by_id, created_at)
SELECT student_id,
    (ARRAY['transferred_out','suspended','suspension_extended','resumed','withdrawn','repeated','skipped',
           'went_abroad','died','left','transferred_in'])[1 + (student_id / 16) %% 11],
    'enrolled', 'enrolled', (made + ((n %% 9) + 1) * interval '1 day')::date, school_id, grade_id,
    school_class_id, '', '', %(applicant)s, now()
FROM bench_change WHERE n %% 8 <> 0 AND state = 'approved';

INSERT INTO corrections_correction (approval_id, student_id, "group", note, late_explanation, created_at,
    applied_at)
SELECT approval_id, student_id, 'enrolled', '', '', made,
    CASE WHEN state = 'approved' THEN made + ((n %% 9) + 1) * interval '1 day' END
FROM bench_change WHERE n %% 8 = 0;
"""

PROBLEMS_SQL = """
INSERT INTO students_problemrecord (student_id, kind, other_student_id, detail, state, detected_at,
    resolved_at, resolved_by_id, resolution, evidence, fingerprint, outcome)
SELECT id, 'invalid_id', NULL, '', CASE WHEN id % 3 = 0 THEN 'resolved' ELSE 'open' END, now(), NULL, NULL,
    '', '{}', 'invalid_id:' || id, ''
FROM students_student WHERE id % 400 = 5
"""


def cases():
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    year_ago = (timezone.localdate() - timedelta(days=364)).isoformat()
    whole_year = {"start": year_ago, "end": timezone.localdate().isoformat()}
    xlsx = {"download": "xlsx"}
    province, city, county, school = "420000", "420100", "420102", "1420102010"
    return [
        ("province: students", "province", reverse("reports:students", args=[province]), {}),
        ("province: students, Excel", "province", reverse("reports:students", args=[province]), xlsx),
        ("province: changes, this term", "province", reverse("reports:changes", args=[province]), {}),
        ("province: changes, a year", "province", reverse("reports:changes", args=[province]), whole_year),
        (
            "province: changes, Excel",
            "province",
            reverse("reports:changes", args=[province]),
            {**whole_year, **xlsx},
        ),
        ("province: change roster", "province", reverse("reports:change_list", args=[province]), whole_year),
        (
            "province: change roster, page 100",
            "province",
            reverse("reports:change_list", args=[province]),
            {**whole_year, "page": 100},
        ),
        (
            "province: roster, one kind, grade",
            "province",
            reverse("reports:change_list", args=[province]),
            {**whole_year, "kind": "suspension", "grade": 3},
        ),
        ("province: queue board", "province", reverse("reports:queues", args=[province]), {}),
        ("province: queue board, Excel", "province", reverse("reports:queues", args=[province]), xlsx),
        ("city: students", "city", reverse("reports:students", args=[city]), {}),
        ("city: changes, a year", "city", reverse("reports:changes", args=[city]), whole_year),
        ("city: queue board", "city", reverse("reports:queues", args=[city]), {}),
        ("county: students", "county", reverse("reports:students", args=[county]), {}),
        ("county: changes, a year", "county", reverse("reports:changes", args=[county]), whole_year),
        (
            "county: change roster, Excel",
            "county",
            reverse("reports:change_list", args=[county]),
            {**whole_year, **xlsx},
        ),
        ("county: queue board", "county", reverse("reports:queues", args=[county]), {}),
        ("school: students", "school", reverse("reports:students", args=[school]), {}),
        ("school: a grade's classes", "school", reverse("reports:students_grade", args=[school, 3]), {}),
        ("school: changes, a year", "school", reverse("reports:changes", args=[school]), whole_year),
        ("school: change roster", "school", reverse("reports:change_list", args=[school]), whole_year),
    ]


def measure(runs):
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from registrar.models import User
    from students.models import Student

    students = Student.objects.count()
    print(f"\n{students:,} students")
    print(f"\n{'page':<40}{'median ms':>10}{'max ms':>9}{'queries':>9}")
    rows = []
    for label, username, url, params in cases():
        client = Client()
        client.force_login(User.objects.get(username=f"bench_{username}"))
        timings = []
        for _ in range(runs):
            reset_queries()
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url, params)
                if response.streaming:
                    b"".join(response.streaming_content)
                timings.append(time.perf_counter() - started)
            assert response.status_code == 200, (label, response.status_code)
        median = statistics.median(timings)
        print(f"{label:<40}{median * 1000:>10.1f}{max(timings) * 1000:>9.1f}{len(queries):>9}")
        target = FILE_TARGET_MS if label.endswith("change roster, Excel") else TARGET_MS
        rows.append(
            result(
                f"report: {label}",
                students,
                timings,
                queries=len(queries),
                target=f"≤ {target / 1000:g} s" + (" (a file)" if target != TARGET_MS else ""),
                met=median * 1000 <= target,
            )
        )
    print(f"\nslowest page (median): {max(row['median_s'] for row in rows) * 1000:.1f} ms")
    return rows


def main():
    args = parse_args()
    url, drop = open_database(args.database_url, fresh=not args.reuse)
    setup_django(url)
    try:
        if not args.reuse:
            build(args.students)
        rows = measure(args.runs)
    finally:
        if not (args.keep or args.reuse):
            drop()
    finish(args, rows)


if __name__ == "__main__":
    main()
