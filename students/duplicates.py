"""严禁双学籍: where another live registration of the same person is, said only as far as the reader may see.

Inside the reader's scope (the students `Student.objects.visible_to` gives them): school, grade,
class, 学籍号 and status, so they can sort it out. Outside it but in the same province: only the
city and county, so they know whose bureau to call. Further away: only that another school holds it.
The command line (no user) sees everything.

One implementation for one student (`duplicate_message`, the services' refusals) and for a whole
file (`DuplicateMessages`, the roster import): what the reader sees is read once per school, so
that a file of any size costs a few queries.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registrar.choices import NodeKind
from registrar.models import Organisation, grade_name
from students.models import LIVE_STATUSES, Status, sees_own_classes_only

# What a message needs to know of the student found: the keys of the roster import's records.
FIELDS = ("name", "number", "status", "school_id", "grade__level", "school_class_id", "school_class__name")


def facts(student):
    """A Student as the record a message is made from."""
    return {
        "name": student.name,
        "number": student.number,
        "status": student.status,
        "school_id": student.school_id,
        "grade__level": student.grade.level,
        "school_class_id": student.school_class_id,
        "school_class__name": student.school_class.name,
    }


class DuplicateMessages:
    """The messages about registrations found elsewhere, for one reader.

    `prepare(school_ids)` reads, once for each school, the school, whether the reader's node covers
    it (`Organisation.objects.visible_to`, the scoping of every page) and the names of its city and
    county; a class teacher's classes are read once. Then `message(found)` and `school(found)` make
    no query. `found` is a record with the keys of FIELDS (see `facts`).
    """

    def __init__(self, user):
        self.user = user
        self.schools = {}
        self.visible = set()
        self.regions = {}
        self.classes = None

    def prepare(self, school_ids):
        wanted = set(school_ids) - set(self.schools)
        if not wanted:
            return
        user = self.user
        schools = {school.pk: school for school in Organisation.objects.filter(pk__in=wanted)}
        self.schools.update(schools)
        if user is None or (user.is_authenticated and user.is_superuser):
            self.visible |= set(schools)
        else:
            scoped = Organisation.objects.visible_to(user).filter(pk__in=list(schools))
            self.visible |= set(scoped.values_list("pk", flat=True))
            if self.classes is None and user.is_authenticated and sees_own_classes_only(user):
                self.classes = set(user.classes.values_list("pk", flat=True))
        hidden = [school for pk, school in schools.items() if pk not in self.visible]
        self.regions.update(region_names(hidden))

    def sees_school(self, found):
        return found["school_id"] in self.visible

    def sees_student(self, found):
        if not self.sees_school(found):
            return False
        return self.classes is None or found["school_class_id"] in self.classes

    def school(self, found):
        """The other school by name if the reader's node covers it; else that it is outside their area."""
        if self.sees_school(found):
            return self.schools[found["school_id"]].name
        return _("a school outside your area")

    def message(self, found):
        school = self.schools[found["school_id"]]
        if self.sees_student(found):
            level = found["grade__level"]
            return _(
                "%(name)s already holds a live registration at %(school)s, %(grade)s %(class)s "
                "(registration number %(number)s, %(status)s). One student may hold only one registration."
            ) % {
                "name": found["name"],
                "school": school.name,
                "grade": grade_name(level, school.segment_of_level(level)),
                "class": found["school_class__name"],
                "number": found["number"] or _("not issued yet"),
                "status": Status(found["status"]).label,
            }
        node = getattr(self.user, "node", None)
        if node is not None and node.path.split("/")[0] == school.path.split("/")[0]:
            return _(
                "This student already holds a live registration at a school in %(region)s. One student may "
                "hold only one registration: please contact the education bureau there."
            ) % {"region": self.regions.get(school.pk, "")}
        return _(
            "This student already holds a live registration at another school. One student may hold only "
            "one registration: please contact your education bureau."
        )

    def earlier(self, found):
        """The message refusing a second 学籍号 to a person whose record `found` (not live) holds one."""
        status = found["status"]
        if status in LIVE_STATUSES:
            return self.message(found)
        advice = EARLIER_ADVICE.get(status, EARLIER_ADVICE[None])
        if self.sees_student(found):
            return _(
                "%(name)s already holds the registration number %(number)s (%(status)s, %(school)s): one "
                "person keeps one number for life, and no second one is issued. %(advice)s"
            ) % {
                "name": found["name"],
                "number": found["number"],
                "status": Status(status).label,
                "school": self.school(found),
                "advice": advice,
            }
        return _(
            "This person already holds a registration number (%(status)s, %(school)s): one person keeps "
            "one number for life, and no second one is issued. %(advice)s"
        ) % {"status": Status(status).label, "school": self.school(found), "advice": advice}


# What a school does with a person whose record exists: the record goes on, never a second one.
EARLIER_ADVICE = {
    Status.GRADUATED: gettext_lazy(
        "A graduate comes in by intake (升学): take them in on the intake page with their registration "
        "number, name and ID number."
    ),
    Status.TRANSFERRED_OUT: gettext_lazy("A student from another school comes in by transfer (转学)."),
    None: gettext_lazy(
        "The record is closed: the education bureau that holds it decides whether it is reopened."
    ),
}


def earlier_record_message(other, user):
    """The message about `other`, a Student that already holds a 学籍号 of the same person, for `user`."""
    messages = DuplicateMessages(user)
    messages.prepare([other.school_id])
    return messages.earlier(facts(other))


def region_names(schools):
    """城市 + 区县 of each school, e.g. 武汉市江岸区 (a 市直 school: the city alone; else the province), in
    one query."""
    paths = {school.pk: school.path.strip("/").split("/")[:-1] for school in schools}
    codes = {code for path in paths.values() for code in path}
    if not codes:
        return {}
    nodes = {
        node.code: node for node in Organisation.objects.filter(code__in=codes).only("code", "name", "kind")
    }
    names = {}
    for pk, path in paths.items():
        above = [nodes[code] for code in path if code in nodes]
        parts = [node.name for node in above if node.kind in (NodeKind.CITY, NodeKind.COUNTY)]
        names[pk] = "".join(parts) or (above[0].name if above else "")
    return names


def duplicate_message(other, user):
    """The message about `other`, a Student holding a live registration, for `user`."""
    messages = DuplicateMessages(user)
    messages.prepare([other.school_id])
    return messages.message(facts(other))
