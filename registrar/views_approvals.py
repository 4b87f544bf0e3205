"""Pages of the approval engine: the reviewer's queue, decisions, and the overdue watch list."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registrar import approvals, workdays
from registrar.access import require_role
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.forms import CommentForm
from registrar.models import ApprovalRequest, Organisation

PAGE_SIZE = 25
DONE_MESSAGES = {
    approvals.APPROVE: gettext_lazy("%(subject)s: approved."),
    approvals.REJECT: gettext_lazy("%(subject)s: rejected."),
    approvals.RETURN: gettext_lazy("%(subject)s: returned for revision."),
    approvals.SUBMIT: gettext_lazy("%(subject)s: submitted for review."),
    approvals.RESUBMIT: gettext_lazy("%(subject)s: resubmitted for review."),
    approvals.WITHDRAW: gettext_lazy("%(subject)s: withdrawn."),
}
OVERSEER_ROLES = (Role.COUNTY_REVIEWER, Role.CITY_REVIEWER, Role.PROVINCE_ADMIN)


class QueueFilterForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False)
    school = forms.ModelChoiceField(
        label=gettext_lazy("School"),
        queryset=Organisation.objects.none(),
        required=False,
        to_field_name="code",
    )
    age = forms.ChoiceField(
        label=gettext_lazy("Deadline"),
        required=False,
        choices=[("", gettext_lazy("All")), ("overdue", gettext_lazy("Overdue only"))],
    )

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All")), *approvals.kind_choices()]
        self.fields["school"].queryset = schools
        self.fields["school"].empty_label = _("All")


class CountedPaginator(Paginator):
    """Django's paginator with the count already known (exact, from `approvals.queue_groups`)."""

    def __init__(self, object_list, per_page, *, count):
        super().__init__(object_list, per_page)
        self.known_count = count

    @cached_property
    def count(self):
        return self.known_count


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[(action, action) for action in approvals.ACTIONS])
    comment = forms.CharField(required=False, max_length=2000)
    step_id = forms.IntegerField(required=False)


def _with_ages(rows, steps_of, today):
    """Working days each row's current step has waited, with one calendar for the whole page."""
    started = [timezone.localdate(steps_of(row).started_at) for row in rows if steps_of(row).started_at]
    if not started:
        return rows
    calendar = workdays.Calendar(min(started), today)
    for row in rows:
        step = steps_of(row)
        step.age = calendar.between(timezone.localdate(step.started_at), today) if step.started_at else 0
        step.is_overdue = step.due_date is not None and today > step.due_date
    return rows


@require_http_methods(["GET", "POST"])
def queue(request):
    """Requests waiting at my node for one of my roles; POST approves the ticked rows."""
    if request.method == "POST":
        return _bulk_approve(request)
    user = request.user
    box = request.GET.get("box", "review")
    if box == "returned":
        return _returned(request)
    if box == "decided":
        return _decided(request)
    waiting = ApprovalRequest.objects.waiting_for(user)
    today = timezone.localdate()
    # One pass over the queue gives the schools of the filter and the exact count under any filter,
    # instead of one pass for each (thousands of requests wait at a county).
    groups = approvals.queue_groups(waiting, today)
    schools = Organisation.objects.filter(pk__in={group.school_id for group in groups}).order_by("path")
    form = QueueFilterForm(request.GET or None, schools=schools)
    rows = waiting
    kind = school = None
    overdue_only = False
    if form.is_valid():
        kind, school = form.cleaned_data["kind"] or None, form.cleaned_data["school"]
        overdue_only = form.cleaned_data["age"] == "overdue"
        if kind:
            rows = rows.filter(kind=kind)
        if school:
            rows = rows.filter(school=school)
        if overdue_only:
            rows = rows.filter(current_step__due_date__lt=today)
    count = sum(
        group.count
        for group in groups
        if (kind is None or group.kind == kind)
        and (school is None or group.school_id == school.pk)
        and (group.overdue or not overdue_only)
    )
    page = CountedPaginator(
        rows.order_by(*approvals.QUEUE_ORDER).values_list("pk", flat=True), PAGE_SIZE, count=count
    )
    page = page.get_page(request.GET.get("page"))
    # The page's requests first, then their rows with what the table shows: estimating thousands of
    # waiting requests as a hundred, the planner joins the schools and applicants row by row.
    shown = ApprovalRequest.objects.select_related("school", "applicant", "applicant_node", "current_step")
    by_pk = shown.in_bulk(list(page.object_list))
    page.object_list = _with_ages(
        [by_pk[pk] for pk in page.object_list if pk in by_pk], lambda row: row.current_step, today
    )
    refusals = approvals.bulk_refusals(page.object_list, user)
    for row in page.object_list:
        row.kind_label = approvals.kind_label(row.kind)
        row.bulk_refusal = refusals.get(row.pk, "")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "registrar/approvals/queue.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "box": "review",
            "overseer": user.has_role(*OVERSEER_ROLES),
        },
    )


