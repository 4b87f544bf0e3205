from django import forms
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from corrections import rules
from corrections.models import Group
from corrections.rules import EvidenceKind, Reason
from registrar.models import ApprovalState


def _new_value_field(name):
    """A form field for the new value of a record field: empty means "leave it as it is"."""
    model_field = rules.model_field(name)
    label = rules.label(name)
    if isinstance(model_field, models.BooleanField):
        return forms.TypedChoiceField(
            label=label,
            required=False,
            choices=[("", "—"), ("1", _("Yes")), ("0", _("No"))],
            coerce=lambda value: value == "1",
            empty_value=None,
        )
    if model_field.choices:
        return forms.ChoiceField(label=label, required=False, choices=[("", "—"), *model_field.flatchoices])
    if isinstance(model_field, models.DateField):
        return forms.DateField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))
    return forms.CharField(label=label, required=False, max_length=model_field.max_length)


class CorrectionForm(forms.Form):
    """One row per correction field: the new value and the reason; fields left empty stay as they are."""

    note = forms.CharField(
        label=gettext_lazy("Explanation"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Optional: what happened, for the reviewers."),
    )

    late_explanation = forms.CharField(
        label=gettext_lazy("Late correction: explanation"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Only for an input error found after the first term: why it is corrected late. The request "
            "is then an exception, which the county approves."
        ),
    )

    def __init__(self, *args, student, in_force, **kwargs):
        super().__init__(*args, **kwargs)
        self.student = student
        self.correction_fields = rules.correction_fields(in_force)
        self.rows = []
        for name in self.correction_fields:
            self.fields[f"new_{name}"] = _new_value_field(name)
            self.fields[f"reason_{name}"] = forms.ChoiceField(
                label=gettext_lazy("Reason"), required=False, choices=[("", "—"), *Reason.choices]
            )

    @classmethod
    def initial_for(cls, correction):
        initial = {"note": correction.note, "late_explanation": correction.late_explanation}
        for change in correction.changes.all():
            initial[f"new_{change.field}"] = rules.from_text(change.field, change.new_value)
            if isinstance(initial[f"new_{change.field}"], bool):
                initial[f"new_{change.field}"] = change.new_value
            initial[f"reason_{change.field}"] = change.reason
        return initial

    def field_rows(self):
        """(label, current value as shown, new-value field, reason field) per correction field."""
        rows = []
        for name in self.correction_fields:
            current = rules.display(name, rules.to_text(name, getattr(self.student, name)))
            rows.append((rules.label(name), current, self[f"new_{name}"], self[f"reason_{name}"]))
        return rows

    def clean(self):
        cleaned = super().clean()
        self.changes = {}
        for name in self.correction_fields:
            value = cleaned.get(f"new_{name}")
            reason = cleaned.get(f"reason_{name}")
            if value in (None, ""):
                if reason:
                    self.add_error(f"new_{name}", _("Enter the new value, or leave the reason empty."))
                continue
            if not reason:
                self.add_error(
                    f"reason_{name}",
                    _("Choose the reason for correcting %(field)s.") % {"field": rules.label(name)},
                )
                continue
            self.changes[name] = (value, reason)
        if not self.errors and not self.changes:
            raise forms.ValidationError(_("Enter at least one field to correct."))
        return cleaned

    def add_service_errors(self, errors):
        for field, messages in errors.items():
            target = f"new_{field}" if f"new_{field}" in self.fields else None
            for message in messages:
                self.add_error(target, message)


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("The image shows"), choices=EvidenceKind.choices)
    file = forms.FileField(
        label=gettext_lazy("Image"),
        help_text=gettext_lazy("A JPG or PNG scan, at most 10 MB, at least 200×200 pixels."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )


class ListFilterForm(forms.Form):
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False)
    group = forms.ChoiceField(label=gettext_lazy("Group"), required=False)
    q = forms.CharField(label=gettext_lazy("Name or registration number"), required=False, max_length=50)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("All")), *ApprovalState.choices]
        self.fields["group"].choices = [("", _("All")), *Group.choices]
