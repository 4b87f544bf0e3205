"""The graduation audit (毕业资格审核): every student of the graduating grades under a node, judged by
the province's rules, with each failing rule's reason.

`audit(node)` reads everything it needs in a fixed number of queries (schools, grades, provinces,
rules, students, results, open requests, problem records, open lists) whatever the number of
students, and judges them in memory: a county's 100,000 students in a few seconds
(benchmarks/graduation_audit.py).
"""

from collections import Counter
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from graduation.models import Check, Entry, Result
from graduation.rules import Facts, Judgement, Verdict, effective_rules, judge, segment_years
from registrar.calendar import is_graduating_level
from registrar.choices import OPEN_STATES, NodeKind
from registrar.models import ApprovalRequest, Grade, Organisation
from students.models import ProblemKind, ProblemRecord, Status, Student
from students.services import subject_key

AUDITED_STATUSES = (Status.ENROLLED, Status.SUSPENDED)
RESULT_FIELDS = ("credits", "moral", "fitness", "courses", "internship", "internship_report", "fees_paid")
STUDENT_FIELDS = (
    "pk",
    "name",
    "number",
    "gender",
    "status",
    "school_id",
    "grade_id",
    "school_class_id",
    "school_class__name",
    "class_number",
    "enrolled_on",
    "photo",
)


@dataclass
class Row:
    """One student of the audit."""

    pk: int
    name: str
    number: str
    gender: str
    status: str
    school: Organisation
    grade: Grade
    class_id: int
    class_name: str
    class_number: str
    segment: str
    judgement: Judgement
    facts: Facts
    # On a graduation list that is still open.
    listed: bool = False

    @property
    def verdict(self):
        return self.judgement.verdict

    @property
    def status_label(self):
        return Status(self.status).label


@dataclass
class Audit:
    rows: list
    schools: list

    def counts(self):
        counted = Counter(row.verdict for row in self.rows)
        return [(verdict, Verdict.LABELS[verdict], counted.get(verdict, 0)) for verdict in Verdict.ORDER]

    def reason_counts(self):
        counted = Counter(check for row in self.rows for check, _reason in row.judgement.failures)
        return [(check, Check(check).label, counted[check]) for check in Check if counted.get(check)]

    def filter(self, *, segment="", school_class=None, verdict="", reason=""):
        rows = self.rows
        if segment:
            rows = [row for row in rows if row.segment == segment]
        if school_class:
            rows = [row for row in rows if row.class_id == school_class]
        if verdict:
            rows = [row for row in rows if row.verdict == verdict]
        if reason:
            rows = [row for row in rows if row.judgement.failed(reason)]
        return Audit(rows, self.schools)


def final_grades(schools):
    """The graduating grades of `schools` (the last grade of each segment they teach), one query."""
    grades = Grade.objects.filter(school__in=schools).order_by("school_id", "level")
    by_school = {school.pk: school for school in schools}
    found = []
    for grade in grades:
        grade.school = by_school[grade.school_id]
        if is_graduating_level(grade.school, grade.level):
            found.append(grade)
    return found


def _province_ids(schools):
    codes = {school.path.split("/", 1)[0] for school in schools}
    return dict(Organisation.objects.filter(code__in=codes, kind=NodeKind.PROVINCE).values_list("code", "pk"))


def open_requests(student_ids):
    """{student id: the label of an open request about them}: every open request keyed by a student,
    in one query (their number is small beside the students')."""
    found = {}
    keys = ApprovalRequest.objects.open().filter(subject_key__startswith="student:")
    for key, label in keys.values_list("subject_key", "subject_label"):
        student_id = key.partition(":")[2]
        if student_id.isdigit() and int(student_id) in student_ids:
            found[int(student_id)] = label
    return found


def problems_of(students):
    # Either party of a pair (the same ID in two registrations) is blocked.
    records = ProblemRecord.objects.unresolved().filter(
        Q(student__in=students) | Q(other_student__in=students)
    )
    found = {}
    for student_id, other_id, kind in records.values_list("student_id", "other_student_id", "kind"):
        for party in (student_id, other_id):
            if party is not None:
                found.setdefault(party, str(ProblemKind(kind).label))
    return found


