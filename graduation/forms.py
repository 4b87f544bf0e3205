from django import forms
from django.utils.translation import gettext_lazy as _

from graduation.models import Check, Destination, Outcome
from graduation.rules import Verdict
from registrar.choices import Segment


def segment_choices(segments):
    return [(segment, Segment(segment).label) for segment in segments]


class UploadForm(forms.Form):
    segment = forms.ChoiceField(label=_("Stage"))
    file = forms.FileField(label=_("Results workbook"))

    def __init__(self, *args, segments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = segment_choices(segments)


class AuditFilterForm(forms.Form):
    segment = forms.ChoiceField(label=_("Stage"), required=False)
    school_class = forms.TypedChoiceField(label=_("Class"), required=False, coerce=int, empty_value=None)
    verdict = forms.ChoiceField(label=_("Verdict"), required=False)
    reason = forms.ChoiceField(label=_("Failing rule"), required=False)

    def __init__(self, *args, segments, classes, **kwargs):
        super().__init__(*args, **kwargs)
        everything = [("", _("All"))]
        self.fields["segment"].choices = everything + segment_choices(segments)
        self.fields["school_class"].choices = everything + [(pk, name) for pk, name in classes]
        self.fields["verdict"].choices = everything + [(v, Verdict.LABELS[v]) for v in Verdict.ORDER]
        self.fields["reason"].choices = everything + list(Check.choices)

    def filters(self):
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value}


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class AddStudentForm(forms.Form):
    number = forms.CharField(label=_("Registration number"), max_length=19)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)


class EntriesForm(forms.Form):
    """One outcome, destination and school of further study per entry of the list."""

    def __init__(self, *args, entries, **kwargs):
        super().__init__(*args, **kwargs)
        self.entries = entries
        for entry in entries:
            self.fields[f"outcome-{entry.pk}"] = forms.ChoiceField(
                label=_("Outcome"), choices=Outcome.choices, initial=entry.outcome
            )
            self.fields[f"destination-{entry.pk}"] = forms.ChoiceField(
                label=_("Destination"),
                choices=[("", _("Not known yet")), *Destination.choices],
                required=False,
                initial=entry.destination,
            )
            self.fields[f"destination_school-{entry.pk}"] = forms.CharField(
                label=_("School of further study"),
                max_length=100,
                required=False,
                initial=entry.destination_school,
            )

    def rows(self):
        return [
            (
                entry,
                self[f"outcome-{entry.pk}"],
                self[f"destination-{entry.pk}"],
                self[f"destination_school-{entry.pk}"],
            )
            for entry in self.entries
        ]

    def changes(self):
        return {
            entry.pk: {
                name: self.cleaned_data[f"{name}-{entry.pk}"]
                for name in ("outcome", "destination", "destination_school")
            }
            for entry in self.entries
        }
