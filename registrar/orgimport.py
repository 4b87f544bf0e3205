"""Loading the organisation tree from a workbook (代码, 名称, 类型, 上级代码, 学段, 学制).

Every row is checked before anything is written; one bad row refuses the whole file. Loading
the same file again changes nothing.
"""

import re
import zipfile
from dataclasses import dataclass, field

import openpyxl
from django.db import transaction
from django.utils.translation import gettext as _

from registrar.audit import record_event, stamp
from registrar.choices import ALLOWED_PARENTS, CODE_LENGTH, NodeKind, Stage
from registrar.models import Grade, Organisation, parse_school_system
from registrar.services import RegistrarError, missing_grade_levels, save_organisation
from registrar.text import clean_text

HEADER = {
    "code": "代码",
    "name": "名称",
    "kind": "类型",
    "parent": "上级代码",
    "stages": "学段",
    "school_system": "学制",
}
REQUIRED_COLUMNS = ("code", "name", "kind", "parent")

KIND_LABELS = {
    "省": NodeKind.PROVINCE,
    "自治区": NodeKind.PROVINCE,
    "直辖市": NodeKind.PROVINCE,
    "市": NodeKind.CITY,
    "州": NodeKind.CITY,
    "盟": NodeKind.CITY,
    "地区": NodeKind.CITY,
    "县": NodeKind.COUNTY,
    "区": NodeKind.COUNTY,
    "县级市": NodeKind.COUNTY,
    "旗": NodeKind.COUNTY,
    "乡镇中心校": NodeKind.TOWNSHIP,
    "学校": NodeKind.SCHOOL,
}
STAGE_LABELS = {
    "小学": Stage.PRIMARY,
    "初中": Stage.JUNIOR,
    "高中": Stage.SENIOR,
    "普通高中": Stage.SENIOR,
    "九年一贯制": Stage.NINE_YEAR,
    "完全中学": Stage.COMPLETE,
    "十二年一贯制": Stage.TWELVE_YEAR,
    "中职": Stage.VOCATIONAL,
    "特殊教育": Stage.SPECIAL,
}
DEPTH = {kind: depth for depth, kind in enumerate(NodeKind)}
STAGE_SEPARATORS = re.compile(r"[、，,;；/\s]+")


@dataclass
class OrgRow:
    number: int
    code: str
    name: str
    kind: str
    parent: str
    stages: list
    school_system: str


@dataclass
class ImportResult:
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: int = 0
    grades_created: int = 0


class OrgImportError(RegistrarError):
    """Every problem of the file, one message a row (`errors` is that list)."""

    def __init__(self, errors):
        super().__init__("\n".join(errors))
        self.errors = errors


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(value)


def read_workbook(path):
    """The data rows of the first sheet, keyed by column, with their row numbers."""
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError as exc:
        raise OrgImportError([_("No such file: %(file)s") % {"file": path}]) from exc
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise OrgImportError(
            [_("The file is not an Excel workbook (.xlsx): %(error)s") % {"error": exc}]
        ) from exc
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    columns = None
    for number, values in enumerate(rows, start=1):
        cells = [_text(value) for value in values]
        if columns is None:
            if HEADER["code"] in cells and HEADER["name"] in cells:
                columns = {key: cells.index(label) for key, label in HEADER.items() if label in cells}
                missing = [HEADER[key] for key in REQUIRED_COLUMNS if key not in columns]
                if missing:
                    workbook.close()
                    raise OrgImportError(
                        [
                            _("Row %(row)d: the header lacks the columns %(columns)s.")
                            % {"row": number, "columns": "、".join(missing)}
                        ]
                    )
            elif number >= 10:
                break
            continue
        if not any(cells):
            continue
        row = {key: (cells[index] if index < len(cells) else "") for key, index in columns.items()}
        row["number"] = number
        yield row
    workbook.close()
    if columns is None:
        raise OrgImportError(
            [
                _("No header row found: the first sheet needs the columns %(columns)s.")
                % {"columns": "、".join(HEADER.values())}
            ]
        )


