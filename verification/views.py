"""Pages of the data-quality campaign (数据质量核查) and of 人籍一致.

Reviewers open campaigns and watch progress; the school prints the forms, uploads the signed scans and
confirms its classes; the class teacher checks each form and confirms attendance each term."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registrar.access import get_class_for
from registrar.audit import record_event
from registrar.choices import Role
from registrar.dashboard import WaitingItem
from registrar.errors import DomainError
from registrar.models import SchoolClass
from registrar.navigation import NavItem
from registrar.uploads import ViewerFile, serve_private_file
from students.access import get_student_for
from students.models import KEY_FIELDS, sees_own_classes_only
from verification import services
from verification.access import get_campaign_class_for, get_campaign_for, get_form_for
from verification.exports import absences_response, progress_response
from verification.forms import AttendanceForm, BulkForm, CampaignForm, CheckForm, HandleForm, ScanForm
from verification.models import Absence, AttendanceCheck, Campaign, ConfirmationForm, Outcome
from verification.progress import class_progress, school_progress

REGISTRAR = (Role.SCHOOL_REGISTRAR,)
REVIEWERS = (Role.COUNTY_REVIEWER, Role.CITY_REVIEWER, Role.PROVINCE_ADMIN)
SCHOOL_STAFF = (Role.SCHOOL_REGISTRAR, Role.PRINCIPAL, Role.CLASS_TEACHER)


# --- navigation and dashboard -------------------------------------------------------------------------


def nav_items(user):
    if user.node_id is None:
        return []
    items = [NavItem(gettext_lazy("Data verification"), reverse("verification:home"))]
    if user.has_role(Role.CLASS_TEACHER, *REVIEWERS, Role.SCHOOL_REGISTRAR, Role.PRINCIPAL):
        items.append(NavItem(gettext_lazy("Students in class"), reverse("verification:attendance")))
    return items


def waiting_items(user):
    if user.node_id is None:
        return []
    items = []
    open_campaigns = Campaign.objects.visible_to(user).open()
    if user.has_role(Role.CLASS_TEACHER):
        waiting = ConfirmationForm.objects.filter(
            campaign__in=open_campaigns,
            outcome=Outcome.UNCHECKED,
            student__school_class__in=user.classes.all(),
            student__status__in=services.ON_ROSTER,
        ).count()
        items.append(
            WaitingItem(
                _("Signed confirmation forms waiting for my check"), waiting, reverse("verification:home")
            )
        )
        term_start, _end = services.current_term(user.node)
        unconfirmed = user.classes.exclude(attendance_checks__term_start=term_start).count()
        items.append(
            WaitingItem(
                _("My classes whose attendance is not confirmed this term"),
                unconfirmed,
                reverse("verification:attendance"),
            )
        )
    if user.node.is_school and user.has_role(Role.SCHOOL_REGISTRAR):
        unhandled = ConfirmationForm.objects.filter(
            campaign__in=open_campaigns,
            student__school=user.node,
            outcome=Outcome.WRONG,
            handled_at__isnull=True,
        ).count()
        items.append(
            WaitingItem(
                _("Confirmation forms with wrong fields to put right"),
                unhandled,
                reverse("verification:home"),
            )
        )
    if user.has_role(*REVIEWERS):
        term_start, _end = services.current_term(user.node)
        absent = Absence.objects.visible_to(user).filter(attendance__term_start=term_start).count()
        items.append(
            WaitingItem(
                _("Students registered but not in class this term"),
                absent,
                reverse("verification:attendance"),
            )
        )
    return items


def _error(request, error):
    messages.error(request, error.message)


def _teacher_classes(user):
    if not user.has_role(Role.CLASS_TEACHER):
        return SchoolClass.objects.none()
    return user.classes.select_related("grade__school").order_by("grade__level", "name")


# --- campaigns --------------------------------------------------------------------------------------------


@require_GET
def home(request):
    """The campaigns the user's node takes part in; a class teacher's classes with what waits."""
    user = request.user
    campaigns = list(Campaign.objects.visible_to(user).select_related("node"))
    teacher_rows = []
    for campaign in campaigns:
        if campaign.is_open:
            teacher_rows += [(campaign, row) for row in class_progress(campaign, _teacher_classes(user))]
    can_open = (
        user.node_id is not None
        and user.node.kind in services.OPENERS
        and user.has_role(services.OPENERS[user.node.kind])
    )
    return render(
        request,
        "verification/home.html",
        {"campaigns": campaigns, "teacher_rows": teacher_rows, "can_open": can_open},
    )


@require_http_methods(["GET", "POST"])
def campaign_open(request):
    user = request.user
    if user.node_id is None or user.node.kind not in services.OPENERS:
        raise PermissionDenied
    if not user.has_role(services.OPENERS[user.node.kind]):
        raise PermissionDenied
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.open_campaign(by=user, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("The campaign is open for the schools of %(node)s.") % {"node": user.node.name}
            )
            return redirect(campaign)
    return render(request, "verification/open.html", {"form": form})


@require_POST
def campaign_close(request, pk):
    campaign = get_campaign_for(request.user, pk, roles=REVIEWERS)
    if request.user.node_id != campaign.node_id:
        raise PermissionDenied
    try:
        services.close_campaign(campaign, by=request.user)
    except DomainError as error:
        _error(request, error)
    else:
        messages.success(request, _("The campaign is closed."))
    return redirect(campaign)


@require_GET
def campaign_detail(request, pk):
    """Progress: per county and school for the bureaus, per class for the school (its own classes
    for a class teacher). ?download=xlsx gives the same as a workbook."""
    user = request.user
    campaign = get_campaign_for(user, pk)
    at_school = user.node.is_school if user.node_id else False
    if at_school:
        classes = _school_classes(user, campaign)
        class_rows = class_progress(campaign, classes)
        school_rows = county_rows = []
    else:
        class_rows = []
        school_rows, county_rows = school_progress(campaign, user)
    if request.GET.get("download") == "xlsx":
        return progress_response(
            campaign, user, class_rows=class_rows, school_rows=school_rows, county_rows=county_rows
        )
    return render(
        request,
        "verification/campaign.html",
        {
            "campaign": campaign,
            "class_rows": class_rows,
            "school_rows": school_rows,
            "county_rows": county_rows if len(county_rows) > 1 else [],
            "can_close": campaign.is_open and user.node_id == campaign.node_id and user.has_role(*REVIEWERS),
        },
    )


def _school_classes(user, campaign):
    classes = SchoolClass.objects.visible_to(user).filter(grade__school__path__startswith=campaign.node.path)
    if sees_own_classes_only(user):
        classes = classes.filter(pk__in=user.classes.all())
    return classes


@require_GET
def class_detail(request, pk, class_pk):
    """A class in the campaign: each student's form, the uploads, the checks, the confirmation."""
    user = request.user
    campaign, school_class = get_campaign_class_for(user, pk, class_pk)
    students = list(services.roster_of(school_class).order_by("class_number", "name", "id"))
    forms = {
        form.student_id: form
        for form in ConfirmationForm.objects.filter(campaign=campaign, student__in=students).select_related(
            "checked_by", "handled_by"
        )
    }
    rows = [(student, forms.get(student.pk)) for student in students]
    [progress] = class_progress(campaign, SchoolClass.objects.filter(pk=school_class.pk))
    blockers, _count = services.class_blockers(campaign, school_class)
    is_registrar = user.has_role(Role.SCHOOL_REGISTRAR) and user.node_id == school_class.grade.school_id
    return render(
        request,
        "verification/class.html",
        {
            "campaign": campaign,
            "school_class": school_class,
            "rows": rows,
            "progress": progress,
            "blockers": blockers,
            "is_registrar": is_registrar,
            "is_teacher": services.teaches(user, school_class),
            "bulk_form": BulkForm(),
            "scan_form": ScanForm(),
        },
    )


