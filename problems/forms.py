from django import forms
from django.utils.translation import gettext_lazy as _

from problems.models import Method
from registrar.models import Organisation
from students.models import ProblemKind, ProblemState

MAX_EXPLANATION = 2000


class ListFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("Every state")), *ProblemState.choices]
    )
    kind = forms.ChoiceField(
        label=_("Problem"), required=False, choices=[("", _("Every kind")), *ProblemKind.choices]
    )
    school = forms.ModelChoiceField(
        label=_("School"), queryset=Organisation.objects.none(), required=False, to_field_name="code"
    )

    def __init__(self, data, *, user):
        super().__init__(data)
        self.fields["school"].queryset = Organisation.objects.visible_to(user).schools().order_by("path")
        self.fields["school"].empty_label = _("All schools")
        if user.node is not None and user.node.is_school:
            del self.fields["school"]


class ResolutionForm(forms.Form):
    method = forms.ChoiceField(label=_("Resolution"), choices=Method.choices)
    explanation = forms.CharField(
        label=_("Explanation"), widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_EXPLANATION
    )
    record_to_delete = forms.TypedChoiceField(
        label=_("Record to delete"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, data=None, *, problem, school):
        super().__init__(data)
        own = [student for student in problem.students if student.school_id == school.pk]
        self.own = {student.pk: student for student in own}
        self.fields["record_to_delete"].choices = [("", "—")] + [
            (student.pk, f"{student.name} · {student.school.name}") for student in own
        ]


class ArbitrationForm(forms.Form):
    keep = forms.TypedChoiceField(label=_("The registration that stands"), coerce=int)
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_EXPLANATION
    )

    def __init__(self, data=None, *, problem):
        super().__init__(data)
        self.parties = {student.pk: student for student in problem.students}
        self.fields["keep"].choices = [
            (student.pk, f"{student.name} · {student.school.name} · {student.get_status_display()}")
            for student in problem.students
        ]


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("Evidence image (JPG or PNG)"))
