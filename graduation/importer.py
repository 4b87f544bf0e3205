"""Results from other offices (教务、德育、体育、财务、就业办), as Excel: the template of a province and
stage, and the import, with the roster's discipline: every row checked, errors in an error workbook
with 行号 and 错误原因, all or nothing, the same file again changes nothing.

A column present with an empty cell says nothing (another office's file leaves that result alone);
course columns are headed 课程：名称 and merge course by course.
"""

import io
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from python_calamine import CalamineError, CalamineWorkbook

from graduation.errors import GraduationError
from graduation.models import Check, Fitness, PassFail, Result, ResultImport
from graduation.rules import DEFAULT_PASS_MARK, rules_for
from registrar.audit import record_event, save_changes, stamp
from students.models import Status, Student
from students.roster.exporter import safe_cell, safe_value

# Modest limits: a school's graduating grade is a few hundred rows.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 200
IMPORTABLE_STATUSES = (Status.ENROLLED, Status.SUSPENDED, Status.COMPLETED)

NUMBER, NAME = "学籍号", "姓名"
COURSE_PREFIX = "课程："
# The column of each check's input, and the Result field it fills.
CHECK_COLUMNS = {
    Check.CREDITS: ("总学分", "credits"),
    Check.MORAL: ("思想品德与公民素养", "moral"),
    Check.FITNESS: ("体质健康", "fitness"),
    Check.INTERNSHIP: ("顶岗实习", "internship"),
    Check.INTERNSHIP_REPORT: ("实习报告", "internship_report"),
    Check.FEES: ("缴费", "fees_paid"),
}
HELP = {
    "credits": "数字，例如 144 或 146.5",
    "moral": "合格 / 不合格",
    "fitness": "优秀 / 良好 / 及格（合格）/ 不及格，或 0–100 的分数",
    "internship": "合格 / 不合格",
    "internship_report": "已交 / 未交",
    "fees_paid": "已缴清 / 未缴清",
}
PASS_WORDS = {"合格", "及格", "通过", "优秀", "良好", "补考合格", "清考合格", "重修合格"}
FAIL_WORDS = {"不合格", "不及格", "未通过", "补考不合格", "清考不合格", "缺考"}
YES_WORDS = {"已交", "已提交", "已缴清", "已缴", "是"}
NO_WORDS = {"未交", "未提交", "未缴清", "欠费", "否"}
FITNESS_WORDS = {
    "优秀": Fitness.EXCELLENT,
    "良好": Fitness.GOOD,
    "及格": Fitness.PASS,
    "合格": Fitness.PASS,
    "不及格": Fitness.FAIL,
    "不合格": Fitness.FAIL,
}
ERROR_FILL = PatternFill("solid", fgColor="F8D7DA")
HEADER_FILL = PatternFill("solid", fgColor="DDE6F3")


def header_key(text):
    return unicodedata.normalize("NFKC", str(text or "")).replace(" ", "").replace("*", "").strip()


COURSE_KEY = header_key(COURSE_PREFIX)


# --- the template ------------------------------------------------------------------------------


def template_columns(rules):
    """[(header, help)] for the rules in force: 学籍号, 姓名, then one column per input."""
    columns = [(NUMBER, "必填：学生的学籍号"), (NAME, "必填：与学籍一致")]
    for rule in rules:
        if rule.check_name in CHECK_COLUMNS:
            header, name = CHECK_COLUMNS[rule.check_name]
            columns.append((header, HELP[name]))
        elif rule.check_name == Check.COURSES:
            mark = rule.threshold or DEFAULT_PASS_MARK
            for course in rule.course_names():
                columns.append(
                    (f"{COURSE_PREFIX}{course}", f"分数（{mark} 分及格）或 合格 / 补考合格 / 不合格")
                )
    return columns


