"""学生情况统计表 (domain §11): the students of a node counted by 学籍状态, and the students in school
(在校) by sex, ethnic group, household registration, family situation, disability, 港澳台侨外,
problem records and open requests; one row per unit one level down, each row opening the same
table for that unit (province → city → county → township → school → grade → class).

Everything is counted by the database, grouped by school (by grade or class inside a school), in
four queries whatever the number of students; the rows of a region are then the sums of its
schools, added up here. On PostgreSQL the counts by status and category are read from the counts
per class that the database keeps exact (reports/models.py), not from every student; on SQLite
they are counted from the students.
"""

from dataclasses import dataclass

from django.db.models import Case, Count, F, IntegerField, Q, Sum, When
from django.db.models.functions import Cast, StrIndex, Substr
from django.db.models.lookups import Exact
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registrar.choices import OPEN_STATES, NodeKind
from registrar.models import ApprovalRequest, Grade, Organisation, SchoolClass, grade_name
from reports.models import COUNTED, StudentCount, stored_counts_kept
from reports.tables import Chart, Column, Table, add_counts, chart_table
from reports.units import Unit, region_units, schools_under, unit_rows
from students.models import LOCKED_STATUSES, ProblemRecord, ProblemState, Status, Student

# 学籍状态 in the order of the national summary; a cancelled registration is no registration.
STATUSES = (Status.REGISTERING, Status.ENROLLED, Status.SUSPENDED, *LOCKED_STATUSES)
MALE, FEMALE = "1", "2"
AGRICULTURAL, NON_AGRICULTURAL = "1", "2"
# GB 3304: 01 is 汉族, 02–56 the other 55 groups; 97 其他 and 98 外国血统 are not minorities.
MINORITY = Q(ethnicity__gte="02", ethnicity__lte="56")
# The county a school belongs to, by name: its parent, or its township's parent. A school run by
# a city (市直) has no county: its city takes that place.
LOCAL_AREA_NAME = Case(
    When(school__parent__kind=NodeKind.TOWNSHIP, then=F("school__parent__parent__name")),
    default=F("school__parent__name"),
)
# 户口所在地 is the text of the household register, not a division code: a student's household is
# outside the county when the text does not name the school's county.
NON_LOCAL = Exact(StrIndex("hukou_place", LOCAL_AREA_NAME), 0)

IN_SCHOOL_COUNTS = {
    "male": Count("pk", filter=Q(gender=MALE)),
    "female": Count("pk", filter=Q(gender=FEMALE)),
    "minority": Count("pk", filter=MINORITY),
    "agricultural": Count("pk", filter=Q(hukou_type=AGRICULTURAL)),
    "non_agricultural": Count("pk", filter=Q(hukou_type=NON_AGRICULTURAL)),
    "non_local": Count("pk", filter=NON_LOCAL),
    "migrant_child": Count("pk", filter=Q(migrant_child=True)),
    "left_behind": Count("pk", filter=Q(left_behind=True)),
    "orphan": Count("pk", filter=Q(orphan=True)),
    "martyr_child": Count("pk", filter=Q(martyr_child=True)),
    "disabled": Count("pk", filter=~Q(disability__in=["", "0"])),
    "overseas": Count("pk", filter=~Q(overseas="00")),
}
IN_SCHOOL_LABELS = {
    "enrolled": gettext_lazy("In school"),
    "male": gettext_lazy("Male"),
    "female": gettext_lazy("Female"),
    "minority": gettext_lazy("Ethnic minorities"),
    "agricultural": gettext_lazy("Agricultural household"),
    "non_agricultural": gettext_lazy("Non-agricultural household"),
    "non_local": gettext_lazy("Household outside the county"),
    "migrant_child": gettext_lazy("Children of migrant workers"),
    "left_behind": gettext_lazy("Left-behind children"),
    "orphan": gettext_lazy("Orphans"),
    "martyr_child": gettext_lazy("Children of martyrs or entitled families"),
    "disabled": gettext_lazy("Disabled"),
    "overseas": gettext_lazy("Hong Kong, Macao, Taiwan or overseas"),
    "problems": gettext_lazy("With a problem record"),
    "open_requests": gettext_lazy("With a request in progress"),
}


@dataclass
class StudentReport:
    node: Organisation
    grade: Grade | None
    row_heading: str
    status: Table
    in_school: Table
    chart: Chart


def report_url(node, grade=None):
    if grade is not None:
        return reverse("reports:students_grade", args=[node.code, grade.level])
    return reverse("reports:students", args=[node.code])


def _school_units(school):
    grades = list(Grade.objects.filter(school=school).select_related("school").order_by("level"))
    return [Unit(grade.pk, grade.name, report_url(school, grade)) for grade in grades]


def _class_units(grade):
    roster = reverse("students:roster")
    classes = SchoolClass.objects.filter(grade=grade).order_by("name")
    return [
        Unit(
            school_class.pk,
            school_class.name,
            f"{roster}?school={grade.school.code}&grade={grade.level}&school_class={school_class.pk}",
        )
        for school_class in classes
    ]


