"""PostgreSQL: the UPDATE trigger of the student counts adds the old rows' counts (−1) and the new
rows' (+1) in one aggregate, without joining the two transition tables.

0002 joined the old and new rows by id twice (once for the rows removed, once for those added) to keep
only the rows whose counted columns changed. A row whose counted columns did not change falls in the
same group with −1 and +1 and adds nothing, so the join is not needed for exact counts: the groups whose
every difference is zero are left out before the upsert, and an UPDATE that changes no counted column
(a new phone number) writes no count row, as before. A promotion (every row's grade and class change)
spent about a third of its UPDATE in that trigger.
"""

import importlib

from django.db import migrations

triggers = importlib.import_module("reports.migrations.0002_student_count_triggers")
COUNTS, COLUMNS, KEY, ADD = triggers.COUNTS, triggers.COLUMNS, triggers.KEY, triggers.ADD


def add_differences(rows):
    """Like 0002's add_counts, leaving out the groups whose every difference is zero."""
    return f"""
    INSERT INTO reports_studentcount ({KEY}, {COLUMNS})
    SELECT * FROM (
        SELECT s.school_id, s.grade_id, s.school_class_id, s.status, {COUNTS}
        FROM ({rows}) AS s
        JOIN registrar_organisation o ON o.id = s.school_id
        JOIN registrar_organisation p ON p.id = o.parent_id
        LEFT JOIN registrar_organisation gp ON gp.id = p.parent_id
        GROUP BY s.school_id, s.grade_id, s.school_class_id, s.status
    ) AS d ({KEY}, {COLUMNS})
    WHERE ({COLUMNS}) <> ({", ".join("0" for _column in COLUMNS.split(", "))})
    -- In key order, so that two statements lock the rows they share in the same order.
    ORDER BY {KEY}
    ON CONFLICT ({KEY}) DO UPDATE SET {ADD};
    """


FORWARD = f"""
CREATE OR REPLACE FUNCTION reports_count_students() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {triggers.add_counts("SELECT *, 1 AS sign FROM new_rows")}
    ELSIF TG_OP = 'DELETE' THEN
        {triggers.add_counts("SELECT *, -1 AS sign FROM old_rows")}
    ELSE
        {add_differences("SELECT *, -1 AS sign FROM old_rows UNION ALL SELECT *, 1 AS sign FROM new_rows")}
    END IF;
    RETURN NULL;
END $$;
"""

# 0002's function again.
BACKWARD = f"""
CREATE OR REPLACE FUNCTION reports_count_students() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {triggers.add_counts("SELECT *, 1 AS sign FROM new_rows")}
    ELSIF TG_OP = 'DELETE' THEN
        {triggers.add_counts("SELECT *, -1 AS sign FROM old_rows")}
    ELSE
        {triggers.add_counts(triggers.CHANGED)}
    END IF;
    RETURN NULL;
END $$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_student_count_triggers")]

    operations = [migrations.RunPython(forward, backward)]
