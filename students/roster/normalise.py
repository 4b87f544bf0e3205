"""Turning the cells offices send into the record's values.

Each kind of column has a converter: it returns the Python value or raises CellError with a
message for the 错误原因 column. Converters of columns with few distinct values (codes, dates,
grades) cache what they have seen: a county's file repeats the same few hundred values.
"""

import datetime
import re
import unicodedata

from django.utils.translation import gettext as _

from registrar.text import clean_text
from students import codes
from students.identity import normalise_id_number
from students.roster.template import Kind

# Full-width ASCII (０-９, Ａ-Ｚ, ｘ, －, ／ …) and the ideographic space made half-width.
FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
FULL_WIDTH[0x3000] = 0x20
WHITESPACE = " \t\r\n\u3000\u00a0\ufeff"

DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+0{1,2}:00(?::00)?)?$")
COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
MONTH_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
COMPACT_MONTH_RE = re.compile(r"^(\d{4})(\d{2})$")
SCIENTIFIC_RE = re.compile(r"^\d+(\.\d*)?[eE][+-]?\d+$")
NUMBER_RE = re.compile(r"^[GJL][0-9]{17}[0-9X]$")

CHINESE_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
GRADE_RE = re.compile(r"^(小学|初中|高中|中职)?([一二三四五六七八九十]|十一|十二|[1-9]|1[0-2])年级$")
SHORT_GRADE_RE = re.compile(r"^(初|高)([一二三123])$")
TRUE_WORDS = {"是", "1", "Y", "YES", "TRUE", "T", "√"}
FALSE_WORDS = {"否", "0", "N", "NO", "FALSE", "F", "×"}


class CellError(Exception):
    """A cell that cannot be read; `value` is what the other checks see instead (None: the empty value)."""

    def __init__(self, message, value=None):
        super().__init__(message)
        self.message = message
        self.value = value


