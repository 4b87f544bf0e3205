"""The submission packet of key-data corrections (source 003): one zip holding

- 关键数据变更汇总表.xlsx: sheets 新生, 在籍生, 毕业生 with the columns 学籍号, 姓名, 更正内容, 原信息,
  更正后信息, 更正原因, one row per corrected field, sorted by 学籍号;
- one folder per student named 学籍号姓名 (no "+"), holding that student's evidence images named by
  what they show: 身份证.jpg, 户口本.jpg …; a second image of the same kind is 身份证-2.jpg.

The packet is a document for the education bureau in its own format, so its texts are Chinese
whatever the user's language. It is built in a temporary file, never in memory as a whole.
"""

import io
import shutil
import tempfile
import zipfile
from collections import defaultdict

from django.db.models import Prefetch
from django.http import FileResponse
from django.utils import timezone, translation
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from corrections.models import Correction, Evidence, FieldChange, Group
from registrar.audit import record_event
from students.roster.exporter import safe_value

SHEETS = [(Group.NEW, "新生"), (Group.ENROLLED, "在籍生"), (Group.GRADUATE, "毕业生")]
COLUMNS = ["学籍号", "姓名", "更正内容", "原信息", "更正后信息", "更正原因"]
WIDTHS = [24, 14, 14, 26, 26, 12]
WORKBOOK_NAME = "关键数据变更汇总表.xlsx"
# Characters no folder name may hold on the systems the bureau uses.
UNSAFE = str.maketrans(dict.fromkeys('/\\:*?"<>|', "_"))


def packet_corrections(user, pks):
    """The chosen requests the user may see, with everything the packet needs in four queries."""
    return (
        Correction.objects.visible_to(user)
        .filter(pk__in=pks)
        .select_related("student")
        .prefetch_related(
            Prefetch("changes", queryset=FieldChange.objects.order_by("position", "id")),
            Prefetch("evidence", queryset=Evidence.objects.order_by("uploaded_at", "id")),
        )
    )


def _sort_key(correction):
    return (correction.student.number or "", correction.created_at, correction.pk)


def folder_name(student):
    return f"{student.number or ''}{student.name}".translate(UNSAFE).strip() or str(student.pk)


def summary_rows(corrections):
    """{group: [row, …]} sorted by 学籍号, one row per corrected field."""
    rows = defaultdict(list)
    for correction in sorted(corrections, key=_sort_key):
        student = correction.student
        for change in correction.changes.all():
            rows[correction.group].append(
                [
                    student.number or "",
                    student.name,
                    change.label,
                    change.old_display,
                    change.new_display,
                    change.get_reason_display(),
                ]
            )
    return rows


def write_workbook(corrections, target):
    workbook = Workbook(write_only=True)
    rows = summary_rows(corrections)
    for group, title in SHEETS:
        sheet = workbook.create_sheet(title)
        for index, width in enumerate(WIDTHS):
            sheet.column_dimensions[chr(ord("A") + index)].width = width
        header = []
        for text in COLUMNS:
            cell = WriteOnlyCell(sheet, value=text)
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        for row in rows.get(group, []):
            sheet.append([safe_value(sheet, value) for value in row])
    workbook.save(target)


def evidence_names(corrections):
    """[(path in the zip, Evidence)]: per student folder, each image named by its kind, numbered from -2."""
    entries = []
    used = defaultdict(int)
    for correction in sorted(corrections, key=_sort_key):
        folder = folder_name(correction.student)
        for evidence in correction.evidence.all():
            used[(folder, evidence.file_label)] += 1
            count = used[(folder, evidence.file_label)]
            stem = evidence.file_label if count == 1 else f"{evidence.file_label}-{count}"
            entries.append((f"{folder}/{stem}.{evidence.extension}", evidence))
    return entries


def write_packet(corrections, target):
    """Write the zip to `target` (a binary file); returns the number of images."""
    corrections = list(corrections)
    with translation.override("zh-hans"):
        workbook = io.BytesIO()
        write_workbook(corrections, workbook)
    entries = evidence_names(corrections)
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo(WORKBOOK_NAME, date_time=timezone.localtime().timetuple()[:6]),
            workbook.getvalue(),
            compress_type=zipfile.ZIP_DEFLATED,
        )
        for name, evidence in entries:
            # JPG and PNG are compressed already: stored as they are.
            with evidence.file.open("rb") as source, archive.open(name, "w") as sink:
                shutil.copyfileobj(source, sink)
    return len(entries)


def packet_response(user, pks):
    """The packet of the chosen requests in the user's scope as a zip download, logged; None if none."""
    corrections = list(packet_corrections(user, pks))
    if not corrections:
        return None
    # FileResponse closes the file once it is sent, and a temporary file then disappears.
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    images = write_packet(corrections, handle)
    handle.seek(0)
    record_event(
        "corrections.packet.downloaded",
        actor=user,
        node=user.node,
        corrections=sorted(correction.pk for correction in corrections),
        students=len({correction.student_id for correction in corrections}),
        images=images,
    )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"关键数据变更材料-{timezone.localdate():%Y%m%d}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response
