"""The business calendar: the dates and limits of the school year that the workflows obey.

Transfer windows, the graduation data freeze, the end of a new student's first term and the limits
of a suspension (休学) are province rules (domain §6, §10). Each province may keep one
`BusinessCalendar` row (edited in the administration); a field left empty, or a province without a
row, takes the default of `registrar.models.BUSINESS_CALENDAR_DEFAULTS`. The province's rules
(rules/) may give a stage or a grade its own transfer windows (a county its own, where delegated)
and a stage its own graduation freeze and deadline; those apply over the row.

`node` is any Organisation: the calendar of its province applies. Dates are `datetime.date`.
"""

import re
from calendar import monthrange
from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.choices import NodeKind, Segment
from registrar.models import BUSINESS_CALENDAR_DEFAULTS, BusinessCalendar
from rules.reading import rules_for
from rules.topics import NO_WINDOW

MONTH_DAY_RE = re.compile(r"^(\d{1,2})-(\d{1,2})$")
TEXT_FIELDS = (
    "transfer_windows",
    "graduation_freeze",
    "graduation_freeze_by_stage",
    "graduation_deadline",
    "school_year_end",
    "term_ends",
    "term_start",
)
NUMBER_FIELDS = (
    "suspension_max_months",
    "suspension_total_max_months",
    "suspension_reminder_days",
    "corrections_when_frozen",
    "county_promotion",
)


# --- reading the MM-DD notation ---------------------------------------------------------------------


def parse_month_day(text):
    """'05-31' → (5, 31). ValueError for anything that is not a day of every year (02-29 is not)."""
    match = MONTH_DAY_RE.match((text or "").strip())
    if not match:
        raise ValueError(text)
    month, day = int(match[1]), int(match[2])
    # A non-leap year: a rule must name a day that exists every year.
    date(2001, month, day)
    return month, day


def parse_month_days(text):
    """'01-31, 07-15' → ((1, 31), (7, 15)), in calendar order."""
    days = [parse_month_day(part) for part in text.replace("，", ",").split(",") if part.strip()]
    if not days:
        raise ValueError(text)
    return tuple(sorted(set(days)))


def parse_stage_days(text):
    """'vocational:06-10, senior:05-31' → {"vocational": (6, 10), "senior": (5, 31)}; '' → {}."""
    days = {}
    for part in (text or "").replace("，", ",").replace("：", ":").split(","):
        if not part.strip():
            continue
        stage, colon, day = part.partition(":")
        if not colon or stage.strip() not in Segment.values:
            raise ValueError(part)
        days[stage.strip()] = parse_month_day(day)
    return days


def parse_windows(text):
    """'01-06..03-06, 06-26..09-15' → (((1, 6), (3, 6)), ((6, 26), (9, 15)))."""
    windows = []
    for part in text.replace("，", ",").split(","):
        if not part.strip():
            continue
        start, dots, end = part.partition("..")
        if not dots:
            raise ValueError(part)
        windows.append((parse_month_day(start), parse_month_day(end)))
    if not windows:
        raise ValueError(text)
    return tuple(sorted(windows))


def _on(year, month_day):
    return date(year, *month_day)


