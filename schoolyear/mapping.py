"""The class mapping a school gives for its promotion: an Excel sheet of 原年级, 原班级, 新年级, 新班级.

Read with the roster's discipline: the file passes the same checks and limits before it is parsed
(students/roster/workbooks.py through `open_sheet`), the header is found anywhere in the first rows,
every row is checked and each problem is reported with its row number; one bad row and nothing is
saved. A saved mapping replaces the school's previous one as a whole.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from registrar.audit import record_event
from registrar.calendar import is_graduating_level
from registrar.models import SchoolClass, grade_name
from schoolyear.errors import SchoolYearError
from schoolyear.models import ClassMapping
from students.permissions import ensure_registrar_of
from students.roster.normalise import CellError, class_name, parse_grade
from students.roster.reader import HEADER_SEARCH_ROWS, header_key, open_sheet
from students.roster.workbooks import RosterFileError

COLUMNS = {"原年级": "from_grade", "原班级": "from_class", "新年级": "to_grade", "新班级": "to_class"}
# Row problems kept for the page: a school has at most a few hundred classes.
KEPT_ERRORS = 200


@dataclass
class MappingCheck:
    # (from_class, to_class) of every valid row.
    pairs: list = field(default_factory=list)
    # [{"row": number, "messages": [...]}]; row 0 for the file as a whole.
    errors: list = field(default_factory=list)

    @property
    def valid(self):
        return not self.errors


def _find_header(sheet):
    for index, cells in enumerate(sheet.iter_rows()):
        if index >= HEADER_SEARCH_ROWS:
            break
        positions = {
            COLUMNS[header_key(cell)]: at for at, cell in enumerate(cells) if header_key(cell) in COLUMNS
        }
        if len(positions) == len(COLUMNS):
            return index + 1, positions
    raise RosterFileError(_("No header row with the columns 原年级, 原班级, 新年级, 新班级 was found."))


def check_mapping(school, source):
    """Read and check the mapping file `source` (a path or a binary file) for `school`."""
    check = MappingCheck()
    try:
        sheet = open_sheet(source)
        header_row, positions = _find_header(sheet)
    except RosterFileError as error:
        check.errors.append({"row": 0, "messages": [error.message]})
        return check
    classes = {
        (school_class.grade.level, school_class.name): school_class
        for school_class in SchoolClass.objects.filter(grade__school=school).select_related("grade")
    }
    seen = {}
    for index, cells in enumerate(sheet.iter_rows()):
        number = index + 1
        if number <= header_row or not any(str(cell).strip() for cell in cells):
            continue
        messages = []
        values = {}
        for key, at in positions.items():
            value = cells[at] if at < len(cells) else ""
            try:
                values[key] = parse_grade(value) if key.endswith("grade") else class_name(value)
            except CellError as error:
                messages.append(str(error))
        if not messages:
            messages = _check_row(school, classes, values, seen, number)
        if messages:
            if len(check.errors) < KEPT_ERRORS:
                check.errors.append({"row": number, "messages": messages})
            continue
        check.pairs.append(
            (
                classes[(values["from_grade"], values["from_class"])],
                classes[(values["to_grade"], values["to_class"])],
            )
        )
    if not check.pairs and not check.errors:
        check.errors.append({"row": 0, "messages": [_("The file has no rows below its header.")]})
    return check


def _check_row(school, classes, values, seen, number):
    messages = []
    from_level, to_level = values["from_grade"], values["to_grade"]
    if not (from_level and values["from_class"] and to_level and values["to_class"]):
        return [_("Fill in all four columns.")]
    source = classes.get((from_level, values["from_class"]))
    if source is None:
        messages.append(
            _("%(grade)s has no class named %(name)s.")
            % {
                "grade": grade_name(from_level, school.segment_of_level(from_level)),
                "name": values["from_class"],
            }
        )
    elif source.pk in seen:
        messages.append(_("This class is already mapped in row %(row)d.") % {"row": seen[source.pk]})
    else:
        seen[source.pk] = number
    if is_graduating_level(school, from_level):
        messages.append(_("The last grade of a stage is not promoted: it is left for graduation."))
    elif to_level != from_level + 1:
        messages.append(_("The new grade must be the grade above the present one."))
    elif classes.get((to_level, values["to_class"])) is None:
        messages.append(
            _("%(grade)s has no class named %(name)s: create next year's classes first.")
            % {"grade": grade_name(to_level, school.segment_of_level(to_level)), "name": values["to_class"]}
        )
    return messages


def save_mapping(school, *, by, source, original_name=""):
    """Check `source` and, when every row is valid, make it the school's mapping; SchoolYearError
    carrying the row problems (`errors["rows"]`) otherwise."""
    ensure_registrar_of(by, school)
    check = check_mapping(school, source)
    if not check.valid:
        raise SchoolYearError(
            _("Nothing was saved: correct the rows below and upload the file again."), {"rows": check.errors}
        )
    with transaction.atomic():
        ClassMapping.objects.filter(school=school).delete()
        ClassMapping.objects.bulk_create(
            [
                ClassMapping(school=school, from_class=source, to_class=target)
                for source, target in check.pairs
            ]
        )
        record_event(
            "schoolyear.mapping.saved", actor=by, obj=school, rows=len(check.pairs), file=original_name[:200]
        )
    return check


def clear_mapping(school, *, by):
    ensure_registrar_of(by, school)
    with transaction.atomic():
        removed, _detail = ClassMapping.objects.filter(school=school).delete()
        record_event("schoolyear.mapping.cleared", actor=by, obj=school, rows=removed)
    return removed