def build_template(province, segment):
    rules = rules_for(province, segment)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "成绩"
    columns = template_columns(rules)
    sheet.append([header for header, _help in columns])
    for index, (header, _help) in enumerate(columns, start=1):
        sheet.cell(row=1, column=index).fill = HEADER_FILL
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(
            12, len(header) * 2 + 2
        )
        # 学籍号 and every column as text, so that Excel keeps long numbers whole.
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].number_format = "@"
    notes = workbook.create_sheet("填写说明")
    notes.append(["列", "填写内容"])
    for header, help_text in columns:
        notes.append([header, help_text])
    if any(rule.check_name == Check.COURSES for rule in rules):
        notes.append(
            [f"{COURSE_PREFIX}课程名", "每门课程一列，列名写作“课程：课程名”；补考后的成绩填最终结果。"]
        )
    notes.append(["说明", "某一列的空白单元格表示不修改该项；同一文件重复导入不会改变任何数据。"])
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 70
    return workbook


# --- reading ------------------------------------------------------------------------------


def _check_archive(data):
    """Refuse an xlsx that would unpack to far more than it weighs, before any parsing."""
    if not data.startswith(b"PK"):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise GraduationError(_("The file is not an Excel workbook that can be read.")) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise GraduationError(_("The workbook unpacks to more than 100 MB: it cannot be a results file."))


def read_rows(data):
    """(headers, [(row number, cells)]) of the first sheet, within the limits; GraduationError if not."""
    if len(data) > MAX_FILE_BYTES:
        raise GraduationError(_("The file is larger than 10 MB."))
    _check_archive(data)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        metadata = workbook.sheets_metadata[0] if workbook.sheets_metadata else None
        sheet = workbook.get_sheet_by_index(0)
    except (CalamineError, ValueError, IndexError, OSError):
        raise GraduationError(_("The file is not an Excel workbook that can be read.")) from None
    del metadata
    if sheet.total_height > MAX_ROWS + 1 or sheet.total_width > MAX_COLUMNS:
        raise GraduationError(
            _(
                "The sheet has %(rows)s rows and %(columns)s columns: at most %(max_rows)s rows and "
                "%(max_columns)s columns are read."
            )
            % {
                "rows": sheet.total_height,
                "columns": sheet.total_width,
                "max_rows": MAX_ROWS,
                "max_columns": MAX_COLUMNS,
            }
        )
    rows = list(sheet.iter_rows())
    if not rows:
        raise GraduationError(_("The sheet is empty."))
    headers = [_text(cell) for cell in rows[0]]
    data_rows = []
    for index, cells in enumerate(rows[1:], start=2):
        cells = [_text(cell) for cell in cells] + [""] * (len(headers) - len(cells))
        if any(cells):
            data_rows.append((index, cells))
    return headers, data_rows


def _text(cell):
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return unicodedata.normalize("NFKC", str(cell if cell is not None else "")).strip()


# --- checking ------------------------------------------------------------------------------


@dataclass
class Plan:
    school: object
    headers: list
    rows: list
    # Position of each known column: {"number": 0, "name": 1, "credits": 2, "course:语文": 5 …}
    columns: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)  # row number → [messages]
    # row number → (student, {field: value}) for the valid rows
    values: dict = field(default_factory=dict)
    file_errors: list = field(default_factory=list)

    @property
    def is_valid(self):
        return not self.errors and not self.file_errors

    def error_list(self):
        listed = [{"row": 0, "messages": self.file_errors}] if self.file_errors else []
        return listed + [{"row": row, "messages": messages} for row, messages in sorted(self.errors.items())]


