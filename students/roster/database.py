"""Checking a roster file against the database: the whole file at once, with a handful of queries.

The schools' grades and classes, how many live students each class holds, and the students the
file's 学籍号, ID numbers and names already belong to. Each row becomes new, an update of a student
of its school or unchanged; anything else is a problem of that row. `check_database` clears what
an earlier run found, so that the commit can run it again under lock.
"""

import unicodedata
from collections import defaultdict
from datetime import date

from django.db.models import Count
from django.utils.translation import gettext as _

from registrar.calendar import graduation_freeze_applies, graduation_freeze_message
from registrar.models import Grade, SchoolClass, default_capacity
from students import codes
from students.duplicates import DuplicateMessages
from students.models import KEY_FIELDS, LIVE_STATUSES, LOCKED_STATUSES, Guardian, Status, Student
from students.numbers import file_number_problem
from students.roster.bulk import any_of
from students.roster.template import BY_KEY, GRADE_LABELS, GUARDIAN_FIELDS
from students.roster.validate import NEW, UNCHANGED, UPDATABLE_KEYS, UPDATE, NewClass, Problem

# Queries with IN lists are cut into pieces of this size (SQLite and psycopg limit the parameters).
CHUNK = 5000


def class_key(name):
    """1班, (1)班, （1）班 and 1 name the same class."""
    text = unicodedata.normalize("NFKC", name or "").replace(" ", "")
    text = text.replace("(", "").replace(")", "")
    return text[:-1] if text.endswith("班") and len(text) > 1 else text


def chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


# What the import needs to know of a student it finds: enough to match, compare and name the school.
EXISTING_FIELDS = (
    "id",
    "status",
    "number",
    "school_id",
    "grade_id",
    "school_class_id",
    "grade__level",
    "school_class__name",
    *KEY_FIELDS,
)


class Existing(tuple):
    """A student found in the database: a row of values, read by field name (`found["name"]`).

    A tuple rather than a dict: re-importing a county's file finds 100,000 students.
    """

    __slots__ = ()
    index = {}

    def __getitem__(self, key):
        return tuple.__getitem__(self, self.index[key])

    @property
    def is_live(self):
        return self["status"] in LIVE_STATUSES

    @classmethod
    def with_fields(cls, fields):
        index = {name: position for position, name in enumerate(fields)}
        return type("Existing", (cls,), {"__slots__": (), "index": index})


def find_existing(plan, rows):
    """The students the 学籍号, ID numbers and (for rows without either) names of `rows` point at."""
    rows = [row for row in rows if row.school is not None]
    numbers = {plan.value(row, "number") for row in rows} - {""}
    ids = {plan.value(row, "id_number") for row in rows} - {""}
    names = {
        plan.value(row, "name")
        for row in rows
        if not plan.value(row, "id_number") and not plan.value(row, "number")
    } - {""}
    fields = [*EXISTING_FIELDS, *(key for key in UPDATABLE_KEYS if key in plan.index)]
    record = Existing.with_fields(fields)
    by_number = {}
    by_id = defaultdict(list)
    by_person = defaultdict(list)
    # A cancelled registration never was one: the person may be registered anew.
    queryset = Student.objects.exclude(status=Status.CANCELLED).values_list(*fields)
    for chunk in chunks(numbers):
        for values in queryset.filter(any_of("number", chunk)):
            found = record(values)
            by_number[found["number"]] = found
    for chunk in chunks(ids):
        for values in queryset.filter(any_of("id_number", chunk)):
            found = record(values)
            by_id[found["id_number"]].append(found)
    for chunk in chunks(names):
        for values in queryset.filter(any_of("name", chunk), id_number=""):
            found = record(values)
            by_person[(found["name"], found["gender"], found["birth_date"])].append(found)
    return by_number, by_id, by_person


