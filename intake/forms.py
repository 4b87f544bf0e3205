from django import forms
from django.utils.translation import gettext_lazy as _

from registrar.models import SchoolClass


class FindGraduateForm(forms.Form):
    """The receiving school's search: the three must match the record exactly."""

    number = forms.CharField(label=_("Registration number"), max_length=19)
    name = forms.CharField(label=_("Full name"), max_length=50)
    id_number = forms.CharField(label=_("ID number"), max_length=30)

    def lookup(self):
        return {field: self.cleaned_data[field] for field in ("number", "name", "id_number")}


class PlacementForm(FindGraduateForm):
    """The second stage: the graduate found (kept in hidden fields) and the class waiting for them."""

    def __init__(self, *args, grade, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("number", "name", "id_number"):
            self.fields[name].widget = forms.HiddenInput()
        self.fields["school_class"] = forms.ModelChoiceField(
            label=_("Class"),
            queryset=SchoolClass.objects.filter(grade=grade).select_related("grade__school").order_by("name"),
        )


class AdmissionListForm(forms.Form):
    file = forms.FileField(
        label=_("Admission list (.xlsx)"),
        help_text=_("Columns: 学籍号 or 身份证件号, 姓名, 年级, 班级."),
    )
