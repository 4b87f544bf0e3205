from pathlib import PurePosixPath

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

ACCEPTED_EXTENSIONS = (".xlsx", ".xls")
# A school's roster of 3,000 pupils is about 0.5 MB; a county's 100,000 about 15 MB.
DEFAULT_MAX_BYTES = 30 * 1024 * 1024


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Roster file"),
        help_text=_("An Excel workbook (.xlsx or .xls) laid out like the roster template."),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_EXTENSIONS)}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        suffix = PurePosixPath(upload.name or "").suffix.lower()
        if suffix not in ACCEPTED_EXTENSIONS:
            raise forms.ValidationError(_("Upload an Excel workbook (.xlsx or .xls)."))
        limit = settings.REGISTRAR.get("ROSTER_MAX_BYTES", DEFAULT_MAX_BYTES)
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)}
            )
        return upload
