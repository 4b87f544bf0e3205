"""The business calendar: a province's dates and limits of the school year."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registrar.choices import NodeKind
from registrar.models.tree import Organisation, ScopedQuerySet

# What applies where a province has no row, or leaves a field empty (domain §6, §10).
# settings.REGISTRAR["BUSINESS_CALENDAR"] may replace any of these for the whole installation.
BUSINESS_CALENDAR_DEFAULTS = {
    # "Two weeks before the end of term to two weeks after the start".
    "transfer_windows": "01-06..03-06, 06-26..09-15",
    # Graduating students are frozen after this day (source 000: "5月31日之后严禁…").
    "graduation_freeze": "05-31",
    # Another freeze day for some stages, e.g. "vocational:06-10"; empty: graduation_freeze for all.
    "graduation_freeze_by_stage": "",
    # Key-data corrections of graduating students during the freeze: refused (source 000), unless
    # the province opens this exception path (then the 毕业生登记表 page is required as evidence).
    "corrections_when_frozen": False,
    "graduation_deadline": "06-15",
    "school_year_end": "08-31",
    # The autumn term ends on 31 January, the spring term in July.
    "term_ends": "01-31, 07-15",
    "suspension_max_months": 12,
    "suspension_total_max_months": 24,
    "suspension_reminder_days": 30,
    # The first day of the school year's autumn term: a school's promotion (升级) may be undone until then.
    "term_start": "09-01",
    # Whether county reviewers may run the promotion of their own schools (else the province alone).
    "county_promotion": False,
}


class BusinessCalendarQuerySet(ScopedQuerySet):
    scope_path = "province__path"


class BusinessCalendar(models.Model):
    """A province's dates and limits of the school year (the "province switches" of domain §1).

    Every field may stay empty: the default applies. Dates are written MM-DD, windows
    MM-DD..MM-DD separated by commas (a window may run over the new year: 12-20..01-10).
    """

    province = models.OneToOneField(
        Organisation,
        verbose_name=_("province"),
        on_delete=models.PROTECT,
        related_name="business_calendar",
        limit_choices_to={"kind": NodeKind.PROVINCE},
    )
    transfer_windows = models.CharField(
        _("transfer windows"),
        max_length=200,
        blank=True,
        help_text=_("When schools may start transfers, e.g. 01-06..03-06, 06-26..09-15."),
    )
    graduation_freeze = models.CharField(
        _("graduation data freeze"),
        max_length=5,
        blank=True,
        help_text=_(
            "After this day (MM-DD) and to the end of the school year graduating students are frozen."
        ),
    )
    graduation_freeze_by_stage = models.CharField(
        _("graduation data freeze by stage"),
        max_length=100,
        blank=True,
        help_text=_("Stages frozen after another day, e.g. vocational:06-10, senior:05-31."),
    )
    corrections_when_frozen = models.BooleanField(
        _("key-data corrections during the freeze"),
        null=True,
        blank=True,
        help_text=_(
            "Yes: graduating students' key data may still be corrected after the freeze, with the page of "
            "the graduate registration form as evidence. Empty or no: refused."
        ),
    )
    graduation_deadline = models.CharField(
        _("graduation processed by"), max_length=5, blank=True, help_text=_("MM-DD")
    )
    school_year_end = models.CharField(
        _("end of the school year"), max_length=5, blank=True, help_text=_("MM-DD")
    )
    term_ends = models.CharField(
        _("ends of term"),
        max_length=50,
        blank=True,
        help_text=_(
            "The last day of each term, e.g. 01-31, 07-15; new students' input errors may be corrected "
            "until the end of their first term."
        ),
    )
    suspension_max_months = models.PositiveSmallIntegerField(
        _("longest suspension (months)"), null=True, blank=True
    )
    suspension_total_max_months = models.PositiveSmallIntegerField(
        _("longest suspension in total (months)"), null=True, blank=True
    )
    suspension_reminder_days = models.PositiveSmallIntegerField(
        _("reminder before a suspension ends (days)"), null=True, blank=True
    )

    term_start = models.CharField(
        _("start of the school year"),
        max_length=5,
        blank=True,
        help_text=_("MM-DD, e.g. 09-01: a school's promotion may be undone until this day."),
    )
    county_promotion = models.BooleanField(
        _("counties run the promotion"),
        null=True,
        blank=True,
        help_text=_(
            "Yes: county reviewers may run (and undo) the year-end promotion of their own schools. "
            "Empty or no: only the province does."
        ),
    )

    history = HistoricalRecords()
    objects = BusinessCalendarQuerySet.as_manager()

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["province__code"]

    def __str__(self):
        return f"{self.province.name} · {self._meta.verbose_name}"

    def audit_node(self):
        return self.province

    def clean(self):
        from registrar.calendar import validate_calendar_row

        validate_calendar_row(self)
