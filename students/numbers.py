"""学籍号: the lifelong registration number (domain §4).

One person, one number, for life. 19 characters:
- G + the 18-digit resident ID, once the ID is valid and no other record holds that number;
- J + the school's region code + birth date + a 3-digit sequence + a check digit (ISO 7064 MOD 11-2,
  as in the resident ID) for a student without a usable resident ID;
- L + region code + birth date + 4 random digits: a temporary number some provinces give; promoted later.

A number, once issued, is never recomputed: a later correction of the ID number leaves it alone. The
only change is a promotion (L → G or J, J → G), which is a recorded event.
"""

import re
import secrets
from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from stdnum.iso7064 import mod_11_2

from registrar.audit import record_event, stamp
from students.duplicates import earlier_record_message
from students.errors import StudentError
from students.identity import (
    RESIDENT_ID,
    RESIDENT_ID_RE,
    is_valid_resident_id,
    normalise_id_number,
)
from students.models import Student
from students.permissions import ensure_covers

# "J" + 6-digit region + 8-digit birth date: the sequence follows at [15:18], the check digit at [18].
J_PREFIX_LENGTH = 15
# Two registrations racing for the same J sequence: each retry re-reads the highest number.
ISSUE_ATTEMPTS = 20


def g_number(id_number):
    number = normalise_id_number(id_number)
    if not RESIDENT_ID_RE.match(number):
        raise ValueError(f"not an 18-character resident ID: {id_number!r}")
    return "G" + number


def j_check_digit(seventeen):
    if len(seventeen) != 17 or not seventeen.isdigit():
        raise ValueError(f"17 digits expected: {seventeen!r}")
    return mod_11_2.calc_check_digit(seventeen)


def j_number(region, birth_date, sequence):
    if not (len(region) == 6 and region.isdigit()):
        raise ValueError(f"6-digit region code expected: {region!r}")
    if not 1 <= sequence <= 999:
        raise ValueError(f"sequence out of range: {sequence}")
    body = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
    return "J" + body + j_check_digit(body)


def l_number(region, birth_date):
    """A temporary number; the 4 digits are random, so a clash is retried by the caller's constraint."""
    return f"L{region}{birth_date:%Y%m%d}{secrets.randbelow(10000):04d}"


def is_valid_j_number(number):
    body = number[1:18]
    return (
        len(number) == 19
        and number.startswith("J")
        and body.isdigit()
        and number[18] == mod_11_2.calc_check_digit(body)
    )


L_NUMBER_RE = re.compile(r"^L\d{18}$")


def _real_date(digits):
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return True


def is_valid_number(number):
    """A well-formed 学籍号 of any kind: G + a valid resident ID, a J number with its check digit, or
    an L number with a real birth date (what another system may have issued)."""
    number = number or ""
    if number.startswith("G"):
        return len(number) == 19 and is_valid_resident_id(number[1:])
    if number.startswith("J"):
        return is_valid_j_number(number) and _real_date(number[7:15])
    return bool(L_NUMBER_RE.match(number)) and _real_date(number[7:15])


def keep_given_number(student, number, *, by, reason):
    """Save a 学籍号 issued elsewhere (a transfer in from outside the system) as the student's own:
    checked for its shape, never issued anew. StudentError when it is malformed or another record
    here holds it (the unique constraint decides a race)."""
    number = normalise_id_number(number)
    if not is_valid_number(number):
        raise StudentError(
            _(
                "%(number)s is not a valid registration number: it is G and the 18-character resident ID, "
                "or J or L, the region code, the birth date and the sequence (19 characters)."
            )
            % {"number": number or "—"}
        )
    if g_number_holder(number, exclude=student) is not None or not _save_number(
        student, number, by=by, reason=reason
    ):
        raise StudentError(
            _("The registration number %(number)s is already held by another record.") % {"number": number}
        )
    return number


def region_code(school):
    """The division code of the region the school sits in: its county, or its city for 市直 schools.

    Read from the school's path, so no query: the nearest 6-digit code above it.
    """
    codes = [code for code in school.path.strip("/").split("/")[:-1] if len(code) == 6]
    if not codes:
        raise ValueError(f"school without a region: {school.path}")
    return codes[-1]


