"""The national code tables of the student record (性别, 民族, 身份证件类型 …).

They are reference data kept in `fixtures/code_tables.json`: a province that codes differently edits
that file, not the code. Records store the code; pages show the label; imports accept the code,
the label or a common alias (民族 01 / 汉族 / 汉).

The labels are the national standard's, in Chinese: files (exports, the template, error workbooks)
always carry them. Pages in English show the labels of `fixtures/code_tables_en.json` instead
(`choices`, `display`); a code without an English label there shows its Chinese one.
"""

import json
from dataclasses import dataclass
from functools import cache, cached_property

from django.conf import settings
from django.utils.translation import get_language


@dataclass(frozen=True)
class CodeTable:
    name: str
    label: str
    rows: tuple

    @property
    def choices(self):
        """(code, label) in the language of the page, for forms and `get_FOO_display`."""
        english = _english(self.name)
        return [(row["code"], english.get(row["code"], row["label"])) for row in self.rows]

    def label_of(self, code):
        """The national (Chinese) label of a code, as files carry it."""
        for row in self.rows:
            if row["code"] == code:
                return row["label"]
        return code or ""

    def display(self, code):
        """The label of a code in the language of the page."""
        return _english(self.name).get(code) or self.label_of(code)

    def lookup(self, text):
        """The code for a code, label or alias as people write it; None when unknown."""
        text = (text or "").strip()
        if not text:
            return None
        for row in self.rows:
            if text == row["code"] or text == row["label"] or text in row["aliases"]:
                return row["code"]
        # Codes written as numbers lose their leading zero in spreadsheets: 1 → 01. (isdecimal: int()
        # refuses the other digits isdigit() accepts, ¹ and ①.)
        if text.isdecimal():
            for row in self.rows:
                if row["code"].isdecimal() and int(row["code"]) == int(text):
                    return row["code"]
        return None

    @cached_property
    def codes(self):
        return frozenset(row["code"] for row in self.rows)

    def __contains__(self, code):
        try:
            return code in self.codes
        except TypeError:  # unhashable: compared row by row, as ever
            return any(row["code"] == code for row in self.rows)


@cache
def code_tables():
    path = settings.BASE_DIR / "fixtures" / "code_tables.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return {
        name: CodeTable(name=name, label=table["label"], rows=tuple(table["rows"]))
        for name, table in data.items()
    }


@cache
def english_labels():
    path = settings.BASE_DIR / "fixtures" / "code_tables_en.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _english(name):
    """English labels of a table when the page is in English, else nothing."""
    if (get_language() or "").startswith("en"):
        return english_labels().get(name, {})
    return {}


def table(name):
    return code_tables()[name]


# For model fields' `choices`: named callables, so that migrations refer to them instead of copying
# the tables, and a province's edited table needs no migration.
def gender_choices():
    return table("gender").choices


def ethnicity_choices():
    return table("ethnicity").choices


def nationality_choices():
    return table("nationality").choices


def id_type_choices():
    return table("id_type").choices


def overseas_choices():
    return table("overseas").choices


def health_choices():
    return table("health").choices


def political_choices():
    return table("political").choices


def hukou_type_choices():
    return table("hukou_type").choices


def admission_choices():
    return table("admission").choices


def attendance_choices():
    return table("attendance").choices


def disability_choices():
    return table("disability").choices


def relation_choices():
    return table("relation").choices