def _returned(request):
    rows = (
        approvals.returned_to(request.user)
        .select_related("school", "applicant")
        .order_by("-decided_at", "-pk")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page.object_list:
        row.kind_label = approvals.kind_label(row.kind)
    return render(
        request,
        "registrar/approvals/returned.html",
        {"page": page, "box": "returned", "overseer": request.user.has_role(*OVERSEER_ROLES)},
    )


def _decided(request):
    """What I have decided, the latest first, with where each request stands now."""
    steps = approvals.decided_by(request.user)
    page = Paginator(steps, PAGE_SIZE).get_page(request.GET.get("page"))
    for step in page.object_list:
        step.kind_label = approvals.kind_label(step.approval.kind)
        step.now = approvals.where_next(step.approval)
    return render(
        request,
        "registrar/approvals/decided.html",
        {"page": page, "box": "decided", "overseer": request.user.has_role(*OVERSEER_ROLES)},
    )


class BulkCommentForm(CommentForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["comment"].label = _("Comment for all of them")


def _bulk_approve(request):
    """Ticked rows are first shown with what would happen to each and one comment field; only the
    confirmation approves (issue #18, item 2)."""
    selection = approvals.parse_selection(request.POST.getlist("selected"))
    if not selection:
        messages.warning(request, _("Tick the requests to approve first."))
        return redirect(_queue_url(request))
    form = BulkCommentForm(request.POST or None)
    if "confirm" in request.POST and form.is_valid():
        report_bulk(
            request, approvals.approve_many(request.user, selection, comment=form.cleaned_data["comment"])
        )
        return redirect(_queue_url(request))
    approvable, refused = approvals.bulk_preview(request.user, selection)
    for approval, _step in approvable:
        approval.kind_label = approvals.kind_label(approval.kind)
    return render(
        request,
        "registrar/approvals/bulk_confirm.html",
        {
            "approvable": approvable,
            "refused": refused,
            "form": BulkCommentForm(),
            "query": request.POST.get("query", ""),
            "box": "review",
        },
    )


def report_bulk(request, result):
    """One message per request of a bulk approval, and the count when there were several."""
    for approved, text in result.outcomes:
        if approved:
            messages.success(request, _("Approved: %(subject)s") % {"subject": text})
        else:
            messages.error(request, text)
    if len(result.approved) > 1:
        messages.info(request, _("%(count)d requests approved.") % {"count": len(result.approved)})


def _queue_url(request):
    url = reverse("registrar:approvals")
    query = request.POST.get("query", "")
    return f"{url}?{query}" if query else url


@require_GET
def detail(request, pk):
    """The request's own page is the workflow's; a kind without one gets this generic page."""
    approval = approvals.get_approval_for(request.user, pk)
    kind = approvals.KINDS.get(approval.kind)
    if kind is not None and kind.get_absolute_url is not None:
        return redirect(kind.get_absolute_url(approval))
    return render(request, "registrar/approvals/detail.html", {"approval": approval})


@require_POST
def decide(request, pk):
    """One decision from the panel; reviewers then go on to the next request waiting for them."""
    approval = approvals.get_approval_for(request.user, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an action."))
        return redirect("registrar:approval", pk=approval.pk)
    action = form.cleaned_data["action"]
    try:
        approvals.decide(
            approval,
            action=action,
            by=request.user,
            comment=form.cleaned_data["comment"],
            step_id=form.cleaned_data["step_id"],
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("registrar:approval", pk=approval.pk)
    if action == approvals.APPROVE:
        # Say where the request went: on to the next step, or approved for good (issue #18, item 3).
        decided = ApprovalRequest.objects.select_related("current_step__node").get(pk=pk)
        messages.success(
            request,
            _("%(subject)s: approved, %(next)s.")
            % {"subject": approval.subject_label, "next": approvals.where_next(decided)},
        )
    else:
        messages.success(request, DONE_MESSAGES[action] % {"subject": approval.subject_label})
    if action not in approvals.REVIEW_ACTIONS:
        return redirect("registrar:approval", pk=approval.pk)
    following = approvals.next_waiting(request.user, exclude=approval)
    if following is not None:
        return redirect("registrar:approval", pk=following.pk)
    return redirect("registrar:approvals")


@require_GET
def overdue(request):
    """Overdue steps at the nodes below mine: what a county, city or province watches."""
    require_role(request.user, OVERSEER_ROLES)
    steps = approvals.overdue_below(request.user)
    kind = request.GET.get("kind", "")
    if kind:
        steps = steps.filter(approval__kind=kind)
    steps = steps.select_related("node", "approval__school").order_by("due_date", "started_at", "pk")
    page = Paginator(steps, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    page.object_list = _with_ages(list(page.object_list), lambda step: step, today)
    for step in page.object_list:
        step.kind_label = approvals.kind_label(step.approval.kind)
    return render(
        request,
        "registrar/approvals/overdue.html",
        {"page": page, "kinds": approvals.kind_choices(), "kind": kind},
    )
