"""Benchmark: a reviewer's queues with 100,000 open requests in the province, 10,000 in one county.

Builds, in a database of its own (PostgreSQL), the province of benchmarks/report_pages.py with
134,000 students, and an open request of a mixed kind (休学, 复学, 留级, 跳级, 出国, 其他离校, 转学,
退学, 延长休学, key-data corrections) for every student 在校 of 江岸区 (420102) and for four in five
of the others' — about 10,000 and 100,000 — each approved by its principal, now at its county's
reviewer (current, waiting up to 30 days: about half past the deadline) with the city's reviewer
after. Everything is written by SQL in the database. Then it times, as the users do it:

- the county reviewer's queue page (and its overdue filter);
- the overdue page of the city reviewer and of the province administrator;
- approve-and-next: the decision panel's POST, which approves and goes on to the next request;
- a bulk approval of 50 ticked requests (the confirmation's POST).

    .venv/bin/python benchmarks/approval_queues.py                 # 134,000 students, then measure
    .venv/bin/python benchmarks/approval_queues.py --quick         # a tenth
    .venv/bin/python benchmarks/approval_queues.py --keep / --reuse

Target (issue 19): each at most 150 ms median, with a number of queries that does not grow with
the requests.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import finish, open_database, parser, result, scaled, setup_django
from benchmarks.report_pages import build_students

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_approval_queues"
TARGET = 0.150
COUNTY = "420102"

OPEN_SQL = """
CREATE TEMPORARY TABLE bench_open AS
SELECT s.id AS student_id, s.school_id, s.grade_id, s.school_class_id,
    CASE WHEN p.kind = 'township' THEN p.parent_id ELSE p.id END AS county_id,
    CASE WHEN s.id %% 8 = 0 THEN 'corrections.correction'
        ELSE 'transfers.' || (ARRAY['suspension','resumption','repeat','skip','abroad','other','transfer',
                                    'withdrawal','extension'])[1 + (s.id / 8) %% 9] END AS kind,
    now() - (s.id %% 30) * interval '1 day' - interval '2 hours' AS made
FROM students_student s
JOIN registrar_organisation o ON o.id = s.school_id
JOIN registrar_organisation p ON p.id = o.parent_id
WHERE s.status = 'enrolled';

DELETE FROM bench_open b USING registrar_organisation c
WHERE c.id = b.county_id AND c.code <> %(county)s AND b.student_id %% 5 = 0;

ALTER TABLE bench_open ADD COLUMN city_id int, ADD COLUMN approval_id int;
UPDATE bench_open b SET city_id = c.parent_id FROM registrar_organisation c WHERE c.id = b.county_id;

INSERT INTO registrar_approvalrequest (kind, state, subject_label, subject_key, school_id, applicant_id,
    applicant_node_id, current_step_id, round, chain_key, nodes, facts, rules_digest, created_at,
    submitted_at, decided_at)
SELECT kind, 'in_review', 'bench ' || student_id, 'student:' || student_id, school_id, %(applicant)s,
    school_id, NULL, 1, '', '{}', '{}', '', made, made, NULL
FROM bench_open ORDER BY student_id;

UPDATE bench_open b SET approval_id = a.id
FROM registrar_approvalrequest a WHERE a.subject_key = 'student:' || b.student_id;

INSERT INTO registrar_approvalstep (approval_id, round, position, role, node_id, state, started_at, due_date,
    decided_by_id, decided_at, comment)
SELECT approval_id, 1, 1, 'principal', school_id, 'approved', made, (made + interval '14 days')::date,
    %(principal)s, made + interval '1 day', ''
FROM bench_open
UNION ALL
SELECT approval_id, 1, 2, 'county_reviewer', county_id, 'current', made + interval '1 day',
    (made + interval '15 days')::date, NULL, NULL, ''
FROM bench_open
UNION ALL
SELECT approval_id, 1, 3, 'city_reviewer', city_id, 'waiting', NULL, NULL, NULL, NULL, ''
FROM bench_open;

UPDATE registrar_approvalrequest a SET current_step_id = s.id, current_node_id = s.node_id
FROM registrar_approvalstep s WHERE s.approval_id = a.id AND s.state = 'current';

INSERT INTO transfers_statuschangerequest (approval_id, kind, student_id, from_school_id, from_grade_id,
    from_class_id, to_school_id, to_grade_id, to_class_id, reason, explanation, starts_on, ends_on,
    applied_on, created_by_id, created_at, outside_address, outside_county, outside_province, outside_school)
SELECT approval_id, substr(kind, 11), student_id, school_id, grade_id, school_class_id, school_id, grade_id,
    school_class_id, '', 'bench', made::date, made::date + 180, NULL, %(applicant)s, made, '', '', '', ''
FROM bench_open WHERE kind LIKE 'transfers.%%';

INSERT INTO corrections_correction (approval_id, student_id, "group", note, late_explanation, created_at,
    applied_at)
