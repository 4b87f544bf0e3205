"""The use cases of 数据质量核查 and 人籍一致: each locks, checks, writes and audits in one transaction."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registrar.audit import record_event
from registrar.calendar import calendar_for
from registrar.choices import NodeKind, Role
from registrar.uploads import clean_evidence, save_clean_file
from students.models import KEY_FIELDS, Status, Student
from verification.errors import VerificationError
from verification.models import (
    Absence,
    AbsenceReason,
    AttendanceCheck,
    Campaign,
    ClassConfirmation,
    ConfirmationForm,
    Outcome,
)

# Who is on a class's roster for the campaign and for 人籍一致: registered and not departed.
ON_ROSTER = (Status.ENROLLED, Status.SUSPENDED)
# The record's fields printed on the 学籍信息确认表, which the class teacher may find wrong.
RECORD_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "id_type",
    "id_number",
    "ethnicity",
    "nationality",
    "overseas",
    "birth_place",
    "native_place",
    "health",
    "hukou_place",
    "hukou_type",
    "address",
    "phone",
    "name_pinyin",
    "former_name",
    "political_status",
    "only_child",
    "left_behind",
    "migrant_child",
    "orphan",
    "martyr_child",
    "disability",
)
GUARDIANS = "guardians"
OPENERS = {NodeKind.COUNTY: Role.COUNTY_REVIEWER, NodeKind.CITY: Role.CITY_REVIEWER}


def field_choices():
    labels = [(name, Student._meta.get_field(name).verbose_name) for name in RECORD_FIELDS]
    return [*labels, (GUARDIANS, gettext_lazy("guardians"))]


def field_label(name):
    return str(dict(field_choices()).get(name, name))


def is_key_field(name):
    return name in KEY_FIELDS


def roster_of(school_class):
    return Student.objects.filter(school_class=school_class, status__in=ON_ROSTER)


def teaches(user, school_class):
    return user.has_role(Role.CLASS_TEACHER) and user.classes.filter(pk=school_class.pk).exists()


# --- campaigns --------------------------------------------------------------------------------------


def open_campaign(*, by, title, deadline, note=""):
    """A county or city reviewer opens a campaign for the schools under its node."""
    node = by.node
    if node is None or OPENERS.get(node.kind) is None or not by.has_role(OPENERS[node.kind]):
        raise VerificationError(_("Only a county or city reviewer opens a data-quality campaign."))
    title = (title or "").strip()
    if not title:
        raise VerificationError(_("Give the campaign a title."))
    if deadline < timezone.localdate():
        raise VerificationError(_("The deadline has passed already: choose a later day."))
    with transaction.atomic():
        running = Campaign.objects.select_for_update().filter(node=node).open().first()
        if running is not None:
            raise VerificationError(
                _("The campaign “%(title)s” is still open for %(node)s: close it first.")
                % {"title": running.title, "node": node.name}
            )
        campaign = Campaign.objects.create(node=node, title=title, deadline=deadline, note=note, opened_by=by)
        record_event(
            "verification.campaign.opened", actor=by, obj=campaign, deadline=deadline.isoformat(), title=title
        )
    return campaign


def close_campaign(campaign, *, by):
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if by.node_id != campaign.node_id:
            raise VerificationError(_("Only the office that opened the campaign closes it."))
        if not campaign.is_open:
            raise VerificationError(_("The campaign is closed already."))
        campaign.closed_at = timezone.now()
        campaign.save(update_fields=["closed_at"])
        record_event("verification.campaign.closed", actor=by, obj=campaign)
    return campaign


def _fresh(campaign):
    """The campaign as the database has it now (it may have been closed meanwhile)."""
    return Campaign.objects.select_related("node").get(pk=campaign.pk)


def _ensure_open(campaign):
    if not campaign.is_open:
        raise VerificationError(_("The campaign “%(title)s” is closed.") % {"title": campaign.title})


def ensure_covers(campaign, school):
    if not school.path.startswith(campaign.node.path) or school.pk == campaign.node_id:
        raise VerificationError(
            _("%(school)s is not among the schools of the campaign “%(title)s”.")
            % {"school": school.name, "title": campaign.title}
        )


def _ensure_not_confirmed(campaign, school_class):
    confirmation = ClassConfirmation.objects.filter(campaign=campaign, school_class=school_class).first()
    if confirmation is not None:
        raise VerificationError(
            _("%(class)s was confirmed on %(date)s: its forms no longer change.")
            % {"class": school_class, "date": f"{timezone.localtime(confirmation.confirmed_at):%Y-%m-%d}"}
        )


def _ensure_registrar_of(by, school):
    if not by.has_role(Role.SCHOOL_REGISTRAR) or by.node_id != school.pk:
        raise VerificationError(_("Only the school's registrar does this."))


# --- the signed forms ---------------------------------------------------------------------------------


def _check_student(campaign, student, school_class=None):
    _ensure_open(campaign)
    ensure_covers(campaign, student.school)
    if student.status not in ON_ROSTER or student.school_class_id is None:
        raise VerificationError(
            _("%(name)s is not on a class roster (%(status)s).")
            % {"name": student.name, "status": student.get_status_display()}
        )
    if school_class is not None and student.school_class_id != school_class.pk:
        raise VerificationError(_("%(name)s is not in this class.") % {"name": student.name})
    _ensure_not_confirmed(campaign, student.school_class)


def _store_form(campaign, student, clean, *, by):
    """Create or replace the student's form with the checked scan; a new scan waits for a new check."""
    form = ConfirmationForm.objects.select_for_update().filter(campaign=campaign, student=student).first()
    old_file = None
    if form is None:
        form = ConfirmationForm(campaign=campaign, student=student)
    else:
        old_file = (form.file.storage, form.file.name)
        form.outcome, form.wrong_fields, form.remark = Outcome.UNCHECKED, [], ""
        form.checked_by = form.checked_at = form.handled_by = form.handled_at = None
        form.handling = ""
        form.uploaded_at = timezone.now()
    form.uploaded_by = by
    save_clean_file(form, clean)
    form._history_user = by
    form.save()
    if old_file is not None:
        storage, name = old_file
        transaction.on_commit(lambda: storage.delete(name))
    record_event(
        "verification.form.uploaded",
        actor=by,
        obj=form,
        student=student.pk,
        replaced=old_file is not None,
        size=form.size,
        sha256=form.sha256,
    )
    return form


