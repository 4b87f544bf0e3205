"""Identity documents and names: normalising what people type and checking it (domain §3).

Everything here is pure: no database, so that the roster import can check 100,000 rows quickly.
`check_id` returns every problem it finds, each a complete Chinese sentence that says what to do.

Choices made here (a province that decides otherwise changes the patterns below):
- A record without any document has 身份证件类型 Z (其他) and an empty number; every other type needs one.
- 香港/澳门 (6, 7): the 回乡证 (H/M + 8 or 10 digits), the identity card (A123456(7), 1234567(8)) or the
  SAR passport (K12345678, MA1234567); 台湾 (8): the 8-digit 台胞证. For all three, the 18-digit
  港澳台居民居住证 (810000/820000/830000 + birth date + sequence + check digit) is accepted as well,
  since the code table has no type of its own for it.
- 境外永久居住证 (9): the 15-character card (3 letters + 12 digits) or the 18-character card of 2023
  (9 + 17 characters, check digit as in the resident ID).
- 护照 (A): 5–20 letters and digits with at least one digit. 其他 (Z): anything up to 30 characters.
- 户口簿 (B): the 公民身份号码 the household register prints, checked as a resident ID. It does not
  become a G number (numbers.usable_resident_id asks for type 1): a J number is issued until the
  ID card (type 1) is recorded by a key-data correction and the number promoted.
- 军官证, 士兵证, 文职干部证, 部队离退休证 (2–5): any number up to 30 characters.
"""

import re
import unicodedata
from datetime import date, timedelta
from functools import lru_cache
from operator import mul

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import numdb
from stdnum.iso7064 import mod_11_2

from registrar.models import grade_name
from registrar.text import clean_text, strip_invisible
from students import codes

RESIDENT_ID = "1"
HONG_KONG = "6"
MACAO = "7"
TAIWAN = "8"
FOREIGN_PERMANENT = "9"
PASSPORT = "A"
HOUSEHOLD_REGISTER = "B"
OTHER = "Z"

ID_NUMBER_MAX_LENGTH = 30

# Inner whitespace of any kind (ordinary, full-width U+3000, non-breaking, tabs) disappears from ID numbers.
WHITESPACE_RE = re.compile(r"\s+")
RESIDENT_ID_RE = re.compile(r"^\d{17}[\dX]$")
# What Excel makes of a long number: 4.20102E+17, 4.2010220150101E+17.
SCIENTIFIC_RE = re.compile(r"^\d(\.\d+)?E\+?\d+$")
# A number cell read back as a float: 420102201501011234.0
FLOAT_RE = re.compile(r"^\d+\.0+$")

HONG_KONG_RE = re.compile(r"^(H\d{8}(\d{2})?|[A-Z]{1,2}\d{6}\(?[\dA]\)?|[A-Z]{1,2}\d{7,8})$")
MACAO_RE = re.compile(r"^(M\d{8}(\d{2})?|[157]\d{6}\(?\d\)?|MA\d{7})$")
TAIWAN_RE = re.compile(r"^\d{8}$")
FOREIGN_OLD_RE = re.compile(r"^[A-Z]{3}\d{12}$")
FOREIGN_NEW_RE = re.compile(r"^9\d{16}[\dX]$")
PASSPORT_RE = re.compile(r"^(?=.*\d)[A-Z\d]{5,20}$")
RESIDENCE_PERMIT_PREFIX = {HONG_KONG: "810000", MACAO: "820000", TAIWAN: "830000"}
# ISO 7064 MOD 11-2 over 17 digits (GB 11643): the weights 2**(17 - position) mod 11, and the check
# digit for each remainder of the weighted sum mod 11.
CHECK_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_DIGITS = "10X98765432"
# The bytes of the digits 0-9 are 48-57: a weighted sum of the bytes is 48 × the weights' sum more.
CHECK_OFFSET = 48 * sum(CHECK_WEIGHTS)

# Look-alikes of the middle dot of minority names (阿卜杜拉·买买提). The record keeps what was
# entered, so a look-alike is refused with a message rather than quietly replaced: the same person
# written with two different dots would escape the duplicate check.
NAME_DOT = "·"
DOT_LOOKALIKES = "・･•‧∙●．"
# Names hold Han characters (those beyond the BMP too, such as 𠮷, and 〇), letters of any script
# with their combining marks, the middle dot and spaces: no digits, brackets, formula signs
# (=HYPERLINK(…)), markup (<img …>) or emoji. Most names are a few common Han characters: one match.
COMMON_NAME_RE = re.compile(r"[\u4e00-\u9fff]+(·[\u4e00-\u9fff]+)*")
NAME_SPACES = " \u3000"
# The emoji and text presentation selectors are marks too, but have no place in a name.
PRESENTATION_SELECTORS = "\ufe0e\ufe0f"