# --- the calendar of one province ----------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """The rules of one province, read from its row and the defaults."""

    transfer_windows: tuple  # ((start month, day), (end month, day)), …
    graduation_freeze: tuple  # (month, day)
    graduation_deadline: tuple
    school_year_end: tuple
    term_ends: tuple  # (month, day), …
    suspension_max_months: int
    suspension_total_max_months: int
    suspension_reminder_days: int
    # {segment: (month, day)}: stages frozen after another day than graduation_freeze.
    graduation_freezes: dict = None
    corrections_when_frozen: bool = False
    # {segment: (month, day)}: stages whose graduation is processed by another day.
    graduation_deadlines: dict = None
    term_start: tuple = (9, 1)
    county_promotion: bool = False

    def _windows_near(self, on):
        """The windows of the years around `on`, as (start, end) dates in order."""
        found = []
        for year in (on.year - 1, on.year, on.year + 1):
            for start, end in self.transfer_windows:
                # A window whose end comes before its start in the year runs over the new year.
                end_year = year + 1 if end < start else year
                found.append((_on(year, start), _on(end_year, end)))
        return sorted(found)

    def transfer_window(self, on):
        """The (start, end) of the window `on` falls in, or None."""
        return next(((start, end) for start, end in self._windows_near(on) if start <= on <= end), None)

    def latest_transfer_window(self, on):
        """The (start, end) of the last window that started on or before `on` (it may be open)."""
        return [(start, end) for start, end in self._windows_near(on) if start <= on][-1]

    def next_transfer_window(self, on):
        """The (start, end) of the first window that starts after `on`, or None without windows."""
        return next(((start, end) for start, end in self._windows_near(on) if start > on), None)

    def school_year_end_for(self, on):
        """The last day of the school year `on` belongs to."""
        end = _on(on.year, self.school_year_end)
        return end if on <= end else _on(on.year + 1, self.school_year_end)

    def graduation_freeze_for(self, on, segment=None):
        """The freeze date of the school year `on` belongs to (of the stage, when it has its own):
        graduating students are frozen after it."""
        day = (self.graduation_freezes or {}).get(str(segment) if segment else "", self.graduation_freeze)
        end = self.school_year_end_for(on)
        freeze = _on(end.year, day)
        return freeze if freeze <= end else _on(end.year - 1, day)

    def graduation_deadline_for(self, on, segment=None):
        """The date by which the graduation of the school year `on` belongs to is processed (the
        stage's own, when it has one)."""
        day = (self.graduation_deadlines or {}).get(str(segment) if segment else "", self.graduation_deadline)
        end = self.school_year_end_for(on)
        deadline = _on(end.year, day)
        return deadline if deadline <= end else _on(end.year - 1, day)

    def graduation_frozen(self, on, segment=None):
        """After the freeze day ("5月31日之后": from 1 June) to the end of the school year."""
        return self.graduation_freeze_for(on, segment) < on <= self.school_year_end_for(on)

    def term(self, on):
        """The (first day, last day) of the term `on` falls in: from the day after the previous
        end of term to the next one (inclusive)."""
        ends = sorted(
            _on(year, end) for year in (on.year - 1, on.year, on.year + 1) for end in self.term_ends
        )
        last = next(end for end in ends if end >= on)
        previous = max(end for end in ends if end < on)
        return previous + timedelta(days=1), last

    def term_start_after(self, on):
        """The first start of a school year after `on` (`on` itself when it is that day)."""
        start = _on(on.year, self.term_start)
        return start if on <= start else _on(on.year + 1, self.term_start)

    def first_term_end(self, enrolled_on):
        """The first end of term after the enrolment date."""
        candidates = [
            _on(year, end) for year in (enrolled_on.year, enrolled_on.year + 1) for end in self.term_ends
        ]
        return min(candidate for candidate in candidates if candidate > enrolled_on)


def _defaults():
    return dict(BUSINESS_CALENDAR_DEFAULTS)


def _build(values):
    return Calendar(
        transfer_windows=parse_windows(values["transfer_windows"]),
        graduation_freeze=parse_month_day(values["graduation_freeze"]),
        graduation_deadline=parse_month_day(values["graduation_deadline"]),
        school_year_end=parse_month_day(values["school_year_end"]),
        term_ends=parse_month_days(values["term_ends"]),
        suspension_max_months=int(values["suspension_max_months"]),
        suspension_total_max_months=int(values["suspension_total_max_months"]),
        suspension_reminder_days=int(values["suspension_reminder_days"]),
        graduation_freezes=parse_stage_days(values["graduation_freeze_by_stage"]),
        corrections_when_frozen=bool(values["corrections_when_frozen"]),
        term_start=parse_month_day(values["term_start"]),
        county_promotion=bool(values["county_promotion"]),
    )


def _province_code(node):
    return node.path.split("/", 1)[0]


def calendar_for(node, *, grade=None, by_stage=False):
    """The calendar that applies to `node` (any node: its province's), in one query; with the
    province's rules (one more) for the transfer windows of `grade` and, `by_stage`, the graduation
    dates of each stage."""
    values = _defaults()
    row = BusinessCalendar.objects.filter(province__code=_province_code(node)).first()
    if row is not None:
        for name in (*TEXT_FIELDS, *NUMBER_FIELDS):
            value = getattr(row, name)
            if value not in (None, ""):
                values[name] = value
    calendar = _build(values)
    if grade is None and not by_stage:
        return calendar
    rules = rules_for(node)
    changes = {}
    if grade is not None:
        windows = rules.windows(grade.segment, grade.level)
        if windows is not None:
            changes["transfer_windows"] = () if windows.strip() == NO_WINDOW else parse_windows(windows)
    if by_stage:
        changes["graduation_freezes"] = {**calendar.graduation_freezes, **_stage_days(rules, "freeze")}
        changes["graduation_deadlines"] = _stage_days(rules, "deadline")
    return replace(calendar, **changes)


def _stage_days(rules, what):
    days = {}
    for segment in Segment.values:
        day = rules.graduation_day(what, segment)
        if day:
            days[segment] = parse_month_day(day)
    return days


def _today(on):
    return on or timezone.localdate()


def transfer_window_open(node, on=None, *, grade=None):
    """Whether transfers may start at `node` on `on` (for a student of `grade`, whose stage or grade
    may have windows of its own)."""
    return calendar_for(node, grade=grade).transfer_window(_today(on)) is not None


