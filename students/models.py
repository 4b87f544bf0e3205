"""The student record (学籍): core fields, guardians, photo, and the dated history of its status."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registrar.choices import NodeKind, Role
from registrar.history import BulkHistoricalRecords
from registrar.models import Grade, Organisation, SchoolClass, ScopedQuerySet
from students import codes
from students.identity import check_name


class Status(models.TextChoices):
    REGISTERING = "registering", _("Registration in review")
    # A registration refused by the review or withdrawn by the school: no number, not a registration.
    CANCELLED = "cancelled", _("Registration cancelled")
    ENROLLED = "enrolled", _("Enrolled")
    SUSPENDED = "suspended", _("Suspended")
    TRANSFERRED_OUT = "transferred_out", _("Transferred out")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    ABROAD = "abroad", _("Studying abroad")
    DECEASED = "deceased", _("Deceased")
    LEFT = "left", _("Left school")
    GRADUATED = "graduated", _("Graduated")
    COMPLETED = "completed", _("Completed without graduating")
    DROPPED_OUT = "dropped_out", _("Left after study")


class Event(models.TextChoices):
    """What changed a student's status (students/lifecycle.py holds what each event allows)."""

    # Registration (students/registration.py, the roster import)
    ENTERED = "entered", _("registration entered")
    REGISTERED = "registered", _("registration approved")
    IMPORTED_ENROLLED = "imported_enrolled", _("enrolled by a roster import")
    CANCELLED = "cancelled", _("registration cancelled")
    # 学籍异动 (transfers/)
    TRANSFERRED_OUT = "transferred_out", _("transfer out")
    TRANSFERRED_IN = "transferred_in", _("transfer in")
    # From a school outside the system: the record entered here, with its given number, is enrolled.
    TRANSFERRED_IN_FROM_OUTSIDE = "transferred_in_from_outside", _("transfer in from outside the system")
    SUSPENDED = "suspended", _("suspension")
    SUSPENSION_EXTENDED = "suspension_extended", _("suspension extension")
    RESUMED = "resumed", _("resumption")
    REPEATED = "repeated", _("repeating a grade")
    SKIPPED = "skipped", _("skipping a grade")
    WITHDRAWN = "withdrawn", _("withdrawal")
    WENT_ABROAD = "went_abroad", _("going abroad")
    DIED = "died", _("death")
    LEFT = "left", _("other departure")
    # The school year (graduation/, promotion and intake)
    GRADUATED = "graduated", _("graduation")
    COMPLETED = "completed", _("completion without graduating")
    DROPPED_OUT = "dropped_out", _("leaving after study")
    CERTIFICATE_EXCHANGED = "certificate_exchanged", _("completion exchanged for graduation")
    GRADUATION_REVERSED = "graduation_reversed", _("graduation reversed")
    PROMOTED = "promoted", _("promotion to the next grade")
    PROMOTION_UNDONE = "promotion_undone", _("promotion undone")
    ADMITTED = "admitted", _("intake at the next stage")
    # 问题学籍 (problems/): a false registration deleted (删除), or the losing side of an arbitration (仲裁).
    VOIDED = "voided", _("false registration deleted")
    # Changes of the record that keep its status (no status event): the statuses they need.
    KEY_DATA_CORRECTED = "key_data_corrected", _("key-data correction")


# A live registration: the person may hold only one of these at a time (严禁双学籍).
LIVE_STATUSES = (Status.REGISTERING, Status.ENROLLED, Status.SUSPENDED)
# Graduated or departed: the record is read-only everywhere.
LOCKED_STATUSES = (
    Status.TRANSFERRED_OUT,
    Status.WITHDRAWN,
    Status.ABROAD,
    Status.DECEASED,
    Status.LEFT,
    Status.GRADUATED,
    Status.COMPLETED,
    Status.DROPPED_OUT,
)
# The national core fields that change only through a key-data correction (domain §7). 入学年月 is
# one of them (issue #14): it is printed on certificates and opens the first-term window for
# input-error corrections, so neither a direct edit nor a roster re-import may move it.
KEY_FIELDS = ("name", "gender", "birth_date", "id_type", "id_number", "ethnicity", "enrolled_on")

RESIDENT_ID = "1"


def sees_own_classes_only(user):
    """A class teacher who holds no wider school role sees the students of the classes they lead."""
    return user.has_role(Role.CLASS_TEACHER) and not user.has_role(Role.SCHOOL_REGISTRAR, Role.PRINCIPAL)


class StudentQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        if user.node_id is None:
            return self.none()
        # The schools under the user's node, as a subquery: the students table is filtered by its
        # school index instead of being joined to the tree row by row.
        schools = Organisation.objects.filter(path__startswith=user.node.path, kind=NodeKind.SCHOOL)
        visible = self.filter(school__in=schools)
        if sees_own_classes_only(user):
            visible = visible.filter(school_class__in=user.classes.all())
        return visible

    def live(self):
        return self.filter(status__in=LIVE_STATUSES)


class Student(models.Model):
    # 学籍号: issued when the registration is approved, never recomputed afterwards. Unique by
    # student_unique_number (Meta.constraints), which serves its equality and prefix searches too.
    number = models.CharField(_("registration number"), max_length=19, null=True, blank=True)
    auxiliary_number = models.CharField(_("auxiliary number"), max_length=30, blank=True)
    class_number = models.CharField(_("number in class"), max_length=10, blank=True)

    name = models.CharField(_("name"), max_length=50)
    name_pinyin = models.CharField(_("name in pinyin"), max_length=100, blank=True)
    former_name = models.CharField(_("former name"), max_length=50, blank=True)
    gender = models.CharField(_("sex"), max_length=1, choices=codes.gender_choices)
    birth_date = models.DateField(_("date of birth"))
    birth_place = models.CharField(_("place of birth"), max_length=100)
    native_place = models.CharField(_("native place"), max_length=100)
    ethnicity = models.CharField(_("ethnic group"), max_length=2, choices=codes.ethnicity_choices)
    nationality = models.CharField(
        _("nationality or region"), max_length=3, choices=codes.nationality_choices
    )
    id_type = models.CharField(_("ID type"), max_length=1, choices=codes.id_type_choices)
    # Indexed by student_id_number (Meta.indexes): one index for equality and prefix searches.
    id_number = models.CharField(_("ID number"), max_length=30, blank=True)
    overseas = models.CharField(
        _("Hong Kong, Macao, Taiwan or overseas"), max_length=2, choices=codes.overseas_choices
    )
    health = models.CharField(_("health"), max_length=2, choices=codes.health_choices)
    political_status = models.CharField(
        _("political status"), max_length=2, choices=codes.political_choices, blank=True
    )

    hukou_place = models.CharField(_("household registration place"), max_length=200)
    hukou_type = models.CharField(
        _("household registration type"), max_length=1, choices=codes.hukou_type_choices
    )
    address = models.CharField(_("current address"), max_length=200)
    mailing_address = models.CharField(_("mailing address"), max_length=200, blank=True)
    home_address = models.CharField(_("home address"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=6, blank=True)
    phone = models.CharField(_("phone"), max_length=20)

    # The school and grade are the class's (the services set all three together and check that they
    # agree), copied here for the indexes that begin with them. Only the class is a database
    # constraint: the class's own constraints keep its grade and school in being, and the lock each
    # written student takes on its class keeps them so until the writing commits. A constraint on
    # the copies checked rows that exist already for each student written: 2 of the 3 checks that
    # took a third of the server's time to write a county's 100,000 imported students. PROTECT still
    # keeps a school or grade with students from being deleted, as for StatusEvent's copies.
    school = models.ForeignKey(
        Organisation,
        verbose_name=_("school"),
        on_delete=models.PROTECT,
        related_name="students",
        limit_choices_to={"kind": NodeKind.SCHOOL},
        db_constraint=False,
        # The indexes student_roster and student_school_status begin with school_id.
        db_index=False,
    )
    # No index of its own: students are read by grade only within a school (student_roster begins with
    # school_id, grade_id), and grades are never deleted. Every promoted student wrote an entry in it.
    grade = models.ForeignKey(
        Grade,
        verbose_name=_("grade"),
        on_delete=models.PROTECT,
        related_name="students",
        db_constraint=False,
        db_index=False,
    )
    school_class = models.ForeignKey(
        SchoolClass, verbose_name=_("class"), on_delete=models.PROTECT, related_name="students"
    )
    enrolled_on = models.DateField(_("enrolment month"))
    admission = models.CharField(_("admission"), max_length=2, choices=codes.admission_choices)
    attendance = models.CharField(_("attendance"), max_length=1, choices=codes.attendance_choices)

    only_child = models.BooleanField(_("only child"), default=False)
    left_behind = models.BooleanField(_("left-behind child"), default=False)
    migrant_child = models.BooleanField(_("child of migrant workers"), default=False)
    orphan = models.BooleanField(_("orphan"), default=False)
    martyr_child = models.BooleanField(_("child of a martyr or entitled family"), default=False)
    disability = models.CharField(_("disability"), max_length=1, choices=codes.disability_choices, blank=True)

    photo = models.FileField(_("photo"), upload_to="photos/%Y/", blank=True)

    # The review of this student's registration (one request may cover a whole imported batch).
    registration = models.ForeignKey(
        "registrar.ApprovalRequest",
        verbose_name=_("registration review"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="registered_students",
    )

    # The current status: a copy of the latest StatusEvent, kept by the services that write events.
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.REGISTERING)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # The history is read by student (id): the copies of the record's own indexes, and those on its
    # date and user (registrar/history.py), would only slow down every write (a county's import
    # writes 100,000 history rows). Its user column keeps no constraint: a history row never stops
    # a user account from going.
    history = BulkHistoricalRecords(
        excluded_fields=["updated_at"],
        no_db_index=["number", "id_number", "school", "grade", "school_class", "registration"],
        user_db_constraint=False,
    )
    objects = StudentQuerySet.as_manager()

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        ordering = ["school_id", "grade__level", "school_class__name", "class_number", "name", "id"]
        constraints = [
            # One index for uniqueness and for equality and prefix searches (LIKE 'G4201%'): unique=True
            # would make two on PostgreSQL, the constraint's and a pattern one (…_like), each written
            # for every new student (0.2 s of a county's import).
            models.UniqueConstraint(
                fields=["number"], name="student_unique_number", opclasses=["varchar_pattern_ops"]
            ),
            # One person, one live registration: by ID number, or by name, sex and birth date without one.
            models.UniqueConstraint(
                fields=["id_number"],
                condition=Q(status__in=LIVE_STATUSES) & ~Q(id_number=""),
                name="student_one_live_registration_per_id",
            ),
            models.UniqueConstraint(
                fields=["name", "gender", "birth_date"],
                condition=Q(status__in=LIVE_STATUSES, id_number=""),
                name="student_one_live_registration_without_id",
            ),
        ]
        indexes = [
            models.Index(fields=["school", "grade", "school_class", "name"], name="student_roster"),
            models.Index(fields=["school", "status"], name="student_school_status"),
            # Equality and prefix searches (LIKE 'x%'): on PostgreSQL the pattern operator class
            # serves both; other databases ignore opclasses. (db_index=True would make two indexes on
            # PostgreSQL, a plain one and a pattern one, each written for every new student.) 学籍号's
            # is its unique constraint.
            models.Index(fields=["name"], name="student_name_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["id_number"], name="student_id_number", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("students:detail", args=[self.pk])

    def clean(self):
        # The forms and the import check names through students.validation; this is for the model
        # forms that do not (the admin).
        check_names(self, ("name", "former_name"))

    def audit_node(self):
        return self.school

    @property
    def is_live(self):
        return self.status in LIVE_STATUSES

    @property
    def is_locked(self):
        return self.status in LOCKED_STATUSES

    @property
    def has_resident_id(self):
        return self.id_type == RESIDENT_ID and bool(self.id_number)


class Guardian(models.Model):
    student = models.ForeignKey(
        Student,
        verbose_name=_("student"),
        on_delete=models.CASCADE,
        related_name="guardians",
        # guardian_unique_order (student, order) serves every lookup by student.
        db_index=False,
    )
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    name = models.CharField(_("name"), max_length=50)
    relation = models.CharField(_("relation"), max_length=1, choices=codes.relation_choices)
    phone = models.CharField(_("phone"), max_length=20)
    id_type = models.CharField(_("ID type"), max_length=1, choices=codes.id_type_choices, blank=True)
    id_number = models.CharField(_("ID number"), max_length=30, blank=True)
    is_guardian = models.BooleanField(_("legal guardian"), default=True)

    # Read by student (student_id) or by member (id); never by date or user (registrar/history.py).
    history = BulkHistoricalRecords(user_db_constraint=False)

    class Meta:
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")
        ordering = ["student_id", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["student", "order"], name="guardian_unique_order")]

    def __str__(self):
        return self.name

    def clean(self):
        check_names(self, ("name",))


def check_names(instance, fields):
    """Raise ValidationError for the name fields of `instance` that break the rule of names."""
    errors = {}
    for field in fields:
        value = getattr(instance, field)
        if value:
            errors[field] = check_name(value, str(instance._meta.get_field(field).verbose_name))
    errors = {field: messages for field, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)


class StatusEventQuerySet(ScopedQuerySet):
    scope_path = "student__school__path"


class StatusEvent(models.Model):
    """One dated change of status; the latest is the student's current status."""

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="status_events"
    )
    # What happened (students/lifecycle.py): empty on events recorded before events were named.
    event = models.CharField(_("event"), max_length=30, choices=Event.choices, blank=True)
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices)
    occurred_on = models.DateField(_("date"))
    # Where the student was and who approved: a snapshot, like the columns of the history tables, and
    # like them without a database constraint (checking four of them for each of a county's 100,000
    # imported students cost a second). PROTECT still keeps a referenced row from being deleted. Only
    # the school is indexed (the promotion's preview reads events by school): events are read by student
    # and joined to their grade, class and approver, never looked up by them; an index on each cost a
    # third of the time of writing a province's promotion events.
    school = models.ForeignKey(
        Organisation,
        verbose_name=_("school"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    grade = models.ForeignKey(
        Grade,
        verbose_name=_("grade"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    school_class = models.ForeignKey(
        SchoolClass,
        verbose_name=_("class"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
    )
    reason = models.TextField(_("reason"), blank=True)
    # The action that caused it, in the audit log's dotted names (students.registration.approved …).
    action = models.CharField(_("action"), max_length=80, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = StatusEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("status event")
        verbose_name_plural = _("status events")
        ordering = ["student_id", "occurred_on", "id"]

    def __str__(self):
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"


def roster_upload_to(instance, filename):
    """roster/<yyyy>/<mm>/<random>.<ext>: the uploader's file name is kept in the row, not on disk."""
    import uuid
    from pathlib import PurePosixPath

    from django.utils import timezone

    extension = PurePosixPath(filename).suffix.lower().lstrip(".")
    if extension not in ("xlsx", "xls", "xlsm", "ods"):
        extension = "xlsx"
    now = timezone.localtime()
    return f"roster/{now:%Y/%m}/{uuid.uuid4().hex}.{extension}"


class ProblemKind(models.TextChoices):
    DUPLICATE_ID = "duplicate_id", _("The same ID number in two registrations")
    DUPLICATE_PERSON = "duplicate_person", _("The same name, sex and birth date without an ID number")
    INVALID_ID = "invalid_id", _("Invalid ID number")
    CHANGED_ID = "changed_id", _("The ID number has changed")


class ProblemState(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class ProblemOutcome(models.TextChoices):
    """How a problem record was closed (problems/)."""

    CONFIRMED = "confirmed", _("Proved right (佐证)")
    CORRECTED = "corrected", _("Corrected (变更)")
    DELETED = "deleted", _("False record deleted (删除)")
    ARBITRATED = "arbitrated", _("Decided by arbitration (仲裁)")
    CLEARED = "cleared", _("No longer found by the detection")


class ProblemRecordQuerySet(ScopedQuerySet):
    scope_path = "student__school__path"

    def visible_to(self, user):
        """Both schools of a pair see the record (and the bureaus above either of them)."""
        if (
            not user.is_authenticated
            or not user.is_active
            or (user.node_id is None and not user.is_superuser)
        ):
            return self.none()
        if user.is_superuser:
            return self
        path = user.node.path
        return self.filter(
            Q(student__school__path__startswith=path) | Q(other_student__school__path__startswith=path)
        )

    def unresolved(self):
        return self.filter(state=ProblemState.OPEN)

    def involving(self, student):
        """The records naming `student` as either party."""
        return self.filter(Q(student=student) | Q(other_student=student))


class ProblemRecord(models.Model):
    """问题学籍 (domain §8): a record the data-quality checks flagged. While open it blocks status
    changes, transfers and graduation of the student (both students of a pair).

    The detection (problems/detection.py) writes one row per finding, named by its `fingerprint`
    (the kind, the parties and what matched): running it again finds the same fingerprint and
    creates nothing, and an open row whose fingerprint is no longer found is closed as cleared."""

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="problem_records"
    )
    kind = models.CharField(_("problem"), max_length=20, choices=ProblemKind.choices)
    other_student = models.ForeignKey(
        Student,
        verbose_name=_("the other record"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    detail = models.TextField(_("details"), blank=True)
    # What matched: {"id_number": …, "reasons": [...], "old_id_number": …}; shown on the record's page.
    evidence = models.JSONField(_("evidence of the match"), default=dict, blank=True)
    fingerprint = models.CharField(_("fingerprint"), max_length=120, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=ProblemState.choices, default=ProblemState.OPEN
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=ProblemOutcome.choices, blank=True)
    detected_at = models.DateTimeField(_("detected"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolution = models.TextField(_("resolution"), blank=True)

    history = HistoricalRecords()
    objects = ProblemRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("problem record")
        verbose_name_plural = _("problem records")
        ordering = ["-detected_at", "-id"]
        constraints = [
            # One open record per finding: the detection may run twice at once.
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=Q(state="open") & ~Q(fingerprint=""),
                name="problemrecord_one_open_per_fingerprint",
            )
        ]
        indexes = [models.Index(fields=["state", "kind"], name="problemrecord_state_kind")]

    def __str__(self):
        return f"{self.student} · {self.get_kind_display()}"

    def get_absolute_url(self):
        return reverse("problems:detail", args=[self.pk])

    def audit_node(self):
        return self.student.school

    @property
    def is_open(self):
        return self.state == ProblemState.OPEN

    @property
    def students(self):
        return [student for student in (self.student, self.other_student) if student is not None]


class ImportBatchQuerySet(ScopedQuerySet):
    scope_path = "node__path"


class ImportBatch(models.Model):
    """One roster file (花名册) imported: who, when, the file as sent, and what came of it."""

    class State(models.TextChoices):
        CHECKING = "checking", _("Being checked")
        INVALID = "invalid", _("Has errors")
        READY = "ready", _("Checked, waiting for confirmation")
        QUEUED = "queued", _("Waiting to be imported")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Not imported")

    class Source(models.TextChoices):
        WEB = "web", _("Upload in the browser")
        COMMAND = "command", _("Command line")

    node = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.WEB)
    # Personal data: kept under MEDIA_ROOT with a random name, streamed only after an access check.
    file = models.FileField(_("file"), upload_to=roster_upload_to, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    error_file = models.FileField(_("error workbook"), upload_to=roster_upload_to, max_length=200, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.READY)
    # New students get their 学籍号 at once (the administrator's command) instead of entering review.
    register = models.BooleanField(_("register directly"), default=False)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    new_count = models.PositiveIntegerField(_("new students"), default=0)
    updated_count = models.PositiveIntegerField(_("updated students"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged students"), default=0)
    invalid_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    # Progress of the background import, for the progress bar.
    rows_done = models.PositiveIntegerField(_("rows checked"), default=0)
    # Unknown columns, sample rows, classes created …; errors: [{"row": n, "messages": [...]}].
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    task_id = models.CharField(_("task"), max_length=64, blank=True)

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("roster import")
        verbose_name_plural = _("roster imports")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.original_name or f"#{self.pk}"

    def get_absolute_url(self):
        return reverse("students:roster_batch", args=[self.pk])

    def audit_node(self):
        return self.node

    @property
    def is_finished(self):
        return self.state in (self.State.DONE, self.State.FAILED, self.State.INVALID)


def export_upload_to(instance, filename):
    """roster-exports/<yyyy>/<mm>/<random>.xlsx: never the name shown to the user, never a URL."""
    import uuid

    from django.utils import timezone

    return f"roster-exports/{timezone.localtime():%Y/%m}/{uuid.uuid4().hex}.xlsx"


class RosterExport(models.Model):
    """A large roster export written by a background job: its filter, progress and file.

    The file holds what its creator may see (with ID numbers whole or masked as for them): only they
    follow the job and download it, while their node is still the one they asked from. The file is
    removed EXPORT_KEEP_HOURS after it is written (students/roster/export_jobs.py).
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting to be written")
        RUNNING = "running", _("Being written")
        DONE = "done", _("Ready to download")
        FAILED = "failed", _("Not written")
        EXPIRED = "expired", _("Removed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("exported by"), on_delete=models.CASCADE, related_name="+"
    )
    # The node the user was at when asking: a user moved elsewhere no longer sees the file.
    node = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("asked"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The roster page's filter (its GET parameters) and how it reads.
    params = models.JSONField(_("filter"), default=dict, blank=True)
    description = models.CharField(_("filter"), max_length=500, blank=True)
    masked = models.BooleanField(_("ID numbers masked"), default=True)
    filename = models.CharField(_("file name"), max_length=255)
    # Personal data: kept under MEDIA_ROOT with a random name, streamed only after an access check.
    file = models.FileField(_("file"), upload_to=export_upload_to, max_length=200, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    total_rows = models.PositiveIntegerField(_("students"), default=0)
    rows_done = models.PositiveIntegerField(_("students written"), default=0)
    message = models.TextField(_("message"), blank=True)
    task_id = models.CharField(_("task"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("roster export")
        verbose_name_plural = _("roster exports")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.filename

    def get_absolute_url(self):
        return reverse("students:roster_export_job", args=[self.pk])

    def audit_node(self):
        return self.node

    @property
    def is_finished(self):
        return self.state in (self.State.DONE, self.State.FAILED, self.State.EXPIRED)