SELECT approval_id, student_id, 'enrolled', '', '', made, NULL
FROM bench_open WHERE kind = 'corrections.correction';
"""


def build(students):
    from django.db import connection

    from registrar.models import ApprovalRequest, User

    build_students(students)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            OPEN_SQL,
            {
                "county": COUNTY,
                "applicant": User.objects.get(username="bench_school").pk,
                "principal": User.objects.get(username="bench_principal").pk,
            },
        )
        cursor.execute("VACUUM ANALYZE")
    total = ApprovalRequest.objects.count()
    county = ApprovalRequest.objects.filter(current_step__node__code=COUNTY).count()
    print(f"{total:,} open requests, {county:,} at {COUNTY}, in {time.perf_counter() - started:.1f} s")


# Per timed request: this process's CPU time and the time its SQL took as seen from here, beside
# the wall time (on a shared machine the wall time is mostly the wait for a core).
CPU, SQL = [], []


def timed(client, method, url, data, queries_log):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        cpu = time.process_time()
        started = time.perf_counter()
        response = getattr(client, method)(url, data)
        seconds = time.perf_counter() - started
        CPU.append(time.process_time() - cpu)
    SQL.append(sum(float(query["time"]) for query in queries.captured_queries))
    assert response.status_code in (200, 302), (url, response.status_code)
    queries_log.append(len(queries))
    return seconds


def measure(runs):
    from django.test import Client
    from django.urls import reverse

    from registrar import approvals
    from registrar.models import ApprovalRequest, User

    county_user = User.objects.get(username="bench_county")
    open_requests = ApprovalRequest.objects.filter(state="in_review").count()
    in_county = ApprovalRequest.objects.waiting_for(county_user).count()
    clients = {}
    for name in ("county", "city", "province"):
        clients[name] = Client()
        clients[name].force_login(User.objects.get(username=f"bench_{name}"))
    queue, overdue = reverse("registrar:approvals"), reverse("registrar:approvals_overdue")
    pages = [
        ("county reviewer: queue page", "county", queue, {}),
        ("county reviewer: queue, overdue only", "county", queue, {"age": "overdue"}),
        ("county reviewer: queue, page 100", "county", queue, {"page": 100}),
        ("city reviewer: overdue page", "city", overdue, {}),
        ("province administrator: overdue page", "province", overdue, {}),
    ]
    rows = []

    def add(label, size, timings, queries):
        median = statistics.median(timings)
        constant = len(set(queries)) == 1
        cpu, sql = statistics.median(CPU[-len(timings) :]), statistics.median(SQL[-len(timings) :])
        print(
            f"{label:<44}{median * 1000:>9.1f}{max(timings) * 1000:>9.1f}{cpu * 1000:>9.1f}{sql * 1000:>9.1f}"
            f"  queries {sorted(set(queries))}"
        )
        rows.append(
            result(
                label,
                size,
                timings,
                queries=max(queries),
                target=f"≤ {TARGET * 1000:.0f} ms median, constant queries",
                met=median <= TARGET and constant,
            )
        )

    print(f"\n{open_requests:,} open requests, {in_county:,} waiting for the county reviewer")
    print(f"{'':<44}{'median ms':>9}{'max ms':>9}{'CPU ms':>9}{'SQL ms':>9}")
    for label, who, url, params in pages:
        queries = []
        timings = [timed(clients[who], "get", url, params, queries) for _ in range(runs)]
        add(label, in_county if who == "county" else open_requests, timings, queries)

    # Approve-and-next: the panel's POST on the most urgent request, as the reviewer works down the queue.
    # The first of each POST is not timed: Django caches content types once per process.
    queries, timings = [], []
    for run in range(runs + 1):
        approval = approvals.next_waiting(county_user)
        url = reverse("registrar:approval_decide", args=[approval.pk])
        data = {"action": "approve", "step_id": approval.current_step_id, "comment": ""}
        seconds = timed(clients["county"], "post", url, data, queries)
        if run:
            timings.append(seconds)
        else:
            queries.clear()
    add("county reviewer: approve and next", in_county, timings, queries)

    # A bulk approval of 50 ticked rows that may be approved from the queue (the confirmation).
    queries, timings = [], []
    bulk_kinds = [name for name, kind in approvals.KINDS.items() if kind.allow_bulk_approve]
    for run in range(max(3, runs // 3) + 1):
        waiting = ApprovalRequest.objects.waiting_for(county_user).filter(kind__in=bulk_kinds)
        chosen = waiting.order_by(*approvals.QUEUE_ORDER)[:50]
        data = {"selected": [f"{a.pk}:{a.current_step_id}" for a in chosen], "confirm": "1", "comment": ""}
        seconds = timed(clients["county"], "post", queue, data, queries)
        if run:
            timings.append(seconds)
        else:
            queries.clear()
    add("county reviewer: bulk approval of 50", in_county, timings, queries)
    return rows


def main():
    arguments = parser(__doc__, reuse=True)
    arguments.add_argument("--students", type=int, default=134_000)
    arguments.add_argument("--runs", type=int, default=10)
    args = arguments.parse_args()
    students = scaled(args, args.students)
    url, drop = open_database(args.database_url or DEFAULT_URL, fresh=not args.reuse)
    setup_django(url)
    try:
        if not args.reuse:
            build(students)
        rows = measure(args.runs)
    finally:
        if not (args.keep or args.reuse):
            drop()
    finish(args, rows)


if __name__ == "__main__":
    main()
