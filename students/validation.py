"""The rules of one student record that need no database (domain §3).

The registration form, the edit form, the services and the roster import all check through
`validate_record`, so that a mistake reads the same wherever it is made. It runs no query: the
import checks 100,000 rows with it. Rules that need the database (duplicates, class room) are in
services.py.

Data is keyed by Student field names and holds Python values: codes as codes, dates as `date`,
`grade` as a Grade or a level number, `school_class` as a SchoolClass or None. Errors come back as
{field: [message, ...]}; "__all__" holds record-level messages, "guardians" the family list's,
"guardians-<i>-<field>" one family member's (the prefix the guardian formset uses).
"""

import re
import unicodedata
from collections import defaultdict
from datetime import date
from functools import cache, lru_cache
from itertools import repeat
from operator import gt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registrar.choices import NodeKind
from registrar.models import Grade, Organisation, SchoolClass
from registrar.text import strip_invisible
from students import codes
from students.identity import (
    RESIDENT_ID,
    check_age,
    check_id,
    check_name,
    is_valid_resident_id,
    normalise_id_number,
    normalise_name,
    parse_resident_id,
)
from students.models import KEY_FIELDS, Guardian, Student

# Domain §3, the fields marked ★.
REQUIRED_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "birth_place",
    "native_place",
    "ethnicity",
    "nationality",
    "id_type",
    "overseas",
    "health",
    "hukou_place",
    "hukou_type",
    "address",
    "phone",
    "grade",
    "school_class",
    "enrolled_on",
    "admission",
    "attendance",
)
# (field, code table) pairs.
CODE_FIELDS = (
    ("gender", "gender"),
    ("ethnicity", "ethnicity"),
    ("nationality", "nationality"),
    ("id_type", "id_type"),
    ("overseas", "overseas"),
    ("health", "health"),
    ("political_status", "political"),
    ("hukou_type", "hukou_type"),
    ("admission", "admission"),
    ("attendance", "attendance"),
    ("disability", "disability"),
)
DATE_FIELDS = ("birth_date", "enrolled_on")
NAME_FIELDS = ("name", "former_name")
# Fields a school edits directly, with history; the key fields go through a correction (domain §7).
EDITABLE_FIELDS = (
    "name_pinyin",
    "former_name",
    "birth_place",
    "native_place",
    "nationality",
    "overseas",
    "health",
    "political_status",
    "hukou_place",
    "hukou_type",
    "address",
    "mailing_address",
    "home_address",
    "postcode",
    "phone",
    "school_class",
    "class_number",
    "auxiliary_number",
    "admission",
    "attendance",
    "only_child",
    "left_behind",
    "migrant_child",
    "orphan",
    "martyr_child",
    "disability",
)
RECORD_FIELDS = (*KEY_FIELDS, *EDITABLE_FIELDS, "grade")
# Placement changes by status changes (留级, 跳级, 转学), never by a correction.
NOT_CORRECTABLE = ("grade", "school_class")


# Fields a province may add to the key fields (rules/: 关键字段).
CORRECTABLE_FIELDS = tuple(name for name in RECORD_FIELDS if name not in NOT_CORRECTABLE)


def key_fields(rules=None):
    """The key fields (domain §7): the national ones and those the province's `rules` (a
    rules.reading.Rules) add. They change only through a key-data correction."""
    extra = rules.added_key_fields() if rules is not None else ()
    return KEY_FIELDS + tuple(name for name in extra if name in CORRECTABLE_FIELDS and name not in KEY_FIELDS)


GUARDIAN_FIELDS = ("name", "relation", "phone", "id_type", "id_number", "is_guardian")
GUARDIAN_REQUIRED = ("name", "relation", "phone")
GUARDIAN_CODE_FIELDS = (("relation", "relation"), ("id_type", "id_type"))
MAX_GUARDIANS = 3

COMPULSORY_ADMISSIONS = {"11", "12"}
SENIOR_ADMISSIONS = {"21", "22", "23", "99"}

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^(0\d{2,3}-?|\(0\d{2,3}\))[2-9]\d{6,7}(-\d{1,6})?$")
POSTCODE_RE = re.compile(r"^\d{6}$")
WHITESPACE_RE = re.compile(r"\s+")

