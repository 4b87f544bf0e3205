from django import forms
from django.utils.translation import gettext_lazy as _

from registrar.models import Grade


class ClassForm(forms.Form):
    grade = forms.ModelChoiceField(label=_("Grade"), queryset=Grade.objects.none(), empty_label=None)
    name = forms.CharField(label=_("Class name"), max_length=30, help_text=_("For example 1班"))
    capacity = forms.IntegerField(
        label=_("Capacity"),
        min_value=1,
        max_value=200,
        required=False,
        help_text=_("Leave empty for the default of the stage"),
    )

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grade"].queryset = Grade.objects.filter(school=school).select_related("school")
        self.fields["grade"].label_from_instance = lambda grade: grade.name


class ClassEditForm(forms.Form):
    name = forms.CharField(label=_("Class name"), max_length=30)
    capacity = forms.IntegerField(label=_("Capacity"), min_value=1, max_value=200)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class CommentForm(forms.Form):
    """The optional comment of an applicant's or reviewer's act (withdraw, a bulk approval …); it is
    kept whole on the Decision."""

    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