def file_number_problem(number, id_type, id_number, *, national_load=False):
    """Why a 学籍号 that a roster file gives a student new to this system cannot be theirs; "" when it
    can. A G number is G + the row's own resident ID, a J number has its check digit right; an L
    number (temporary) comes only with the national system's records (`national_load`)."""
    if number.startswith("G"):
        if id_type == RESIDENT_ID and number[1:] == normalise_id_number(id_number):
            return ""
        return _(
            "The registration number %(number)s is not G followed by this row's resident ID number: a G "
            "number is the student's own ID number."
        ) % {"number": number}
    if number.startswith("J"):
        if is_valid_j_number(number):
            return ""
        return _("The registration number %(number)s is not a valid J number: its check digit is wrong.") % {
            "number": number
        }
    if number.startswith("L") and national_load:
        return ""
    return _(
        "The registration number %(number)s is a temporary L number: a new student is registered through "
        "the registration review, which issues the number."
    ) % {"number": number}


def usable_resident_id(student):
    """The student's resident ID when it can become a G number, else ''."""
    number = normalise_id_number(student.id_number)
    if student.id_type == RESIDENT_ID and is_valid_resident_id(number):
        return number
    return ""


def earlier_record(student):
    """Another record of the same person that holds a 学籍号 already, whatever its status
    (graduated, transferred, withdrawn …): the same ID number. None for a person new to this system.

    Not the holder of the G number the ID would make: a record whose ID number was corrected since
    keeps its G number and is another person (issue_number then gives a J number)."""
    id_number = normalise_id_number(student.id_number)
    if not id_number:
        return None
    holders = Student.objects.filter(number__isnull=False, id_number=id_number)
    if student.pk:
        holders = holders.exclude(pk=student.pk)
    return holders.select_related("school", "grade__school", "school_class").order_by("pk").first()


def refuse_second_number(student, *, by):
    """一人一号: refuse a new registration of a person whose record already holds a number."""
    other = earlier_record(student)
    if other is not None:
        message = earlier_record_message(other, by)
        raise StudentError(message, {"id_number": [message]})


def g_number_holder(number, *, exclude):
    return Student.objects.filter(number=number).exclude(pk=exclude.pk).first()


def _save_number(student, number, *, by, reason):
    """Write `number` in a savepoint; False when the unique constraint says another record took it.

    The savepoint matters on PostgreSQL: a failed statement would otherwise abort the whole
    transaction, and the caller's lock and earlier writes with it.
    """
    previous = student.number
    student.number = number
    stamp(student, by=by, reason=reason)
    try:
        with transaction.atomic():
            student.save(update_fields=["number"])
    except IntegrityError:
        student.number = previous
        return False
    return True