@require_GET
def class_print(request, pk, class_pk):
    """学籍信息确认表 of a whole class: one A4 page per student, for the parents to check and sign."""
    user = request.user
    campaign, school_class = get_campaign_class_for(user, pk, class_pk, roles=SCHOOL_STAFF)
    students = list(
        services.roster_of(school_class)
        .select_related("school", "grade__school", "school_class")
        .prefetch_related("guardians")
        .order_by("class_number", "name", "id")
    )
    # Printing full records (whole ID numbers) is logged, as the 学籍卡 is (domain §9).
    record_event(
        "verification.forms.printed",
        actor=user,
        obj=school_class,
        campaign=campaign.pk,
        students=len(students),
    )
    return render(
        request,
        "verification/print.html",
        {
            "campaign": campaign,
            "school_class": school_class,
            "students": students,
            "printed_at": timezone.now(),
        },
    )


@require_POST
def upload_one(request, pk, student_pk):
    campaign = get_campaign_for(request.user, pk, roles=REGISTRAR)
    student = get_student_for(request.user, student_pk, roles=REGISTRAR)
    back = (
        reverse("verification:class", args=[campaign.pk, student.school_class_id])
        if student.school_class_id
        else campaign.get_absolute_url()
    )
    form = ScanForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose the scan of the signed form."))
        return redirect(back)
    try:
        saved = services.upload_form(
            campaign, student, by=request.user, uploaded_file=form.cleaned_data["file"]
        )
    except DomainError as error:
        _error(request, error)
    else:
        messages.success(request, _("Stored the signed form of %(name)s.") % {"name": student.name})
        for notice in saved.notices:
            messages.info(request, notice)
    return redirect(back)


