"""Progress of a campaign per class, school and county: a few grouped queries, whatever the size."""

from collections import defaultdict
from dataclasses import dataclass, field
from operator import attrgetter

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registrar.choices import NodeKind
from registrar.models import Organisation, SchoolClass
from students.models import Student
from verification.models import ClassConfirmation, ConfirmationForm, Outcome
from verification.services import ON_ROSTER


class ClassState:
    NOT_STARTED = "not_started"
    UPLOADED = "uploaded"
    CHECKED = "checked"
    CONFIRMED = "confirmed"


STATE_LABELS = {
    ClassState.NOT_STARTED: _("Not started"),
    ClassState.UPLOADED: _("Forms uploaded"),
    ClassState.CHECKED: _("Checked by the class teacher"),
    ClassState.CONFIRMED: _("Confirmed"),
}


@dataclass
class ClassProgress:
    school_class: SchoolClass
    students: int = 0
    uploaded: int = 0
    checked: int = 0
    wrong: int = 0
    unhandled: int = 0
    confirmed_at: object = None
    overdue: bool = False

    @property
    def state(self):
        if self.confirmed_at is not None:
            return ClassState.CONFIRMED
        if self.students and self.checked >= self.students:
            return ClassState.CHECKED
        if self.uploaded:
            return ClassState.UPLOADED
        return ClassState.NOT_STARTED

    @property
    def state_label(self):
        return STATE_LABELS[self.state]


@dataclass
class UnitProgress:
    """A school, or a county: how many of its classes stand at each state."""

    node: Organisation
    counts: dict = field(default_factory=lambda: defaultdict(int))
    students: int = 0
    uploaded: int = 0
    checked: int = 0

    def add(self, row):
        self.counts[row.state] += 1
        self.counts["overdue"] += int(row.overdue)
        self.counts["classes"] += 1
        self.students += row.students
        self.uploaded += row.uploaded
        self.checked += row.checked


def class_progress(campaign, classes):
    """One ClassProgress per class of `classes` (a queryset), in four queries."""
    classes = list(classes.select_related("grade__school"))
    ids = [school_class.pk for school_class in classes]
    on_roster = Student.objects.filter(school_class_id__in=ids, status__in=ON_ROSTER)
    students = dict(on_roster.values_list("school_class_id").annotate(count=Count("pk")).order_by())
    forms = (
        ConfirmationForm.objects.filter(campaign=campaign, student__in=on_roster)
        .values("student__school_class_id")
        .annotate(
            uploaded=Count("pk"),
            checked=Count("pk", filter=~Q(outcome=Outcome.UNCHECKED)),
            wrong=Count("pk", filter=Q(outcome=Outcome.WRONG)),
            unhandled=Count("pk", filter=Q(outcome=Outcome.WRONG, handled_at__isnull=True)),
        )
        .order_by()
    )
    by_class = {row.pop("student__school_class_id"): row for row in forms}
    confirmed = dict(
        ClassConfirmation.objects.filter(campaign=campaign, school_class_id__in=ids).values_list(
            "school_class_id", "confirmed_at"
        )
    )
    late = campaign.deadline < timezone.localdate()
    rows = []
    for school_class in classes:
        row = ClassProgress(
            school_class,
            students=students.get(school_class.pk, 0),
            confirmed_at=confirmed.get(school_class.pk),
            **by_class.get(school_class.pk, {}),
        )
        row.overdue = late and row.confirmed_at is None
        rows.append(row)
    return rows


def campaign_classes(campaign, user):
    """The classes of the campaign's schools that the user may see."""
    return SchoolClass.objects.visible_to(user).filter(grade__school__path__startswith=campaign.node.path)


def school_progress(campaign, user):
    """(rows per school, rows per county) over the classes the user may see."""
    schools, counties = {}, {}
    for row in class_progress(campaign, campaign_classes(campaign, user)):
        school = row.school_class.grade.school
        schools.setdefault(school.pk, UnitProgress(school)).add(row)
    county_nodes = {
        node.path: node
        for node in Organisation.objects.filter(kind=NodeKind.COUNTY, path__startswith=campaign.node.path)
    }
    for unit in schools.values():
        county = next((node for path, node in county_nodes.items() if unit.node.path.startswith(path)), None)
        if county is None:
            county = campaign.node
        target = counties.setdefault(county.pk, UnitProgress(county))
        for key, value in unit.counts.items():
            target.counts[key] += value
        target.students += unit.students
        target.uploaded += unit.uploaded
        target.checked += unit.checked
    order = attrgetter("node.path")
    return sorted(schools.values(), key=order), sorted(counties.values(), key=order)
