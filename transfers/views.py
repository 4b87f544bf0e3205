"""Pages of 学籍异动: the school starts, follows, answers and withdraws its requests; everyone in scope
reads a request's page (record, evidence, history, the approval panel) and prints it as a form."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registrar import approvals
from registrar.audit import object_timeline, record_event
from registrar.calendar import calendar_for, transfer_window_message, transfer_window_open
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.forms import CommentForm
from registrar.models import ApprovalState
from registrar.navigation import NavItem
from registrar.uploads import ViewerFile, serve_private_file
from rules.reading import rules_for
from students.forms import GuardianFormSet, StudentForm, add_record_errors
from students.models import Student
from students.views import serve_photo
from transfers import rules, services
from transfers.access import get_applicant_change_for, get_change_for, get_evidence_for, may_see_full_record
from transfers.forms import (
    ChangeForm,
    EvidenceForm,
    FindStudentForm,
    ListFilterForm,
    SendingTransferForm,
    TransferForm,
    TransferInForm,
)
from transfers.models import Kind, StatusChangeRequest

PAGE_SIZE = 25
# Roles that take part in status changes; class teachers do not.
STAFF_ROLES = (
    Role.SCHOOL_REGISTRAR,
    Role.PRINCIPAL,
    Role.TOWNSHIP_REVIEWER,
    Role.COUNTY_REVIEWER,
    Role.CITY_REVIEWER,
    Role.PROVINCE_ADMIN,
)


def _registrar_school(user):
    """The school whose registrar the user is: the only one who starts requests."""
    if user.node_id is None or not user.node.is_school or not user.has_role(Role.SCHOOL_REGISTRAR):
        raise PermissionDenied
    return user.node


# --- following requests ---------------------------------------------------------------------------


@require_GET
def request_list(request):
    """The requests the user sees: a school's own (outgoing and incoming), an area's below it."""
    if not request.user.has_role(*STAFF_ROLES):
        raise PermissionDenied
    form = ListFilterForm(request.GET or None)
    changes = form.filter(StatusChangeRequest.objects.visible_to(request.user)).for_list()
    page = Paginator(changes.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    user = request.user
    return render(
        request,
        "transfers/list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_start": user.node_id is not None
            and user.node.is_school
            and user.has_role(Role.SCHOOL_REGISTRAR),
        },
    )


def _files(evidence):
    """The viewer's entries, each named by the document it is (户口本_scan.png)."""
    files = []
    for item in evidence:
        file_url = reverse("transfers:evidence", args=[item.pk])
        files.append(
            ViewerFile(
                url=file_url,
                name=f"{item.get_kind_display()}_{item.download_name}",
                content_type=item.content_type,
                download_url=f"{file_url}?download=1",
            )
        )
    return files


@require_GET
def detail(request, pk):
    change = get_change_for(request.user, pk)
    user = request.user
    full = may_see_full_record(user, change)
    student = change.student
    if full:
        # Views of a full record (with the whole ID number) are logged (domain §9).
        record_event("students.student.viewed", actor=user, obj=student)
    is_applicant = approvals.may_act_as_applicant(change.approval, user)
    editable = is_applicant and change.is_editable
    evidence = list(change.evidence.all())
    return render(
        request,
        "transfers/detail.html",
        {
            "change": change,
            "approval": change.approval,
            "student": student,
            "full_record": full,
            "guardians": student.guardians.all() if full else [],
            "events": student.status_events.select_related("school", "grade__school", "school_class")
            if full
            else [],
            "files": _files(evidence),
            "evidence": evidence,
            "required": [
                (group, not {item.kind for item in evidence}.intersection(group))
                for group in rules.required_evidence(change)
            ],
            "evidence_form": EvidenceForm(accepted=rules.accepted_evidence(change)) if editable else None,
            "editable": editable,
            "is_applicant": is_applicant,
            "may_withdraw": is_applicant and change.approval.is_open,
            "timeline": object_timeline(change, user),
        },
    )


# --- starting ---------------------------------------------------------------------------------------


def _chosen_student(request, school):
    """The student of my school a request is started for from the student's page (?student=pk):
    the student stays in view from the kinds of change to the form and is not typed again."""
    chosen = request.GET.get("student", "")
    if not (chosen.isdigit() and len(chosen) < 19):
        return None
    return (
        Student.objects.visible_to(request.user)
        .filter(school=school, pk=int(chosen))
        .select_related("grade__school", "school_class")
        .first()
    )


