from django import forms
from django.utils.translation import gettext_lazy as _

from rules.topics import Topic
from transfers.models import Kind


class RuleForm(forms.Form):
    topic = forms.ChoiceField(label=_("Topic"), choices=Topic.choices)
    key = forms.CharField(label=_("Key"), max_length=120)
    value = forms.CharField(label=_("Value"), max_length=2000, required=False)

    def __init__(self, *args, topics=None, **kwargs):
        super().__init__(*args, **kwargs)
        if topics is not None:
            self.fields["topic"].choices = [(str(topic), topic.label) for topic in topics]


class RuleDeleteForm(forms.Form):
    topic = forms.ChoiceField(choices=Topic.choices)
    key = forms.CharField(max_length=120)


class WindowExceptionForm(forms.Form):
    number = forms.CharField(label=_("Registration number"), max_length=40)
    kind = forms.ChoiceField(label=_("Kind of request"), choices=[(Kind.TRANSFER.value, Kind.TRANSFER.label)])
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    expires_on = forms.DateField(label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"}))
