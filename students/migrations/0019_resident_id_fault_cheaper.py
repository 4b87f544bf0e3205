"""The same resident-ID check as migration 0015's `students_resident_id_fault`, in cheaper operations.

PostgreSQL evaluates the partial index's predicate on every student row it writes: each row of a
roster import's COPY, each row a promotion moves. Measured on the two-core VM, inserting 100,000
rows (benchmarks/README.md, issue 19 ninth round): the predicate cost 5.0 µs a row; as here, 3.7 µs.

- The form: 18 bytes of which all but a last X are digits (`ltrim` of the digits leaves '' or 'X'),
  rather than 18 characters, the first 17 trimmed and the last looked up among eleven: the same
  numbers pass (a character outside ASCII takes more than one byte and is never trimmed).
- The check digit: each digit's code point (`ascii`, 48 for 0) weighted, less 48 times the weights'
  sum, rather than each digit cast to an integer through its text form.
- The sex: the parity of the 17th digit's code point, which is the digit's.

Results are unchanged (tests/test_problems_detection.py compares them with the Python rules), so the
index's entries stand as they are.
"""

import importlib

from django.db import migrations

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Each digit's code point is 48 more than the digit ("0" is 48): the weighted sum of the code points
# is this much more than the digits'.
OFFSET = 48 * sum(WEIGHTS)

WEIGHTED = "\n            + ".join(
    f"ascii(substr(number, {position}, 1)) * {weight}" for position, weight in enumerate(WEIGHTS, start=1)
)

FUNCTION = f"""
CREATE OR REPLACE FUNCTION students_resident_id_fault(number text, birth date, sex text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN NOT (octet_length(number) = 18 AND ltrim(number, '0123456789') IN ('', 'X')) THEN true
    WHEN substr(number, 18, 1) <> substr(
        '10X98765432',
        (
            {WEIGHTED}
            - {OFFSET}
        ) % 11 + 1,
        1
    ) THEN true
    WHEN substr(number, 7, 8)::int <> (
        date_part('year', birth) * 10000 + date_part('month', birth) * 100 + date_part('day', birth)
    )::int THEN true
    WHEN (sex = '1' AND ascii(substr(number, 17, 1)) % 2 = 0)
        OR (sex = '2' AND ascii(substr(number, 17, 1)) % 2 = 1) THEN true
    ELSE false
END
$$
"""


def cheaper(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


def as_before(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        before = importlib.import_module("students.migrations.0015_student_resident_id_fault")
        schema_editor.execute(before.FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("students", "0018_student_school_grade_copies"),
    ]

    operations = [migrations.RunPython(cheaper, as_before)]
