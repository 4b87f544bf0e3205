"""The stage argument of the graduation commands: a Chinese name or a segment value."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from registrar.choices import Segment

STAGE_NAMES = {
    "小学": "primary",
    "初中": "junior",
    "高中": "senior",
    "普通高中": "senior",
    "中职": "vocational",
    "特殊教育": "special",
}


def segment_of(text):
    value = STAGE_NAMES.get(text, text)
    if value not in Segment.values:
        raise CommandError(
            _("Unknown stage %(stage)s: one of %(stages)s.")
            % {"stage": text, "stages": "、".join(STAGE_NAMES)}
        )
    return value