def plain_text(value):
    """A cell as text: numbers without a trailing .0, invisible characters removed, outer spaces trimmed."""
    if value.__class__ is str:
        # Most cells hold nothing invisible (isprintable() says so at C speed): 100,000 rows have millions.
        return value.strip() if value.isprintable() else clean_text(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        value = value.date() if value.time() == datetime.time() else value
    return str(value).strip(WHITESPACE)


def half_width(text):
    return text.translate(FULL_WIDTH).strip()


def digits(value):
    if value.__class__ is str and value.isascii() and value.isprintable():
        # Most cells (phones, codes, dates): nothing full-width in ASCII, only the trim to do.
        return value.strip()
    return half_width(plain_text(value))


def id_number(value):
    """An ID number from a text cell. A number cell has lost digits: refuse it, never guess."""
    if value.__class__ is str and value.isascii() and value.isalnum():
        # Most cells: ASCII letters and digits, nothing to trim or make half-width.
        text_value = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        # The damaged text stands in for the number, so that no check takes the student for one without an ID.
        raise CellError(
            _(
                "The ID number is stored as a number (%(value)s), so Excel has lost its last digits. "
                "Format the column as text and type the number again."
            )
            % {"value": plain_text(value)},
            value=plain_text(value),
        )
    else:
        text_value = half_width(plain_text(value))
    # Digits alone are no scientific notation (it has an E).
    if not text_value.isdigit() and SCIENTIFIC_RE.match(text_value):
        raise CellError(
            _(
                "The ID number %(value)s is in scientific notation: its digits are lost. "
                "Format the column as text and type the number again."
            )
            % {"value": text_value},
            value=text_value,
        )
    return normalise_id_number(text_value)


def registration_number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellError(_("The registration number must be a text cell."))
    text_value = half_width(plain_text(value)).upper().replace(" ", "")
    if not text_value:
        return ""
    if not NUMBER_RE.match(text_value):
        raise CellError(
            _("The registration number %(value)s is not a letter G, J or L followed by 18 characters.")
            % {"value": text_value}
        )
    return text_value


def school_code(value):
    text_value = digits(value)
    if not text_value:
        return ""
    if not (text_value.isdigit() and len(text_value) == 10):
        raise CellError(_("The school code %(value)s is not 10 digits.") % {"value": text_value})
    return text_value


def parse_date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text_value = digits(value)
    if not text_value:
        return None
    match = DATE_RE.match(text_value) or COMPACT_DATE_RE.match(text_value)
    if match:
        year, month, day = (int(part) for part in match.groups())
        try:
            return datetime.date(year, month, day)
        except ValueError:
            pass
    raise CellError(
        _("%(value)s is not a date: write it as 2015-09-01.") % {"value": text_value or plain_text(value)}
    )


def parse_month(value):
    """入学年月: the first day of the month."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.replace(day=1)
    text_value = digits(value)
    if not text_value:
        return None
    match = MONTH_RE.match(text_value) or COMPACT_MONTH_RE.match(text_value)
    if match:
        year, month = (int(part) for part in match.groups())
        if 1 <= month <= 12:
            return datetime.date(year, month, 1)
    try:
        return parse_date(value).replace(day=1)
    except CellError:
        raise CellError(
            _("%(value)s is not a year and month: write it as 2015-09.") % {"value": text_value}
        ) from None


def _number_word(word):
    if word.isdigit():
        return int(word)
    if word in ("十一", "十二"):
        return 10 + CHINESE_NUMBERS[word[1]]
    return CHINESE_NUMBERS[word]


def parse_grade(value):
    """The grade level 1–12: 一年级 … 九年级, 初一 … 初三, 七年级 … 九年级, 高一 … 高三."""
    text_value = digits(value).replace(" ", "")
    if not text_value:
        return None
    if text_value.isdigit() and 1 <= int(text_value) <= 12:
        return int(text_value)
    match = GRADE_RE.match(text_value)
    if match:
        stage, word = match.groups()
        level = _number_word(word)
        if stage == "初中" and level <= 3:
            level += 6
        elif stage in ("高中", "中职") and level <= 3:
            level += 9
        if 1 <= level <= 12:
            return level
    match = SHORT_GRADE_RE.match(text_value)
    if match:
        stage, word = match.groups()
        return _number_word(word) + (6 if stage == "初" else 9)
    raise CellError(
        _("%(value)s is not a grade: write 一年级 … 九年级, 初一 … 初三 or 高一 … 高三.")
        % {"value": text_value}
    )


def parse_bool(value):
    if isinstance(value, bool):
        return value
    text_value = digits(value).upper()
    if text_value in TRUE_WORDS:
        return True
    if text_value in FALSE_WORDS or text_value == "":
        return False
    raise CellError(_("%(value)s is not 是 or 否.") % {"value": text_value})


def class_name(value):
    return unicodedata.normalize("NFKC", plain_text(value)).replace(" ", "")


def code_converter(table_name, header):
    table = codes.table(table_name)

    def convert(value):
        text_value = digits(value)
        if not text_value:
            return ""
        code = table.lookup(text_value)
        if code is None:
            raise CellError(
                _("%(column)s: %(value)s is not in the code table.") % {"column": header, "value": text_value}
            )
        return code

    return convert


class Seen(dict):
    """Each distinct cell value's result, and its error apart: a value seen before is a lookup at C
    speed, with no Python call (a county's file has over a million such cells)."""

    __slots__ = ("convert", "errors")

    def __init__(self, convert):
        super().__init__()
        self.convert = convert
        self.errors = {}

    def __missing__(self, value):
        error = self.errors.get(value)
        if error is None:
            try:
                result = self[value] = self.convert(value)
            except CellError as new_error:
                error = self.errors[value] = new_error
            else:
                return result
        raise error


def cached(convert):
    """Remember each distinct cell value's result (or its error). Cells are what python-calamine
    reads: text, numbers, dates, times, all hashable."""
    return Seen(convert).__getitem__


def converter_for(column):
    """The function that turns a non-empty cell of `column` into its value."""
    if column.kind == Kind.CODE:
        return cached(code_converter(column.table, column.header))
    simple = {
        # Names are kept exactly as written (rare characters, the middle dot): only outer spaces go.
        Kind.NAME: plain_text,
        Kind.TEXT: plain_text,
        Kind.DIGITS: digits,
        Kind.ID: id_number,
        Kind.NUMBER: registration_number,
        Kind.CLASS: class_name,
    }
    if column.kind in simple:
        return simple[column.kind]
    slow = {
        Kind.SCHOOL: school_code,
        Kind.DATE: parse_date,
        Kind.MONTH: parse_month,
        Kind.GRADE: parse_grade,
        Kind.BOOL: parse_bool,
    }
    return cached(slow[column.kind])


def empty_value(column):
    """What an empty cell of `column` stands for."""
    if column.kind == Kind.BOOL:
        return False
    if column.kind in (Kind.DATE, Kind.MONTH, Kind.GRADE):
        return None
    return ""
