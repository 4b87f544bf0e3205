"""Benchmark: how the hostile workbooks of issue 12 are refused, in time and peak memory.

Not a test. It writes (into benchmarks/.cache/) a 0.5 MB .xlsx holding one text cell of 500 MB and a
5 MB .xlsx of 1,048,575 one-cell rows, builds a fresh SQLite database with one school, then refuses
each file as an administrator does, as the browser's background check does, and once more with the
compression-ratio limit lifted (so that the streaming checks have to find it), each in a child
process under `/usr/bin/time -v`:

    manage.py import_roster FILE --school 1420102001
    manage.py shell -c "<a batch of the file, checked by students.roster.batches.run_check>"

and prints the wall time, the peak memory (maximum resident set size) and the message. See
benchmarks/README.md.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"
SCHOOL = "1420102001"
sys.path.insert(0, str(BASE_DIR))

from benchmarks.common import finish, measured, open_database, parser, result  # noqa: E402
from tests.workbook_files import write_xlsx  # noqa: E402

# Refused quickly and without holding the file in memory (before issue 12: 6.7 GB and 166 s); by
# CPU time, which a busy shared machine does not inflate as it does the wall time.
TARGET_SECONDS = 5
TARGET_MB = 200

TREE = """
from registrar.orgimport import import_organisations, parse_rows
header = ("code", "name", "kind", "parent", "stages", "school_system")
rows = [("420000", "湖北省", "省", "", "", ""), ("420100", "武汉市", "市", "420000", "", ""),
        ("420102", "江岸区", "区", "420100", "", ""),
        ("1420102001", "育才小学", "学校", "420102", "小学", "6-3-3")]
import_organisations(parse_rows([dict(zip(header, row), number=n) for n, row in enumerate(rows, start=2)]))
"""
CHECK = """
from django.core.files.base import File
from registrar.models import Organisation
from students.models import ImportBatch
from students.roster.batches import run_check
batch = ImportBatch(node=Organisation.objects.get(code="1420102001"), state=ImportBatch.State.CHECKING)
with open({path!r}, "rb") as handle:
    batch.file.save("roster.xlsx", File(handle))
print(run_check(batch.pk), ImportBatch.objects.get(pk=batch.pk).errors[0]["messages"][0])
"""
# The same file with the compression-ratio limit lifted: the streaming checks have to find it.
UNCOMPRESSED = """
from django.conf import settings
from students.roster.reader import read_roster
settings.REGISTRAR["ROSTER_MAX_RATIO"] = 10**9
try:
    read_roster({path!r})
except Exception as error:
    print(error)
"""


def huge_cell():
    yield b'<row r="1"><c r="A1" t="inlineStr"><is><t>'
    block = b"x" * (1 << 20)
    for _ in range(500):
        yield block
    yield b"</t></is></c></row>"


def million_rows():
    batch = []
    for row in range(1, 1_048_576):
        batch.append(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (row, row, row % 7))
        if len(batch) == 10_000:
            yield b"".join(batch)
            batch = []
    yield b"".join(batch)


def main():
    # --quick changes nothing: the files are what they are (about 2 s each to refuse).
    args = parser(__doc__).parse_args()
    CACHE.mkdir(exist_ok=True)
    files = {
        "one 500 MB text cell": (CACHE / "hostile-huge-cell.xlsx", huge_cell),
        "1,048,575 one-cell rows": (CACHE / "hostile-million-rows.xlsx", million_rows),
    }
    for path, pieces in files.values():
        if not path.exists():
            write_xlsx(path, pieces(), compresslevel=9)
    database, drop = open_database(args.database_url)
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "DJANGO_DEBUG": "1",
        "REGISTRAR_MEDIA_ROOT": tempfile.mkdtemp(),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.pop("REGISTRAR_TESTING", None)
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    rows = []
    try:
        subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=BASE_DIR, check=True)
        subprocess.run([*manage, "shell", "-c", TREE], env=env, cwd=BASE_DIR, check=True, capture_output=True)
        for label, (path, _pieces) in files.items():
            print(f"{label}: {path.name}, {path.stat().st_size / 1e6:.1f} MB")
            runs = {
                # --dry-run: the file is read and refused the same way, and no user needs to exist.
                "command line": [*manage, "import_roster", str(path), "--school", SCHOOL, "--dry-run"],
                "browser check job": [*manage, "shell", "-c", CHECK.format(path=str(path))],
                "no ratio limit": [*manage, "shell", "-c", UNCOMPRESSED.format(path=str(path))],
            }
            for where, command in runs.items():
                cpu = []
                seconds, peak, output = measured(command, env, cpu=cpu)
                print(f"  {where}: {seconds:.2f} s, peak {peak:.0f} MB: {output}")
                rows.append(
                    result(
                        f"hostile workbook refused: {label}, {where}",
                        path.stat().st_size,
                        seconds,
                        peak=peak,
                        target=f"≤ {TARGET_SECONDS} s of CPU, < {TARGET_MB} MB",
                        met=cpu[0] <= TARGET_SECONDS and peak < TARGET_MB,
                    )
                )
    finally:
        if not args.keep:
            drop()
    finish(args, rows)


if __name__ == "__main__":
    main()
