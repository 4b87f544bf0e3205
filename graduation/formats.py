"""Certificate number formats: {school} (学校标识码), {year}, {province} and exactly one {seq}."""

import string

from django.utils.translation import gettext as _

FIELDS = {"school", "year", "province", "seq"}


def check_format(pattern):
    """Why `pattern` is not a usable number format ("" when it is)."""
    try:
        names = [name for _text, name, _spec, _conv in string.Formatter().parse(pattern) if name is not None]
        pattern.format(school="1234567890", year=2026, province="420000", seq=1)
    except (ValueError, KeyError, IndexError):
        names = None
    if names is None or set(names) - FIELDS or names.count("seq") != 1:
        return _(
            "Write the number with {school}, {year}, {province} and exactly one {seq}, "
            "e.g. {school}{year}{seq:05d}."
        )
    return ""