# Text columns are NOT NULL: an empty cell becomes "".
TEXT_FIELDS = {
    field.name
    for model in (Student, Guardian)
    for field in model._meta.concrete_fields
    if field.get_internal_type() == "CharField"
}

LABELS = {"name": gettext_lazy("Full name")}


def field_label(name, model=Student):
    if name in LABELS:
        return str(LABELS[name])
    return str(model._meta.get_field(name).verbose_name)


@cache
def code_set(name):
    return frozenset(code for code, _label in codes.table(name).choices)


def school_shape(school):
    """The grade levels a school teaches and the segment of each, without a query."""
    return _school_shape(tuple(school.stages), school.school_system)


@lru_cache(maxsize=256)
def _school_shape(stages, school_system):
    school = Organisation(kind=NodeKind.SCHOOL, stages=list(stages), school_system=school_system)
    levels = frozenset(school.grade_levels())
    return levels, {level: school.segment_of_level(level) for level in range(1, 13)}


@cache
def max_lengths(model):
    return {field.name: field.max_length for field in model._meta.concrete_fields if field.max_length}


@cache
def _limited_fields(model):
    """(the fields of `model` with a length limit, their limits)."""
    limits = max_lengths(model)
    return tuple(limits), tuple(limits.values())


def normalise_phone(text):
    if text is None:
        return ""
    # Most phones are plain ASCII digits already: nothing to normalise.
    if text.__class__ is str and text.isdigit() and text.isascii():
        return text
    return WHITESPACE_RE.sub("", unicodedata.normalize("NFKC", strip_invisible(str(text))))


# How each text field is tidied; any other loses its invisible characters and outer spaces.
NORMALISERS = {
    **dict.fromkeys(NAME_FIELDS, normalise_name),
    "id_number": normalise_id_number,
    "phone": normalise_phone,
    "postcode": normalise_phone,
}


def normalise_value(field, value):
    """One field of normalise_record."""
    if isinstance(value, str):
        normaliser = NORMALISERS.get(field)
        if normaliser is None:
            # clean_text, inlined: most text has no invisible character (isprintable at C speed).
            return (value if value.isprintable() else strip_invisible(value)).strip()
        return normaliser(value)
    if value is None and field in TEXT_FIELDS:
        return ""
    return value


def normalise_record(data):
    """A copy of `data` with names trimmed, ID numbers and phones normalised, other text cleaned
    (registrar.text.clean_text: invisible characters removed, outer spaces trimmed)."""
    return {field: normalise_value(field, value) for field, value in data.items()}


def normalise_guardian(guardian):
    # The same rules, field by field, as a student's record.
    return normalise_record(guardian)


def fill_from_id(data):
    """Fill an empty 性别 and 出生日期 from a valid resident ID; returns `data`, changed in place."""
    number = normalise_id_number(data.get("id_number"))
    if data.get("id_type") != RESIDENT_ID or not is_valid_resident_id(number):
        return data
    birth_date, gender = parse_resident_id(number)
    if not data.get("gender"):
        data["gender"] = gender
    if not data.get("birth_date"):
        data["birth_date"] = birth_date
    return data


def _empty(value):
    return value is None or value == ""


def _level_of(grade):
    if isinstance(grade, Grade):
        return grade.level
    if isinstance(grade, int):
        return grade
    return None


def _check_name(value, field, model=Student):
    # Most names pass: the label is looked up (and translated) only for a message.
    return check_name(value, LabelOf(field, model))


class LabelOf:
    """A field's label, translated when a message is made of it (the %-formatting calls str())."""

    __slots__ = ("field", "model")

    def __init__(self, field, model):
        self.field = field
        self.model = model

    def __str__(self):
        return field_label(self.field, self.model)


def _check_texts(data, errors, model, required):
    # Called for every record and family member of an import: _empty inlined, and a value's length
    # compared with its field's limit (0, none, reads as no limit) before anything else is looked at.
    get = data.get
    # Most records have every required field (a value that is true is neither None nor ""): at C speed.
    if not all(map(get, required)):
        for field in required:
            value = get(field)
            if value is None or value == "":
                errors[field].append(_("Fill in %(field)s.") % {"field": field_label(field, model)})
    # Most records have no value over its limit: their lengths compared at C speed (a field that is
    # missing counts as "", and anything without a length is left to the loop below).
    fields, maxima = _limited_fields(model)
    try:
        if not any(map(gt, map(len, map(get, fields, repeat(""))), maxima)):
            return
    except TypeError:
        pass
    limits = max_lengths(model)
    limit = limits.get
    for field, value in data.items():
        if isinstance(value, str) and len(value) > (limit(field) or len(value)):
            errors[field].append(
                _("%(field)s has at most %(count)s characters.")
                % {"field": field_label(field, model), "count": limits[field]}
            )


