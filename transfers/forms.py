from django import forms
from django.utils.translation import gettext_lazy as _

from registrar.models import ApprovalState, Organisation, SchoolClass
from students.identity import normalise_id_number
from students.models import Student
from transfers.models import OUTSIDE_FIELDS, OUTSIDE_KINDS, REASONS, EvidenceType, Kind

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ClassChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.grade.name}{obj.name}"


def _class_field(school, levels=None):
    classes = SchoolClass.objects.filter(grade__school=school).select_related("grade__school")
    if levels is not None:
        classes = classes.filter(grade__level__in=levels)
    return ClassChoiceField(
        label=_("Class to join"),
        queryset=classes.order_by("grade__level", "name"),
        empty_label=_("Choose a class"),
    )


def _reason_fields(form, kind):
    """The reason (for the kinds that have a list of them) and the explanation."""
    if kind in REASONS:
        form.fields["reason"] = forms.ChoiceField(
            label=_("Reason"), choices=[("", "—"), *[(value, value.label) for value in REASONS[kind]]]
        )
    form.fields["explanation"] = forms.CharField(
        label=_("Explanation"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("What happened and what the family asks for; reviewers read it with the evidence."),
    )


def _outside_fields(form, kind):
    """The school outside the system: where a transfer out goes, where a transfer in comes from."""
    going = kind == Kind.TRANSFER_OUT
    form.fields["outside_school"] = forms.CharField(
        label=_("Receiving school") if going else _("Sending school"),
        max_length=100,
        help_text=_("The full name of the school, as on its letter."),
    )
    form.fields["outside_province"] = forms.CharField(label=_("Province"), max_length=50)
    form.fields["outside_county"] = forms.CharField(
        label=_("County or district"), max_length=50, required=False
    )
    form.fields["outside_address"] = forms.CharField(label=_("Address"), max_length=200, required=False)


def _outside_data(cleaned):
    return {field: cleaned.get(field, "") for field in OUTSIDE_FIELDS}


class FindStudentForm(forms.Form):
    """The receiving school's search: the three must match the record exactly."""

    number = forms.CharField(label=_("Registration number"), max_length=19)
    name = forms.CharField(label=_("Full name"), max_length=50)
    id_number = forms.CharField(label=_("ID number"), max_length=30)

    def lookup(self):
        return {field: self.cleaned_data[field] for field in ("number", "name", "id_number")}


class TransferForm(FindStudentForm):
    """The second stage of a transfer: the student found (kept in hidden fields), class and reason."""

    def __init__(self, *args, school, level, **kwargs):
        super().__init__(*args, **kwargs)
        for field in ("number", "name", "id_number"):
            self.fields[field].widget = forms.HiddenInput()
        self.fields["to_class"] = _class_field(school, levels=[level])
        _reason_fields(self, Kind.TRANSFER)


class SendingTransferForm(forms.Form):
    """A transfer started by the student's current school, where the province's rules say so: the
    student of the school and the receiving school by its 学校标识码; then (`found`: the two, as the
    first stage found them) the class there, the reason and the explanation."""

    number = forms.CharField(label=_("Registration number"), max_length=19)
    to_school = forms.CharField(
        label=_("Receiving school code"), max_length=10, help_text=_("The 10-digit 学校标识码.")
    )

    def __init__(self, *args, school, found=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.school = school
        self.student, self.receiving = found or (None, None)
        if found:
            for name in ("number", "to_school"):
                self.fields[name].widget = forms.HiddenInput()
            self.fields["to_class"] = _class_field(self.receiving, levels=[self.student.grade.level])
            _reason_fields(self, Kind.TRANSFER)

    def clean(self):
        cleaned = super().clean()
        number, code = cleaned.get("number"), (cleaned.get("to_school") or "").strip()
        if number:
            self.student = (
                Student.objects.filter(school=self.school, number=normalise_id_number(number))
                .select_related("school", "grade__school", "school_class")
                .first()
            )
            if self.student is None:
                self.add_error("number", _("No student of your school has this registration number."))
        if code:
            others = Organisation.objects.schools().exclude(pk=self.school.pk)
            self.receiving = others.filter(code=code).first()
            if self.receiving is None:
                self.add_error("to_school", _("No other school in the system has this code."))
        return cleaned


class ChangeForm(forms.Form):
    """Start a request of one kind for a student of the school, or edit a draft or returned one."""

    def __init__(self, *args, kind, school, student=None, starting=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind, self.school, self.student = Kind(kind), school, student
        if starting and self.kind != Kind.TRANSFER:
            self.fields["number"] = forms.CharField(
                label=_("Registration number"),
                max_length=19,
                help_text=_("The registration number (学籍号) of a student of your school."),
            )
        if self.kind == Kind.TRANSFER:
            level = student.grade.level if student else None
            self.fields["to_class"] = _class_field(school, levels=[level] if level else None)
        elif self.kind in (Kind.RESUMPTION, Kind.REPEAT, Kind.SKIP):
            self.fields["to_class"] = _class_field(school)
        if self.kind == Kind.SUSPENSION:
            self.fields["starts_on"] = forms.DateField(label=_("Suspended from"), widget=DATE_INPUT)
        if self.kind in OUTSIDE_KINDS:
            _outside_fields(self, self.kind)
        if self.kind in (Kind.SUSPENSION, Kind.EXTENSION):
            self.fields["ends_on"] = forms.DateField(
                label=_("Suspended until") if self.kind == Kind.SUSPENSION else _("Extended until"),
                widget=DATE_INPUT,
                help_text=_("Normally at most a year at a time, two years in total."),
            )
        _reason_fields(self, self.kind)

    def clean_number(self):
        number = normalise_id_number(self.cleaned_data["number"])
        student = (
            Student.objects.filter(school=self.school, number=number)
            .select_related("school", "grade__school", "school_class")
            .first()
        )
        if student is None:
            raise forms.ValidationError(_("No student of your school has this registration number."))
        self.student = student
        return number

    def changes(self):
        """The fields of the request, as update_request takes them."""
        return {field: value for field, value in self.cleaned_data.items() if field != "number"}

    def start_arguments(self):
        """The fields of the request, as start_request takes them (the outside school together)."""
        arguments = {field: value for field, value in self.changes().items() if field not in OUTSIDE_FIELDS}
        if self.kind in OUTSIDE_KINDS:
            arguments["outside"] = _outside_data(self.cleaned_data)
        return arguments


class TransferInForm(forms.Form):
    """转入 from outside the system, beside the student form: the number the student brings, the
    sending school, the reason."""

    number = forms.CharField(
        label=_("Registration number"),
        max_length=30,
        help_text=_("The national 学籍号 the student already holds (19 characters: G, J or L and 18 more)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _outside_fields(self, Kind.TRANSFER_IN)
        _reason_fields(self, Kind.TRANSFER_IN)

    def arguments(self):
        """As services.start_transfer_in takes them (with the record's data and family list)."""
        data = self.cleaned_data
        return {
            "number": data["number"],
            "reason": data["reason"],
            "explanation": data["explanation"],
            "outside": _outside_data(data),
        }


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document"))
    file = forms.FileField(
        label=_("File"), help_text=_("A JPG or PNG scan or a PDF document, at most 10 MB.")
    )

    def __init__(self, *args, accepted, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind, EvidenceType(kind).label) for kind in accepted]


STATE_FILTERS = {
    "open": [ApprovalState.DRAFT, ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW, ApprovalState.RETURNED],
    "approved": [ApprovalState.APPROVED],
    "closed": [ApprovalState.REJECTED, ApprovalState.WITHDRAWN],
}


class ListFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *Kind.choices])
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[
            ("", _("All")),
            ("open", _("In progress")),
            ("approved", _("Approved")),
            ("closed", _("Rejected or withdrawn")),
        ],
    )
    name = forms.CharField(label=_("Student"), required=False, max_length=50)

    def filter(self, changes):
        if not self.is_valid():
            return changes
        data = self.cleaned_data
        if data["kind"]:
            changes = changes.filter(kind=data["kind"])
        if data["state"]:
            changes = changes.filter(approval__state__in=STATE_FILTERS[data["state"]])
        if data["name"]:
            changes = changes.filter(student__name__contains=data["name"].strip())
        return changes