def transfer_window_message(node, on=None, *, grade=None):
    """Where `on` stands against the transfer windows, naming the current or the next window."""
    on = _today(on)
    calendar = calendar_for(node, grade=grade)
    window = calendar.transfer_window(on)
    if window is not None:
        return _("The transfer window is open from %(start)s to %(end)s.") % {
            "start": window[0].isoformat(),
            "end": window[1].isoformat(),
        }
    upcoming = calendar.next_transfer_window(on)
    if upcoming is None:
        return _("Under the province's rules students of %(grade)s do not transfer.") % {"grade": grade.name}
    start, end = upcoming
    return _(
        "Transfers can be started only within the transfer windows of the province. "
        "The next window runs from %(start)s to %(end)s."
    ) % {"start": start.isoformat(), "end": end.isoformat()}


def graduation_frozen(node, on=None, segment=None):
    """After the freeze date (31 May; the stage's own, if the province gives one) to the end of that
    school year (31 August)."""
    return calendar_for(node, by_stage=segment is not None).graduation_frozen(_today(on), segment)


def graduation_freeze_applies(school, level, on=None):
    """Whether a student of grade `level` at `school` is frozen for graduation on `on`: the last
    grade of its stage, after the stage's freeze date (domain §10, source 000)."""
    if not is_graduating_level(school, level):
        return False
    return graduation_frozen(school, on, school.segment_of_level(level))


def graduation_freeze_message(school, level, name, on=None):
    """The refusal of a change to a frozen graduating student, naming the dates."""
    on = _today(on)
    rules = calendar_for(school, by_stage=True)
    return _(
        "%(name)s is in the graduating grade, whose records are frozen for graduation after %(freeze)s "
        "until %(end)s: no status change, edit or import may change them."
    ) % {
        "name": name,
        "freeze": rules.graduation_freeze_for(on, school.segment_of_level(level)).isoformat(),
        "end": rules.school_year_end_for(on).isoformat(),
    }


def current_term(node, on=None):
    """The (first day, last day) of the term `on` (default: today) falls in, by `node`'s province."""
    return calendar_for(node).term(_today(on))


def first_term_end(node, enrolled_on):
    """The end of the first term after enrolment: new students' input errors are corrected until then."""
    return calendar_for(node).first_term_end(enrolled_on)


def is_graduating_level(school, level):
    """Whether `level` is the last grade of its segment at `school`: 6 (5 in a 5-4 system) for
    primary, 9 for junior (and special education), 12 for senior and vocational schooling (or the
    last year the school's 学制 gives)."""
    segment = school.segment_of_level(level)
    same_segment = [other for other in school.grade_levels() if school.segment_of_level(other) == segment]
    if same_segment:
        return level == max(same_segment)
    last = {Segment.SENIOR: 12, Segment.VOCATIONAL: 12}.get(segment, 9)
    return level == last


def add_months(day, months):
    """The same day `months` later; the month's last day when it is shorter (31 Jan + 1 → 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


# --- checking a row in the administration ------------------------------------------------------------


FIELD_PARSERS = {
    "transfer_windows": parse_windows,
    "graduation_freeze": parse_month_day,
    "graduation_deadline": parse_month_day,
    "school_year_end": parse_month_day,
    "term_start": parse_month_day,
    "term_ends": parse_month_days,
    "graduation_freeze_by_stage": parse_stage_days,
}


def validate_calendar_row(row):
    """ValidationError by field for a BusinessCalendar row that cannot be read."""
    errors = {}
    if row.province_id is not None and row.province.kind != NodeKind.PROVINCE:
        errors["province"] = [_("A business calendar belongs to a province.")]
    for name, parser in FIELD_PARSERS.items():
        value = getattr(row, name)
        if not value:
            continue
        try:
            parser(value)
        except ValueError:
            errors[name] = [_field_message(name)]
    defaults = _defaults()
    single, total = (
        defaults[name] if getattr(row, name) is None else getattr(row, name)
        for name in ("suspension_max_months", "suspension_total_max_months")
    )
    if single < 1:
        errors["suspension_max_months"] = [_("A suspension lasts at least one month.")]
    if total < single:
        errors["suspension_total_max_months"] = [
            _("The total cannot be shorter than the longest single suspension.")
        ]
    if errors:
        raise ValidationError(errors)


def _field_message(name):
    if name == "transfer_windows":
        return _("Write windows as MM-DD..MM-DD separated by commas, e.g. 01-06..03-06.")
    if name == "graduation_freeze_by_stage":
        return _("Write stages and days as stage:MM-DD separated by commas, e.g. vocational:06-10.")
    if name == "term_ends":
        return _("Write days of the year as MM-DD separated by commas, e.g. 01-31, 07-15.")
    return _("Write a day of the year as MM-DD, e.g. 05-31; 02-29 is not accepted.")