def _map_columns(plan, rules):
    known = {header_key(NUMBER): "number", header_key(NAME): "name"}
    wanted = {rule.check_name for rule in rules}
    for check, (header, name) in CHECK_COLUMNS.items():
        if check in wanted:
            known[header_key(header)] = name
    courses = Check.COURSES in wanted
    unknown, seen = [], set()
    for position, header in enumerate(plan.headers):
        key = header_key(header)
        if not key:
            continue
        if courses and key.startswith(COURSE_KEY) and len(key) > len(COURSE_KEY):
            name = "course:" + key[len(COURSE_KEY) :]
        elif key in known:
            name = known[key]
        else:
            unknown.append(header)
            continue
        if name in seen:
            plan.file_errors.append(_("The column %(header)s appears twice.") % {"header": header})
        seen.add(name)
        plan.columns[name] = position
    if unknown:
        plan.file_errors.append(
            _("Columns not used by the graduation rules of this stage: %(headers)s. Use the template.")
            % {"headers": "、".join(unknown)}
        )
    for required in ("number", "name"):
        if required not in plan.columns:
            plan.file_errors.append(
                _("The column %(header)s is missing.") % {"header": NUMBER if required == "number" else NAME}
            )
    if len(plan.columns) <= 2 and not plan.file_errors:
        plan.file_errors.append(_("The file has no result column."))


def _decimal(text, low, high):
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if low <= value <= high else None


def parse_value(name, text, pass_mark):
    """The stored value of a cell, or raise ValueError with the message."""
    if name == "credits":
        value = _decimal(text, 0, 999)
        if value is None:
            raise ValueError(
                _("Total credits (总学分) must be a number from 0 to 999, not %(value)s.") % {"value": text}
            )
        return value
    if name in ("moral", "internship"):
        if text in PASS_WORDS:
            return PassFail.PASS
        if text in FAIL_WORDS:
            return PassFail.FAIL
        raise ValueError(_("%(value)s is not 合格 or 不合格.") % {"value": text})
    if name == "fitness":
        if text in FITNESS_WORDS:
            return FITNESS_WORDS[text]
        score = _decimal(text, 0, 100)
        if score is None:
            raise ValueError(
                _(
                    "Physical fitness (体质健康) must be 优秀, 良好, 及格, 不及格 or a score from 0 to 100, "
                    "not %(value)s."
                )
                % {"value": text}
            )
        return (
            Fitness.EXCELLENT
            if score >= 90
            else Fitness.GOOD
            if score >= 80
            else Fitness.PASS
            if score >= 60
            else Fitness.FAIL
        )
    if name in ("internship_report", "fees_paid"):
        if text in YES_WORDS:
            return True
        if text in NO_WORDS:
            return False
        raise ValueError(
            _("%(value)s is not one of %(words)s.")
            % {"value": text, "words": "、".join(sorted(YES_WORDS | NO_WORDS))}
        )
    # A course: a score, or a word.
    if text in PASS_WORDS or text in FAIL_WORDS:
        return {"value": text, "passed": text in PASS_WORDS}
    score = _decimal(text, 0, 100)
    if score is None:
        raise ValueError(
            _("A course result is a score from 0 to 100 or 合格 / 不合格, not %(value)s.") % {"value": text}
        )
    return {"value": text, "passed": score >= pass_mark}


def check_file(school, data, *, province, segment):
    """Read and check a results file for `school`; the Plan says what an import would write."""
    rules = rules_for(province, segment)
    headers, rows = read_rows(data)
    plan = Plan(school=school, headers=headers, rows=rows)
    _map_columns(plan, rules)
    if plan.file_errors:
        return plan
    course_rule = next((rule for rule in rules if rule.check_name == Check.COURSES), None)
    pass_mark = (course_rule.threshold if course_rule else None) or DEFAULT_PASS_MARK
    numbers = [cells[plan.columns["number"]] for _row, cells in rows]
    students = {
        student.number: student
        for student in Student.objects.filter(
            school=school, number__in=[n for n in numbers if n]
        ).select_related("grade")
    }
    seen = {}
    for row, cells in rows:
        messages = []
        number, name = cells[plan.columns["number"]], cells[plan.columns["name"]]
        student = students.get(number)
        if not number:
            messages.append(_("The registration number (学籍号) is empty."))
        elif number in seen:
            messages.append(
                _("The same registration number (学籍号) is on row %(row)s.") % {"row": seen[number]}
            )
        elif student is None:
            messages.append(
                _("No student of this school has the registration number %(number)s.") % {"number": number}
            )
        elif student.name != name:
            messages.append(
                _("The name (姓名) %(name)s does not match the record of %(number)s.")
                % {"name": name, "number": number}
            )
        elif student.status not in IMPORTABLE_STATUSES:
            messages.append(
                _("%(name)s is %(status)s: the record is locked.")
                % {"name": student.name, "status": student.get_status_display()}
            )
        seen.setdefault(number, row)
        values = {}
        for column, position in plan.columns.items():
            if column in ("number", "name") or not cells[position]:
                continue
            try:
                values[column] = parse_value(column.partition(":")[0], cells[position], pass_mark)
            except ValueError as error:
                messages.append(f"{plan.headers[position]}：{error}")
        if messages:
            plan.errors[row] = messages
        else:
            plan.values[row] = (student, values)
    if not plan.values and not plan.errors:
        plan.file_errors.append(_("The file has no data rows."))
    return plan


