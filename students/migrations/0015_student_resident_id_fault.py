"""The per-row resident-ID check of the problem detection, kept by PostgreSQL in a partial index.

`students_resident_id_fault(number, birth date, sex)` is true when a resident ID number is not 17
digits and a check digit (0-9 or X), has the wrong check digit, encodes another birth date than the
record's, or the other sex: the same checks, in the same order, as the scan that
problems.detection.invalid_id_candidates makes row by row on other databases. The partial index
`student_resident_id_fault` holds only the records whose number fails, so that the detection reads
those few rows rather than the digits of a million numbers. PostgreSQL keeps the index right on
every write (ORM saves, the roster import's COPY, bulk updates, corrections), as any index.

The function is IMMUTABLE (built only of immutable functions: the birth date is compared as the
number YYYYMMDD, not as text, whose form would depend on DateStyle) and written in SQL so that it is
inlined in the index predicate and in the detection's query alike. SQLite gets neither: its scan is
the plain one.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION students_resident_id_fault(number text, birth date, sex text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN NOT (
        length(number) = 18
        AND ltrim(substr(number, 1, 17), '0123456789') = ''
        AND substr(number, 18, 1) IN ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X')
    ) THEN true
    WHEN substr(number, 18, 1) <> substr(
        '10X98765432',
        (
            substr(number, 1, 1)::int * 7 + substr(number, 2, 1)::int * 9
            + substr(number, 3, 1)::int * 10 + substr(number, 4, 1)::int * 5
            + substr(number, 5, 1)::int * 8 + substr(number, 6, 1)::int * 4
            + substr(number, 7, 1)::int * 2 + substr(number, 8, 1)::int * 1
            + substr(number, 9, 1)::int * 6 + substr(number, 10, 1)::int * 3
            + substr(number, 11, 1)::int * 7 + substr(number, 12, 1)::int * 9
            + substr(number, 13, 1)::int * 10 + substr(number, 14, 1)::int * 5
            + substr(number, 15, 1)::int * 8 + substr(number, 16, 1)::int * 4
            + substr(number, 17, 1)::int * 2
        ) % 11 + 1,
        1
    ) THEN true
    WHEN substr(number, 7, 8)::int <> (
        date_part('year', birth) * 10000 + date_part('month', birth) * 100 + date_part('day', birth)
    )::int THEN true
    WHEN (sex = '1' AND substr(number, 17, 1)::int % 2 = 0)
        OR (sex = '2' AND substr(number, 17, 1)::int % 2 = 1) THEN true
    ELSE false
END
$$
"""

# The predicate is repeated word for word by problems.detection (RESIDENT_ID_FAULT_SQL): PostgreSQL
# uses a partial index only for a query whose condition implies the index's.
INDEX = """
CREATE INDEX student_resident_id_fault ON students_student (id)
WHERE id_type = '1' AND id_number <> ''
    AND students_resident_id_fault(id_number, birth_date, gender)
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)
        schema_editor.execute(INDEX, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS student_resident_id_fault")
        schema_editor.execute("DROP FUNCTION IF EXISTS students_resident_id_fault(text, date, text)")


class Migration(migrations.Migration):
    dependencies = [
        ("students", "0014_promotion_indexes"),
    ]

    operations = [migrations.RunPython(create, drop)]