def student_report(user, node, *, grade=None):
    """The report of `node` (a region or a school) or of one grade of a school, for `user`."""
    # The chart's categories: grade levels of a region (its schools' grades, by level), else the rows.
    by_level = False
    if grade is not None:
        within = {"grade": grade}
        units, field, owner, heading = _class_units(grade), "school_class_id", None, _("Class")
    elif node.is_school:
        within = {"school": node}
        units, field, owner, heading = _school_units(node), "grade_id", None, _("Grade")
    else:
        # The user's own node is already the whole of visible_to: no second look at the tree.
        within = {} if node.pk == user.node_id else {"school__in": schools_under(node)}
        units, owner = region_units(node, report_url)
        field, heading, by_level = "school_id", _("Unit"), True

    def unit_of(value):
        return owner.get(value) if owner is not None else value

    status_counts = {unit.key: {} for unit in units}
    in_school = {unit.key: {} for unit in units}
    by_category = {}
    for row in _counts(user, within, (field, "status")):
        unit = unit_of(row[field])
        add_counts(status_counts.setdefault(unit, {}), {row["status"]: row["n"]})
        if row["status"] != Status.ENROLLED:
            continue
        counts = {"enrolled": row["n"], **{key: row[key] for key in IN_SCHOOL_COUNTS}}
        add_counts(in_school.setdefault(unit, {}), counts)
        if not by_level:
            add_counts(by_category.setdefault(row[field], {}), counts)
    if by_level:
        for row in _counts(user, {**within, "status": Status.ENROLLED}, ("grade__level",)):
            add_counts(
                by_category.setdefault(row["grade__level"], {}),
                {"male": row["male"], "female": row["female"]},
            )

    students = Student.objects.visible_to(user).filter(**within)
    enrolled = students.filter(status=Status.ENROLLED)
    for key, ids in (("problems", _with_open_problem()), ("open_requests", _with_open_request())):
        for row in enrolled.filter(pk__in=ids).values(field).annotate(n=Count("pk")).order_by():
            add_counts(in_school.setdefault(unit_of(row[field]), {}), {key: row["n"]})

    return StudentReport(
        node=node,
        grade=grade,
        row_heading=heading,
        status=_status_table(units, status_counts, heading),
        in_school=_in_school_table(units, in_school, heading),
        chart=_sex_chart(node, grade, units, by_category, by_level),
    )


def _counts(user, within, group):
    """The students `user` sees `within` (filters) but cancelled registrations, counted by `group`
    (names of values()) and by category (`n` all of them): from the counts per class PostgreSQL
    keeps, or from the students themselves."""
    if not stored_counts_kept():
        students = Student.objects.visible_to(user).filter(**within).exclude(status=Status.CANCELLED)
        return students.values(*group).annotate(n=Count("pk"), **IN_SCHOOL_COUNTS).order_by()
    counts = StudentCount.objects.visible_to(user).filter(**within).exclude(status=Status.CANCELLED)
    sums = counts.values(*group).annotate(**{f"sum_{name}": Sum(name) for name in COUNTED}).order_by()
    renamed = {f"sum_{name}": "n" if name == "students" else name for name in COUNTED}
    return [{renamed.get(key, key): value for key, value in row.items()} for row in sums]


def _with_open_problem():
    return ProblemRecord.objects.filter(state=ProblemState.OPEN).values("student_id")


def _with_open_request():
    """The students with a request in progress (在办业务: the engine's `subject_key` "student:<pk>")."""
    prefix = "student:"
    return (
        ApprovalRequest.objects.filter(state__in=OPEN_STATES, subject_key__startswith=prefix)
        .annotate(student_pk=Cast(Substr("subject_key", len(prefix) + 1), IntegerField()))
        .values("student_pk")
    )


def status_columns():
    return [
        Column("total", _("All records")),
        *(Column(status.value, str(status.label)) for status in STATUSES),
    ]


def in_school_columns():
    return [Column(key, str(label)) for key, label in IN_SCHOOL_LABELS.items()]


def _status_table(units, counts, heading):
    for values in counts.values():
        values["total"] = sum(values.get(status.value, 0) for status in STATUSES)
    columns = status_columns()
    rows = unit_rows(units, counts)
    return Table.of_counts(_("Students by status"), heading, columns, rows, sheet=_("By status"))


def _in_school_table(units, counts, heading):
    columns = in_school_columns()
    rows = unit_rows(units, counts)
    return Table.of_counts(
        _("Students in school by category"),
        heading,
        columns,
        rows,
        sheet=_("In school"),
        note=_(
            "Household outside the county: the household registration place does not name the "
            "school's county (the city for a school run by a city)."
        ),
    )


def _sex_chart(node, grade, units, by_level, levels):
    """In-school students by grade and sex (by class and sex inside a grade)."""
    if levels:
        keys = sorted(by_level)
        segment_school = node if node.is_school else None
        categories = [
            grade_name(level, segment_school.segment_of_level(level) if segment_school else None)
            for level in keys
        ]
        title = _("Students in school by grade and sex")
    else:
        keys = [unit.key for unit in units]
        categories = [unit.label for unit in units]
        title = (
            _("Students in school by class and sex") if grade else _("Students in school by grade and sex")
        )
    series = [
        (_("Male"), [by_level.get(key, {}).get("male", 0) for key in keys]),
        (_("Female"), [by_level.get(key, {}).get("female", 0) for key in keys]),
    ]
    chart = Chart("students-by-sex", title, categories, series, stacked=True)
    chart.table = chart_table(chart, _("Class") if grade else _("Grade"))
    return chart
