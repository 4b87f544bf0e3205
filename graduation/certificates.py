"""Certificate numbers: a province's format per stage and kind, a running number per prefix that only
grows, and a unique constraint behind it, so that a number is never given twice, not even after the
certificate was voided (结业换毕业, 毕业生回退)."""

import string

from django.db import transaction

from graduation.models import Certificate, CertificateCounter, CertificateKind

FORMAT_FIELD = {
    CertificateKind.GRADUATION: "graduation_format",
    CertificateKind.COMPLETION: "completion_format",
    CertificateKind.DROPOUT: "dropout_format",
}
MAX_LENGTH = 60


class _Keep(dict):
    """Formats every field but {seq}, which stays as written: the counter's key."""

    def __missing__(self, key):
        return _Placeholder(key)


class _Placeholder:
    def __init__(self, name):
        self.name = name

    def __format__(self, spec):
        return "{" + self.name + (":" + spec if spec else "") + "}"


def issue_number(pattern, *, school, year, province):
    """The next number of `pattern` for this school and year. Locks the prefix's counter until the
    caller's transaction ends; a number already taken (a format changed to meet an old one) is
    skipped."""
    values = {"school": school.code, "year": year, "province": province.code if province else ""}
    key = string.Formatter().vformat(pattern, (), _Keep(values))[:120]
    with transaction.atomic():
        counter, _created = CertificateCounter.objects.get_or_create(key=key)
        counter = CertificateCounter.objects.select_for_update().get(pk=counter.pk)
        while True:
            counter.last += 1
            number = pattern.format(**values, seq=counter.last)[:MAX_LENGTH]
            if not Certificate.objects.filter(number=number).exists():
                break
        counter.save(update_fields=["last"])
    return number
