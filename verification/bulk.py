"""Bulk upload of signed forms: several files, or zip archives of them, each named by 学籍号.

A name is matched, never guessed: the file's name (without its folder and extension) must be the
学籍号 of a student of the class, optionally followed by that student's name (the packet's
学籍号+姓名 convention). Anything else is reported with the file's name.
"""

import contextlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext as _

from registrar.uploads import UploadError, clean_original_name, config, format_size

# A class has at most a few dozen students; more files than this is not one class's forms.
MAX_FILES = 150
# Everything read from one upload is held in memory until every file is checked (all or nothing).
MAX_TOTAL_BYTES = 200 * 1024 * 1024
NUMBER_RE = re.compile(r"^([A-Za-z][0-9A-Za-z]{18})(.*)$")
SEPARATORS = " _-—·.+"


@dataclass
class Named:
    name: str
    data: bytes


def _member_name(info):
    """Zip archives made on Chinese Windows store names in GBK without saying so (no UTF-8 flag)."""
    name = info.filename
    if not info.flag_bits & 0x800:
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("gbk")
    return name


def _read_zip(data, zip_name, problems):
    max_bytes = config("UPLOAD_MAX_BYTES")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        problems.append(_("%(file)s: the zip archive is damaged.") % {"file": zip_name})
        return []
    found = []
    with archive:
        members = archive.infolist()
        if len(members) > MAX_FILES * 2:
            problems.append(
                _("%(file)s: %(count)s entries is too many for one class.")
                % {"file": zip_name, "count": len(members)}
            )
            return []
        for info in members:
            name = _member_name(info)
            short = clean_original_name(name)
            if info.is_dir() or not short or short.startswith(".") or "__MACOSX" in name:
                continue
            label = f"{zip_name} › {short}"
            if info.file_size > max_bytes:
                problems.append(
                    _("%(file)s: larger than %(limit)s.") % {"file": label, "limit": format_size(max_bytes)}
                )
                continue
            try:
                with archive.open(info) as handle:
                    content = handle.read(max_bytes + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, ValueError):
                problems.append(_("%(file)s: cannot be read from the archive.") % {"file": label})
                continue
            if len(content) > max_bytes:
                problems.append(
                    _("%(file)s: larger than %(limit)s.") % {"file": label, "limit": format_size(max_bytes)}
                )
                continue
            found.append(Named(short, content))
    return found


def expand(uploaded_files):
    """The files, with every zip archive replaced by its members. Returns (files, problems)."""
    max_bytes = config("UPLOAD_MAX_BYTES")
    files, problems = [], []
    for uploaded in uploaded_files:
        name = clean_original_name(getattr(uploaded, "name", ""))
        size = getattr(uploaded, "size", None)
        # An archive of a whole class may be larger than one scan: ten scans' worth.
        if isinstance(size, int) and size > max_bytes * 10:
            problems.append(
                _("%(file)s: larger than %(limit)s.") % {"file": name, "limit": format_size(max_bytes * 10)}
            )
            continue
        uploaded.seek(0)
        data = uploaded.read()
        if data[:4] == b"PK\x03\x04":
            files += _read_zip(data, name, problems)
        else:
            files.append(Named(name, data))
    if sum(len(named.data) for named in files) > MAX_TOTAL_BYTES:
        raise UploadError(
            _("The files hold more than %(limit)s in all: upload them in several parts.")
            % {"limit": format_size(MAX_TOTAL_BYTES)}
        )
    if len(files) > MAX_FILES:
        raise UploadError(
            _("%(count)s files at once is too many: upload at most %(limit)s.")
            % {"count": len(files), "limit": MAX_FILES}
        )
    return files, problems


def match(files, students):
    """Pair each file with the student its name gives. Returns ([(student, file)], problems)."""
    by_number = {student.number: student for student in students if student.number}
    pairs, problems, seen = [], [], {}
    for named in files:
        stem = PurePosixPath(named.name).stem
        found = NUMBER_RE.match(stem)
        if found is None:
            problems.append(
                _("%(file)s: the name does not begin with a registration number.") % {"file": named.name}
            )
            continue
        number, rest = found.group(1).upper(), found.group(2).strip(SEPARATORS)
        student = by_number.get(number)
        if student is None:
            problems.append(
                _("%(file)s: no student of this class has the registration number %(number)s.")
                % {"file": named.name, "number": number}
            )
            continue
        if rest and rest != student.name:
            problems.append(
                _("%(file)s: %(number)s is %(name)s, but the file is named for %(other)s.")
                % {"file": named.name, "number": number, "name": student.name, "other": rest}
            )
            continue
        if number in seen:
            problems.append(
                _("%(file)s: %(name)s has another file in this upload (%(other)s).")
                % {"file": named.name, "name": student.name, "other": seen[number]}
            )
            continue
        seen[number] = named.name
        pairs.append((student, SimpleUploadedFile(named.name, named.data)))
    return pairs, problems