# --- writing ------------------------------------------------------------------------------


def _changes(result, values):
    changes = {}
    courses = dict(result.courses or {}) if result else {}
    for column, value in values.items():
        kind, _sep, course = column.partition(":")
        if kind == "course":
            courses[course] = value
        else:
            changes[kind] = value
    if courses != ((result.courses or {}) if result else {}):
        changes["courses"] = courses
    return changes


def commit(plan, *, by):
    """Write every valid row's results (only the ones that change), with history. Returns the count."""
    changed = 0
    with transaction.atomic():
        students = [student for student, _values in plan.values.values()]
        existing = {
            result.student_id: result
            for result in Result.objects.select_for_update().filter(student__in=students)
        }
        for student, values in plan.values.values():
            result = existing.get(student.pk)
            changes = _changes(result, values)
            if result is None:
                result = Result(student=student)
                for name, value in changes.items():
                    setattr(result, name, value)
                stamp(result, by=by, reason=_("Results imported"))
                result.save()
                changed += 1
            elif save_changes(result, changes, by=by, reason=_("Results imported")):
                changed += 1
    return changed


def error_workbook(plan):
    """The rows with errors as uploaded, with 行号 and 错误原因 first, the bad rows in red."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("错误")
    header = []
    for text in ["行号", "错误原因", *plan.headers]:
        cell = WriteOnlyCell(sheet, value=text)
        cell.fill, cell.font = HEADER_FILL, Font(bold=True)
        header.append(cell)
    sheet.append(header)
    if plan.file_errors:
        sheet.append(["", safe_value(sheet, " ".join(plan.file_errors))])
    cells_by_row = dict(plan.rows)
    for row, messages in sorted(plan.errors.items()):
        reason = safe_cell(sheet, "；".join(messages))
        reason.fill = ERROR_FILL
        sheet.append([row, reason, *(safe_value(sheet, value) for value in cells_by_row[row])])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_results(school, data, *, by, province, segment, original_name="", dry_run=False):
    """Check a file and, when every row is valid and this is not a dry run, write it. Returns the
    ResultImport that records it (with its error workbook when refused)."""
    try:
        plan = check_file(school, data, province=province, segment=segment)
    except GraduationError as error:
        plan = Plan(school=school, headers=[], rows=[], file_errors=[error.message])
    state = ResultImport.State.INVALID if not plan.is_valid else ResultImport.State.CHECKED
    changed = 0
    with transaction.atomic():
        if plan.is_valid and not dry_run:
            changed = commit(plan, by=by)
            state = ResultImport.State.DONE
        record = ResultImport(
            school=school,
            created_by=by if by is not None and by.is_authenticated else None,
            original_name=original_name[:255],
            state=state,
            total_rows=len(plan.rows),
            changed_rows=changed,
            errors=plan.error_list(),
        )
        if state == ResultImport.State.INVALID:
            record.error_file.save(f"{uuid.uuid4().hex}.xlsx", ContentFile(error_workbook(plan)), save=False)
        record.save()
        record_event(
            "graduation.results.imported",
            actor=by,
            obj=record,
            state=state,
            rows=len(plan.rows),
            changed=changed,
        )
    return record
