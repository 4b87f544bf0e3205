"""The rules of a key-data correction: which fields, how values read, which evidence each change
needs (domain §7, source 003).

The province's rules (rules/, topics "corrections" and "correction_evidence") say which fields it
adds to the national key fields (students.models.KEY_FIELDS), the evidence per reason × field, and
whether input errors are accepted only until the end of the student's first term. A correction keeps
the rules in force when it started (`rules_in_force`).
"""

from dataclasses import dataclass
from datetime import date

from django.db import models
from django.utils.translation import gettext_lazy as _

from rules.reading import rules_for, rules_of
from students.models import Student
from students.validation import field_label, key_fields


class Reason(models.TextChoices):
    INPUT_ERROR = "input_error", _("Input error")
    LIFE_CHANGE = "life_change", _("Changed in life")


class EvidenceKind(models.TextChoices):
    ID_CARD = "id_card", _("ID card (front and back on one page)")
    # Where the rules ask for the ID card, a child without one shows the household register page.
    HOUSEHOLD_PAGE = "household_page", _("Household register page of the student")
    HOUSEHOLD = "household", _("Household register page showing the former name")
    POLICE = "police", _("Police certificate of the change or correction")
    REGISTRATION_FORM = "registration_form", _("Registration form")
    GRADUATE_FORM = "graduate_form", _("Graduate registration form page")
    OTHER = "other", _("Other evidence")


# The file names of the submission packet say what each image shows (source 003: 身份证.jpg, 户口本.jpg).
FILE_LABELS = {
    EvidenceKind.ID_CARD: "身份证",
    EvidenceKind.HOUSEHOLD_PAGE: "户口本本人页",
    EvidenceKind.HOUSEHOLD: "户口本",
    EvidenceKind.POLICE: "公安证明",
    EvidenceKind.REGISTRATION_FORM: "报名登记表",
    EvidenceKind.GRADUATE_FORM: "毕业生登记表",
    EvidenceKind.OTHER: "其他材料",
}

# A graduate's record changes only by exception, after an authority's reversal, and then also
# needs the page of the graduate registration form.
GRADUATE_EVIDENCE = [[EvidenceKind.GRADUATE_FORM]]


def rules_in_force(student, approval=None):
    """The province's rules for a correction of `student`: those its request keeps, else today's."""
    if approval is not None:
        return rules_of(approval)
    return rules_for(student.school)


def correction_fields(rules):
    """The fields a correction changes: the student record's key fields under `rules`."""
    return key_fields(rules)


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


def required_evidence(changes, rules, *, graduate=False):
    """The items a request needs for `changes`, a list of (field, reason), under `rules`: each item
    once, in order."""
    groups = []
    for field, reason in changes:
        groups += [
            [kind for kind in group if kind in EvidenceKind.values]
            for group in rules.correction_evidence(reason, field)
        ]
    if graduate:
        groups += GRADUATE_EVIDENCE
    requirements = []
    for group in groups:
        requirement = Requirement(tuple(EvidenceKind(kind) for kind in group))
        if requirement.kinds and requirement not in requirements:
            requirements.append(requirement)
    return requirements


def missing_evidence(requirements, kinds_present):
    kinds_present = set(kinds_present)
    return [requirement for requirement in requirements if not requirement.met_by(kinds_present)]