def parse_rows(raw_rows):
    """Check every row against the file and the database; returns OrgRows or raises with every problem."""
    errors = []
    rows = []
    seen = {}
    for raw in raw_rows:
        number = raw["number"]
        problems = []
        code = raw.get("code", "")
        name = raw.get("name", "")
        kind = KIND_LABELS.get(raw.get("kind", ""))
        if not code:
            problems.append(_("the code is missing"))
        if not name:
            problems.append(_("the name is missing"))
        if kind is None:
            problems.append(
                _("unknown type %(value)s (use 省, 市, 县, 区, 乡镇中心校 or 学校)")
                % {"value": raw.get("kind", "") or "—"}
            )
        elif code and not (code.isdigit() and len(code) == CODE_LENGTH[kind]):
            problems.append(
                _("the code %(code)s of a %(kind)s must have %(length)d digits")
                % {"code": code, "kind": kind.label, "length": CODE_LENGTH[kind]}
            )
        if code in seen:
            problems.append(
                _("the code %(code)s already appears in row %(row)d") % {"code": code, "row": seen[code]}
            )
        elif code:
            seen[code] = number
        stages = []
        stage_error = False
        for label in STAGE_SEPARATORS.split(raw.get("stages", "")):
            if not label:
                continue
            if label in STAGE_LABELS:
                stages.append(STAGE_LABELS[label])
            elif label in Stage.values:
                stages.append(Stage(label))
            else:
                problems.append(_("unknown stage %(value)s") % {"value": label})
                stage_error = True
        school_system = raw.get("school_system", "").replace("－", "-").replace("—", "-")
        if kind == NodeKind.SCHOOL:
            if not stages and not stage_error:
                problems.append(_("a school needs at least one stage"))
            if school_system:
                try:
                    parse_school_system(school_system)
                except ValueError:
                    problems.append(
                        _("the school system %(value)s is not like 6-3-3") % {"value": school_system}
                    )
        elif kind is not None and (stages or school_system):
            problems.append(_("only schools have stages and a school system"))
        if problems:
            errors.append(_("Row %(row)d: %(problems)s.") % {"row": number, "problems": "; ".join(problems)})
            continue
        rows.append(
            OrgRow(
                number=number,
                code=code,
                name=name,
                kind=kind,
                parent=raw.get("parent", ""),
                stages=list(dict.fromkeys(stages)),
                school_system=school_system,
            )
        )
    errors += _check_parents(rows)
    if errors:
        raise OrgImportError(errors)
    if not rows and not errors:
        raise OrgImportError([_("The file holds no rows.")])
    return rows


def _check_parents(rows):
    errors = []
    in_file = {row.code: row.kind for row in rows}
    referenced = {row.parent for row in rows if row.parent} | set(in_file)
    in_db = {node.code: node for node in Organisation.objects.filter(code__in=referenced)}
    for row in rows:
        existing = in_db.get(row.code)
        if existing is not None and existing.kind != row.kind:
            errors.append(
                _("Row %(row)d: %(code)s is already registered as a %(kind)s.")
                % {"row": row.number, "code": row.code, "kind": existing.get_kind_display()}
            )
            continue
        if row.kind == NodeKind.PROVINCE:
            if row.parent:
                errors.append(_("Row %(row)d: a province has no parent.") % {"row": row.number})
            continue
        if not row.parent:
            errors.append(_("Row %(row)d: the parent code is missing.") % {"row": row.number})
            continue
        parent_kind = in_file.get(row.parent) or (in_db[row.parent].kind if row.parent in in_db else None)
        if parent_kind is None:
            errors.append(
                _("Row %(row)d: unknown parent %(parent)s (neither in the file nor in the system).")
                % {"row": row.number, "parent": row.parent}
            )
        elif parent_kind not in ALLOWED_PARENTS[row.kind]:
            errors.append(
                _("Row %(row)d: a %(kind)s cannot sit under a %(parent_kind)s.")
                % {"row": row.number, "kind": row.kind.label, "parent_kind": NodeKind(parent_kind).label}
            )
    return errors


@transaction.atomic
def import_organisations(rows, *, by=None):
    """Write checked rows: create what is new, update what differs, leave the rest untouched."""
    result = ImportResult()
    reason = _("Imported from a workbook")
    by_code = {
        node.code: node
        for node in Organisation.objects.select_for_update().filter(code__in=[r.code for r in rows])
    }
    for row in sorted(rows, key=lambda r: (DEPTH[r.kind], r.number)):
        parent = None
        if row.parent:
            parent = by_code.get(row.parent) or Organisation.objects.get(code=row.parent)
            by_code[parent.code] = parent
        node = by_code.get(row.code)
        wanted = {
            "name": row.name,
            "parent": parent,
            "stages": row.stages,
            "school_system": row.school_system,
        }
        if node is None:
            node = save_organisation(
                Organisation(code=row.code, kind=row.kind, **wanted), by=by, reason=reason
            )
            result.created.append(node)
        else:
            differs = [key for key, value in wanted.items() if getattr(node, key) != value]
            if not differs:
                result.unchanged += 1
                by_code[node.code] = node
                continue
            for key in differs:
                setattr(node, key, wanted[key])
            save_organisation(node, by=by, reason=reason)
            result.updated.append(node)
        by_code[node.code] = node
        if node.kind == NodeKind.SCHOOL:
            for level in missing_grade_levels(node):
                grade = Grade(school=node, level=level)
                stamp(grade, by=by, reason=reason)
                grade.save()
                result.grades_created += 1
    if result.created or result.updated:
        top = min(result.created + result.updated, key=lambda node: node.path.count("/"))
        record_event(
            "registrar.orgs.imported",
            actor=by,
            obj=top,
            created=len(result.created),
            updated=len(result.updated),
            unchanged=result.unchanged,
        )
    return result


def import_organisations_file(path, *, by=None):
    return import_organisations(parse_rows(list(read_workbook(path))), by=by)