def upload_form(campaign, student, *, by, uploaded_file):
    """One student's signed form: the scan is checked like any evidence image (JPG, PNG or PDF)."""
    _ensure_registrar_of(by, student.school)
    _check_student(campaign, student)
    clean = clean_evidence(uploaded_file)
    with transaction.atomic():
        campaign = _fresh(campaign)
        student = Student.objects.select_for_update().get(pk=student.pk)
        _check_student(campaign, student)
        form = _store_form(campaign, student, clean, by=by)
    form.notices = clean.notices
    return form


class BulkRefused(VerificationError):
    """A bulk upload stored nothing; `problems` names each file refused and why."""

    def __init__(self, problems):
        super().__init__(_("Nothing was stored: correct these files and upload them again."))
        self.problems = problems


def upload_forms(campaign, school_class, *, by, uploaded_files):
    """Several signed forms at once (files or zip archives), each named by 学籍号: all or nothing."""
    from registrar.uploads import UploadError
    from verification import bulk

    school = school_class.grade.school
    _ensure_registrar_of(by, school)
    _ensure_open(campaign)
    ensure_covers(campaign, school)
    _ensure_not_confirmed(campaign, school_class)
    files, problems = bulk.expand(uploaded_files)
    if not files and not problems:
        raise VerificationError(_("Choose the files to upload."))
    pairs, mismatched = bulk.match(files, list(roster_of(school_class)))
    problems += mismatched
    cleaned = []
    for student, uploaded in pairs:
        try:
            cleaned.append((student, clean_evidence(uploaded)))
        except UploadError as error:
            problems.append(f"{uploaded.name}: {error.message}")
    if problems:
        raise BulkRefused(problems)
    with transaction.atomic():
        campaign = _fresh(campaign)
        forms = []
        for student, clean in cleaned:
            student = Student.objects.select_for_update().get(pk=student.pk)
            _check_student(campaign, student, school_class)
            forms.append(_store_form(campaign, student, clean, by=by))
    return forms


def _locked_form(form):
    return (
        ConfirmationForm.objects.select_for_update()
        .select_related("campaign__node", "student__school", "student__school_class__grade")
        .get(pk=form.pk)
    )


def check_form(form, *, by, wrong_fields, remark=""):
    """The class teacher's check of one signed form: 一致 (no wrong field) or the fields found wrong."""
    known = {name for name, _label in field_choices()}
    unknown = [name for name in wrong_fields if name not in known]
    if unknown:
        raise VerificationError(_("Unknown fields: %(fields)s") % {"fields": "、".join(unknown)})
    with transaction.atomic():
        form = _locked_form(form)
        student = form.student
        if student.school_class_id is None or not teaches(by, student.school_class):
            raise VerificationError(
                _("Only the class teacher of %(name)s checks this form.") % {"name": student.name}
            )
        _ensure_open(form.campaign)
        _ensure_not_confirmed(form.campaign, student.school_class)
        if wrong_fields and not remark.strip():
            raise VerificationError(
                _("Say what the parent wrote is wrong, so that the registrar can put it right.")
            )
        ordered = [name for name, _label in field_choices() if name in set(wrong_fields)]
        form.outcome = Outcome.WRONG if ordered else Outcome.CONSISTENT
        form.wrong_fields, form.remark = ordered, remark.strip()
        form.checked_by, form.checked_at = by, timezone.now()
        form.handled_by = form.handled_at = None
        form.handling = ""
        form._history_user = by
        form.save()
        record_event(
            "verification.form.checked",
            actor=by,
            obj=form,
            reason=form.remark,
            student=student.pk,
            outcome=form.outcome,
            wrong_fields=ordered,
        )
    return form


