"""The roster's filters (school, grade, class, status, search): the page, its print and its export."""

import re

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registrar.models import Organisation, SchoolClass, grade_name
from students.models import Status, Student

NUMBER_RE = re.compile(r"^[GJL][0-9A-Z]{6,18}$")
ID_RE = re.compile(r"^[0-9]{6,17}[0-9X]?$")


class RosterFilterForm(forms.Form):
    school = forms.ModelChoiceField(
        label=_("School"), queryset=Organisation.objects.none(), required=False, to_field_name="code"
    )
    grade = forms.TypedChoiceField(label=_("Grade"), coerce=int, required=False, empty_value=None)
    school_class = forms.ModelChoiceField(
        label=_("Class"), queryset=SchoolClass.objects.none(), required=False
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=50,
        help_text=_("Name, registration number or ID number"),
    )

    def __init__(self, data, *, user):
        super().__init__(data)
        self.user = user
        schools = Organisation.objects.visible_to(user).schools().order_by("path")
        self.fields["school"].queryset = schools
        self.fields["school"].empty_label = _("All schools")
        self.fields["status"].choices = [("", _("Every status")), *Status.choices]
        school = self._chosen_school(schools)
        if school is not None:
            self.fields["grade"].choices = [("", _("All grades"))] + [
                (level, grade_name(level, school.segment_of_level(level))) for level in school.grade_levels()
            ]
            classes = SchoolClass.objects.filter(grade__school=school).select_related("grade__school")
            self.fields["school_class"].queryset = classes.order_by("grade__level", "name")
            self.fields["school_class"].label_from_instance = lambda school_class: str(school_class)
        else:
            self.fields["grade"].choices = [("", _("All grades"))] + [
                (level, grade_name(level)) for level in range(1, 13)
            ]
        self.fields["school_class"].empty_label = _("All classes")
        self.school = school

    def _chosen_school(self, schools):
        user_node = self.user.node
        if user_node is not None and user_node.is_school:
            self.fields["school"].widget = forms.HiddenInput()
            return user_node
        code = self.data.get("school")
        return schools.filter(code=code).first() if code else None

    def filter(self, queryset):
        """Apply the valid filters; an invalid filter value is ignored and shown as an error."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if self.school is not None:
            queryset = queryset.filter(school=self.school)
        if data.get("grade"):
            queryset = queryset.filter(grade__level=data["grade"])
        if data.get("school_class"):
            queryset = queryset.filter(school_class=data["school_class"])
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("q"):
            queryset = queryset.filter(search_condition(data["q"]))
        if self.school is None:
            # Across many schools, walk the roster index (school, grade, class, name) instead of
            # sorting a county's or city's students for every page.
            return queryset.order_by("school_id", "grade_id", "school_class_id", "name", "id")
        return queryset.order_by("grade__level", "school_class__name", "class_number", "name", "id")

    def describe(self):
        """The filter in words, for export logs and print headers."""
        data = getattr(self, "cleaned_data", {}) or {}
        parts = []
        if self.school is not None:
            parts.append(self.school.name)
        for key in ("grade", "school_class", "status", "q"):
            value = data.get(key)
            if value:
                field = self.fields[key]
                if key in ("grade", "status"):
                    value = dict(field.choices).get(value, value)
                parts.append(f"{field.label}：{value}")
        return "；".join(str(part) for part in parts)


def search_condition(text):
    """学籍号 and ID numbers match exactly (or by prefix); anything else is a name, matched from its start."""
    from students.identity import normalise_id_number

    text = text.strip()
    compact = normalise_id_number(text)
    if NUMBER_RE.match(compact):
        return Q(number__startswith=compact)
    if ID_RE.match(compact):
        return Q(id_number__startswith=compact)
    return Q(name__startswith=text)


def roster_queryset(user):
    return Student.objects.visible_to(user).select_related(
        "school", "grade__school", "school_class__grade__school"
    )
