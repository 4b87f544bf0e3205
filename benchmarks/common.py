"""What every benchmark script shares: its command-line protocol, its database and its result rows.

Every script in benchmarks/ accepts

    --database-url URL   a PostgreSQL URL: the script creates that database and drops it at the end
                         (scripts that can run on SQLite use a temporary SQLite file without it)
    --quick              a tenth of the size, to check quickly that it still runs
    --json PATH          write the results as a JSON list of rows (see `result`)

and `benchmarks/run_all.py` runs each of them with these flags and prints one table. Not a script:
run_all.py skips this module.
"""

import argparse
import hashlib
import inspect
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def compile_project():
    """Compile the project's bytecode as `make install` does, so that a command measured in a child
    process starts as a deployed one does: with PYTHONDONTWRITEBYTECODE set (as on this machine)
    Python writes none, and each start compiled the project's modules again (0.25 s)."""
    apps = sorted(path.parent.name for path in ROOT.glob("*/apps.py"))
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *apps, "manage.py"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


# What `--help` says of a script that runs on SQLite as well as on PostgreSQL: run_all.py looks for it.
BOTH_DATABASES = "Databases: SQLite (without --database-url) and PostgreSQL."


def parser(doc, *, reuse=False, sqlite=False):
    """The protocol's arguments; `reuse`: the script can keep a big database and measure it again;
    `sqlite`: it runs on SQLite too (without --database-url), and run_all.py measures it on both."""
    arguments = argparse.ArgumentParser(
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=BOTH_DATABASES if sqlite else None,
    )
    arguments.add_argument(
        "--database-url",
        default="",
        help="postgres://USER@HOST:PORT/NAME: the database to create (and drop afterwards)",
    )
    arguments.add_argument("--quick", action="store_true", help="a tenth of the size")
    arguments.add_argument("--json", default="", help="write the result rows to this file (a JSON list)")
    if reuse:
        arguments.add_argument(
            "--reuse", action="store_true", help="measure the data of a previous run again (implies --keep)"
        )
    arguments.add_argument("--keep", action="store_true", help="do not drop the database afterwards")
    return arguments