def normalise_id_number(text):
    """Full-width → half-width, all whitespace and invisible characters removed, letters in capitals."""
    if text is None:
        return ""
    # Most numbers are ASCII letters and digits already (no invisible character, space or full-width
    # form): only the capitals are left to do.
    if text.__class__ is str and text.isalnum() and text.isascii():
        return text.upper()
    text = unicodedata.normalize("NFKC", strip_invisible(str(text)))
    return WHITESPACE_RE.sub("", text).upper()


def normalise_name(text):
    """Outer spaces (also full-width ones) and invisible characters go; the rest stays exactly as entered."""
    return clean_text(text)


def check_name(value, label):
    """What is wrong with a name (姓名, 曾用名, a family member's), each a sentence naming `label`."""
    if COMMON_NAME_RE.fullmatch(value):
        return []
    problems = []
    for char in value:
        if char in DOT_LOOKALIKES:
            problems.append(
                _("Write the dot in a name as %(dot)s (as in 阿卜杜拉·买买提), not %(char)s.")
                % {"dot": NAME_DOT, "char": char}
            )
            break
    if any(char.isdigit() for char in value):
        problems.append(_("%(field)s cannot contain digits.") % {"field": label})
    others = _foreign_to_names(value)
    if others:
        problems.append(
            _(
                "%(field)s may contain only Chinese characters, letters, the middle dot %(dot)s and spaces, "
                "not %(chars)s."
            )
            % {"field": label, "dot": NAME_DOT, "chars": " ".join(others)}
        )
    return problems


def _foreign_to_names(value):
    """The characters of `value` that have no place in a name (digits and dot look-alikes have their
    own messages), each shown once, invisible ones by their code point."""
    found = []
    after_letter = False
    for char in value:
        if char.isalpha() or char == "〇":
            after_letter = True
            continue
        if unicodedata.category(char)[0] == "M" and after_letter and char not in PRESENTATION_SELECTORS:
            continue
        after_letter = False
        if char == NAME_DOT or char in NAME_SPACES or char in DOT_LOOKALIKES or char.isdigit():
            continue
        visible = char.isprintable() and not char.isspace() and unicodedata.category(char)[0] != "M"
        shown = char if visible else f"U+{ord(char):04X}"
        if shown not in found:
            found.append(shown)
    return found


def parse_resident_id(number):
    """(birth_date, gender_code) from the structure of an 18-character number; ValueError if impossible."""
    if not RESIDENT_ID_RE.match(number or ""):
        raise ValueError(number)
    birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    gender = "1" if int(number[16]) % 2 == 1 else "2"
    return birth, gender


def resident_id_facts(number):
    """The 出生日期 and 性别 code that a valid resident ID determines."""
    return parse_resident_id(normalise_id_number(number))


def resident_check_digit(number):
    """The check digit for the first 17 digits of `number` (ISO 7064 MOD 11-2)."""
    return _check_digit(number[:17])


@lru_cache(maxsize=1024)
def _check_digit(digits):
    # A record's check may ask twice for the same number (check_id, then is_valid_resident_id).
    if len(digits) == 17 and digits.isascii() and digits.isdigit():
        # What stdnum computes digit by digit in Python, as one weighted sum of the digits' bytes (a
        # county's 100,000 IDs: 0.8 µs a number, against 2.8 µs through int() of each digit).
        return CHECK_DIGITS[(sum(map(mul, digits.encode(), CHECK_WEIGHTS)) - CHECK_OFFSET) % 11]
    # Other digits (full-width ones, say) as stdnum reads them.
    return mod_11_2.calc_check_digit(digits)


@lru_cache(maxsize=4096)
def region_problem(region, birth_year):
    """None when the 6-digit division code was in use in or after `birth_year`, else a message."""
    parts = numdb.get("cn/loc").info(region)
    info = {key: value for _part, props in parts for key, value in props.items()}
    if "county" not in info:
        return _("The region code %(code)s in the ID number does not exist.") % {"code": region}
    # Entries look like "[1983-]江岸区" or "[1992-2001]宜昌县,[2001-]夷陵区"; a code without brackets
    # has always been in use. A number holds the code in use when it was issued, never before birth.
    names = []
    for county in info["county"].split(","):
        if not county.startswith("["):
            return None
        years, name = county[1:].split("]", 1)
        end = years.split("-")[1]
        if not end or int(end) >= birth_year:
            return None
        names.append((name, end))
    name, end = names[-1]
    return _(
        "The region code %(code)s (%(name)s) in the ID number was abolished in %(year)s, "
        "before the birth year %(birth)s. Please check."
    ) % {"code": region, "name": name, "year": end, "birth": birth_year}


