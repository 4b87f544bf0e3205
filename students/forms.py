"""Forms of the student record: registration, the family list, and direct edits.

The fields come from the model (labels from its verbose names), but every rule is checked by
`students.validation`, the same code the roster import uses, so a mistake reads the same in a form and
in an import report. The forms save nothing: views pass the cleaned data to the services, which check
again with the database (duplicates, class room) and write with history.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from registrar.models import Grade, SchoolClass
from students.models import Guardian, Student
from students.validation import (
    EDITABLE_FIELDS,
    GUARDIAN_FIELDS,
    MAX_GUARDIANS,
    RECORD_FIELDS,
    REQUIRED_FIELDS,
    fill_from_id,
    normalise_guardian,
    normalise_record,
    validate_changes,
    validate_guardians,
    validate_record,
)

# In the order of the national collection form: person, documents, home, enrolment, family flags.
REGISTRATION_FIELDS = [
    "name",
    "name_pinyin",
    "former_name",
    "id_type",
    "id_number",
    "gender",
    "birth_date",
    "ethnicity",
    "nationality",
    "overseas",
    "birth_place",
    "native_place",
    "health",
    "political_status",
    "hukou_place",
    "hukou_type",
    "address",
    "mailing_address",
    "home_address",
    "postcode",
    "phone",
    "grade",
    "school_class",
    "class_number",
    "auxiliary_number",
    "enrolled_on",
    "admission",
    "attendance",
    "only_child",
    "left_behind",
    "migrant_child",
    "orphan",
    "martyr_child",
    "disability",
]
assert set(REGISTRATION_FIELDS) == set(RECORD_FIELDS) | {"school_class"}

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CheckedModelForm(forms.ModelForm):
    """A ModelForm whose rules are students.validation's, not the model's.

    Django's own model validation would run the duplicate constraints as queries with messages of
    its own; here the services check duplicates, with a message that respects the user's scope. The
    form leaves its instance untouched, and saving goes through the services.
    """

    def _post_clean(self):
        pass

    def save(self, commit=True):
        raise TypeError("Student forms save nothing: pass cleaned_data to students.services.")

    def _relax_required(self, required):
        # The record's required fields are reported by validate_record, in the import's words; the
        # page still marks them (registrar/_form.html reads `marked_required`).
        for name, field in self.fields.items():
            field.required = False
            if name in required:
                field.widget.attrs["aria-required"] = "true"
                field.marked_required = True

    def add_record_errors(self, errors):
        for field, messages in errors.items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, messages)
            elif field not in self.fields:
                self.add_error(None, messages)


NEW_STUDENT_DEFAULTS = {"id_type": "1", "nationality": "156", "overseas": "00"}


class StudentForm(CheckedModelForm):
    """Registration of a new student at `school` (fixed by the view)."""

    class Meta:
        model = Student
        fields = REGISTRATION_FIELDS
        labels = {"name": _("Full name")}
        widgets = {"birth_date": DATE_WIDGET, "enrolled_on": DATE_WIDGET}

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        self.school = school
        self._relax_required(set(REQUIRED_FIELDS) - {"gender", "birth_date"})
        self.fields["grade"].queryset = Grade.objects.filter(school=school).select_related("school")
        self.fields["grade"].label_from_instance = lambda grade: grade.name
        classes = SchoolClass.objects.select_related("grade__school")
        self.fields["school_class"].queryset = classes.filter(grade__school=school)
        self.fields["gender"].help_text = _("Filled in from a valid resident ID when left empty.")
        self.fields["birth_date"].help_text = _("Filled in from a valid resident ID when left empty.")
        if not self.is_bound:
            # What nearly every pupil has: a resident ID, Chinese nationality, not 港澳台侨外.
            for field, value in NEW_STUDENT_DEFAULTS.items():
                self.initial.setdefault(field, value)

    def clean(self):
        cleaned = super().clean()
        data = fill_from_id(normalise_record({field: cleaned.get(field) for field in REGISTRATION_FIELDS}))
        cleaned.update({field: value for field, value in data.items() if field not in self.errors})
        errors = validate_record(data, None, school=self.school)
        if errors.get("id_number"):
            # Sex and birth date come from the ID once it is right: while it is wrong, asking for
            # them as well only buries the one error that matters.
            for field in ("gender", "birth_date"):
                if not data.get(field):
                    errors.pop(field, None)
        self.add_record_errors(errors)
        return cleaned

    def record_data(self):
        """The cleaned registration, keyed as services.create_student takes it."""
        return {field: self.cleaned_data.get(field) for field in REGISTRATION_FIELDS}


class StudentEditForm(CheckedModelForm):
    """Direct edit of the non-key fields of `instance`; the view shows the key fields read-only."""

    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    class Meta:
        model = Student
        fields = list(EDITABLE_FIELDS)

    def __init__(self, *args, instance, **kwargs):
        super().__init__(*args, instance=instance, **kwargs)
        self._relax_required(REQUIRED_FIELDS)
        classes = SchoolClass.objects.select_related("grade__school")
        self.fields["school_class"].queryset = classes.filter(grade=instance.grade_id)

    def changes(self):
        """The fields whose cleaned value differs from the record: what services.update_student takes."""
        cleaned = normalise_record({field: self.cleaned_data.get(field) for field in EDITABLE_FIELDS})
        return {field: value for field, value in cleaned.items() if getattr(self.instance, field) != value}

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            self.add_record_errors(validate_changes(self.instance, self.changes()))
        return cleaned


class GuardianForm(CheckedModelForm):
    class Meta:
        model = Guardian
        fields = list(GUARDIAN_FIELDS)
        labels = {"name": _("Full name")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._relax_required(("name", "relation", "phone"))

    def clean(self):
        cleaned = super().clean()
        data = normalise_guardian({field: cleaned.get(field) for field in GUARDIAN_FIELDS})
        cleaned.update({field: value for field, value in data.items() if field not in self.errors})
        # One member on its own: the list-level rules are the formset's.
        errors = validate_guardians([data], student_has_id=True)
        prefix = "guardians-0-"
        self.add_record_errors(
            {key[len(prefix) :]: messages for key, messages in errors.items() if key.startswith(prefix)}
        )
        return cleaned


class BaseGuardianFormSet(forms.BaseInlineFormSet):
    def filled_forms(self):
        """The forms that make up the family list, in order: neither empty nor marked for deletion."""
        return [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and not form.cleaned_data.get("DELETE")
            and (form.instance.pk or form.has_changed())
        ]

    def guardian_data(self):
        """The family list, keyed as services.create_student and replace_guardians take it."""
        return [
            {field: form.cleaned_data.get(field) for field in GUARDIAN_FIELDS} for form in self.filled_forms()
        ]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        errors = validate_guardians(self.guardian_data(), student_has_id=True)
        if errors.get("guardians"):
            raise forms.ValidationError(errors["guardians"])


GuardianFormSet = forms.inlineformset_factory(
    Student,
    Guardian,
    form=GuardianForm,
    formset=BaseGuardianFormSet,
    fields=list(GUARDIAN_FIELDS),
    extra=1,
    min_num=1,
    max_num=MAX_GUARDIANS,
    can_delete=True,
)


def add_record_errors(errors, form, formset=None):
    """Put a StudentError's `errors` (validate_record's keys) beside the fields of a form and formset."""
    guardian_forms = formset.filled_forms() if formset is not None else []
    record_errors = {}
    for key, messages in errors.items():
        parts = key.split("-", 2)
        if parts[0] == "guardians" and len(parts) == 3 and int(parts[1]) < len(guardian_forms):
            target = guardian_forms[int(parts[1])]
            target.add_error(parts[2] if parts[2] in target.fields else None, messages)
        else:
            record_errors[key] = messages
    form.add_record_errors(record_errors)