def scaled(args, size):
    """`size`, or a tenth of it with --quick."""
    return max(1, size // 10) if args.quick else size


def _admin(url):
    import psycopg

    base, name = url.rsplit("/", 1)
    return psycopg.connect(f"{base}/postgres", autocommit=True), name


def _migrations_key():
    """A short digest of every migration file: a migrated template is reused while it is the same."""
    digest = hashlib.sha1()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _migrate(url):
    """`manage.py migrate` on the database of `url`, in a child process (Django set up there only)."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "registrar.settings"}
    env.pop("REGISTRAR_TESTING", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"migrate failed:\n{done.stderr}")


def migrated_template(url=""):
    """A database migrated to the current migrations, made once and then copied (migrating a new
    database takes 15-25 s, copying one a fraction of a second): the PostgreSQL database
    bench_migrated_<digest> on the server of `url`, or with no URL a SQLite file in .cache/.
    Returns its name (PostgreSQL) or path (SQLite)."""
    key = _migrations_key()
    if not url:
        path = ROOT / "benchmarks" / ".cache" / f"migrated-{key}.sqlite3"
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            making = path.with_suffix(".making")
            making.unlink(missing_ok=True)
            _migrate(f"sqlite:///{making}")
            making.rename(path)
        return path
    name = f"bench_migrated_{key}"
    connection, _name = _admin(url)
    with connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            making = f"{name}_making"
            connection.execute(f'DROP DATABASE IF EXISTS "{making}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{making}"')
            _migrate(f"{url.rsplit('/', 1)[0]}/{making}")
            connection.execute(f'ALTER DATABASE "{making}" RENAME TO "{name}"')
    return name


def create_migrated(url):
    """(Re)create the PostgreSQL database of `url` as a copy of the migrated template."""
    template = migrated_template(url)
    connection, name = _admin(url)
    with connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def open_database(url, *, fresh=True):
    """The database to measure in: the PostgreSQL database of `url` (when `fresh`, made again as a
    copy of the migrated template), or with no URL a new temporary SQLite file, a copy of the
    migrated one. Returns (DATABASE_URL, drop). A later `migrate` finds nothing to do."""
    if not url:
        handle, path = tempfile.mkstemp(prefix="bench-", suffix=".sqlite3")
        os.close(handle)
        shutil.copyfile(migrated_template(), path)
        return f"sqlite:///{path}", lambda: Path(path).unlink(missing_ok=True)
    if not url.startswith("postgres"):
        raise SystemExit(f"--database-url must be a PostgreSQL URL, not {url!r}")
    connection, name = _admin(url)
    with connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if fresh or not exists:
        create_migrated(url)

    def drop():
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            connections.close_all()
        admin, _name = _admin(url)
        with admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


def built_once(label, build, *args):
    """`build(*args)` in this script's PostgreSQL database (Django connected to it, a fresh copy of
    the migrated template): the organisation tree and its classes, the same in every run. The first
    run keeps what it built as the database bench_built_<label>_<digest>; later runs copy that
    (a fraction of a second) instead of building again (5-10 s for 500 schools through
    registrar.orgimport: 10,000 saves, each with its history row). The digest covers the
    migrations, the registrar app's code (which writes the tree), `build`'s own source and `args`:
    a change to any of them builds again. On SQLite: `build(*args)`, every time."""
    from django.db import connection

    if connection.vendor != "postgresql":
        build(*args)
        return
    digest = hashlib.sha1(_migrations_key().encode())
    for path in sorted(ROOT.glob("registrar/**/*.py")):
        digest.update(path.read_bytes())
    digest.update(inspect.getsource(build).encode())
    digest.update(repr(args).encode())
    kept = f"bench_built_{label}_{digest.hexdigest()[:10]}"
    name = connection.settings_dict["NAME"]
    admin, _name = _admin(os.environ["DATABASE_URL"])
    with admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [kept]).fetchone()
    connection.close()
    if found:
        admin, _name = _admin(os.environ["DATABASE_URL"])
        with admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{kept}"')
        print(f"{label}: copied from {kept} (built by an earlier run)")
        return
    build(*args)
    connection.close()
    admin, _name = _admin(os.environ["DATABASE_URL"])
    with admin:
        # The builds of an older digest are of no more use.
        older = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"bench\\_built\\_{label}\\_%"]
        ).fetchall()
        for (old,) in older:
            admin.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{kept}_making" TEMPLATE "{name}"')
        admin.execute(f'ALTER DATABASE "{kept}_making" RENAME TO "{kept}"')


def setup_django(url):
    """Django on the database of `url`, migrated."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registrar.settings")
    os.environ.pop("REGISTRAR_TESTING", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# The fields every built student has alike (a pupil of Wuhan, Hubei), for `insert_students`.
TYPICAL_STUDENT = {
    "birth_place": "湖北省",
    "native_place": "湖北省",
    "ethnicity": "01",
    "nationality": "156",
    "id_type": "1",
    "overseas": "00",
    "health": "10",
    "hukou_place": "湖北省武汉市",
    "hukou_type": "2",
    "address": "武汉市",
    "phone": "13800000000",
    "admission": "11",
    "attendance": "1",
}


def insert_students(rows, *, now=None, chunk=50_000):
    """Write students as bulk_create would, but fast: each of `rows` a dict of field values (by
    attname) over the model's defaults, `created_at` and `updated_at` set to `now` (the current
    time), written by COPY (students/roster/bulk.py) `chunk` rows a statement. Returns their ids,
    in the order of `rows`. About ten times faster than bulk_create (which binds every value of every
    row as a parameter of a 20,000-row INSERT): 100,000 students in a few seconds, not 35."""
    from django.db import connection
    from django.utils import timezone

    from students.models import Student
    from students.roster import bulk

    blank = Student()
    now = now or timezone.now()
    defaults = {
        field.attname: field.get_db_prep_save(getattr(blank, field.attname), connection)
        for field in Student._meta.concrete_fields
    }
    defaults.update(created_at=now, updated_at=now)
    names = list(defaults)
    columns = [Student._meta.get_field(name).column for name in names]
    ids, batch = [], []

    def write():
        taken = bulk.allocate_ids(Student, len(batch))
        written = [{**defaults, **values, "id": pk} for pk, values in zip(taken, batch, strict=True)]
        bulk.insert_rows(Student, columns, [tuple(row[name] for name in names) for row in written])
        ids.extend(taken)
        batch.clear()

    for values in rows:
        batch.append(values)
        if len(batch) == chunk:
            write()
    if batch:
        write()
    return ids


def peak_mb(*, children=False):
    """Peak resident memory of this process (or of its largest finished child), in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def p95(values):
    values = sorted(values)
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def result(what, size, seconds, *, target, met, queries=None, peak=None):
    """One row of the table: `seconds` a list of timings (or one)."""
    seconds = seconds if isinstance(seconds, list | tuple) else [seconds]
    return {
        "what": what,
        "size": size,
        "median_s": round(statistics.median(seconds), 4),
        "p95_s": round(p95(seconds), 4),
        "queries": queries,
        "peak_mb": peak if peak is not None else peak_mb(),
        "target": target,
        "met": bool(met),
    }


def write_json(path, rows):
    if path:
        Path(path).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


def finish(args, rows):
    """Write the rows (--json) and exit 1 when a target was missed."""
    write_json(args.json, rows)
    sys.exit(0 if all(row["met"] for row in rows) else 1)


def cpu_seconds(time_output):
    """User + system seconds from the output of /usr/bin/time -v: on a shared machine, the time
    the command needed rather than the time it waited for a core."""
    user = re.search(r"User time \(seconds\): ([\d.]+)", time_output)
    system = re.search(r"System time \(seconds\): ([\d.]+)", time_output)
    return float(user[1]) + float(system[1]) if user and system else None


def measured(command, env, *, cpu=None):
    """Run `command` under /usr/bin/time -v: (seconds, peak MB, its output). `cpu`: a list that
    gets the command's CPU seconds appended."""
    result = subprocess.run(
        ["/usr/bin/time", "-v", *command], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    wall = re.search(r"Elapsed \(wall clock\) time .*?: (?:(\d+):)?(\d+):([\d.]+)", result.stderr)
    seconds = int(wall[1] or 0) * 3600 + int(wall[2]) * 60 + float(wall[3])
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)[1]) / 1024
    if cpu is not None:
        cpu.append(cpu_seconds(result.stderr))
    said = result.stdout + result.stderr.split("\tCommand being timed")[0]
    lines = [line for line in said.splitlines() if line.strip() and not line.startswith("Command exited")]
    return seconds, peak, lines[-1] if lines else ""
