"""Run every benchmark of the project and print one table.

    .venv/bin/python benchmarks/run_all.py                        # full size, on both databases
    .venv/bin/python benchmarks/run_all.py --quick                # a tenth of the size (a check: README.md)
    .venv/bin/python benchmarks/run_all.py --database-url postgres://postgres@127.0.0.1:5432/bench_all
    .venv/bin/python benchmarks/run_all.py --only roster_page --reuse

Every benchmarks/*.py except this file, common.py and names starting with "_" is a benchmark: it is
run in a child process as `SCRIPT --json FILE [--quick] [--database-url URL_SCRIPT] [--reuse]` and
its rows are gathered. Each script gets a PostgreSQL database of its own: the --database-url's name
(bench_all by default) followed by "_" and the script's name, and "_quick" with --quick (a quick
check never drops the full-size database that a later --reuse measures). A script whose --help says
it runs on SQLite too (common.BOTH_DATABASES) is run twice, on a temporary SQLite file and on
PostgreSQL, so that the table shows both (--postgres-only skips the SQLite runs; --quick runs it on
SQLite only). --reuse is passed
to the scripts that accept it (they keep a big database between runs). --record writes the table,
with the date and the machine, into benchmarks/README.md.

Exit status 1 when a script failed or a target was missed. Not part of `make test`.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import BOTH_DATABASES

HERE = Path(__file__).resolve().parent
HELPERS = {"run_all.py", "common.py"}
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_all"
README = HERE / "README.md"
RECORD_START = "<!-- run_all: start -->"
RECORD_END = "<!-- run_all: end -->"
COLUMNS = ("what", "size", "median", "p95", "queries", "peak MB", "target", "met")


def scripts(only=()):
    found = sorted(
        path for path in HERE.glob("*.py") if path.name not in HELPERS and not path.name.startswith("_")
    )
    if only:
        found = [path for path in found if path.stem in only]
    return found


def accepts(script, flag):
    helped = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=False, timeout=120
    )
    return flag in helped.stdout


def database_url(args, script):
    """The script's PostgreSQL database: --quick ones apart, so that a quick check never drops the
    full-size database a later --reuse measures."""
    return f"{args.database_url}_{script.stem}{'_quick' if args.quick else ''}"


def run(script, args, *, sqlite=False):
    """The rows of one script (a failed script: one row saying so); `sqlite`: on a SQLite file
    rather than on the script's PostgreSQL database."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "rows.json"
        command = [sys.executable, str(script), "--json", str(output)]
        if args.quick:
            command.append("--quick")
        if not sqlite:
            command += ["--database-url", database_url(args, script)]
        if args.reuse and accepts(script, "--reuse"):
            command.append("--reuse")
        started = time.perf_counter()
        print(f"$ {' '.join(command[1:])}", flush=True)
        process = subprocess.run(command, capture_output=True, text=True, check=False, timeout=args.timeout)
        seconds = time.perf_counter() - started
        log = Path(folder).parent / f"bench-{script.stem}{'-sqlite' if sqlite else ''}.log"
        log.write_text(process.stdout + process.stderr, encoding="utf-8")
        rows = json.loads(output.read_text(encoding="utf-8")) if output.exists() else []
        print(f"  {seconds:.0f} s, exit {process.returncode}, {len(rows)} rows (output: {log})", flush=True)
        if not rows:
            tail = (process.stderr or process.stdout).strip().splitlines()[-1:] or [""]
            rows = [
                {
                    "what": f"{script.stem}: FAILED (exit {process.returncode}) {tail[0][:80]}",
                    "size": "",
                    "median_s": None,
                    "p95_s": None,
                    "queries": None,
                    "peak_mb": None,
                    "target": "",
                    "met": False,
                }
            ]
        return [{**row, "script": script.stem} for row in rows]


def seconds(value):
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def cells(row):
    size = row.get("size")
    return (
        row["what"],
        f"{size:,}" if isinstance(size, int) else str(size or ""),
        seconds(row.get("median_s")),
        seconds(row.get("p95_s")),
        "–" if row.get("queries") is None else str(row["queries"]),
        "–" if row.get("peak_mb") is None else f"{row['peak_mb']:.0f}",
        row.get("target") or "",
        "met" if row.get("met") else "NOT met",
    )


def text_table(rows):
    lines = [COLUMNS, *(cells(row) for row in rows)]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines
    )


def markdown_table(rows):
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(cell).replace("|", "/") for cell in cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def machine():
    cores = os.cpu_count()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{platform.node()}: {cores} cores, Python {platform.python_version()}, load average {load}"


def record(rows, args, started):
    """Put the table in benchmarks/README.md between the markers (kept: the last full result)."""
    text = README.read_text(encoding="utf-8")
    where = "PostgreSQL" if args.postgres_only else "PostgreSQL, and SQLite too where a script can"
    block = "\n".join(
        [
            RECORD_START,
            f"Last full run: {started:%Y-%m-%d %H:%M} UTC, {machine()}; databases: {where}.",
            "",
            markdown_table(rows),
            RECORD_END,
        ]
    )
    if RECORD_START in text:
        before, rest = text.split(RECORD_START, 1)
        text = before + block + rest.split(RECORD_END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## The last full run of run_all.py\n\n" + block + "\n"
    README.write_text(text, encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help="a PostgreSQL URL; each script adds _<its name>"
    )
    parser.add_argument("--postgres-only", action="store_true", help="no SQLite runs")
    parser.add_argument("--quick", action="store_true", help="every script at a tenth of its size")
    parser.add_argument("--reuse", action="store_true", help="scripts that can keep their data reuse it")
    parser.add_argument("--only", nargs="*", default=(), help="these scripts only (names without .py)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds a script may take")
    parser.add_argument("--json", default="", help="also write every row to this file")
    parser.add_argument("--record", action="store_true", help="write the table into benchmarks/README.md")
    args = parser.parse_args()

    started = datetime.now(UTC)
    rows = []
    for script in scripts(args.only):
        # The full run measures such a script on both databases; --quick, a check that every script
        # still runs, on SQLite only (the development database; the others run on PostgreSQL).
        both = not args.postgres_only and accepts(script, BOTH_DATABASES)
        on_sqlite = (True,) if args.quick else (True, False)
        for sqlite in on_sqlite if both else (False,):
            try:
                rows += run(script, args, sqlite=sqlite)
            except subprocess.TimeoutExpired:
                rows.append({"what": f"{script.stem}: timed out", "script": script.stem, "met": False})
    print()
    print(f"{started:%Y-%m-%d %H:%M} UTC, {machine()}{', quick' if args.quick else ''}")
    print(text_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.record and not args.quick:
        record(rows, args, started)
    sys.exit(0 if rows and all(row.get("met") for row in rows) else 1)


if __name__ == "__main__":
    main()
