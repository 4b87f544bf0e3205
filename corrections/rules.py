"""The rules of a key-data correction that need no database: which fields, how values read, which
evidence each change needs (domain §7, source 003).

Province switches (settings.REGISTRAR, all optional):
- "CORRECTION_FIELDS": fields added to the national key fields (students.models.KEY_FIELDS), e.g.
  ("nationality",). Only fields of the record itself; the placement (grade, class) is not corrected.
- "CORRECTION_EVIDENCE": {reason: {field or "*": [[kind, kind …], …]}}, replacing the defaults of
  the named reason and field. Each inner list is one required item; any of its kinds satisfies it.
- "CORRECTION_INPUT_ERRORS_FIRST_TERM_ONLY" (default True): input errors are accepted only until the
  end of the student's first term; after it only changes in life.
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext_lazy as _

from students.models import Student
from students.validation import field_label, key_fields


class Reason(models.TextChoices):
    INPUT_ERROR = "input_error", _("Input error")
    LIFE_CHANGE = "life_change", _("Changed in life")


class EvidenceKind(models.TextChoices):
    ID_CARD = "id_card", _("ID card (front and back on one page)")
    HOUSEHOLD = "household", _("Household register page showing the former name")
    POLICE = "police", _("Police certificate of the change or correction")
    REGISTRATION_FORM = "registration_form", _("Registration form")
    GRADUATE_FORM = "graduate_form", _("Graduate registration form page")
    OTHER = "other", _("Other evidence")


# The file names of the submission packet say what each image shows (source 003: 身份证.jpg, 户口本.jpg).
FILE_LABELS = {
    EvidenceKind.ID_CARD: "身份证",
    EvidenceKind.HOUSEHOLD: "户口本",
    EvidenceKind.POLICE: "公安证明",
    EvidenceKind.REGISTRATION_FORM: "报名登记表",
    EvidenceKind.GRADUATE_FORM: "毕业生登记表",
    EvidenceKind.OTHER: "其他材料",
}

ID_CARD, HOUSEHOLD, POLICE = EvidenceKind.ID_CARD, EvidenceKind.HOUSEHOLD, EvidenceKind.POLICE

# Domain §7. Any field entered wrongly: the ID card and the registration form it was entered from;
# 入学年月, either way, the registration form (报名登记表) that records it.
# Changed in life: 性别, 民族 (and any other field) the ID card; 姓名 the ID card and the household
# register page with the former name or a police certificate; 身份证件号 and 出生日期 (which a
# resident ID carries) the ID card and the police letter of the change.
DEFAULT_EVIDENCE = {
    Reason.INPUT_ERROR: {
        "*": [[ID_CARD], [EvidenceKind.REGISTRATION_FORM]],
        # 入学年月 is proven by the school's own papers, not by the ID card.
        "enrolled_on": [[EvidenceKind.REGISTRATION_FORM]],
    },
    Reason.LIFE_CHANGE: {
        "*": [[ID_CARD]],
        "enrolled_on": [[EvidenceKind.REGISTRATION_FORM]],
        "name": [[ID_CARD], [HOUSEHOLD, POLICE]],
        "id_number": [[ID_CARD], [POLICE]],
        "birth_date": [[ID_CARD], [POLICE]],
    },
}
# A graduate's record changes only by exception, after an authority's reversal, and then also
# needs the page of the graduate registration form.
GRADUATE_EVIDENCE = [[EvidenceKind.GRADUATE_FORM]]


# Fields that place a student rather than describe them: moved by status changes, never corrected.
def config(name, default):
    return getattr(settings, "REGISTRAR", {}).get(name, default)


def correction_fields():
    """The fields a correction changes: the student record's key fields."""
    return key_fields()


def input_errors_first_term_only():
    return bool(config("CORRECTION_INPUT_ERRORS_FIRST_TERM_ONLY", True))


def label(name):
    return field_label(name)


# --- values -----------------------------------------------------------------------------------------
# A change keeps its old and new value as text: codes as codes, dates as YYYY-MM-DD, booleans 1/0.


def model_field(name):
    return Student._meta.get_field(name)


def to_text(name, value):
    if value is None:
        return ""
    if isinstance(model_field(name), models.BooleanField):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def from_text(name, text):
    """The Python value for the model; ValueError when the text cannot be one."""
    field = model_field(name)
    if isinstance(field, models.BooleanField):
        return text == "1"
    if isinstance(field, models.DateField):
        return date.fromisoformat(text)
    return text


def display(name, text):
    """How a stored value reads: the label of a code, the date, 是/否."""
    if text == "":
        return "—"
    field = model_field(name)
    if isinstance(field, models.BooleanField):
        return str(_("Yes")) if text == "1" else str(_("No"))
    if field.choices:
        return str(dict(field.flatchoices).get(text, text))
    return text


# --- evidence ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One required item: any of `kinds` satisfies it."""

    kinds: tuple

    @property
    def label(self):
        return str(_(" or ")).join(str(EvidenceKind(kind).label) for kind in self.kinds)

    def met_by(self, kinds_present):
        return any(kind in kinds_present for kind in self.kinds)


def evidence_rules():
    rules = {reason: dict(fields) for reason, fields in DEFAULT_EVIDENCE.items()}
    for reason, fields in config("CORRECTION_EVIDENCE", {}).items():
        if reason not in Reason.values:
            raise ImproperlyConfigured(f'REGISTRAR["CORRECTION_EVIDENCE"]: unknown reason {reason!r}.')
        for groups in fields.values():
            for group in groups:
                unknown = [kind for kind in group if kind not in EvidenceKind.values]
                if unknown or not group:
                    raise ImproperlyConfigured(
                        f'REGISTRAR["CORRECTION_EVIDENCE"]: unknown evidence kinds {unknown!r}.'
                    )
        rules.setdefault(reason, {}).update(fields)
    return rules


def required_evidence(changes, *, graduate=False):
    """The items a request needs for `changes`, a list of (field, reason): each item once, in order."""
    rules = evidence_rules()
    groups = []
    for field, reason in changes:
        by_field = rules.get(reason, {})
        groups += by_field.get(field, by_field.get("*", []))
    if graduate:
        groups += GRADUATE_EVIDENCE
    requirements = []
    for group in groups:
        requirement = Requirement(tuple(EvidenceKind(kind) for kind in group))
        if requirement not in requirements:
            requirements.append(requirement)
    return requirements


def missing_evidence(requirements, kinds_present):
    kinds_present = set(kinds_present)
    return [requirement for requirement in requirements if not requirement.met_by(kinds_present)]