@cache
def _passing_codes(code_fields):
    """(the fields of `code_fields`, a tuple of (field, table) pairs; for each the values that pass:
    its codes, "" and None)."""
    return tuple(field for field, _table in code_fields), tuple(
        code_set(table_name) | {"", None} for _field, table_name in code_fields
    )


def _check_codes(data, errors, code_fields, model):
    get = data.get
    # Most records hold only valid codes: all compared at C speed first (unhashable values go below).
    fields, passing = _passing_codes(code_fields)
    try:
        if all(map(frozenset.__contains__, passing, map(get, fields))):
            return
    except TypeError:
        pass
    for field, table_name in code_fields:
        value = get(field)
        if value is not None and value != "" and value not in code_set(table_name):
            errors[field].append(
                _("%(value)s is not a valid code for %(field)s.")
                % {"value": value, "field": field_label(field, model)}
            )


def _check_phone(value):
    if value and not (MOBILE_RE.match(value) or LANDLINE_RE.match(value)):
        return [
            _(
                "Enter a mobile number (11 digits starting with 1) or a landline number with its "
                "area code, such as 027-85551234."
            )
        ]
    return []


def _check_placement(data, errors, school):
    """Grade and class: of this school, the class of this grade. Reads only loaded objects."""
    grade = data.get("grade")
    school_class = data.get("school_class")
    if isinstance(grade, Grade) and grade.school_id != school.pk:
        errors["grade"].append(_("This grade does not belong to the school."))
    elif isinstance(grade, int) and grade not in school_shape(school)[0]:
        errors["grade"].append(
            _("The school does not teach %(grade)s.")
            % {"grade": Grade(school=school, level=grade).name if 1 <= grade <= 12 else grade}
        )
    if not isinstance(school_class, SchoolClass):
        return
    if isinstance(grade, Grade):
        wrong_grade = school_class.grade_id != grade.pk
    else:
        # Only when the caller loaded the class with its grade: no query here.
        wrong_grade = (
            isinstance(grade, int)
            and SchoolClass.grade.is_cached(school_class)
            and school_class.grade.level != grade
        )
    if wrong_grade:
        errors["school_class"].append(_("The class does not belong to the chosen grade."))


def _check_dates(data, errors, *, valid_resident_id, level, segment, today):
    birth_date = data.get("birth_date")
    enrolled_on = data.get("enrolled_on")
    for field in DATE_FIELDS:
        value = data.get(field)
        if value is not None and not isinstance(value, date):
            errors[field].append(_("Enter a valid date."))
    if not isinstance(birth_date, date):
        birth_date = None
    if not isinstance(enrolled_on, date):
        enrolled_on = None
    # A valid resident ID already answered for the birth date (it must agree with the ID).
    if birth_date and not valid_resident_id:
        if birth_date > today:
            errors["birth_date"].append(_("The date of birth lies in the future."))
        elif level:
            problem = check_age(birth_date, level, today=today, segment=segment)
            if problem:
                errors["birth_date"].append(problem)
    if enrolled_on:
        if (enrolled_on.year, enrolled_on.month) > (today.year, today.month):
            errors["enrolled_on"].append(_("The enrolment month lies in the future."))
        if birth_date and (enrolled_on.year, enrolled_on.month) < (birth_date.year, birth_date.month):
            errors["enrolled_on"].append(_("The enrolment month is before the date of birth."))


def _check_admission(data, errors, level):
    admission = data.get("admission")
    if not level or admission not in code_set("admission"):
        return
    if level <= 9 and admission in SENIOR_ADMISSIONS:
        errors["admission"].append(
            _("The admission %(label)s is used only after compulsory education.")
            % {"label": codes.table("admission").display(admission)}
        )
    if level >= 10 and admission in COMPULSORY_ADMISSIONS:
        errors["admission"].append(
            _("The admission %(label)s is used only in compulsory education.")
            % {"label": codes.table("admission").display(admission)}
        )


