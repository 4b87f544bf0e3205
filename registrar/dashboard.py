"""The dashboard: what waits for this user, gathered from every app.

Each app's config may offer `waiting_items(user)`, a list of WaitingItem; the dashboard lists
those with a count above zero, most urgent first.
"""

from dataclasses import dataclass

from django.apps import apps
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.approvals import QUEUE_ORDER, overdue_below, returned_to
from registrar.choices import NodeKind, Role
from registrar.kinds import kind_label
from registrar.models import REVIEW_STATES, ApprovalRequest, Organisation, SchoolClass
from registrar.services import missing_grade_levels


@dataclass
class WaitingItem:
    label: str
    count: int
    url: str
    overdue: bool = False


def waiting_items(user):
    items = []
    for config in apps.get_app_configs():
        provider = getattr(config, "waiting_items", None)
        if provider is not None:
            items += [item for item in provider(user) if item.count]
    return sorted(items, key=lambda item: not item.overdue)


def registrar_waiting_items(user):
    node = user.node
    if node is None:
        return []
    items = []
    if node.is_school and user.has_role(Role.SCHOOL_REGISTRAR):
        missing = missing_grade_levels(node)
        items.append(
            WaitingItem(
                _("Grades of the school system not set up yet"),
                len(missing),
                reverse("registrar:sync_grades", args=[node.code]),
            )
        )
        without_teacher = SchoolClass.objects.filter(grade__school=node, class_teachers__isnull=True).count()
        items.append(
            WaitingItem(
                _("Classes without a class teacher"),
                without_teacher,
                reverse("schoolyear:teachers", args=[node.code]),
            )
        )
    if not node.is_school and user.has_role(Role.COUNTY_REVIEWER, Role.CITY_REVIEWER, Role.PROVINCE_ADMIN):
        empty = schools_without_classes(user).count()
        items.append(
            WaitingItem(
                _("Schools that have no classes yet"),
                empty,
                reverse("registrar:node", args=[node.code]) + "?empty=1",
            )
        )
    items += approval_waiting_items(user)
    return items


def approval_waiting_items(user):
    """What the approval engine has for this user: their queue, its overdue part, the overdue steps
    at the levels below (for county, city and province), and requests returned for revision."""
    queue_url = reverse("registrar:approvals")
    waiting = ApprovalRequest.objects.waiting_for(user)
    today = timezone.localdate()
    counts = waiting.aggregate(
        total=Count("pk"), overdue=Count("pk", filter=Q(current_step__due_date__lt=today))
    )
    items = [
        WaitingItem(_("Requests waiting for my review"), counts["total"], queue_url),
        WaitingItem(
            _("My reviews past their deadline"), counts["overdue"], queue_url + "?age=overdue", overdue=True
        ),
        WaitingItem(
            _("Requests returned to us for revision"), returned_to(user).count(), queue_url + "?box=returned"
        ),
    ]
    if user.has_role(Role.COUNTY_REVIEWER, Role.CITY_REVIEWER, Role.PROVINCE_ADMIN):
        items.append(
            WaitingItem(
                _("Overdue reviews below my level"),
                overdue_below(user).count(),
                reverse("registrar:approvals_overdue"),
                overdue=True,
            )
        )
    return items


DAY_LIST = 8


def next_in_queue(user):
    """The first requests of the user's queue, with their deadlines: the day's reviewing."""
    rows = list(
        ApprovalRequest.objects.waiting_for(user)
        .select_related("school", "current_step")
        .order_by(*QUEUE_ORDER)[:DAY_LIST]
    )
    today = timezone.localdate()
    for row in rows:
        row.kind_label = kind_label(row.kind)
        row.is_overdue = row.current_step.due_date is not None and row.current_step.due_date < today
    return rows


def my_requests_in_review(user):
    """Requests my office applied for that reviewers hold now: with whom, and until when. Not for a
    class teacher, who acts on none of them and sees only their own classes' students."""
    if user.node_id is None:
        return []
    if user.has_role(Role.CLASS_TEACHER) and not user.has_role(Role.SCHOOL_REGISTRAR, Role.PRINCIPAL):
        return []
    rows = list(
        ApprovalRequest.objects.filter(applicant_node_id=user.node_id, state__in=REVIEW_STATES)
        .select_related("current_step__node")
        .order_by(*QUEUE_ORDER)[:DAY_LIST]
    )
    for row in rows:
        row.kind_label = kind_label(row.kind)
    return rows


def summaries(user):
    """Each app's figures for the user's node (`summary_items(user)`: label, value, url)."""
    items = []
    for config in apps.get_app_configs():
        provider = getattr(config, "summary_items", None)
        if provider is not None:
            items += provider(user)
    return items


def schools_without_classes(user):
    return (
        Organisation.objects.visible_to(user)
        .schools()
        .annotate(class_count=Count("grades__classes"))
        .filter(class_count=0)
    )


def overview(user):
    """Counts for the user's node: schools, classes and seats below it."""
    node = user.node
    if node is None:
        return None
    scope = Q(grade__school__path__startswith=node.path)
    classes = SchoolClass.objects.filter(scope)
    return {
        "node": node,
        "schools": Organisation.objects.filter(path__startswith=node.path, kind=NodeKind.SCHOOL).count(),
        "classes": classes.count(),
        "my_classes": list(user.classes.select_related("grade__school"))
        if user.has_role(Role.CLASS_TEACHER)
        else [],
    }
