from django import forms
from django.utils.translation import gettext_lazy as _

from verification.models import AbsenceReason
from verification.services import field_choices


class CampaignForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100)
    deadline = forms.DateField(label=_("Deadline"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(
        label=_("Instructions for the schools"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ScanForm(forms.Form):
    file = forms.FileField(label=_("Signed form (JPG, PNG or PDF)"))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern): cleaned as a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class BulkForm(forms.Form):
    files = MultipleFileField(
        label=_("Signed forms, or zip archives of them"),
        help_text=_("Each file named by the student's registration number, e.g. G420102201501010012.jpg."),
    )


class CheckForm(forms.Form):
    wrong_fields = forms.MultipleChoiceField(
        label=_("Fields the parent marked wrong"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick nothing when the form agrees with the record (一致)."),
    )
    remark = forms.CharField(
        label=_("What is wrong"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["wrong_fields"].choices = field_choices()


class HandleForm(forms.Form):
    handling = forms.CharField(
        label=_("How it was put right"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class AttendanceForm(forms.Form):
    """One checkbox "absent", a reason and a detail per student of the roster."""

    def __init__(self, *args, students, initial_absences=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.students = students
        initial_absences = initial_absences or {}
        for student in students:
            absence = initial_absences.get(student.pk)
            self.fields[f"absent-{student.pk}"] = forms.BooleanField(
                label=student.name, required=False, initial=absence is not None
            )
            self.fields[f"reason-{student.pk}"] = forms.ChoiceField(
                label=_("Reason"),
                required=False,
                choices=[("", "—"), *AbsenceReason.choices],
                initial=absence.reason if absence else "",
            )
            self.fields[f"detail-{student.pk}"] = forms.CharField(
                label=_("Details"), required=False, max_length=200, initial=absence.detail if absence else ""
            )

    def rows(self):
        return [
            (
                student,
                self[f"absent-{student.pk}"],
                self[f"reason-{student.pk}"],
                self[f"detail-{student.pk}"],
            )
            for student in self.students
        ]

    def absences(self):
        data = self.cleaned_data
        return {
            student.pk: (data[f"reason-{student.pk}"], data[f"detail-{student.pk}"])
            for student in self.students
            if data[f"absent-{student.pk}"]
        }
