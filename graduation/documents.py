"""Graduation documents: the audit as a workbook, the 毕业生名册 (per class and school), the certificate
list with numbers, the 可领 and 暂缓 lists. Rows are generated, written to xlsx with the roster
exporter's formula guard (text that looks like a formula stays text), streamed, and logged."""

import tempfile

from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from graduation.models import Certificate
from registrar.audit import record_event
from students.codes import table
from students.privacy import mask_number
from students.roster.exporter import safe_value

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ROSTER, CERTIFICATES, READY, WITHHELD = "roster", "certificates", "ready", "withheld"
DOCUMENTS = {
    ROSTER: gettext_lazy("Graduate roster"),
    CERTIFICATES: gettext_lazy("Certificate list"),
    READY: gettext_lazy("Certificates ready to collect"),
    WITHHELD: gettext_lazy("Certificates withheld"),
}


def certificates_for(node, *, document, year=None, school_class=None):
    """The certificates a document lists, for the schools under `node`, in class order."""
    certificates = Certificate.objects.filter(school__path__startswith=node.path).select_related(
        "school", "student__school_class", "student__grade", "list_entry"
    )
    if year:
        certificates = certificates.filter(year=year)
    if school_class:
        certificates = certificates.filter(student__school_class_id=school_class)
    if document != CERTIFICATES:
        certificates = certificates.valid()
    if document == READY:
        certificates = certificates.filter(withheld_on__isnull=True)
    if document == WITHHELD:
        certificates = certificates.filter(withheld_on__isnull=False)
    return certificates.order_by(
        "school__code", "student__grade__level", "student__school_class__name", "number"
    )


def destination(certificate):
    entry = getattr(certificate, "list_entry", None)
    if entry is None or not entry.destination:
        return ""
    text = entry.get_destination_display()
    return f"{text}（{entry.destination_school}）" if entry.destination_school else str(text)


def document_columns(document):
    columns = [
        _("No."),
        _("School"),
        _("Class"),
        _("Full name"),
        _("Sex"),
        _("Registration number"),
        _("Certificate"),
        _("Certificate number"),
        _("Issued"),
    ]
    if document == ROSTER:
        columns.append(_("Destination"))
    if document == CERTIFICATES:
        columns += [_("State"), _("Why voided")]
    if document == WITHHELD:
        columns += [_("Why withheld"), _("Withheld since"), _("Right lapses on")]
    return columns


def document_rows(certificates, document, *, mask=False):
    """The rows of a document; `mask`: the 学籍号 masked, as lists on screen and paper show it (§9)."""
    genders = table("gender")
    for index, certificate in enumerate(certificates, start=1):
        student = certificate.student
        row = [
            index,
            certificate.school.name,
            f"{student.grade.name}{student.school_class.name}",
            student.name,
            genders.label_of(student.gender),
            (mask_number(student.number) if mask else student.number) or "",
            str(certificate.get_kind_display()),
            certificate.number,
            certificate.issued_on.isoformat(),
        ]
        if document == ROSTER:
            row.append(destination(certificate))
        if document == CERTIFICATES:
            row += [str(_("Valid") if certificate.is_valid else _("Voided")), certificate.void_reason]
        if document == WITHHELD:
            row += [
                certificate.withheld_reason,
                certificate.withheld_on.isoformat(),
                certificate.right_lapses_on.isoformat(),
            ]
        yield row


def audit_columns():
    return [
        _("School"),
        _("Class"),
        _("Full name"),
        _("Registration number"),
        _("Status"),
        _("Verdict"),
        _("Reasons"),
    ]


def audit_rows(rows):
    for row in rows:
        yield [
            row.school.name,
            f"{row.grade.name}{row.class_name}",
            row.name,
            row.number,
            str(row.status_label),
            str(row.judgement.label),
            "；".join(row.judgement.reasons),
        ]


def write_xlsx(title, columns, rows, target):
    """A write-only workbook of one sheet; returns the number of data rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append([str(column) for column in columns])
    count = 0
    for row in rows:
        sheet.append([safe_value(sheet, value) for value in row])
        count += 1
    workbook.save(target)
    return count


def xlsx_response(*, user, node, action, title, columns, rows, filename, **data):
    """Stream the workbook from a temporary file; the export is logged with what it held."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    count = write_xlsx(title, columns, rows, handle)
    handle.seek(0)
    record_event(action, actor=user, obj=node, rows=count, **data)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"{filename}-{timezone.localdate():%Y%m%d}.xlsx",
        content_type=XLSX,
    )
    response["Cache-Control"] = "private, no-store"
    return response
