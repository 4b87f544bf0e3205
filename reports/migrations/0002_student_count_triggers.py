"""PostgreSQL: the triggers that keep reports_studentcount exact, and its first count.

See reports/models.py. On SQLite nothing is created: the report counts the students directly.
"""

from django.db import migrations

# The counts of student rows `s` (with `sign`), the county of each school being its parent or its
# township's parent: the same conditions as IN_SCHOOL_COUNTS of reports/students.py.
COUNTS = """
    sum(sign),
    coalesce(sum(sign) FILTER (WHERE s.gender = '1'), 0),
    coalesce(sum(sign) FILTER (WHERE s.gender = '2'), 0),
    coalesce(sum(sign) FILTER (WHERE s.ethnicity >= '02' AND s.ethnicity <= '56'), 0),
    coalesce(sum(sign) FILTER (WHERE s.hukou_type = '1'), 0),
    coalesce(sum(sign) FILTER (WHERE s.hukou_type = '2'), 0),
    coalesce(sum(sign) FILTER (WHERE strpos(s.hukou_place, CASE WHEN p.kind = 'township' THEN gp.name ELSE p.name END) = 0), 0),
    coalesce(sum(sign) FILTER (WHERE s.migrant_child), 0),
    coalesce(sum(sign) FILTER (WHERE s.left_behind), 0),
    coalesce(sum(sign) FILTER (WHERE s.orphan), 0),
    coalesce(sum(sign) FILTER (WHERE s.martyr_child), 0),
    coalesce(sum(sign) FILTER (WHERE s.disability NOT IN ('', '0')), 0),
    coalesce(sum(sign) FILTER (WHERE s.overseas <> '00'), 0)
"""
COLUMNS = (
    "students, male, female, minority, agricultural, non_agricultural, non_local, migrant_child, "
    "left_behind, orphan, martyr_child, disabled, overseas"
)
KEY = "school_id, grade_id, school_class_id, status"
ADD = ", ".join(
    f"{column} = reports_studentcount.{column} + EXCLUDED.{column}" for column in COLUMNS.split(", ")
)
# The student columns the counts depend on: an UPDATE that changes none of them changes no count.
WATCHED = (
    "school_id, grade_id, school_class_id, status, gender, ethnicity, hukou_type, hukou_place, "
    "migrant_child, left_behind, orphan, martyr_child, disability, overseas"
)


def add_counts(rows):
    """Add the counts of `rows` (a query of student rows with a `sign` column: 1 added, -1 removed)."""
    return f"""
    INSERT INTO reports_studentcount ({KEY}, {COLUMNS})
    SELECT s.school_id, s.grade_id, s.school_class_id, s.status, {COUNTS}
    FROM ({rows}) AS s
    JOIN registrar_organisation o ON o.id = s.school_id
    JOIN registrar_organisation p ON p.id = o.parent_id
    LEFT JOIN registrar_organisation gp ON gp.id = p.parent_id
    GROUP BY s.school_id, s.grade_id, s.school_class_id, s.status
    -- In key order, so that two statements lock the rows they share in the same order.
    ORDER BY s.school_id, s.grade_id, s.school_class_id, s.status
    ON CONFLICT ({KEY}) DO UPDATE SET {ADD};
    """


CHANGED = f"""
    SELECT o.*, -1 AS sign FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE ({", ".join("o." + c for c in WATCHED.split(", "))})
        IS DISTINCT FROM ({", ".join("n." + c for c in WATCHED.split(", "))})
    UNION ALL
    SELECT n.*, 1 AS sign FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE ({", ".join("o." + c for c in WATCHED.split(", "))})
        IS DISTINCT FROM ({", ".join("n." + c for c in WATCHED.split(", "))})
"""

FORWARD = f"""
CREATE FUNCTION reports_count_students() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {add_counts("SELECT *, 1 AS sign FROM new_rows")}
    ELSIF TG_OP = 'DELETE' THEN
        {add_counts("SELECT *, -1 AS sign FROM old_rows")}
    ELSE
        {add_counts(CHANGED)}
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER reports_count_inserted AFTER INSERT ON students_student
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_count_students();
CREATE TRIGGER reports_count_deleted AFTER DELETE ON students_student
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_count_students();
CREATE TRIGGER reports_count_updated AFTER UPDATE ON students_student
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_count_students();

CREATE FUNCTION reports_forget_students() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM reports_studentcount;
    RETURN NULL;
END $$;
CREATE TRIGGER reports_count_truncated AFTER TRUNCATE ON students_student
    FOR EACH STATEMENT EXECUTE FUNCTION reports_forget_students();

-- Count the students of these schools again (NULL: of every school).
CREATE FUNCTION reports_recount_students(schools int[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM reports_studentcount WHERE schools IS NULL OR school_id = ANY(schools);
    {add_counts("SELECT *, 1 AS sign FROM students_student WHERE schools IS NULL OR school_id = ANY(schools)")}
END $$;

-- A renamed or moved node changes which households are outside a county for the schools of its
-- county (the county itself, a township below it, a school).
CREATE FUNCTION reports_recount_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    schools int[];
BEGIN
    WITH changed AS (
        SELECT n.id FROM new_nodes n JOIN old_nodes o ON o.id = n.id
        WHERE (o.name, o.parent_id, o.kind) IS DISTINCT FROM (n.name, n.parent_id, n.kind)
    )
    SELECT array_agg(s.id) INTO schools
    FROM registrar_organisation s
    LEFT JOIN registrar_organisation p ON p.id = s.parent_id
    WHERE s.kind = 'school'
        AND (s.id IN (SELECT id FROM changed) OR s.parent_id IN (SELECT id FROM changed)
             OR p.parent_id IN (SELECT id FROM changed));
    IF schools IS NOT NULL THEN
        PERFORM reports_recount_students(schools);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER reports_recount_moved AFTER UPDATE ON registrar_organisation
    REFERENCING OLD TABLE AS old_nodes NEW TABLE AS new_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION reports_recount_moved();

SELECT reports_recount_students(NULL);
"""

BACKWARD = """
DROP TRIGGER IF EXISTS reports_recount_moved ON registrar_organisation;
DROP TRIGGER IF EXISTS reports_count_inserted ON students_student;
DROP TRIGGER IF EXISTS reports_count_deleted ON students_student;
DROP TRIGGER IF EXISTS reports_count_updated ON students_student;
DROP TRIGGER IF EXISTS reports_count_truncated ON students_student;
DROP FUNCTION IF EXISTS reports_recount_moved();
DROP FUNCTION IF EXISTS reports_recount_students(int[]);
DROP FUNCTION IF EXISTS reports_forget_students();
DROP FUNCTION IF EXISTS reports_count_students();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_student_counts"),
        ("students", "0010_overseas_codes"),
        ("registrar", "0007_approval_subjects"),
    ]

    operations = [migrations.RunPython(forward, backward)]
