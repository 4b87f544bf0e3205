"""Benchmark: checking resident ID numbers as a county's roster import does.

Every row of an import goes through `students.identity.check_id` (shape, region, birth date, check
digit, the age against the grade). This times it over many valid numbers, without a database.

    .venv/bin/python benchmarks/id_checks.py                 # 100,000 numbers
    .venv/bin/python benchmarks/id_checks.py --count 20000
    .venv/bin/python benchmarks/id_checks.py --quick --json rows.json   # the protocol of run_all.py

Target: 10,000 numbers a second or more (a county's 100,000 rows in at most 10 s of checking;
measured about 10 times faster than that). The script exits 1 when the target is missed.
"""

import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import finish, parser, result, scaled

TARGET_PER_SECOND = 10_000


def main():
    arguments = parser(__doc__)
    arguments.add_argument("--count", type=int, default=100_000)
    args = arguments.parse_args()
    # No database: --database-url is accepted and not needed.
    args.count = scaled(args, args.count)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registrar.settings")
    import django

    django.setup()
    from stdnum.iso7064 import mod_11_2

    from students.identity import check_id

    today = date(2026, 10, 1)
    numbers = []
    for index in range(args.count):
        body = f"420102{date(2015, 1, 1 + index % 28):%Y%m%d}{index % 999 + 1:03d}"
        numbers.append(body + mod_11_2.calc_check_digit(body))

    started = time.perf_counter()
    problems = sum(bool(check_id("1", number, grade_level=5, today=today)) for number in numbers)
    elapsed = time.perf_counter() - started

    rate = args.count / elapsed
    print(f"{args.count:,} numbers checked in {elapsed:.2f} s: {rate:,.0f} a second ({problems} refused)")
    met = rate >= TARGET_PER_SECOND and problems == 0
    print(f"target: {TARGET_PER_SECOND:,} a second: {'met' if met else 'MISSED'}")
    target = f"≤ {args.count / TARGET_PER_SECOND:g} s ({TARGET_PER_SECOND:,}/s)"
    finish(args, [result("resident ID checks (check_id)", args.count, elapsed, target=target, met=met)])


if __name__ == "__main__":
    main()