@require_GET
def start(request):
    school = _registrar_school(request.user)
    in_force = rules_for(school)
    kinds = [
        (kind, [rules.describe_groups([group]) for group in in_force.evidence(kind)])
        for kind in Kind
        if any(in_force.kind_enabled(kind, segment) for segment in school.segments())
    ]
    return render(
        request,
        "transfers/start.html",
        {
            "kinds": kinds,
            # Who starts a transfer here, stage by stage (the province's rules).
            "initiators": {in_force.initiator(segment) for segment in school.segments()},
            "school": school,
            "window_open": transfer_window_open(school),
            "window_message": transfer_window_message(school),
            "student": _chosen_student(request, school),
        },
    )


def _start_transfer(request, form, student):
    """The transfer request from a valid placement form, or None with the refusal on the form."""
    try:
        change = services.start_request(
            Kind.TRANSFER,
            by=request.user,
            student=student,
            to_class=form.cleaned_data["to_class"],
            reason=form.cleaned_data["reason"],
            explanation=form.cleaned_data["explanation"],
        )
    except DomainError as error:
        form.add_error(None, error.message)
        return None
    messages.success(request, _("The transfer request was created. Attach the evidence, then submit it."))
    return change


def _created(request, change):
    messages.success(request, _("The transfer request was created. Attach the evidence, then submit it."))
    return redirect(change)


@require_http_methods(["GET", "POST"])
def start_transfer(request):
    """Find the student by 学籍号 + 姓名 + ID number, then choose the class and give the reason."""
    school = _registrar_school(request.user)
    found, form = None, None
    # Only ever posted: ID numbers stay out of URLs and server logs.
    finder = FindStudentForm(request.POST or None)
    if finder.is_valid():
        try:
            found = services.find_student(**finder.lookup(), by=request.user, receiving_school=school)
        except DomainError as error:
            finder.add_error(None, error.message)
    if found is not None:
        bound = request.method == "POST" and "to_class" in request.POST
        form = TransferForm(
            request.POST if bound else None,
            initial=finder.lookup(),
            school=school,
            level=found.grade.level,
        )
        if bound and form.is_valid():
            change = _start_transfer(request, form, found)
            if change is not None:
                return redirect(change)
    return render(
        request,
        "transfers/start_transfer.html",
        {
            "finder": finder,
            "found": found,
            "form": form,
            "school": school,
            "window_open": transfer_window_open(school),
            "window_message": transfer_window_message(school),
        },
    )