@require_POST
def upload_bulk(request, pk, class_pk):
    campaign, school_class = get_campaign_class_for(request.user, pk, class_pk, roles=REGISTRAR)
    back = reverse("verification:class", args=[campaign.pk, school_class.pk])
    form = BulkForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose the files to upload."))
        return redirect(back)
    try:
        saved = services.upload_forms(
            campaign, school_class, by=request.user, uploaded_files=form.cleaned_data["files"]
        )
    except services.BulkRefused as error:
        _error(request, error)
        for problem in error.problems:
            messages.warning(request, problem)
    except DomainError as error:
        _error(request, error)
    else:
        messages.success(request, _("Stored %(count)s signed forms.") % {"count": len(saved)})
    return redirect(back)


@require_POST
def class_confirm(request, pk, class_pk):
    campaign, school_class = get_campaign_class_for(request.user, pk, class_pk, roles=REGISTRAR)
    try:
        services.confirm_class(campaign, school_class, by=request.user)
    except DomainError as error:
        _error(request, error)
    else:
        messages.success(request, _("%(class)s is confirmed.") % {"class": school_class})
    return redirect(reverse("verification:class", args=[campaign.pk, school_class.pk]))


# --- one form ---------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def form_detail(request, pk):
    """The record beside the signed scan; the class teacher marks 一致 or the wrong fields."""
    user = request.user
    confirmation = get_form_for(user, pk)
    student = confirmation.student
    is_teacher = student.school_class_id is not None and services.teaches(user, student.school_class)
    check_form = CheckForm(
        request.POST or None,
        initial={"wrong_fields": confirmation.wrong_fields, "remark": confirmation.remark},
    )
    if request.method == "POST":
        if not is_teacher:
            raise PermissionDenied
        if check_form.is_valid():
            try:
                services.check_form(confirmation, by=user, **check_form.cleaned_data)
            except DomainError as error:
                _error(request, error)
            else:
                messages.success(request, _("The check of %(name)s is recorded.") % {"name": student.name})
                return redirect(
                    _next_form(confirmation, user)
                    or reverse("verification:class", args=[confirmation.campaign_id, student.school_class_id])
                )
        return redirect(confirmation)
    url = reverse("verification:scan", args=[confirmation.pk])
    wrong = [(name, services.field_label(name), name in KEY_FIELDS) for name in confirmation.wrong_fields]
    return render(
        request,
        "verification/form.html",
        {
            "confirmation": confirmation,
            "student": student,
            "guardians": student.guardians.all(),
            "files": [ViewerFile.for_upload(confirmation, url, url + "?download=1")],
            "check_form": check_form,
            "handle_form": HandleForm(),
            "is_teacher": is_teacher,
            "is_registrar": user.has_role(Role.SCHOOL_REGISTRAR) and user.node_id == student.school_id,
            "wrong": wrong,
            "has_key_field": any(key for _n, _l, key in wrong),
        },
    )