def listed_students(students):
    """Students on a graduation list that is still open (not taken out)."""
    entries = Entry.objects.filter(
        student__in=students, removed_at__isnull=True, graduation_list__approval__state__in=list(OPEN_STATES)
    )
    return set(entries.values_list("student_id", flat=True))


def audit(node, *, on=None, students=None, statuses=AUDITED_STATUSES):
    """The audit of the graduating grades under `node` (a school or any node above), or of the given
    `students` queryset (restricted the same way)."""
    on = on or timezone.localdate()
    schools = list(Organisation.objects.filter(path__startswith=node.path, kind=NodeKind.SCHOOL))
    grades = final_grades(schools)
    grade_by_id = {grade.pk: grade for grade in grades}
    provinces = _province_ids(schools)
    # Computed once per grade, not once per student.
    segment_of = {grade.pk: grade.segment for grade in grades}
    years_of = {grade.pk: segment_years(grade.school, segment_of[grade.pk]) for grade in grades}
    segments = set(segment_of.values())
    rules = effective_rules(set(provinces.values()), segments)
    queryset = students if students is not None else Student.objects.all()
    queryset = queryset.filter(grade__in=[grade.pk for grade in grades], status__in=statuses).order_by(
        "school_id", "grade_id", "school_class__name", "class_number", "name", "pk"
    )
    values = list(queryset.values(*STUDENT_FIELDS))
    ids = {value["pk"] for value in values}
    results = {
        value.pop("student_id"): value
        for value in Result.objects.filter(student__in=queryset).values("student_id", *RESULT_FIELDS)
    }
    requests = open_requests(ids)
    problems = problems_of(queryset)
    listed = listed_students(queryset)
    rows = []
    for value in values:
        grade = grade_by_id[value["grade_id"]]
        school = grade.school
        segment = segment_of[grade.pk]
        facts = Facts(
            status=value["status"],
            segment=segment,
            final_grade=True,
            enrolled_on=value["enrolled_on"],
            has_photo=bool(value["photo"]),
            segment_years=years_of[grade.pk],
            open_request=requests.get(value["pk"], ""),
            problem=problems.get(value["pk"], ""),
            result=results.get(value["pk"]),
            on=on,
        )
        province_id = provinces.get(school.path.split("/", 1)[0])
        rows.append(
            Row(
                pk=value["pk"],
                name=value["name"],
                number=value["number"] or "",
                gender=value["gender"],
                status=value["status"],
                school=school,
                grade=grade,
                class_id=value["school_class_id"],
                class_name=value["school_class__name"],
                class_number=value["class_number"],
                segment=segment,
                judgement=judge(rules.get((province_id, segment), []), facts),
                facts=facts,
                listed=value["pk"] in listed,
            )
        )
    return Audit(rows, schools)


def judge_student(student, *, on=None, exclude_approval=None):
    """The judgement of one student (any grade, any status) by the rules of their school's province
    and their grade's stage: for a list's entries, an exchange, a reviewer's look."""
    on = on or timezone.localdate()
    school = student.school
    segment = student.grade.segment
    province = Organisation.objects.filter(code=school.path.split("/", 1)[0]).first()
    rules = effective_rules([province.pk], [segment])[(province.pk, segment)]
    requests = open_requests({student.pk})
    if exclude_approval is not None and requests:
        requests = {} if not _other_open(student, exclude_approval) else requests
    problems = problems_of(Student.objects.filter(pk=student.pk))
    result = Result.objects.filter(student=student).values(*RESULT_FIELDS).first()
    facts = Facts(
        status=student.status,
        segment=segment,
        final_grade=is_graduating_level(school, student.grade.level),
        enrolled_on=student.enrolled_on,
        has_photo=bool(student.photo),
        segment_years=segment_years(school, segment),
        open_request=requests.get(student.pk, ""),
        problem=problems.get(student.pk, ""),
        result=result,
        on=on,
    )
    return rules, facts, judge(rules, facts)


def _other_open(student, approval):
    return (
        ApprovalRequest.objects.open()
        .filter(subject_key=subject_key(student))
        .exclude(pk=approval.pk)
        .exists()
    )


def graduation_year(on=None):
    """The calendar year in which the current school year's graduates leave (June 2026 → 2026)."""
    on = on or timezone.localdate()
    return on.year if on.month < 9 else on.year + 1
