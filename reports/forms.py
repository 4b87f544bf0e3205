"""The reports' filters: a date range (by default the current term of the node's province) and,
for the 异动花名册, a school, a grade and a kind."""

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from registrar.calendar import current_term
from registrar.models import grade_name
from transfers.models import Kind

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# A range longer than this is a typing error rather than a question (the 异动 chart has a bar per month).
LONGEST_RANGE = timedelta(days=5 * 366)


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def __str__(self):
        return f"{self.start:%Y-%m-%d} — {self.end:%Y-%m-%d}"


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("First day"), required=False, widget=DATE_INPUT)
    end = forms.DateField(label=_("Last day"), required=False, widget=DATE_INPUT)

    def __init__(self, data, *, node, **kwargs):
        super().__init__(data, **kwargs)
        self.node = node
        self.default = Period(*current_term(node))
        self.fields["start"].help_text = _("Empty: the first day of this term")
        self.fields["end"].help_text = _("Empty: the last day of this term")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        start = data.get("start") or self.default.start
        end = data.get("end") or self.default.end
        if start > end:
            raise forms.ValidationError(_("The first day comes after the last day: swap them."))
        if end - start > LONGEST_RANGE:
            raise forms.ValidationError(_("Choose a range of at most five years."))
        data["period"] = Period(start, end)
        return data

    @property
    def period(self):
        """The chosen period: this term when nothing was asked; None while the form has errors."""
        if not self.is_bound:
            return self.default
        return self.cleaned_data["period"] if self.is_valid() else None


ALL = ("", _("All"))


class ChangeListForm(PeriodForm):
    """The 异动花名册's filters: a school of the node (by its 学校标识码: a province has thousands),
    a grade, a kind of 学籍异动."""

    school = forms.CharField(
        label=_("School code"),
        required=False,
        max_length=10,
        help_text=_("The 10-digit code of a school in this unit; empty: all schools"),
    )
    grade = forms.TypedChoiceField(label=_("Grade"), coerce=int, required=False, empty_value=None)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[ALL, *Kind.choices])

    def __init__(self, data, *, node, schools, **kwargs):
        super().__init__(data, node=node, **kwargs)
        # `schools`: the schools of the node the user may see (a queryset; one school is looked up).
        self.schools = schools
        if node.is_school:
            del self.fields["school"]
        self.fields["grade"].choices = [ALL, *((level, grade_name(level)) for level in range(1, 13))]

    def clean_school(self):
        code = self.cleaned_data["school"].strip()
        if not code:
            return None
        school = self.schools.filter(code=code).first()
        if school is None:
            raise forms.ValidationError(
                _("No school of %(node)s has the code %(code)s.") % {"node": self.node.name, "code": code}
            )
        return school

    def filters(self):
        """The school, grade and kind chosen, for `reports.changes.change_list`."""
        if not self.is_bound or not self.is_valid():
            return {}
        return {key: self.cleaned_data.get(key) for key in ("school", "grade", "kind")}