def _next_form(confirmation, user):
    """The class teacher's next form waiting for a check in the same class, to go on with."""
    following = (
        ConfirmationForm.objects.filter(
            campaign_id=confirmation.campaign_id,
            student__school_class_id=confirmation.student.school_class_id,
            student__status__in=services.ON_ROSTER,
            outcome=Outcome.UNCHECKED,
        )
        .order_by("student__class_number", "student__name", "student_id")
        .first()
    )
    return following.get_absolute_url() if following else None


@require_GET
def scan(request, pk):
    confirmation = get_form_for(request.user, pk)
    record_event(
        "verification.scan.opened", actor=request.user, obj=confirmation, student=confirmation.student_id
    )
    return serve_private_file(
        request,
        confirmation.file,
        filename=f"{confirmation.student.number or confirmation.student.name}.{confirmation.extension}",
        content_type=confirmation.content_type,
        inline=not request.GET.get("download"),
    )


@require_POST
def form_handle(request, pk):
    confirmation = get_form_for(request.user, pk, roles=REGISTRAR)
    form = HandleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say how the wrong fields were put right."))
        return redirect(confirmation)
    try:
        services.handle_form(confirmation, by=request.user, handling=form.cleaned_data["handling"])
    except DomainError as error:
        _error(request, error)
    else:
        messages.success(request, _("Recorded how the form was put right."))
    return redirect(confirmation)


# --- 人籍一致 ------------------------------------------------------------------------------------------


@require_GET
def attendance(request):
    """The class teacher's classes, the school's classes, or the county's list of 在籍不在校."""
    user = request.user
    if user.node_id is None:
        raise Http404
    term_start, term_end = services.current_term(user.node)
    absences = Absence.objects.none()
    classes = []
    if user.node.is_school:
        visible = SchoolClass.objects.visible_to(user).select_related("grade__school")
        if sees_own_classes_only(user):
            visible = visible.filter(pk__in=user.classes.all())
        checks = {
            check.school_class_id: check
            for check in AttendanceCheck.objects.filter(
                school_class__in=visible, term_start=term_start
            ).select_related("confirmed_by")
        }
        teaching = (
            set(user.classes.values_list("pk", flat=True)) if user.has_role(Role.CLASS_TEACHER) else set()
        )
        classes = [
            (school_class, checks.get(school_class.pk), school_class.pk in teaching)
            for school_class in visible
        ]
    absences = (
        Absence.objects.visible_to(user)
        .filter(attendance__term_start=term_start)
        .select_related(
            "student__school", "student__grade__school", "student__school_class", "attendance__confirmed_by"
        )
        .order_by(
            "student__school__path", "student__grade__level", "student__school_class__name", "student__name"
        )
    )
    if sees_own_classes_only(user):
        absences = absences.filter(student__school_class__in=user.classes.all())
    if request.GET.get("download") == "xlsx":
        return absences_response(user, absences, term_start, term_end)
    return render(
        request,
        "verification/attendance.html",
        {"term_start": term_start, "term_end": term_end, "classes": classes, "absences": absences},
    )


@require_http_methods(["GET", "POST"])
def attendance_class(request, class_pk):
    user = request.user
    school_class = get_class_for(user, class_pk, roles=[Role.CLASS_TEACHER])
    if not services.teaches(user, school_class):
        raise Http404
    term_start, term_end = services.current_term(school_class.grade.school)
    students = list(services.roster_of(school_class).order_by("class_number", "name", "id"))
    check = AttendanceCheck.objects.filter(school_class=school_class, term_start=term_start).first()
    initial = {absence.student_id: absence for absence in check.absences.all()} if check else {}
    form = AttendanceForm(request.POST or None, students=students, initial_absences=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.confirm_attendance(school_class, by=user, absences=form.absences())
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("Attendance of %(class)s is confirmed for this term.") % {"class": school_class}
            )
            return redirect("verification:attendance")
    return render(
        request,
        "verification/attendance_class.html",
        {
            "school_class": school_class,
            "form": form,
            "check": check,
            "term_start": term_start,
            "term_end": term_end,
        },
    )