def check_database(plan):
    """Check the whole file against the database: placement, class room, students already there.

    Clears and recomputes what an earlier call found, so it can run again inside the writing
    transaction. A handful of queries whatever the size of the file.
    """
    for row in plan.rows:
        row.problems = [problem for problem in row.problems if not isinstance(problem, DbProblem)]
        row.action = row.student = row.changes = row.guardian_changes = None
        row.grade = row.school_class = None
    plan.new_classes = {}
    plan.new_grades = set()
    if plan.file_errors:
        return plan
    schools = {row.school.pk: row.school for row in plan.rows if row.school is not None}
    if not schools:
        return plan
    checker = DatabaseChecker(plan, schools)
    # Chunk by chunk, so that re-importing a county's file does not hold 100,000 students at once:
    # a student found unchanged is let go, one to update is kept for the writing.
    for rows in chunks(plan.rows):
        checker.place_rows(rows)
        checker.match_rows(rows)
        for row in rows:
            if row.action == UNCHANGED:
                row.student = None
    checker.check_room(plan.rows)
    return plan


class DbProblem(Problem):
    """A problem found against the database: recomputed each time check_database runs."""


def add_db(row, keys, message):
    row.problems.append(DbProblem(tuple(keys), message))


class DatabaseChecker:
    """The database's side of the check: grades, classes and how many students each class holds are
    loaded once; then the rows are placed, matched with the students already there, and counted
    against each class's room."""

    def __init__(self, plan, schools):
        self.plan = plan
        self.schools = schools
        self.grades = {
            (grade.school_id, grade.level): grade
            for grade in Grade.objects.filter(school__in=list(schools)).select_related("school")
        }
        self.classes = defaultdict(dict)
        self.class_names = defaultdict(list)
        for school_class in SchoolClass.objects.filter(grade__school__in=list(schools)).select_related(
            "grade"
        ):
            self.classes[school_class.grade_id][class_key(school_class.name)] = school_class
            self.class_names[school_class.grade_id].append(school_class.name)
        self.live_counts = dict(
            Student.objects.filter(school__in=list(schools), status__in=LIVE_STATUSES)
            .values_list("school_class_id")
            .annotate(count=Count("id"))
            .order_by()
        )
        self.levels = {pk: set(school.grade_levels()) for pk, school in schools.items()}
        self.class_keys = {}
        self.duplicates = DuplicateMessages(plan.by)

    def place_rows(self, rows):
        plan = self.plan
        levels = self.levels
        class_keys = self.class_keys
        for row in rows:
            school, level = row.school, row.level
            if school is None or level is None or (row.failed and "grade" in row.failed):
                continue
            if level not in levels[school.pk]:
                continue  # validate_record said so
            grade = self.grades.get((school.pk, level))
            if grade is None and not plan.create_classes:
                add_db(
                    row,
                    ("grade",),
                    _("%(school)s has not set up %(grade)s yet: set up its grades first.")
                    % {"school": school.name, "grade": GRADE_LABELS[level]},
                )
                continue
            row.grade = grade
            name = plan.value(row, "school_class")
            if not name:
                continue
            key_of_name = class_keys.get(name)
            if key_of_name is None:
                key_of_name = class_keys[name] = class_key(name)
            school_class = self.classes[grade.pk].get(key_of_name) if grade else None
            if school_class is not None:
                row.school_class = school_class
            elif plan.create_classes:
                key = (school.pk, level, key_of_name)
                if key not in plan.new_classes:
                    segment = school.segment_of_level(level)
                    plan.new_classes[key] = NewClass(
                        school=school, level=level, name=name, grade=grade, capacity=default_capacity(segment)
                    )
                    if grade is None:
                        plan.new_grades.add((school.pk, level))
                row.school_class = plan.new_classes[key]
            else:
                existing = "、".join(self.class_names[grade.pk]) or _("none")
                add_db(
                    row,
                    ("school_class",),
                    _("%(school)s has no class %(name)s in %(grade)s (its classes: %(classes)s).")
                    % {
                        "school": school.name,
                        "name": name,
                        "grade": GRADE_LABELS[level],
                        "classes": existing,
                    },
                )

    def match_rows(self, rows):
        plan = self.plan
        by_number, by_id, by_person = find_existing(plan, rows)
        # The schools of the students found, for the messages about registrations elsewhere (each
        # school is read once per file).
        found = {found["school_id"] for found in by_number.values()}
        for group in (*by_id.values(), *by_person.values()):
            found.update(record["school_id"] for record in group)
        self.duplicates.prepare(found)
        for row in rows:
            if row.school is None:
                continue
            failed = row.failed or ()
            if "id_number" in failed or "number" in failed:
                continue
            own = self.match(row, by_number, by_id, by_person)
            if own is None:
                row.action = NEW
            else:
                self.compare(row, own)
        self.compare_guardians([row for row in rows if row.action in (UPDATE, UNCHANGED)])

    def compare_guardians(self, rows):
        """Guardian 1 and 2 of the file against the student's first two family members."""
        plan = self.plan
        orders = [
            (order, [name for name in GUARDIAN_FIELDS if plan.has(f"guardian{order}_{name}")])
            for order in (1, 2)
        ]
        orders = [(order, names) for order, names in orders if names]
        if not rows or not orders:
            return
        current = defaultdict(list)
        fields = ("id", "student_id", "order", *GUARDIAN_FIELDS)
        record = Existing.with_fields(fields)
        for chunk in chunks([row.student["id"] for row in rows]):
            guardians = Guardian.objects.filter(any_of("student_id", chunk)).order_by("order", "id")
            for values in guardians.values_list(*fields):
                current[values[1]].append(record(values))
        for row in rows:
            existing = current.get(row.student["id"], [])
            next_order = max((guardian["order"] for guardian in existing), default=0) + 1
            operations = []
            for order, names in orders:
                data = {name: plan.value(row, f"guardian{order}_{name}") for name in names}
                found = existing[order - 1] if len(existing) >= order else None
                if not any(data.values()):
                    # Guardian 1 is required (validate_record says so); an emptied guardian 2 goes.
                    if found is not None and order > 1:
                        operations.append(("delete", found["id"]))
                    continue
                if found is None:
                    operations.append(("create", next_order, data))
                    next_order += 1
                    continue
                changed = {
                    name: value for name, value in data.items() if (found[name] or "") != (value or "")
                }
                if changed:
                    operations.append(("update", found["id"], changed))
            row.guardian_changes = operations
            if operations:
                row.action = UPDATE

    def match(self, row, by_number, by_id, by_person):
        plan = self.plan
        school = row.school
        number = plan.value(row, "number")
        id_number = plan.value(row, "id_number")
        own = None
        if number and number in by_number:
            found = by_number[number]
            if found["school_id"] == school.pk:
                own = found
            elif not found.is_live:
                add_db(row, ("number",), self.duplicates.earlier(found))
                return None
            else:
                add_db(
                    row,
                    ("number",),
                    _(
                        "The registration number %(number)s belongs to a student of %(school)s. A student "
                        "coming from another school comes in by transfer (转学)."
                    )
                    % {"number": number, "school": self.duplicates.school(found)},
                )
                return None
        candidates = by_id.get(id_number, []) if id_number else []
        if not id_number and not number:
            person = (plan.value(row, "name"), plan.value(row, "gender"), plan.value(row, "birth_date", None))
            candidates = by_person.get(person, [])
        here = [found for found in candidates if found["school_id"] == school.pk]
        # A live record before a locked one: the live one is the student the school has now.
        here.sort(key=lambda found: not found.is_live)
        if here:
            if own is not None and here[0]["id"] != own["id"] and not any(f["id"] == own["id"] for f in here):
                add_db(
                    row,
                    ("number", "id_number"),
                    _(
                        "The registration number and the ID number belong to two different students "
                        "of this school."
                    ),
                )
                return None
            own = own or here[0]
        elsewhere = [found for found in candidates if found["school_id"] != school.pk and found.is_live]
        if elsewhere and (own is None or own.is_live):
            add_db(
                row,
                ("id_number",) if id_number else ("name", "gender", "birth_date"),
                self.duplicates.message(elsewhere[0]),
            )
            return None
        # 一人一号: a person whose record elsewhere is closed (graduated, transferred, withdrawn …)
        # keeps that record; the file does not register them anew.
        earlier = [found for found in candidates if found["number"]] if own is None and id_number else []
        if earlier:
            add_db(row, ("id_number",), self.duplicates.earlier(earlier[0]))
            return None
        if own is None and number:
            problem = file_number_problem(
                number, plan.value(row, "id_type"), id_number, national_load=plan.national_load
            )
            if problem:
                add_db(row, ("number",), problem)
        return own

    def compare(self, row, own):
        plan = self.plan
        row.student = own
        if own["status"] in LOCKED_STATUSES:
            add_db(
                row,
                (),
                _("%(name)s's record is closed (%(status)s): an import does not change it.")
                % {"name": own["name"], "status": Status(own["status"]).label},
            )
            return
        # The graduation freeze (domain §10): after the stage's freeze date a graduating-grade record
        # changes by no path, the roster import included.
        if graduation_freeze_applies(row.school, own["grade__level"], plan.today):
            add_db(
                row, (), graduation_freeze_message(row.school, own["grade__level"], own["name"], plan.today)
            )
            return
        differing = []
        for key in KEY_FIELDS:
            if key not in plan.index or key in (row.failed or ()):
                continue
            if not same_key(key, plan.value(row, key, None), own[key]):
                differing.append(key)
        if differing:
            add_db(
                row,
                differing,
                _(
                    "%(fields)s differ from the record (%(values)s). Key data is changed only through a "
                    "key-data correction (关键数据变更), with evidence."
                )
                % {
                    "fields": "、".join(BY_KEY[key].header for key in differing),
                    "values": "；".join(
                        f"{BY_KEY[key].header}：{display(key, own[key])}" for key in differing
                    ),
                },
            )
        number = plan.value(row, "number")
        if number and own["number"] != number:
            add_db(
                row,
                ("number",),
                _("The student's registration number is %(number)s; a registration number never changes.")
                % {"number": own["number"] or _("not issued yet")},
            )
        if row.grade is not None and own["grade_id"] != row.grade.pk:
            add_db(
                row,
                ("grade",),
                _(
                    "The student is in %(grade)s. A change of grade is a status change (留级 or 跳级) "
                    "or the yearly promotion, not an import."
                )
                % {"grade": GRADE_LABELS.get(own["grade__level"], own["grade__level"])},
            )
        if differing or row.problems:
            row.action = None
            return
        changes = {}
        for key in UPDATABLE_KEYS:
            if key in plan.index:
                new = plan.value(row, key, None)
                if new != own[key]:
                    changes[key] = (own[key], new)
        if row.school_class is not None and own["school_class_id"] != row.school_class.pk:
            changes["school_class_id"] = (own["school_class_id"], row.school_class)
        row.changes = changes
        row.action = UPDATE if changes else UNCHANGED

    def check_room(self, rows):
        """Each class holds at most its capacity: its live students plus the file's newcomers."""
        adding = defaultdict(list)
        leaving = defaultdict(int)
        for row in rows:
            if row.school_class is None:
                continue
            if row.action == NEW:
                adding[id(row.school_class)].append(row)
            elif row.action == UPDATE and "school_class_id" in row.changes:
                adding[id(row.school_class)].append(row)
                leaving[row.student["school_class_id"]] += 1
        for group in adding.values():
            school_class = group[0].school_class
            holds = self.live_counts.get(school_class.pk, 0) if school_class.pk else 0
            room = school_class.capacity - holds + leaving.get(school_class.pk, 0)
            if len(group) <= room:
                continue
            message = _(
                "%(school)s %(class)s is full: its capacity is %(capacity)d, it holds %(holds)d students "
                "and the file adds %(adding)d."
            ) % {
                "school": group[0].school.name,
                "class": class_label(school_class),
                "capacity": school_class.capacity,
                "holds": holds,
                "adding": len(group),
            }
            for row in group[max(room, 0) :]:
                add_db(row, ("school_class",), message)


def class_label(school_class):
    if isinstance(school_class, NewClass):
        return str(school_class)
    return f"{GRADE_LABELS.get(school_class.grade.level, '')}{school_class.name}"


def same_key(key, value, own):
    """A file's key value against the record's; 入学年月 is a month (a form may have stored any day)."""
    if key == "enrolled_on" and isinstance(value, date) and isinstance(own, date):
        return (value.year, value.month) == (own.year, own.month)
    return value == own


def display(key, value):
    column = BY_KEY[key]
    if value in (None, ""):
        return "—"
    if key == "enrolled_on" and isinstance(value, date):
        return f"{value:%Y-%m}"
    if column.table:
        return codes.table(column.table).label_of(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