@require_http_methods(["GET", "POST"])
def start_transfer_by_current(request):
    """The current school starts a transfer (where the province's rules say so): its student and the
    receiving school, then the class there and the reason."""
    school = _registrar_school(request.user)
    student = _chosen_student(request, school)
    initial = {"number": student.number} if student is not None else {}
    form = SendingTransferForm(request.POST or None, school=school, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.check_initiator(school, form.student, receiving=False)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            staged = "to_class" in request.POST
            first = {name: form.cleaned_data[name] for name in ("number", "to_school")}
            found = (form.student, form.receiving)
            form = SendingTransferForm(
                request.POST if staged else None, initial=first, school=school, found=found
            )
            if staged and form.is_valid():
                change = _start_transfer(request, form, form.student)
                if change is not None:
                    return redirect(change)
    return render(request, "transfers/start_transfer_by_current.html", {"form": form, "school": school})


@require_http_methods(["GET", "POST"])
def start_transfer_in(request):
    """转入 from a school outside the system: the record (the student form and family list), the
    学籍号 the student brings, the sending school and the reason; a draft request for the county."""
    school = _registrar_school(request.user)
    form = StudentForm(request.POST or None, school=school)
    family = GuardianFormSet(request.POST or None, instance=Student(), prefix="guardians")
    transfer = TransferInForm(request.POST or None, prefix="transfer")
    if request.method == "POST" and all([transfer.is_valid(), form.is_valid(), family.is_valid()]):
        try:
            change = services.start_transfer_in(
                by=request.user,
                data=form.record_data(),
                guardians=family.guardian_data(),
                **transfer.arguments(),
            )
        except DomainError as error:
            if error.errors:
                add_record_errors(error.errors, form, family)
            else:
                transfer.add_error(None, error.message)
        else:
            return _created(request, change)
    return render(
        request,
        "transfers/start_transfer_in.html",
        {
            "transfer": transfer,
            "form": form,
            "family": family,
            "school": school,
            "title": _("New request: %(kind)s") % {"kind": Kind.TRANSFER_IN.label},
            "required": [
                rules.describe_groups([group]) for group in rules_for(school).evidence(Kind.TRANSFER_IN)
            ],
            "window_open": transfer_window_open(school),
            "window_message": transfer_window_message(school),
        },
    )


def _kind_or_404(value):
    # A transfer (and one in from outside the system) has a page of its own.
    if value not in Kind.values or value in (Kind.TRANSFER, Kind.TRANSFER_IN):
        raise Http404
    return Kind(value)


@require_http_methods(["GET", "POST"])
def start_kind(request, kind):
    """Start a request of any kind but a transfer (in) for a student of my school."""
    kind = _kind_or_404(kind)
    school = _registrar_school(request.user)
    initial = {}
    student = _chosen_student(request, school)
    if student is not None:
        initial["number"] = student.number
    form = ChangeForm(request.POST or None, kind=kind, school=school, initial=initial)
    if student is not None:
        form.fields["number"].widget = forms.HiddenInput()
    if request.method == "POST" and form.is_valid():
        try:
            change = services.start_request(
                kind, by=request.user, student=form.student, **form.start_arguments()
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The request was created. Attach the evidence, then submit it."))
            return redirect(change)
    return render(
        request,
        "transfers/form.html",
        {
            "form": form,
            "kind": kind,
            "title": _("New request: %(kind)s") % {"kind": kind.label},
            "required": [rules.describe_groups([group]) for group in rules_for(school).evidence(kind)],
            "cancel_url": student.get_absolute_url() if student else reverse("transfers:start"),
            "student": student,
        },
    )


# --- answering a return, submitting, withdrawing ----------------------------------------------------


def _edit_form(change, data=None):
    school = change.to_school if change.is_transfer else change.student.school
    initial = {field: getattr(change, field) for field in services.EDITABLE_FIELDS}
    return ChangeForm(
        data, kind=change.kind, school=school, student=change.student, starting=False, initial=initial
    )


@require_http_methods(["GET", "POST"])
def edit(request, pk):
    """Change a draft or a returned request; "save and submit" sends it (again) for review."""
    change = get_applicant_change_for(request.user, pk)
    if not change.is_editable:
        messages.error(request, _("This request can no longer be changed."))
        return redirect(change)
    form = _edit_form(change, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            change = services.update_request(change, by=request.user, changes=form.changes())
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            if "submit" not in request.POST:
                messages.success(request, _("Saved."))
                return redirect(change)
            # Saved either way; what still stops the submission (missing evidence …) is put right on
            # the request's page.
            try:
                services.submit_request(change, by=request.user)
            except DomainError as error:
                messages.error(request, _("Saved, but not submitted: %(reason)s") % {"reason": error.message})
            else:
                messages.success(request, _("Submitted for review."))
            return redirect(change)
    returned = change.approval.state == ApprovalState.RETURNED
    return render(
        request,
        "transfers/form.html",
        {
            "form": form,
            "change": change,
            "kind": Kind(change.kind),
            "title": _("Change the request: %(kind)s · %(name)s")
            % {"kind": change.get_kind_display(), "name": change.student.name},
            "return_reason": approvals.last_comment(change.approval) if returned else "",
            "cancel_url": change.get_absolute_url(),
            "student": change.student,
            "photo_url": reverse("transfers:student_photo", args=[change.pk]),
        },
    )


@require_POST
def submit(request, pk):
    change = get_applicant_change_for(request.user, pk)
    try:
        services.submit_request(change, by=request.user, comment=request.POST.get("comment", ""))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Submitted for review."))
    return redirect(change)


@require_http_methods(["GET", "POST"])
def withdraw(request, pk):
    change = get_applicant_change_for(request.user, pk)
    form = CommentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.withdraw_request(change, by=request.user, comment=form.cleaned_data["comment"])
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The request was withdrawn; the record stays as it was."))
        return redirect(change)
    return render(request, "transfers/withdraw.html", {"change": change, "form": form})


# --- evidence ---------------------------------------------------------------------------------------


@require_POST
def evidence_add(request, pk):
    change = get_applicant_change_for(request.user, pk)
    form = EvidenceForm(request.POST, request.FILES, accepted=rules.accepted_evidence(change))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(change)
    try:
        services.add_evidence(
            change, by=request.user, uploaded_file=form.cleaned_data["file"], kind=form.cleaned_data["kind"]
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The document was attached."))
    return redirect(reverse("transfers:detail", args=[change.pk]) + "#evidence")


@require_GET
def evidence_file(request, pk):
    evidence = get_evidence_for(request.user, pk)
    # Who opened which scan: privacy (domain §9), and what a bulk approval asks of a reviewer.
    record_event(services.EVIDENCE_OPENED, actor=request.user, obj=evidence.change, evidence=evidence.pk)
    return serve_private_file(
        request,
        evidence.file,
        filename=evidence.download_name,
        content_type=evidence.content_type,
        inline=request.GET.get("download") != "1",
    )


@require_GET
def student_photo(request, pk):
    """The student's photo on the request's pages, for whoever may see the request: the receiving
    school of a transfer sees the pupil it is taking in before the record is its own."""
    return serve_photo(request, get_change_for(request.user, pk).student)


@require_POST
def evidence_delete(request, pk):
    evidence = get_evidence_for(request.user, pk)
    change = get_applicant_change_for(request.user, evidence.change_id)
    try:
        services.remove_evidence(evidence, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The document was removed."))
    return redirect(reverse("transfers:detail", args=[change.pk]) + "#evidence")


# --- printing ---------------------------------------------------------------------------------------


@require_GET
def print_form(request, pk):
    """转学联系表 or 学籍异动报表 on one A4 page, with boxes for signatures and stamps."""
    change = get_change_for(request.user, pk)
    full = may_see_full_record(request.user, change)
    # Printouts carry personal data out of the system: who printed which form is kept.
    record_event("transfers.request.printed", actor=request.user, obj=change, full_record=full)
    decisions = list(
        change.approval.decisions.select_related("actor", "step__node").filter(step__isnull=False)
    )
    return render(
        request,
        "transfers/print.html",
        {
            "change": change,
            "student": change.student,
            "full_record": full,
            "guardians": change.student.guardians.all() if full else [],
            "decisions": decisions,
            "printed_at": timezone.now(),
        },
    )


# --- suspensions and the dashboard ------------------------------------------------------------------


@require_GET
def suspensions(request):
    """The school's current suspensions, the earliest end first: resume, extend or end them in time."""
    user = request.user
    if (
        user.node_id is None
        or not user.node.is_school
        or not user.has_role(Role.SCHOOL_REGISTRAR, Role.PRINCIPAL)
    ):
        raise PermissionDenied
    today = timezone.localdate()
    days = calendar_for(user.node).suspension_reminder_days
    rows = list(services.suspensions_of(user.node))
    for row in rows:
        row.is_past = row.ends_on < today
        row.is_soon = today <= row.ends_on <= today + timedelta(days=days)
    return render(
        request,
        "transfers/suspensions.html",
        {"rows": rows, "days": days, "school": user.node, "can_start": user.has_role(Role.SCHOOL_REGISTRAR)},
    )


def nav_items(user):
    if user.node_id is None or not user.has_role(*STAFF_ROLES):
        return []
    return [NavItem(_("Status changes"), reverse("transfers:list"))]


def waiting_items(user):
    from registrar.dashboard import WaitingItem

    node = user.node
    if node is None or not node.is_school or not user.has_role(Role.SCHOOL_REGISTRAR):
        return []
    ending, past = services.suspension_reminders(node)
    suspensions_url = reverse("transfers:suspensions")
    drafts = StatusChangeRequest.objects.filter(
        approval__applicant_node=node, approval__state=ApprovalState.DRAFT
    ).count()
    return [
        WaitingItem(_("Suspensions ending soon"), ending.count(), suspensions_url),
        WaitingItem(_("Suspensions past their end date"), past.count(), suspensions_url, overdue=True),
        WaitingItem(
            _("Status change drafts not submitted yet"), drafts, reverse("transfers:list") + "?state=open"
        ),
    ]