class JNumbers:
    """The one allocator of J numbers: the next free sequence of each prefix (J + region + birth date).

    Without a table of counters, a prefix's next sequence is the highest issued plus one. The issued
    sequences are read once per prefix and counted on in memory, so that an import hands out a
    county's numbers with one query per region (`prepare`) and a registration with one query for its
    prefix. `note` takes numbers given otherwise (a file's own J numbers), which the next ones must
    pass. A prefix with every sequence taken is refused with a StudentError.
    """

    def __init__(self):
        # prefix -> the highest sequence issued or handed out so far; a prefix is read once.
        self.highest = {}
        self.noted = {}
        self.regions = {}

    def prefix(self, school, birth_date):
        region = self.regions.get(school.pk)
        if region is None:
            region = self.regions[school.pk] = region_code(school)
        return f"J{region}{birth_date:%Y%m%d}"

    def prepare(self, wanted):
        """Read the issued sequences of the prefixes of `wanted` ((school, birth date) pairs) at once:
        one query for a single prefix, else one per region (a region's J numbers are few)."""
        by_region = {}
        for school, birth_date in wanted:
            prefix = self.prefix(school, birth_date)
            if prefix not in self.highest:
                by_region.setdefault(prefix[1:7], set()).add(prefix)
        for region, prefixes in by_region.items():
            self.read(f"J{region}" if len(prefixes) > 1 else next(iter(prefixes)), prefixes)

    def read(self, start, prefixes):
        """The highest sequence issued of each of `prefixes`, from the numbers beginning with `start`."""
        for prefix in prefixes:
            self.highest[prefix] = 0
        issued = Student.objects.filter(number__startswith=start).values_list("number", flat=True)
        for number in issued:
            prefix = number[:J_PREFIX_LENGTH]
            if number[J_PREFIX_LENGTH:18].isdigit() and prefix in self.highest:
                self.highest[prefix] = max(self.highest[prefix], int(number[J_PREFIX_LENGTH:18]))

    def note(self, number):
        """A J number given otherwise: the ones handed out from now on come after it."""
        if number.startswith("J") and number[J_PREFIX_LENGTH:18].isdigit():
            prefix = number[:J_PREFIX_LENGTH]
            self.noted[prefix] = max(self.noted.get(prefix, 0), int(number[J_PREFIX_LENGTH:18]))

    def forget(self, prefix):
        """Read `prefix` again next time (another registration may have taken a number meanwhile)."""
        self.highest.pop(prefix, None)

    def next(self, school, birth_date):
        prefix = self.prefix(school, birth_date)
        if prefix not in self.highest:
            self.read(prefix, [prefix])
        sequence = max(self.highest[prefix], self.noted.get(prefix, 0)) + 1
        if sequence > 999:
            raise StudentError(
                _("Every J registration number for %(prefix)s is taken. Ask the administrator.")
                % {"prefix": prefix}
            )
        self.highest[prefix] = sequence
        return j_number(prefix[1:7], birth_date, sequence)


def _issue_j_number(student, *, by, reason):
    """The next free J number for the school's region and the birth date, saved.

    Two registrations of children born the same day in the same county may read the same highest
    number at once; the unique constraint on Student.number lets only one of them write it, and the
    other retries in a fresh savepoint, reading the now committed number (on PostgreSQL each
    statement sees what has committed; the losing insert waits for the winner's commit before it
    fails). On SQLite writers are serialised, so the race cannot happen there.
    """
    allocator = JNumbers()
    for _attempt in range(ISSUE_ATTEMPTS):
        number = allocator.next(student.school, student.birth_date)
        if _save_number(student, number, by=by, reason=reason):
            return number
        allocator.forget(number[:J_PREFIX_LENGTH])
    raise StudentError(_("No registration number could be issued just now. Please try again."))


def issue_number(student, *, by=None, reason=""):
    """Give the student its 学籍号 and save it; the number it already has is kept as it is.

    Call inside the transaction that holds the student's row lock (services.register_student does).
    """
    if student.number:
        return student.number
    # 一人一号: a person whose record exists (graduated, transferred, withdrawn …) keeps that
    # record's number; this record gets none.
    refuse_second_number(student, by=by)
    resident_id = usable_resident_id(student)
    if resident_id:
        candidate = "G" + resident_id
        if g_number_holder(candidate, exclude=student) is None and _save_number(
            student, candidate, by=by, reason=reason
        ):
            return candidate
    return _issue_j_number(student, by=by, reason=reason)


@transaction.atomic
def promote_number(student, *, by, reason=""):
    """L → G or J, J → G once the student has a valid resident ID; a recorded event."""
    student = Student.objects.select_for_update(of=("self",)).select_related("school").get(pk=student.pk)
    ensure_covers(by, student.school)
    old = student.number or ""
    if not old:
        raise StudentError(_("This student has no registration number yet."))
    if old.startswith("G"):
        raise StudentError(_("This student already holds a formal registration number."))
    resident_id = usable_resident_id(student)
    reason = reason or _("Registration number promoted")
    if resident_id:
        new = "G" + resident_id
        holder = g_number_holder(new, exclude=student)
        if holder is not None or not _save_number(student, new, by=by, reason=reason):
            raise StudentError(
                _("The registration number %(number)s is already held by another record.") % {"number": new}
            )
    elif old.startswith("L"):
        new = _issue_j_number(student, by=by, reason=reason)
    else:
        raise StudentError(
            _("Without a valid resident ID number the registration number cannot become a G number.")
        )
    record_event("students.number.promoted", actor=by, obj=student, reason=reason, old=old, new=new)
    return student