def handle_form(form, *, by, handling):
    """The registrar says how the wrong fields were put right (a key-data correction, a direct edit)."""
    handling = (handling or "").strip()
    with transaction.atomic():
        form = _locked_form(form)
        _ensure_registrar_of(by, form.student.school)
        _ensure_open(form.campaign)
        if form.outcome != Outcome.WRONG:
            raise VerificationError(_("Nothing was found wrong on this form."))
        if form.handled_at is not None:
            raise VerificationError(_("This form was handled already."))
        if not handling:
            raise VerificationError(_("Say how the wrong fields were put right."))
        form.handled_by, form.handled_at, form.handling = by, timezone.now(), handling
        form._history_user = by
        form.save(update_fields=["handled_by", "handled_at", "handling"])
        record_event(
            "verification.form.handled", actor=by, obj=form, reason=handling, student=form.student_id
        )
    return form


def class_blockers(campaign, school_class):
    """What keeps the registrar from confirming the class, in words (empty: it may be confirmed)."""
    students = list(roster_of(school_class).order_by("class_number", "name", "id"))
    forms = {
        form.student_id: form
        for form in ConfirmationForm.objects.filter(campaign=campaign, student__in=students)
    }
    missing = [student.name for student in students if student.pk not in forms]
    unchecked = [s.name for s in students if s.pk in forms and forms[s.pk].outcome == Outcome.UNCHECKED]
    unhandled = [s.name for s in students if s.pk in forms and forms[s.pk].needs_handling]
    blockers = []
    if not students:
        blockers.append(_("The class has no students on its roster."))
    if missing:
        blockers.append(_("No signed form yet: %(names)s") % {"names": "、".join(missing)})
    if unchecked:
        blockers.append(
            _("Not checked by the class teacher yet: %(names)s") % {"names": "、".join(unchecked)}
        )
    if unhandled:
        blockers.append(_("Wrong fields not put right yet: %(names)s") % {"names": "、".join(unhandled)})
    return blockers, len(students)


def confirm_class(campaign, school_class, *, by):
    """The registrar confirms the class: every student's form signed, checked and put right."""
    school = school_class.grade.school
    _ensure_registrar_of(by, school)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _ensure_open(campaign)
        ensure_covers(campaign, school)
        _ensure_not_confirmed(campaign, school_class)
        blockers, count = class_blockers(campaign, school_class)
        if blockers:
            raise VerificationError(" ".join(str(blocker) for blocker in blockers))
        try:
            with transaction.atomic():
                confirmation = ClassConfirmation.objects.create(
                    campaign=campaign, school_class=school_class, confirmed_by=by, students=count
                )
        except IntegrityError as error:
            raise VerificationError(_("%(class)s is confirmed already.") % {"class": school_class}) from error
        record_event(
            "verification.class.confirmed",
            actor=by,
            obj=school_class,
            campaign=campaign.pk,
            title=campaign.title,
            students=count,
        )
    return confirmation


# --- 人籍一致 ------------------------------------------------------------------------------------------


def current_term(node, on=None):
    return calendar_for(node).term(on or timezone.localdate())


def confirm_attendance(school_class, *, by, absences, on=None):
    """The class teacher confirms this term who on the roster is in class; `absences` maps each
    absent student's pk to (reason, detail). A second confirmation in the term replaces the first."""
    school = school_class.grade.school
    if not teaches(by, school_class):
        raise VerificationError(
            _("Only the class teacher of %(class)s confirms its attendance.") % {"class": school_class}
        )
    term_start, term_end = current_term(school, on)
    with transaction.atomic():
        roster = {student.pk: student for student in roster_of(school_class).select_for_update()}
        strangers = [pk for pk in absences if pk not in roster]
        if strangers:
            raise VerificationError(_("Only students on the class roster can be listed as absent."))
        for pk, (reason, _detail) in absences.items():
            if reason not in AbsenceReason.values:
                raise VerificationError(
                    _("Give the reason why %(name)s is not in class.") % {"name": roster[pk].name}
                )
        check, created = AttendanceCheck.objects.select_for_update().get_or_create(
            school_class=school_class,
            term_start=term_start,
            defaults={"term_end": term_end, "confirmed_by": by, "on_roster": len(roster)},
        )
        if not created:
            check.confirmed_by, check.confirmed_at, check.on_roster = by, timezone.now(), len(roster)
            check.save(update_fields=["confirmed_by", "confirmed_at", "on_roster"])
            check.absences.all().delete()
        Absence.objects.bulk_create(
            Absence(attendance=check, student=roster[pk], reason=reason, detail=(detail or "").strip()[:200])
            for pk, (reason, detail) in absences.items()
        )
        record_event(
            "verification.attendance.confirmed",
            actor=by,
            obj=school_class,
            term=f"{term_start:%Y-%m-%d}..{term_end:%Y-%m-%d}",
            on_roster=len(roster),
            absent={str(roster[pk].pk): reason for pk, (reason, _d) in absences.items()},
            again=not created,
        )
    return check
