"""Pages of graduation: the season's overview, the results template and import, the audit (page and
workbook), the graduation list and its review, certificates (withhold, release, the 毕业证明书, the
cases after graduation) and the documents. Thin: fetch through graduation/access.py, check the
form, call the service, say what happened."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from graduation import aftercare, documents, importer, services
from graduation.access import (
    REGISTRAR,
    ROLES,
    get_case_for,
    get_certificate_for,
    get_import_for,
    get_list_for,
)
from graduation.audit import audit, graduation_year
from graduation.forms import AddStudentForm, AuditFilterForm, EntriesForm, ReasonForm, UploadForm
from graduation.models import CaseKind, CertificateCase, GraduationList, ResultImport
from registrar import approvals
from registrar.access import get_node_for, get_school_for
from registrar.audit import object_timeline, record_event
from registrar.calendar import calendar_for
from registrar.choices import OPEN_STATES, Role, Segment
from registrar.dashboard import WaitingItem
from registrar.errors import DomainError
from registrar.kinds import may_decide_step
from registrar.models import ApprovalState
from registrar.navigation import NavItem
from students.models import Student

PAGE_SIZE = 50
XLSX = documents.XLSX


# --- navigation and dashboard ------------------------------------------------------------------------------


def nav_items(user):
    if user.node_id is None or not user.has_role(*ROLES):
        return []
    return [NavItem(gettext_lazy("Graduation"), reverse("graduation:home"))]


def waiting_items(user):
    if user.node_id is None or not user.has_role(*ROLES):
        return []
    node = user.node
    home = reverse("graduation:home")
    items = []
    if node.is_school and user.has_role(Role.SCHOOL_REGISTRAR):
        drafts = GraduationList.objects.filter(
            school=node, approval__state__in=[ApprovalState.DRAFT, ApprovalState.RETURNED]
        ).count()
        items.append(WaitingItem(_("Graduation lists to finish and submit"), drafts, home))
    deadline = calendar_for(node).graduation_deadline_for(timezone.localdate())
    open_lists = GraduationList.objects.filter(
        school__path__startswith=node.path, year=graduation_year(), approval__state__in=list(OPEN_STATES)
    ).count()
    items.append(
        WaitingItem(
            _("Graduation lists not yet approved (due %(date)s)") % {"date": deadline.isoformat()},
            open_lists,
            home,
            overdue=timezone.localdate() > deadline,
        )
    )
    return items


# --- the season ------------------------------------------------------------------------------


def _staff(user):
    if user.node_id is None or not user.has_role(*ROLES):
        raise PermissionDenied
    return user.node


@require_GET
def home(request):
    node = _staff(request.user)
    today = timezone.localdate()
    calendar = calendar_for(node)
    lists = GraduationList.objects.visible_to(request.user).select_related(
        "school", "approval__current_step__node"
    )
    cases = CertificateCase.objects.visible_to(request.user).select_related("student", "approval")
    return render(
        request,
        "graduation/home.html",
        {
            "node": node,
            "segments": services.graduating_segments(node) if node.is_school else [],
            "is_registrar": node.is_school and request.user.has_role(Role.SCHOOL_REGISTRAR),
            "freeze": calendar.graduation_freeze_for(today),
            "deadline": calendar.graduation_deadline_for(today),
            "year": graduation_year(today),
            "lists": lists[:20],
            "cases": cases[:20],
            "documents": documents.DOCUMENTS,
        },
    )


# --- results ------------------------------------------------------------------------------


@require_GET
def template_download(request, code):
    school = get_school_for(request.user, code, roles=REGISTRAR)
    segments = services.graduating_segments(school)
    segment = request.GET.get("segment", "") or (segments[0] if segments else "")
    if segment not in segments:
        raise Http404
    workbook = importer.build_template(services.province_of(school), segment)
    response = HttpResponse(content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="graduation-results-{segment}.xlsx"'
    workbook.save(response)
    return response


@require_http_methods(["GET", "POST"])
def results(request, code):
    school = get_school_for(request.user, code, roles=REGISTRAR)
    if request.user.node_id != school.pk:
        raise PermissionDenied
    segments = services.graduating_segments(school)
    form = UploadForm(request.POST or None, request.FILES or None, segments=segments)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > importer.MAX_FILE_BYTES:
            form.add_error("file", _("The file is larger than 10 MB."))
        else:
            record = importer.import_results(
                school,
                upload.read(),
                by=request.user,
                province=services.province_of(school),
                segment=form.cleaned_data["segment"],
                original_name=upload.name,
            )
            if record.state == ResultImport.State.DONE:
                messages.success(
                    request,
                    _("%(rows)s rows imported; %(changed)s students' results changed.")
                    % {"rows": record.total_rows, "changed": record.changed_rows},
                )
            else:
                messages.error(
                    request,
                    _("The file has errors: nothing was imported. Correct the rows and import it again."),
                )
            return redirect(reverse("graduation:results", args=[school.code]) + f"?import={record.pk}")
    shown = request.GET.get("import", "")
    record = (
        ResultImport.objects.filter(school=school, pk=int(shown)).first()
        if shown.isdigit() and len(shown) < 12
        else None
    )
    return render(
        request,
        "graduation/results.html",
        {
            "school": school,
            "form": form,
            "segments": [(segment, Segment(segment).label) for segment in segments],
            "record": record,
            "imports": ResultImport.objects.filter(school=school).select_related("created_by")[:10],
        },
    )


@require_GET
def import_errors(request, pk):
    record = get_import_for(request.user, pk)
    if not record.error_file:
        raise Http404
    response = FileResponse(
        record.error_file.open("rb"), as_attachment=True, filename="errors.xlsx", content_type=XLSX
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- the audit ------------------------------------------------------------------------------


def _audit(request, code):
    node = get_node_for(request.user, code, roles=ROLES)
    result = audit(node)
    segments = sorted({row.segment for row in result.rows}, key=list(Segment).index)
    classes = sorted(
        {(row.class_id, f"{row.school.name} {row.grade.name}{row.class_name}") for row in result.rows},
        key=lambda c: c[1],
    )
    form = AuditFilterForm(request.GET or None, segments=segments, classes=classes)
    return node, result, result.filter(**form.filters()), form


@require_GET
def audit_page(request, code):
    node, whole, result, form = _audit(request, code)
    page = Paginator(result.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "graduation/audit.html",
        {
            "node": node,
            "form": form,
            "page": page,
            "counts": result.counts(),
            "reasons": result.reason_counts(),
            "total": len(whole.rows),
            "query": query.urlencode(),
            "can_propose": node.is_school
            and request.user.node_id == node.pk
            and request.user.has_role(Role.SCHOOL_REGISTRAR),
            "segments": form.fields["segment"].choices[1:],
        },
    )


@require_GET
def audit_export(request, code):
    node, _whole, result, form = _audit(request, code)
    return documents.xlsx_response(
        user=request.user,
        node=node,
        action="graduation.audit.exported",
        title="毕业资格审核",
        columns=documents.audit_columns(),
        rows=documents.audit_rows(result.rows),
        filename="graduation-audit",
        filters=form.filters() if form.is_bound else {},
    )


# --- the list ------------------------------------------------------------------------------


@require_POST
def propose(request, code):
    school = get_school_for(request.user, code, roles=REGISTRAR)
    try:
        graduation_list = services.propose_list(
            school, by=request.user, segment=request.POST.get("segment", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("graduation:audit", code=school.code)
    messages.success(
        request, _("The list was proposed from the audit. Set the destinations, then submit it.")
    )
    return redirect(graduation_list)


def _list_context(request, graduation_list, **extra):
    user = request.user
    approval = graduation_list.approval
    entries = list(
        graduation_list.entries.select_related(
            "student__school_class", "student__grade", "removed_by", "certificate"
        )
    )
    students = Student.objects.filter(pk__in=[entry.student_id for entry in entries])
    judged = (
        {row.pk: row for row in audit(graduation_list.school, students=students).rows}
        if approval.is_open
        else {}
    )
    for entry in entries:
        entry.row = judged.get(entry.student_id)
    editable = approvals.may_edit(approval, user)
    step = approval.current_step
    active = [entry for entry in entries if not entry.is_removed]
    return {
        "graduation_list": graduation_list,
        "approval": approval,
        "entries": entries,
        "editable": editable,
        "entries_form": extra.pop("entries_form", None)
        or (EntriesForm(entries=active) if editable else None),
        "add_form": extra.pop("add_form", None) or AddStudentForm(),
        "may_take_out": step is not None
        and approval.state in (ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW)
        and may_decide_step(step, user),
        "deadline": calendar_for(graduation_list.school, by_stage=True).graduation_deadline_for(
            timezone.localdate(), graduation_list.segment
        ),
        "timeline": object_timeline(graduation_list, user),
        **extra,
    }


@require_GET
def list_detail(request, pk):
    graduation_list = get_list_for(request.user, pk)
    return render(request, "graduation/list.html", _list_context(request, graduation_list))


@require_POST
def list_entries(request, pk):
    graduation_list = get_list_for(request.user, pk, roles=REGISTRAR)
    if not approvals.may_act_as_applicant(graduation_list.approval, request.user):
        raise PermissionDenied
    active = list(graduation_list.entries.filter(removed_at__isnull=True).select_related("student"))
    form = EntriesForm(request.POST, entries=active)
    if form.is_valid():
        try:
            count = services.update_entries(graduation_list, by=request.user, changes=form.changes())
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("%(count)s students changed.") % {"count": count})
            return redirect(graduation_list)
    return render(
        request,
        "graduation/list.html",
        _list_context(request, graduation_list, entries_form=form),
    )


@require_POST
def list_add(request, pk):
    graduation_list = get_list_for(request.user, pk, roles=REGISTRAR)
    if not approvals.may_act_as_applicant(graduation_list.approval, request.user):
        raise PermissionDenied
    form = AddStudentForm(request.POST)
    if form.is_valid():
        student = Student.objects.filter(
            school=graduation_list.school, number=form.cleaned_data["number"].strip().upper()
        ).first()
        if student is None:
            form.add_error("number", _("No student of this school has this registration number."))
        else:
            try:
                services.add_student(
                    graduation_list, by=request.user, student=student, outcome=form.cleaned_data["outcome"]
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("%(name)s was added to the list.") % {"name": student.name})
                return redirect(graduation_list)
    return render(request, "graduation/list.html", _list_context(request, graduation_list, add_form=form))


def _entry(graduation_list, entry_pk):
    return get_object_or_404(
        graduation_list.entries.select_related("student", "graduation_list__approval"), pk=entry_pk
    )


@require_POST
def entry_delete(request, pk, entry_pk):
    graduation_list = get_list_for(request.user, pk, roles=REGISTRAR)
    entry = _entry(graduation_list, entry_pk)
    try:
        services.delete_entry(entry, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(name)s was struck off the list.") % {"name": entry.student.name})
    return redirect(graduation_list)


@require_POST
def entry_take_out(request, pk, entry_pk):
    graduation_list = get_list_for(request.user, pk)
    entry = _entry(graduation_list, entry_pk)
    form = ReasonForm(request.POST)
    try:
        services.take_out(entry, by=request.user, reason=form.data.get("reason", ""))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(name)s was taken out of the list.") % {"name": entry.student.name})
    return redirect(graduation_list)


# --- certificates and the cases after graduation ------------------------------------------------


@require_GET
def certificate(request, pk):
    certificate = get_certificate_for(request.user, pk)
    user = request.user
    own = user.node_id == certificate.school_id and user.has_role(Role.SCHOOL_REGISTRAR)
    return render(
        request,
        "graduation/certificate.html",
        {
            "certificate": certificate,
            "student": certificate.student,
            "is_registrar": own,
            "form": ReasonForm(),
            "cases": certificate.cases.select_related("approval"),
            "exchange_problem": aftercare.case_problem(CaseKind.EXCHANGE, certificate) if own else "",
            "reversal_problem": aftercare.case_problem(CaseKind.REVERSAL, certificate) if own else "",
            "timeline": object_timeline(certificate, user),
        },
    )


@require_POST
def certificate_withhold(request, pk):
    certificate = get_certificate_for(request.user, pk, roles=REGISTRAR)
    try:
        aftercare.withhold_certificate(certificate, by=request.user, reason=request.POST.get("reason", ""))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The certificate is withheld."))
    return redirect(certificate)


@require_POST
def certificate_release(request, pk):
    certificate = get_certificate_for(request.user, pk, roles=REGISTRAR)
    try:
        aftercare.release_certificate(certificate, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The certificate may be collected."))
    return redirect(certificate)


@require_GET
def proof(request, pk):
    """毕业证明书: the replacement proof of a lost certificate, on one A4 page with stamp and signature."""
    certificate = get_certificate_for(request.user, pk, roles=(Role.SCHOOL_REGISTRAR, Role.PRINCIPAL))
    if not certificate.is_valid:
        raise Http404
    record_event(
        "graduation.proof.printed", actor=request.user, obj=certificate.student, number=certificate.number
    )
    event = certificate.student.status_events.filter(
        to_status__in=["graduated", "completed", "dropped_out"]
    ).last()
    return render(
        request,
        "graduation/proof.html",
        {
            "certificate": certificate,
            "student": certificate.student,
            "left_on": event.occurred_on if event else certificate.issued_on,
            "today": timezone.localdate(),
        },
    )


@require_POST
def case_start(request, pk, kind):
    if kind not in CaseKind.values:
        raise Http404
    certificate = get_certificate_for(request.user, pk, roles=REGISTRAR)
    try:
        case = aftercare.start_case(kind, certificate, by=request.user, reason=request.POST.get("reason", ""))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(certificate)
    messages.success(request, _("The request was created: submit it for review."))
    return redirect(case)


@require_GET
def case_detail(request, pk):
    case = get_case_for(request.user, pk)
    return render(
        request,
        "graduation/case.html",
        {"case": case, "approval": case.approval, "timeline": object_timeline(case, request.user)},
    )


# --- documents ------------------------------------------------------------------------------


def _documents(request, code):
    node = get_node_for(request.user, code, roles=ROLES)
    document = request.GET.get("document", documents.ROSTER)
    if document not in documents.DOCUMENTS:
        raise Http404
    year = request.GET.get("year", "")
    year = int(year) if year.isdigit() and len(year) == 4 else graduation_year()
    school_class = request.GET.get("class", "")
    school_class = int(school_class) if school_class.isdigit() and len(school_class) < 12 else None
    certificates = documents.certificates_for(node, document=document, year=year, school_class=school_class)
    return node, document, year, certificates


@require_GET
def documents_page(request, code):
    node, document, year, certificates = _documents(request, code)
    certificates = list(certificates)
    rows = list(zip(documents.document_rows(certificates, document, mask=True), certificates, strict=True))
    return render(
        request,
        "graduation/documents.html",
        {
            "node": node,
            "document": document,
            "title": documents.DOCUMENTS[document],
            "documents": documents.DOCUMENTS,
            "year": year,
            "columns": documents.document_columns(document),
            "rows": rows,
            "query": request.GET.urlencode(),
        },
    )


@require_GET
def documents_export(request, code):
    node, document, year, certificates = _documents(request, code)
    return documents.xlsx_response(
        user=request.user,
        node=node,
        action="graduation.documents.exported",
        title=str(documents.DOCUMENTS[document]),
        columns=documents.document_columns(document),
        rows=documents.document_rows(certificates, document),
        filename=f"graduation-{document}-{year}",
        document=document,
        year=year,
    )