def is_valid_resident_id(number):
    """Well formed, right check digit, a real birth date and a region code in use."""
    try:
        birth, _gender = parse_resident_id(number)
    except ValueError:
        return False
    return number[17] == resident_check_digit(number) and region_problem(number[:6], birth.year) is None


def school_year_start(today):
    """1 September of the current school year."""
    return date(today.year if today.month >= 9 else today.year - 1, 9, 1)


def age_on(birth_date, day):
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


# Years younger and older than typical a student may be, by segment (age_range_for_level).
AGE_TOLERANCE = {"default": (1, 3), "vocational": (1, 6), "special": None}


def age_range_for_level(level, segment=None):
    """The plausible ages (on 31 August of the school year) of a student in grade `level`.

    A first-grader is normally 6 (满 6 周岁 by 31 August), a first-year senior student 15. The
    tolerance is a province switch: settings.REGISTRAR["AGE_TOLERANCE"] maps a segment (or
    "default") to (years younger, years older); None means no age check for that segment
    (special education takes pupils of very different ages).
    """
    province = settings.REGISTRAR
    tolerance = AGE_TOLERANCE
    if province.get("AGE_TOLERANCE"):
        tolerance = dict(AGE_TOLERANCE)
        tolerance.update(province["AGE_TOLERANCE"])
    chosen = tolerance.get(str(segment), tolerance["default"]) if segment else tolerance["default"]
    if chosen is None:
        return None
    entry_age = province.get("ENTRY_AGE", 6)
    typical = entry_age + level - 1
    younger, older = chosen
    return typical - younger, typical + older


def check_age(birth_date, grade_level, *, today, segment=None):
    """A message when the age does not fit the grade, else None."""
    limits = age_range_for_level(grade_level, segment)
    if limits is None:
        return None
    # Ages count on 31 August, the cut-off day of school entry.
    age = age_on(birth_date, school_year_start(today) - timedelta(days=1))
    low, high = limits
    if low <= age <= high:
        return None
    return _(
        "A student of %(grade)s is normally %(low)s to %(high)s years old, but the date of birth "
        "%(birth)s gives %(age)s. Please check the grade and the date of birth."
    ) % {
        "grade": grade_name(grade_level, segment),
        "low": low,
        "high": high,
        "birth": birth_date.isoformat(),
        "age": age,
    }


def excel_damage(number):
    """A message when the number looks like Excel turned it into a number, else None."""
    if number.isdigit():
        # Both forms have an E or a decimal point.
        return None
    if SCIENTIFIC_RE.match(number):
        return _(
            "The ID number %(value)s is in scientific notation: Excel took it for a number and its "
            "last digits are lost. Format the column as text and enter the full number again."
        ) % {"value": number}
    if FLOAT_RE.match(number):
        return _(
            "The ID number %(value)s ends in .0: Excel took it for a number and digits may be lost. "
            "Format the column as text and enter the full number again."
        ) % {"value": number}
    return None


def check_resident_id(number, *, birth_date=None, gender=None, grade_level=None, segment=None, today):
    problems = []
    if number.isdigit() and len(number) == 15:
        return [
            _(
                "The ID number has only 15 digits. Enter the 18-digit resident ID; if it was copied "
                "from Excel, make sure the cell is text so that no digit is lost."
            )
        ]
    if len(number) != 18:
        return [_("A resident ID number has 18 characters; this one has %(count)s.") % {"count": len(number)}]
    if not RESIDENT_ID_RE.match(number):
        return [_("A resident ID number is 17 digits followed by a digit or X.")]
    expected = resident_check_digit(number)
    if number[17] != expected:
        # Excel keeps 15 significant digits and fills the rest with zeros.
        if number.endswith("000"):
            return [
                _(
                    "The ID number ends in 000 and its check digit is wrong: Excel probably took it for "
                    "a number and lost the last digits. Format the column as text and enter the full "
                    "number again."
                )
            ]
        problems.append(
            _("The check digit of the ID number is wrong: it should be %(digit)s. Please check.")
            % {"digit": expected}
        )
    try:
        id_birth, id_gender = parse_resident_id(number)
    except ValueError:
        problems.append(
            _("The date of birth %(digits)s in the ID number does not exist.") % {"digits": number[6:14]}
        )
        return problems
    region = region_problem(number[:6], id_birth.year)
    if region:
        problems.append(region)
    if id_birth > today:
        problems.append(
            _("The date of birth %(digits)s in the ID number lies in the future.") % {"digits": number[6:14]}
        )
        return problems
    if problems:
        # A number with a wrong digit says nothing reliable about the person.
        return problems
    if gender and gender != id_gender:
        problems.append(
            _("The sex does not agree with the ID number, which says %(sex)s.")
            % {"sex": codes.table("gender").display(id_gender)}
        )
    if birth_date and birth_date != id_birth:
        problems.append(
            _("The date of birth does not agree with the ID number, which says %(date)s.")
            % {"date": id_birth.isoformat()}
        )
    if grade_level:
        age_problem = check_age(id_birth, grade_level, today=today, segment=segment)
        if age_problem:
            problems.append(age_problem)
    return problems


