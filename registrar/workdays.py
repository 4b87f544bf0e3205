"""The working-day calendar: Monday to Friday, minus public holidays, plus make-up days (调休).

Exceptions to the weekly rule are `Holiday` rows (entered by the province administrator in the
administration, a year ahead). A step has `APPROVAL_STEP_WORKING_DAYS` working days (default 10):
it is due on the tenth working day after the day it started, and overdue from the day after.
"""

from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from registrar.models import Holiday, StepState

DEFAULT_STEP_WORKING_DAYS = 10


def step_working_days():
    return getattr(settings, "REGISTRAR", {}).get("APPROVAL_STEP_WORKING_DAYS", DEFAULT_STEP_WORKING_DAYS)


class Calendar:
    """The exceptions of one span of dates, loaded in one query; extends itself when asked beyond it."""

    def __init__(self, start, end):
        self.start = self.end = None
        self.exceptions = {}
        self._load(start, end)

    def _load(self, start, end):
        start = min(start, self.start) if self.start else start
        end = max(end, self.end) if self.end else end
        rows = Holiday.objects.filter(date__gte=start, date__lte=end).values_list("date", "is_workday")
        self.exceptions = dict(rows)
        self.start, self.end = start, end

    def is_workday(self, day):
        if not (self.start <= day <= self.end):
            self._load(min(day, self.start), max(day, self.end))
        if day in self.exceptions:
            return self.exceptions[day]
        return day.weekday() < 5

    def add(self, start, n):
        """The date `n` working days after `start` (`start` itself does not count)."""
        # The longest breaks (Spring Festival, National Day) are eight or nine days.
        if self.end is None or self.end < start + timedelta(days=n * 2 + 14):
            self._load(start, start + timedelta(days=n * 2 + 14))
        day = start
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        return day

    def between(self, start, end):
        """Working days after `start` up to and including `end`; negative when `end` is earlier."""
        if end < start:
            return -self.between(end, start)
        if not (self.start <= start and end <= self.end):
            self._load(start, end)
        return sum(
            1 for offset in range(1, (end - start).days + 1) if self.is_workday(start + timedelta(offset))
        )


def _as_date(value):
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    return timezone.localdate(value)


def add_working_days(start, n):
    """`start` (a date or an aware datetime) plus `n` working days, as a date."""
    start = _as_date(start)
    return Calendar(start, start + timedelta(days=n * 2 + 14)).add(start, n)


def working_days_between(a, b):
    """Working days after `a` up to and including `b` (dates or aware datetimes)."""
    a, b = _as_date(a), _as_date(b)
    return Calendar(min(a, b), max(a, b)).between(a, b)


def due_date_for(started_at):
    return add_working_days(started_at, step_working_days())


def is_overdue(step, now=None):
    """A current step is overdue from the day after its due date."""
    if step.state != StepState.CURRENT or step.due_date is None:
        return False
    return _as_date(now or timezone.now()) > step.due_date
