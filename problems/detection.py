"""问题学籍 detection (domain §8): set-based queries that find the records in trouble.

Four kinds, each grouped in the database so that a province of a million students is scanned in a
few seconds (benchmarks/problem_detection.py):
- the same ID number in two registrations, live against live or live against a closed record
  (graduated, left …). Resident IDs match on their first 17 digits, so that the same person under
  an 18-digit number and an old 15-digit one, or with a mistyped check digit, is found as well;
- the same 姓名 + 性别 + 出生日期 among students without an ID number, with at least one live;
- an invalid resident ID of a live student: its format, check digit, the birth date or the sex it
  encodes against the record's (on PostgreSQL read from a partial index of the failing numbers:
  migration students/0013), or an age far from the grade;
- an ID number that changed (field history) and is, or was, another record's.

The database narrows a million rows to the few in trouble; the explanation of each (which check
failed) is then made in Python by students/identity.py, the same rules the forms apply. Each finding
is named by a fingerprint (kind, parties, what matched); `sync_findings` writes the new ones and
closes the open ones that are no longer found.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import (
    Cast,
    Concat,
    Length,
    Mod,
    Replace,
    Substr,
)
from django.utils import timezone

from students.identity import (
    RESIDENT_ID,
    age_range_for_level,
    is_valid_resident_id,
    resident_check_digit,
    school_year_start,
)
from students.models import LIVE_STATUSES, ProblemKind, Status, Student

RESIDENT_18_RE = r"^[0-9]{17}[0-9X]$"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# Years beyond the ordinary age range of a grade (students.identity.age_range_for_level) before an
# age counts as "far from the grade": the forms already warn at the edge of the range.
DEFAULT_AGE_MARGIN = 2


@dataclass
class Finding:
    kind: str
    student_id: int
    other_id: int | None = None
    evidence: dict = field(default_factory=dict)
    key: str = ""

    @property
    def fingerprint(self):
        parts = [self.kind, str(self.student_id), str(self.other_id or "")]
        if self.key:
            parts.append(self.key)
        return ":".join(parts)[:120]


def _digit(position):
    return Cast(Substr("id_number", position, 1), IntegerField())


def id_key():
    """The identity an ID number stands for: a resident ID by its first 17 digits (a 15-digit ID
    widened to 18), any other document by its type and number. Lengths, not patterns: a regular
    expression per row costs more than the rest of the scan."""
    resident = Q(id_type=RESIDENT_ID)
    return Case(
        When(resident & Q(id_length=18), then=Substr("id_number", 1, 17)),
        When(
            resident & Q(id_length=15),
            then=Concat(Substr("id_number", 1, 6), Value("19"), Substr("id_number", 7, 9)),
        ),
        default=Concat(F("id_type"), Value(":"), F("id_number")),
        output_field=CharField(),
    )


def well_formed_resident():
    """17 digits and a check digit (0-9 or X), without a regular expression."""
    return Q(id_length=18, id_digits="", id_last__in=list("0123456789X"))


def with_id_parts(students):
    return students.annotate(
        id_length=Length("id_number"),
        id_digits=Func(
            Substr("id_number", 1, 17), Value("0123456789"), function="LTRIM", output_field=CharField()
        ),
        id_last=Substr("id_number", 18, 1),
    )


def counted(students):
    """Every registration that is or was one: a cancelled registration (refused, or deleted as
    false) is none."""
    return students.exclude(status=Status.CANCELLED)


def _pair_up(kind, members, evidence_of):
    """Findings of one group of records that stand for one person: the earliest live registration
    against each of the others (a later live one is the suspect; so is the live one against a closed one)."""
    live = sorted((m for m in members if m["status"] in LIVE_STATUSES), key=lambda m: m["pk"])
    if not live:
        return []
    anchor = live[0]
    findings = []
    for member in sorted(members, key=lambda m: m["pk"]):
        if member is anchor:
            continue
        if member["status"] in LIVE_STATUSES:
            student, other = member, anchor
        else:
            student, other = anchor, member
        findings.append(Finding(kind, student["pk"], other["pk"], evidence_of(student, other)))
    return findings


def _in_scope(findings, scope_path, paths):
    if not scope_path:
        return findings
    return [
        finding
        for finding in findings
        if paths[finding.student_id].startswith(scope_path)
        or (finding.other_id and paths[finding.other_id].startswith(scope_path))
    ]


def _grouped(kind, students, key_fields, evidence_of, scope_path):
    """Group by the key in the database; a group of two (nearly all) is fetched by its two primary
    keys, a larger one by its key."""
    groups = (
        students.values(*key_fields)
        .annotate(
            total=Count("pk"),
            live=Count("pk", filter=Q(status__in=LIVE_STATUSES)),
            first=Min("pk"),
            last=Max("pk"),
        )
        .filter(total__gt=1, live__gt=0)
        .order_by()
    )
    pairs, larger = [], []
    for group in groups:
        if group["total"] == 2:
            pairs.append((group["first"], group["last"]))
        else:
            larger.append(group)
    fields = ("pk", "status", "id_number", "school__path")
    rows = {
        row["pk"]: row
        for row in Student.objects.filter(pk__in=[pk for pair in pairs for pk in pair]).values(*fields)
    }
    member_lists = [[rows[first], rows[last]] for first, last in pairs]
    for group in larger:
        member_lists.append(
            list(students.filter(**{name: group[name] for name in key_fields}).values(*fields))
        )
    findings, paths = [], {}
    for members in member_lists:
        paths.update((member["pk"], member["school__path"]) for member in members)
        findings += _pair_up(kind, members, evidence_of)
    return _in_scope(findings, scope_path, paths)


def duplicate_ids(scope_path=""):
    def evidence(student, other):
        same = student["id_number"] == other["id_number"]
        return {
            "match": "same_number" if same else "same_first_17",
            "statuses": [student["status"], other["status"]],
        }

    students = counted(Student.objects.exclude(id_number="")).annotate(
        id_length=Length("id_number"), id_key=id_key()
    )
    return _grouped(ProblemKind.DUPLICATE_ID, students, ["id_key"], evidence, scope_path)


def duplicate_persons(scope_path=""):
    def evidence(student, other):
        return {"match": "name_sex_birth", "statuses": [student["status"], other["status"]]}

    students = counted(Student.objects.filter(id_number=""))
    # The group by three columns is filtered by its first (the name) and then split in Python.
    return _grouped(
        ProblemKind.DUPLICATE_PERSON, students, ["name", "gender", "birth_date"], evidence, scope_path
    )


def _age_margin():
    return settings.REGISTRAR.get("PROBLEM_AGE_MARGIN", DEFAULT_AGE_MARGIN)


def age_limits(level, today):
    """The birth dates (earliest, latest) of a student of grade `level` whose age is not far from the
    grade; None when the grade has no age check."""
    limits = age_range_for_level(level)
    if limits is None:
        return None
    low, high = limits[0] - _age_margin(), limits[1] + _age_margin()
    # Ages count on 31 August (students.identity.check_age).
    cutoff = school_year_start(today) - timedelta(days=1)
    earliest = date(cutoff.year - high - 1, 9, 1)
    latest = date(cutoff.year - low, 8, 31)
    return earliest, latest


class _Item(Func):
    """PostgreSQL: the item of an array at a (1-based) position, NULL beyond its end."""

    arg_joiner = ")["
    template = "((%(expressions)s])"


def _age_far(today):
    """A condition on students: the age on 31 August far from the grade (plain date comparisons
    with the grade level's earliest and latest birth dates); None when no grade has an age check.
    PostgreSQL takes both dates from arrays by the level (two lookups a row, where a condition per
    level would try each level in turn on a million rows)."""
    limits = {level: age_limits(level, today) for level in range(1, 13)}
    limits = {level: dates for level, dates in limits.items() if dates is not None}
    if not limits:
        return None
    if connection.vendor == "postgresql":
        highest = max(limits)
        dates = [limits.get(level, (None, None)) for level in range(1, highest + 1)]
        earliest, latest = (
            _Item(RawSQL("%s::date[]", ([pair[side] for pair in dates],)), F("grade__level"))
            for side in (0, 1)
        )
        return Q(birth_date__lt=earliest) | Q(birth_date__gt=latest)
    far = Q()
    for level, (earliest, latest) in limits.items():
        far |= Q(grade__level=level) & (Q(birth_date__lt=earliest) | Q(birth_date__gt=latest))
    return far


def resident_ids(students):
    """The live students with a resident ID, whose number the invalid-ID checks read."""
    return students.filter(status__in=LIVE_STATUSES, id_type=RESIDENT_ID).exclude(id_number="")


# On PostgreSQL, the per-row checks of a number (well formed, check digit, birth date, sex) are the
# IMMUTABLE function of migrations students/0015 and 0019, and the partial index
# student_resident_id_fault holds the records it is true of: a query with this condition reads those
# few rows only.
RESIDENT_ID_FAULT = Func(
    F("id_number"),
    F("birth_date"),
    F("gender"),
    function="students_resident_id_fault",
    output_field=BooleanField(),
)


def resident_id_faults(students):
    """Of `resident_ids(students)`, those whose number fails a per-row check: in order, each
    row stopping at its first failed check, the digits read only once the number is known to be 17
    digits and a check digit (PostgreSQL keeps the outcome in an index: see RESIDENT_ID_FAULT)."""
    students = resident_ids(students)
    if connection.vendor == "postgresql":
        return students.filter(RESIDENT_ID_FAULT)
    checksum = sum((_digit(position + 1) * weight for position, weight in enumerate(WEIGHTS)), Value(0))
    expected = Substr(Value(CHECK_CHARS), Mod(checksum, 11) + 1, 1)
    birth_text = Replace(Cast("birth_date", CharField()), Value("-"), Value(""))
    sex = Mod(_digit(17), 2)
    checks = [
        When(~well_formed_resident(), then=Value(True)),
        When(~Q(id_last=expected), then=Value(True)),
        When(~Q(birth_text=Substr("id_number", 7, 8)), then=Value(True)),
        When(Q(gender="1", id_sex=0) | Q(gender="2", id_sex=1), then=Value(True)),
    ]
    return (
        with_id_parts(students)
        .annotate(birth_text=birth_text, id_sex=sex)
        .annotate(failed=Case(*checks, default=Value(False), output_field=BooleanField()))
        .filter(failed=True)
    )


def invalid_id_candidates(students, today):
    """The live students with a resident ID that fails a check, narrowed in the database: those
    whose number fails a per-row check, and those whose age is far from the grade (two queries, so
    that the first reads only the failing rows on PostgreSQL); as querysets."""
    far = _age_far(today)
    if far is None:
        return [resident_id_faults(students)]
    return [resident_id_faults(students), resident_ids(students).filter(far)]


def invalid_reasons(number, birth_date, gender, level, today):
    """Which checks a resident ID fails, as stable codes (the page shows their labels)."""
    import re

    if not re.fullmatch(RESIDENT_18_RE, number):
        return ["format"]
    reasons = []
    if number[17] != resident_check_digit(number):
        reasons.append("check_digit")
    try:
        encoded = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        reasons.append("impossible_date")
    else:
        if encoded != birth_date:
            reasons.append("birth_date")
    if gender in ("1", "2") and int(number[16]) % 2 != (1 if gender == "1" else 0):
        reasons.append("sex")
    if not reasons and not is_valid_resident_id(number):
        reasons.append("region")
    limits = age_limits(level, today) if level else None
    if limits is not None and not (limits[0] <= birth_date <= limits[1]):
        reasons.append("age")
    return reasons


def invalid_ids(scope_path="", today=None):
    today = today or timezone.localdate()
    students = Student.objects.all()
    if scope_path:
        students = students.filter(school__path__startswith=scope_path)
    rows = {}
    for candidates in invalid_id_candidates(students, today):
        fields = ("pk", "id_number", "birth_date", "gender", "grade__level")
        rows.update((row[0], row) for row in candidates.values_list(*fields).order_by())
    findings = []
    for pk, number, birth_date, gender, level in rows.values():
        reasons = invalid_reasons(number, birth_date, gender, level, today)
        if reasons:
            # The number is part of the fingerprint: once it is corrected, the finding is gone.
            findings.append(Finding(ProblemKind.INVALID_ID, pk, None, {"reasons": reasons}, key=number))
    return findings


def changed_ids(scope_path=""):
    """Pairs of records whose ID numbers, now or before a change (the field history), meet, when
    at least one side of the meeting is a former number: the current numbers that meet are
    `duplicate_ids`."""
    current = Student.objects.filter(pk=OuterRef("id"), id_number=OuterRef("id_number"))
    formers = (
        Student.history.model.objects.exclude(id_number="")
        .exclude(Exists(current))
        .values_list("id", "id_number")
        .distinct()
    )
    holders = {}
    for student_id, number in formers:
        holders.setdefault(number, set()).add(student_id)
    if not holders:
        return []
    for student_id, number in Student.objects.filter(id_number__in=list(holders)).values_list(
        "pk", "id_number"
    ):
        holders[number].add(student_id)
    students = {
        row["pk"]: row
        for row in counted(
            Student.objects.filter(pk__in={pk for pks in holders.values() for pk in pks})
        ).values("pk", "id_number", "status", "school__path")
    }
    findings, seen = [], set()
    for number, pks in holders.items():
        members = [students[pk] for pk in sorted(pks) if pk in students]
        for index, first in enumerate(members):
            for second in members[index + 1 :]:
                if first["id_number"] == number and second["id_number"] == number:
                    continue
                if first["status"] not in LIVE_STATUSES and second["status"] not in LIVE_STATUSES:
                    continue
                # The record that let the number go is the one to explain the change.
                changed, other = (second, first) if first["id_number"] == number else (first, second)
                pair = (changed["pk"], other["pk"])
                if pair in seen:
                    continue
                seen.add(pair)
                findings.append(
                    Finding(
                        ProblemKind.CHANGED_ID,
                        changed["pk"],
                        other["pk"],
                        {"match": "former_number", "statuses": [changed["status"], other["status"]]},
                    )
                )
    paths = {pk: row["school__path"] for pk, row in students.items()}
    return _in_scope(findings, scope_path, paths)


def detect(scope_path="", today=None):
    """Every finding in the scope (the whole system when `scope_path` is empty)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # A few scans of a million rows with wide expressions: compiling them (JIT) costs more
                # than it saves, and the groupings fit in memory rather than spill to disk.
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SET LOCAL work_mem = '64MB'")
        return [
            *duplicate_ids(scope_path),
            *duplicate_persons(scope_path),
            *invalid_ids(scope_path, today),
            *changed_ids(scope_path),
        ]