def validate_guardians(guardians, *, student_has_id, today=None):
    """The family list: one to three members, each complete; an ID among them if the student has none."""
    guardians = [normalise_guardian(guardian) for guardian in guardians]
    return check_guardians(guardians, student_has_id=student_has_id, today=today)


def check_guardians(guardians, *, student_has_id, today=None):
    """validate_guardians of family members already normalised (normalise_guardian)."""
    errors = defaultdict(list)
    if not guardians:
        errors["guardians"].append(_("Enter at least one family member or guardian."))
    if len(guardians) > MAX_GUARDIANS:
        errors["guardians"].append(_("Enter at most %(count)s family members.") % {"count": MAX_GUARDIANS})
    for index, guardian in enumerate(guardians):
        own = defaultdict(list)
        _check_texts(guardian, own, Guardian, GUARDIAN_REQUIRED)
        _check_codes(guardian, own, GUARDIAN_CODE_FIELDS, Guardian)
        if guardian.get("name"):
            own["name"] += _check_name(guardian["name"], "name", Guardian)
        own["phone"] += _check_phone(guardian.get("phone"))
        if not own["id_type"]:
            own["id_number"] += check_id(guardian.get("id_type"), guardian.get("id_number"), today=today)
        for field, messages in own.items():
            if messages:
                errors[f"guardians-{index}-{field}"] += messages
    if guardians and not student_has_id and not any(guardian.get("id_number") for guardian in guardians):
        errors["guardians"].append(
            _("The student has no ID number, so at least one family member's ID number is required.")
        )
    return errors


def validate_record(data, guardians, *, school, today=None):
    """Every rule of the record that needs no database; {} when all is well.

    `guardians` is a list of dicts keyed by Guardian field names, or None to leave the family out
    (an edit of the record alone).
    """
    if guardians is not None:
        guardians = [normalise_guardian(guardian) for guardian in guardians]
    return check_record(normalise_record(data), guardians, school=school, today=today)


def check_record(data, guardians, *, school, today=None):
    """validate_record of a record and family already normalised (normalise_record,
    normalise_guardian): the roster import's cells are, by the converters that read them."""
    today = today or timezone.localdate()
    errors = defaultdict(list)
    _check_texts(data, errors, Student, REQUIRED_FIELDS)
    _check_codes(data, errors, CODE_FIELDS, Student)
    for field in NAME_FIELDS:
        if data.get(field):
            errors[field] += _check_name(data[field], field)

    _check_placement(data, errors, school)
    level = _level_of(data.get("grade"))
    segment = school_shape(school)[1].get(level)

    id_type = data.get("id_type")
    id_number = data.get("id_number") or ""
    id_problems = None
    if id_type and not errors["id_type"]:
        id_problems = check_id(
            id_type,
            id_number,
            birth_date=data.get("birth_date") if isinstance(data.get("birth_date"), date) else None,
            gender=data.get("gender"),
            grade_level=level,
            segment=segment,
            today=today,
        )
        errors["id_number"] += id_problems
    # A resident ID that check_id found nothing wrong with is valid: no need to parse it again.
    valid_resident_id = id_type == RESIDENT_ID and (id_problems == [] or is_valid_resident_id(id_number))
    _check_dates(data, errors, valid_resident_id=valid_resident_id, level=level, segment=segment, today=today)
    _check_admission(data, errors, level)

    errors["phone"] += _check_phone(data.get("phone"))
    if data.get("postcode") and not POSTCODE_RE.match(data["postcode"]):
        errors["postcode"].append(_("A postcode has 6 digits."))

    if guardians is not None:
        family = check_guardians(guardians, student_has_id=bool(id_number), today=today)
        for field, messages in family.items():
            errors[field] += messages
    return {field: messages for field, messages in errors.items() if messages}


def record_data(student):
    """The record's current values in the shape validate_record takes."""
    return {field: getattr(student, field) for field in RECORD_FIELDS}


def validate_changes(student, changes, *, today=None):
    """Check a direct edit: the record as it would be, reporting only on the changed fields.

    Problems in fields nobody touched (an old import, say) do not stand in the way of a new phone number.
    """
    merged = {**record_data(student), **normalise_record(changes)}
    errors = validate_record(merged, None, school=student.school, today=today)
    return {field: messages for field, messages in errors.items() if field in changes}
