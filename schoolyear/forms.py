from django import forms
from django.utils.translation import gettext_lazy as _


class MappingUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Class mapping workbook"),
        help_text=_("One row per class: 原年级, 原班级, 新年级, 新班级 (.xlsx or .xls)."),
    )


class NextClassForm(forms.Form):
    """One proposed class of next year: kept (created, or its capacity set) or left out."""

    grade = forms.IntegerField(widget=forms.HiddenInput)
    keep = forms.BooleanField(label=_("Keep"), required=False, initial=True)
    name = forms.CharField(label=_("Class name"), max_length=30)
    capacity = forms.IntegerField(label=_("Capacity"), min_value=1, max_value=999)


NextClassFormSet = forms.formset_factory(NextClassForm, extra=0, max_num=500, validate_max=True)


class TeachersForm(forms.Form):
    """One choice of 班主任 per class of the school."""

    def __init__(self, *args, classes, teachers, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("— none —"))] + [(str(user.pk), str(user)) for user in teachers]
        self.classes = classes
        for school_class in classes:
            current = [user.pk for user in school_class.class_teachers.all()]
            self.fields[f"class_{school_class.pk}"] = forms.ChoiceField(
                label=str(school_class),
                choices=choices,
                required=False,
                initial=str(current[0]) if len(current) == 1 else "",
            )

    def assignments(self, teachers):
        by_pk = {str(user.pk): user for user in teachers}
        return {
            school_class: by_pk.get(self.cleaned_data.get(f"class_{school_class.pk}") or "")
            for school_class in self.classes
        }
