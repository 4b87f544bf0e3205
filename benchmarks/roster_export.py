"""Benchmark: a county's roster export (100,000 students in 100 schools) through `export_roster`.

It builds a database (a temporary SQLite file, or the PostgreSQL database of --database-url, created
and dropped), imports the roster workbook of benchmarks/roster_import.py (every required column and a
guardian for each pupil) with `import_roster`, then runs, in a child process under /usr/bin/time,
what an administrator runs:

    manage.py export_roster --school 420102 --status all -o FILE

and reports its wall time (Django's start-up included) and peak memory (maximum resident set size).
The browser's download writes the same workbook with the same function (students/roster/exporter.py).

    .venv/bin/python benchmarks/roster_export.py                 # SQLite, 100,000 students
    .venv/bin/python benchmarks/roster_export.py --quick         # 10,000
    .venv/bin/python benchmarks/roster_export.py --database-url postgres://postgres@127.0.0.1:5432/bench_export
    .venv/bin/python benchmarks/roster_export.py --keep     # keep the database (SQLite: in .cache)
    .venv/bin/python benchmarks/roster_export.py --reuse            # export it again, without building it

Target (issue 19): 100,000 students in at most 10 s, under 300 MB, on SQLite and PostgreSQL.
"""

import os
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, finish, measured, open_database, parser, result, scaled
from benchmarks.roster_import import CACHE, COUNTY, generate, import_arguments, manage, setup_tree

TARGET_SECONDS = 10
TARGET_MB = 300


def build(env, path, rows, schools):
    """The county's schools, and its students imported from the roster workbook."""
    migrated = manage("migrate", "-v0", env=env, capture=True)
    if migrated.returncode:
        raise SystemExit(migrated.stderr)
    setup_tree(env, schools)
    started = time.perf_counter()
    imported = manage(*import_arguments(path), env=env, capture=True)
    if imported.returncode:
        raise SystemExit(imported.stderr[-2000:])
    print(f"imported {rows:,} students in {time.perf_counter() - started:.1f} s")
    # The planner's statistics, as autovacuum gathers them within a minute of such an import: without
    # them PostgreSQL takes the county for 55 students and joins row by row.
    analysed = (
        manage("dbshell", "--", "-c", "ANALYZE", env=env, capture=True)
        if "postgres" in env["DATABASE_URL"]
        else None
    )
    if analysed is not None and analysed.returncode:
        raise SystemExit(analysed.stderr)


def built(path):
    """Whether the SQLite file at `path` holds a county's students (a run that failed may leave an
    empty file behind)."""
    if not path.exists():
        return False
    with closing(sqlite3.connect(path)) as database:
        return bool(
            database.execute("SELECT 1 FROM sqlite_master WHERE name = 'students_student'").fetchone()
        )


def built_on_postgresql(url):
    """Whether the PostgreSQL database of `url` holds students: on a machine where none was kept
    yet (run_all.py --reuse on a new checkout), it is missing or, after a run that failed, empty."""
    import psycopg

    try:
        with psycopg.connect(url) as database:
            table = database.execute("SELECT to_regclass('students_student')").fetchone()[0]
            return table is not None and bool(
                database.execute("SELECT 1 FROM students_student LIMIT 1").fetchone()
            )
    except psycopg.OperationalError:
        return False


def main():
    arguments = parser(__doc__, reuse=True, sqlite=True)
    arguments.add_argument("--rows", type=int, default=100_000)
    arguments.add_argument("--schools", type=int, default=100)
    arguments.add_argument("--runs", type=int, default=3)
    args = arguments.parse_args()
    rows, schools = scaled(args, args.rows), scaled(args, args.schools)
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"roster-{rows}-{schools}.xlsx"
    if not path.exists():
        generate(path, rows, schools)
    reuse = args.reuse
    if args.database_url or not (args.keep or args.reuse):
        if reuse and args.database_url and not built_on_postgresql(args.database_url):
            reuse = False
        url, drop = open_database(args.database_url, fresh=not reuse)
    else:
        # A kept SQLite database has a fixed name, for --reuse to find it; on a machine that has
        # none yet (run_all.py --reuse on a fresh checkout), --reuse builds and keeps it.
        kept = CACHE / f"export-{rows}-{schools}.sqlite3"
        if not built(kept):
            reuse = False
        if not reuse:
            kept.unlink(missing_ok=True)
        url, drop = f"sqlite:///{kept}", lambda: kept.unlink(missing_ok=True)
    vendor = "PostgreSQL" if args.database_url else "SQLite"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "1", "REGISTRAR_MEDIA_ROOT": tempfile.mkdtemp()}
    env.pop("REGISTRAR_TESTING", None)
    timings, peaks, cpu = [], [], []
    try:
        if not reuse:
            build(env, path, rows, schools)
        with tempfile.TemporaryDirectory() as folder:
            output = Path(folder) / "export.xlsx"
            command = [sys.executable, str(ROOT / "manage.py"), "export_roster", "--school", COUNTY]
            command += ["--status", "all", "-o", str(output)]
            for _ in range(args.runs):
                seconds, peak, said = measured(command, env, cpu=cpu)
                timings.append(seconds)
                peaks.append(peak)
                print(
                    f"export: {seconds:.2f} s ({cpu[-1]:.2f} s of CPU), peak {peak:.0f} MB, "
                    f"{output.stat().st_size / 1e6:.1f} MB: " + said
                )
    finally:
        if not (args.keep or args.reuse):
            drop()
    median = statistics.median(timings)
    processor = statistics.median(cpu)
    print(f"median {median:.2f} s ({processor:.2f} s of CPU); target {TARGET_SECONDS} s, {TARGET_MB} MB")
    row = result(
        f"roster export of a county ({vendor}; {processor:.1f} s of CPU)",
        rows,
        timings,
        peak=round(max(peaks), 1),
        target=f"≤ {TARGET_SECONDS} s, < {TARGET_MB} MB",
        met=median <= TARGET_SECONDS and max(peaks) < TARGET_MB,
    )
    finish(args, [row])


if __name__ == "__main__":
    main()