def check_residence_permit(number):
    """For an 18-character 港澳台居民居住证: the check digit and the birth date."""
    try:
        parse_resident_id(number)
    except ValueError:
        return [_("The date of birth %(digits)s in the ID number does not exist.") % {"digits": number[6:14]}]
    expected = resident_check_digit(number)
    if number[17] != expected:
        return [
            _("The check digit of the ID number is wrong: it should be %(digit)s. Please check.")
            % {"digit": expected}
        ]
    return []


def check_other_id(id_type, number):
    prefix = RESIDENCE_PERMIT_PREFIX.get(id_type)
    if prefix and number.startswith(prefix) and len(number) == 18:
        return check_residence_permit(number)
    if id_type == HONG_KONG and not HONG_KONG_RE.match(number):
        return [
            _(
                "This is not a Hong Kong document number: a Home Return Permit is H and 8 or 10 digits, "
                "an identity card looks like A123456(7), a passport like K12345678."
            )
        ]
    if id_type == MACAO and not MACAO_RE.match(number):
        return [
            _(
                "This is not a Macao document number: a Home Return Permit is M and 8 or 10 digits, "
                "an identity card looks like 1234567(8), a passport like MA1234567."
            )
        ]
    if id_type == TAIWAN and not TAIWAN_RE.match(number):
        return [_("A Mainland Travel Permit for Taiwan Residents has 8 digits.")]
    if id_type == FOREIGN_PERMANENT:
        if FOREIGN_OLD_RE.match(number):
            return []
        if FOREIGN_NEW_RE.match(number):
            expected = resident_check_digit(number)
            if number[17] != expected:
                return [
                    _("The check digit of the ID number is wrong: it should be %(digit)s. Please check.")
                    % {"digit": expected}
                ]
            return []
        return [
            _(
                "A foreign permanent resident ID card has 15 characters (3 letters and 12 digits) "
                "or, since 2023, 18 characters starting with 9."
            )
        ]
    if id_type == PASSPORT and not PASSPORT_RE.match(number):
        return [_("A passport number has 5 to 20 letters and digits.")]
    return []


def check_id(id_type, id_number, *, birth_date=None, gender=None, grade_level=None, segment=None, today=None):
    """Every problem with an ID type and number, in Chinese; an empty list when all is well.

    `birth_date`, `gender` (code) and `grade_level` are compared with what a resident ID says when
    given. `id_number` is normalised first, so raw cell text may be passed.
    """
    today = today or timezone.localdate()
    id_type = (id_type or "").strip()
    number = normalise_id_number(id_number)
    if not id_type:
        if number:
            return [_("An ID number is given without its ID type. Choose the ID type.")]
        return []
    if id_type not in codes.table("id_type"):
        return [_("Unknown ID type %(code)s.") % {"code": id_type}]
    if not number:
        if id_type == OTHER:
            return []
        return [
            _("The ID type %(type)s is chosen but the number is empty.")
            % {"type": codes.table("id_type").display(id_type)}
        ]
    damage = excel_damage(number)
    if damage:
        return [damage]
    if len(number) > ID_NUMBER_MAX_LENGTH:
        return [_("An ID number has at most %(count)s characters.") % {"count": ID_NUMBER_MAX_LENGTH}]
    if id_type in (RESIDENT_ID, HOUSEHOLD_REGISTER):
        facts = {"birth_date": birth_date, "gender": gender, "grade_level": grade_level, "segment": segment}
        return check_resident_id(number, today=today, **facts)
    return check_other_id(id_type, number)
