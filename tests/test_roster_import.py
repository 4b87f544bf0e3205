"""Importing a roster: each kind of error, all or nothing, idempotent re-import, updates, the command."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registrar.models import AuditEvent, SchoolClass
from registrar.services import create_class
from students.duplicates import duplicate_message
from students.models import Guardian, ImportBatch, Status, StatusEvent, Student
from students.roster.error_workbook import write_error_workbook
from students.roster.importer import commit, prepare
from students.roster.reader import read_roster
from students.roster.validate import NEW, UNCHANGED, UPDATE, RosterInvalid
from tests.roster_helpers import NATIONAL_LOAD, birth_for, pupil, pupil_without_id, resident_id, write_file


@pytest.fixture
def roster(tmp_path):
    """Write rows to a fresh workbook and return its path."""
    counter = iter(range(1000))

    def write(*rows, **options):
        return write_file(tmp_path / f"roster-{next(counter)}.xlsx", list(rows), **options)

    return write


@pytest.fixture
def import_file(school, school_class, registrar):
    """Check and write a file as the school's registrar would (students enter review)."""

    def run(path, *, register=False, by=registrar):
        plan = prepare(path, scope=school, by=by)
        commit(plan, by=by, register=register)
        return plan

    return run


def problems(plan):
    return {row.number: [problem.message for problem in row.problems] for row in plan.invalid_rows}


def only_problem(plan, row_number=2):
    found = problems(plan)
    assert list(found) == [row_number], found
    return " ".join(found[row_number])


def snapshot():
    return (
        Student.objects.count(),
        Student.history.count(),
        Guardian.objects.count(),
        Guardian.history.count(),
        StatusEvent.objects.count(),
        sorted(Student.objects.values_list("phone", "address", "school_class_id")),
    )


# --- writing --------------------------------------------------------------------------------------


def test_a_valid_file_creates_students_with_family_history_and_events(
    roster, import_file, school_class, registrar
):
    path = roster(pupil(1, 监护人2姓名="家长乙", 监护人2关系="母亲", 监护人2联系电话="13700137000"), pupil(2))
    plan = import_file(path)
    assert [row.action for row in plan.rows] == [NEW, NEW]
    students = list(Student.objects.order_by("id"))
    assert [student.status for student in students] == [Status.REGISTERING, Status.REGISTERING]
    assert all(student.number is None for student in students)
    first = students[0]
    assert (first.school_class, first.grade, first.ethnicity, first.hukou_type) == (
        school_class,
        school_class.grade,
        "01",
        "2",
    )
    assert [(g.order, g.name, g.relation) for g in first.guardians.all()] == [
        (1, "家长甲", "1"),
        (2, "家长乙", "2"),
    ]
    history = first.history.get()
    assert (history.history_type, history.history_user, history.name) == ("+", registrar, first.name)
    assert Guardian.history.filter(student_id=first.pk).count() == 2
    event = first.status_events.get()
    assert (event.from_status, event.to_status, event.action) == (
        "",
        Status.REGISTERING,
        "students.roster.imported",
    )


def test_registering_directly_issues_numbers(roster, import_file, school_class):
    path = roster(pupil(1), pupil_without_id(2))
    import_file(path, register=True)
    first, second = Student.objects.order_by("id")
    assert first.number == "G" + first.id_number
    assert second.number.startswith(f"J420102{second.birth_date:%Y%m%d}001")
    assert first.status == second.status == Status.ENROLLED
    assert first.status_events.get().approved_by is not None


def test_the_import_and_a_registration_share_one_j_allocator(roster, import_file, registrar, school_class):
    """A J number issued by a registration, then the import's, then a registration's again: in sequence."""
    from students.numbers import issue_number, j_number
    from students.services import create_student
    from tests.student_helpers import guardian_data, student_data

    birth = birth_for(1, day=3)

    def registered_without_id(name):
        data = student_data(school_class, name=name, birth=birth, id_type="Z", id_number="")
        student = create_student(
            by=registrar, school=school_class.grade.school, data=data, guardians=[guardian_data()]
        )
        return issue_number(student, by=registrar)

    first = registered_without_id("甲乙")
    import_file(roster(pupil_without_id(2, 出生日期=birth.isoformat())), register=True)
    imported = Student.objects.get(name=pupil_without_id(2)["姓名"]).number
    last = registered_without_id("丙丁")
    assert [first, imported, last] == [j_number("420102", birth, sequence) for sequence in (1, 2, 3)]


def test_a_number_in_the_file_is_kept_when_loading_the_national_systems_records(
    roster, import_file, school_class
):
    row = pupil(1)
    row["学籍号"] = "G" + row["身份证件号"]
    import_file(roster(row), register=True)
    student = Student.objects.get()
    assert (student.number, student.status) == (row["学籍号"], Status.ENROLLED)


# --- registration cannot be skipped (issue #14, item 4) ---------------------------------------------


def test_a_new_student_enters_the_review_even_when_the_file_carries_a_number(
    roster, import_file, school_class
):
    row = pupil(1)
    row["学籍号"] = "G" + row["身份证件号"]
    import_file(roster(row))
    student = Student.objects.get()
    assert (student.number, student.status) == (None, Status.REGISTERING)
    assert student.registration is not None


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("G110101201001011234", "不是 G 加本行的居民身份证号"),
        ("J420102201503010019", "校验位"),
        ("L42010220150301123X", "临时"),
    ],
)
def test_a_number_that_cannot_be_the_rows_is_refused_with_the_reason(
    roster, school, school_class, registrar, number, reason
):
    row = pupil(1)
    row["学籍号"] = number
    plan = prepare(roster(row), scope=school, by=registrar)
    assert reason in only_problem(plan)


def test_a_valid_j_number_passes_the_check(roster, school, school_class, registrar):
    from students.numbers import j_number

    row = pupil(1)
    birth = date.fromisoformat(row["出生日期"])
    row["学籍号"] = j_number("420102", birth, 7)
    assert prepare(roster(row), scope=school, by=registrar).is_valid


def test_the_national_load_accepts_a_temporary_l_number(roster, school, school_class, county_reviewer):
    row = pupil(1)
    row["学籍号"] = "L42010220150301123X"
    plan = prepare(roster(row), scope=school, by=county_reviewer, national_load=True)
    assert plan.is_valid


def test_the_command_imports_a_schools_file_into_the_review(roster, school, school_class, registrar, capsys):
    call_command(
        "import_roster", str(roster(pupil(1))), "--school", school.code, "--user", registrar.username
    )
    student = Student.objects.get()
    assert (student.status, student.registration.applicant) == (Status.REGISTERING, registrar)
    assert "注册审核" in capsys.readouterr().out


@pytest.mark.parametrize("who", ["registrar", "principal", "outsider_reviewer", "nobody", None])
def test_the_national_load_is_refused_to_any_but_a_county_or_city_administrator(
    roster, school, school_class, registrar, principal, outsider_reviewer, who
):
    user = {"registrar": registrar, "principal": principal, "outsider_reviewer": outsider_reviewer}.get(who)
    args = ["--user", user.username if user else who] if who else []
    with pytest.raises(CommandError) as error:
        call_command(
            "import_roster", str(roster(pupil(1))), "--school", school.code, "--national-load", *args
        )
    assert error.value.returncode == 1
    assert not Student.objects.exists()


def test_the_national_load_is_logged(roster, school, school_class, county_reviewer):
    call_command("import_roster", str(roster(pupil(1))), "--school", school.code, *NATIONAL_LOAD)
    event = AuditEvent.objects.get(action="students.roster.national_load")
    assert (event.actor, event.data["new"]) == (county_reviewer, 1)
    assert Student.objects.get().status == Status.ENROLLED


def test_a_schools_file_on_the_command_line_needs_the_schools_registrar(
    roster, school, school_class, principal
):
    for args in ([], ["--user", principal.username]):
        with pytest.raises(CommandError):
            call_command("import_roster", str(roster(pupil(1))), "--school", school.code, *args)
    assert not Student.objects.exists()


# --- all or nothing -------------------------------------------------------------------------------


def test_one_bad_row_and_nothing_is_written(roster, school, school_class, registrar):
    path = roster(pupil(1), pupil(2, 性别="男"), pupil(3))
    plan = prepare(path, scope=school, by=registrar)
    assert not plan.is_valid
    assert list(problems(plan)) == [3]
    before = snapshot()
    with pytest.raises(RosterInvalid):
        commit(plan, by=registrar, register=False)
    assert snapshot() == before == (0, 0, 0, 0, 0, [])


def test_the_database_is_checked_again_when_writing(roster, school, school_class, registrar, tmp_path):
    """A class filled up between the preview and the commit: nothing is written."""
    school_class.capacity = 2
    school_class.save()
    plan = prepare(roster(pupil(1), pupil(2)), scope=school, by=registrar)
    assert plan.is_valid
    commit(prepare(roster(pupil(3)), scope=school, by=registrar), by=registrar, register=False)
    with pytest.raises(RosterInvalid) as error:
        commit(plan, by=registrar, register=False)
    assert "已满" in " ".join(error.value.plan.problem_messages()[0][1])
    assert Student.objects.count() == 1


# --- idempotent re-import and updates -------------------------------------------------------------


def test_importing_the_same_file_again_changes_nothing(roster, import_file, school, registrar):
    path = roster(pupil(1), pupil(2), pupil_without_id(3))
    import_file(path)
    before = snapshot()
    events = AuditEvent.objects.filter(action="students.roster.imported").count()
    plan = import_file(path)
    assert [row.action for row in plan.rows] == [UNCHANGED] * 3
    assert snapshot() == before
    assert AuditEvent.objects.filter(action="students.roster.imported").count() == events + 1


def test_a_matching_row_updates_non_key_fields_with_history(
    roster, import_file, school, school_class, registrar
):
    other_class = create_class(school_class.grade, by=None, name="2班")
    import_file(roster(pupil(1), pupil(2)))
    student = Student.objects.get(name=pupil(1)["姓名"])
    plan = import_file(
        roster(
            pupil(
                1,
                联系电话="13511112222",
                现住址="武汉市江岸区新村2号",
                班级="2班",
                监护人1联系电话="13622223333",
            ),
            pupil(2),
        )
    )
    assert [row.action for row in plan.rows] == [UPDATE, UNCHANGED]
    student.refresh_from_db()
    assert (student.phone, student.address, student.school_class) == (
        "13511112222",
        "武汉市江岸区新村2号",
        other_class,
    )
    latest = student.history.order_by("-history_id").first()
    assert latest.history_type == "~" and latest.phone == "13511112222"
    assert student.guardians.get().phone == "13622223333"
    assert Guardian.history.filter(student_id=student.pk, history_type="~").count() == 1
    assert Student.objects.count() == 2


def test_a_guardian_left_out_of_the_file_is_removed(roster, import_file):
    import_file(roster(pupil(1, 监护人2姓名="家长乙", 监护人2关系="母亲", 监护人2联系电话="13700137000")))
    student = Student.objects.get()
    plan = import_file(roster(pupil(1, 监护人2姓名="", 监护人2关系="", 监护人2联系电话="")))
    assert plan.rows[0].action == UPDATE
    assert [g.name for g in student.guardians.all()] == ["家长甲"]
    assert Guardian.history.filter(history_type="-").count() == 1


def test_a_different_key_field_points_to_the_correction_process(roster, import_file, school, registrar):
    import_file(roster(pupil(1)))
    plan = prepare(roster(pupil(1, 姓名="王小明", 民族="回族")), scope=school, by=registrar)
    message = only_problem(plan)
    assert "关键数据变更" in message
    assert "姓名" in message and "民族" in message
    assert plan.invalid_rows[0].problems[-1].keys == ("name", "ethnicity")


def test_a_locked_student_is_refused(roster, import_file, school, registrar):
    import_file(roster(pupil(1)), register=True)
    Student.objects.update(status=Status.GRADUATED)
    plan = prepare(roster(pupil(1, 联系电话="13511112222")), scope=school, by=registrar)
    assert "已毕业" in only_problem(plan) or "毕业" in only_problem(plan)


def test_a_graduating_record_is_frozen_after_the_freeze_date(roster, import_file, school, registrar):
    import_file(roster(pupil(1)), register=True)
    sixth = create_class(school.grades.get(level=6), by=None, name="1班")
    Student.objects.update(grade=sixth.grade, school_class=sixth)
    row = pupil(1, 联系电话="13511112222")
    with time_machine.travel(datetime(2026, 6, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))):
        plan = prepare(roster(row), scope=school, by=registrar)
    assert "毕业" in only_problem(plan) and "冻结" in only_problem(plan)
    with time_machine.travel(datetime(2026, 5, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))):
        plan = prepare(roster(row), scope=school, by=registrar)
    assert "冻结" not in str(problems(plan))


def test_a_registration_number_never_changes(roster, import_file, school, registrar):
    import_file(roster(pupil(1)), register=True)
    row = pupil(1)
    row["学籍号"] = "G" + resident_id(birth_for(1, day=2), 3)
    plan = prepare(roster(row), scope=school, by=registrar)
    assert "学籍号终身不变" in only_problem(plan)


# --- each kind of error ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "column", "expected"),
    [
        ({"民族": "火星族"}, "ethnicity", "不在代码表中"),
        ({"民族": "①"}, "ethnicity", "不在代码表中"),
        ({"出生日期": "2015-02-30"}, "birth_date", "不是日期"),
        ({"入学年月": "九月"}, "enrolled_on", "不是年月"),
        ({"年级": "大一"}, "grade", "不是年级"),
        ({"姓名": ""}, "name", "姓名"),
        ({"联系电话": ""}, "phone", ""),
        ({"监护人1联系电话": "12345"}, "guardian1_phone", ""),
        ({"身份证件号": "420102201503010011"}, "id_number", ""),
        ({"是否孤儿": "也许"}, "orphan", "是"),
    ],
)
def test_each_bad_value_is_reported_on_its_column(
    roster, school, school_class, registrar, overrides, column, expected
):
    plan = prepare(roster(pupil(1, **overrides)), scope=school, by=registrar)
    message = only_problem(plan)
    assert expected in message
    assert any(column in problem.keys for problem in plan.invalid_rows[0].problems)


def test_an_id_stored_as_a_number_is_explained(roster, school, school_class, registrar):
    row = pupil(1)
    plan = prepare(
        roster(row, cell_values={(0, "身份证件号"): int(row["身份证件号"][:17] + "0")}),
        scope=school,
        by=registrar,
    )
    message = only_problem(plan)
    assert "数字" in message and "文本" in message
    assert "至少一位家庭成员" not in message  # the student has an ID, only a damaged one


def test_an_id_in_scientific_notation_is_explained(roster, school, school_class, registrar):
    plan = prepare(roster(pupil(1, 身份证件号="4.20102E+17")), scope=school, by=registrar)
    assert "科学计数法" in only_problem(plan)


def test_sex_and_birth_date_must_agree_with_the_id(roster, school, school_class, registrar):
    plan = prepare(roster(pupil(1, 性别="女", 出生日期="2019-01-01")), scope=school, by=registrar)
    message = only_problem(plan)
    assert "性别" in message and "出生日期" in message


def test_empty_sex_and_birth_date_are_taken_from_a_valid_id(roster, school, school_class, registrar):
    plan = prepare(roster(pupil(1, 性别="", 出生日期="")), scope=school, by=registrar)
    assert plan.is_valid, problems(plan)
    assert plan.value(plan.rows[0], "gender") == "1"


def test_duplicates_inside_the_file(roster, school, school_class, registrar):
    twin = pupil_without_id(3)
    plan = prepare(roster(pupil(1), pupil(1), twin, dict(twin)), scope=school, by=registrar)
    found = problems(plan)
    assert set(found) == {2, 3, 4, 5}
    assert "第 2、3 行的身份证件号相同" in " ".join(found[2])
    assert "第 4、5 行姓名、性别、出生日期相同" in " ".join(found[5])


def test_a_student_of_another_school_is_refused_and_the_school_named(
    roster, school, other_school, school_class, registrar, county_reviewer
):
    other_class = create_class(other_school.grades.get(level=1), by=None, name="1班")
    plan = prepare(roster(pupil(1)), scope=other_school)
    commit(plan, by=None, register=True)
    assert Student.objects.get().school_class == other_class
    plan = prepare(roster(pupil(1)), scope=school, by=registrar)
    message = only_problem(plan)
    assert "夷陵区" in message  # the same province: the county is named, not the school
    assert other_school.name not in message
    plan = prepare(roster(pupil(1)), scope=school, by=None)
    assert other_school.name in only_problem(plan)


@pytest.mark.parametrize(
    "persona", ["registrar", "county_reviewer", "outsider_reviewer", "province_admin", None]
)
def test_the_import_says_what_a_registration_says_of_a_student_elsewhere(
    request, roster, school, other_school, school_class, persona
):
    """One message, as far as the reader may see, whichever path finds the other registration."""
    create_class(other_school.grades.get(level=1), by=None, name="1班")
    commit(prepare(roster(pupil(1)), scope=other_school), by=None, register=True)
    user = request.getfixturevalue(persona) if persona else None
    plan = prepare(roster(pupil(1)), scope=school, by=user)
    assert only_problem(plan) == duplicate_message(Student.objects.get(), user)


def test_students_elsewhere_cost_no_query_per_row(roster, school, other_school, school_class, registrar):
    school_class.capacity = 50
    school_class.save()
    create_class(other_school.grades.get(level=1), by=None, name="1班")
    commit(prepare(roster(*[pupil(n) for n in range(1, 41)]), scope=other_school), by=None, register=True)

    def queries(count):
        path = roster(*[pupil(n) for n in range(1, count + 1)])
        with CaptureQueriesContext(connection) as captured:
            plan = prepare(path, scope=school, by=registrar)
        assert len(problems(plan)) == count
        return len(captured)

    assert queries(4) == queries(40)


def test_a_grade_the_school_does_not_teach(roster, school, school_class, registrar):
    plan = prepare(roster(pupil(1, level=10, 年级="高一")), scope=school, by=registrar)
    assert "高一" in only_problem(plan)


def test_an_unknown_class_lists_the_classes_there_are(roster, school, school_class, registrar):
    plan = prepare(roster(pupil(1, 班级="9班")), scope=school, by=registrar)
    message = only_problem(plan)
    assert "9班" in message and "1班" in message


def test_class_names_match_loosely(roster, school, school_class, registrar):
    plan = prepare(roster(pupil(1, 班级="1"), pupil(3, 班级="（1）班")), scope=school, by=registrar)
    assert plan.is_valid, problems(plan)
    assert {row.school_class for row in plan.rows} == {school_class}


def test_a_full_class_counts_live_students_and_the_files_new_rows(
    roster, import_file, school, school_class, registrar
):
    school_class.capacity = 3
    school_class.save()
    import_file(roster(pupil(1), pupil(2)))
    plan = prepare(roster(pupil(1), pupil(3), pupil(4), pupil(5)), scope=school, by=registrar)
    found = problems(plan)
    assert list(found) == [4, 5]
    assert "班额 3 人，现有 2 人，本文件新增 3 人" in found[4][0]


def test_missing_required_columns_are_a_file_problem(roster, school, school_class, registrar):
    row = pupil(1)
    del row["民族"], row["监护人1姓名"]
    plan = prepare(roster(row), scope=school, by=registrar)
    assert plan.file_errors == ["第 1 行：表头缺少必填列 民族、监护人1姓名。"]
    assert plan.rows == []


def test_a_file_that_is_not_a_workbook(tmp_path, school, registrar):
    path = tmp_path / "roster.xlsx"
    path.write_text("姓名,性别\n")
    plan = prepare(path, scope=school, by=registrar)
    assert "Excel" in plan.file_errors[0]


def test_a_row_for_another_school_in_a_school_file(roster, school, school_class, registrar):
    plan = prepare(roster(pupil(1, school="1420102004")), scope=school, by=registrar)
    assert "不是本校的" in only_problem(plan)


def test_database_checks_take_a_handful_of_queries_whatever_the_size(roster, school, school_class, registrar):
    create_class(school_class.grade, by=None, name="2班")

    def queries(count):
        rows = [pupil(n, 班级=f"{n % 2 + 1}班") for n in range(1, count + 1)]
        path = roster(*rows)
        with CaptureQueriesContext(connection) as captured:
            plan = prepare(path, scope=school, by=registrar)
        assert plan.is_valid, problems(plan)
        return len(captured)

    assert queries(4) == queries(40) <= 10


# --- the error workbook ---------------------------------------------------------------------------


def test_the_counts_add_up_to_the_rows_of_the_file(roster, school, school_class, registrar):
    rows = [pupil(1), pupil(2), pupil(3), pupil(4), pupil(5, 民族="火星族")]
    plan = prepare(roster(*rows), scope=school, by=registrar)
    assert (plan.count(NEW), len(plan.invalid_rows), len(plan.rows)) == (4, 1, 5)


def test_the_error_workbook_holds_the_bad_rows_as_uploaded(roster, school, school_class, registrar, tmp_path):
    rows = [pupil(1), pupil(2, 民族="火星族", 性别="男"), pupil(3), pupil(4, 入学年月="九月")]
    path = roster(*rows, title_rows=["育才小学花名册"])
    plan = prepare(path, scope=school, by=registrar)
    out = write_error_workbook(plan, tmp_path / "errors.xlsx")
    sheet = openpyxl.load_workbook(out).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    # 行号 and 错误原因 first, next to each other and frozen in view.
    assert header[:2] == ["行号", "错误原因"]
    assert sheet.freeze_panes == "C2"
    lines = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [line[0] for line in lines] == [4, 6]
    assert lines[0][header.index("民族")] == "火星族"
    assert "代码表" in lines[0][1] and "性别" in lines[0][1]
    ethnicity_cell = sheet.cell(row=2, column=header.index("民族") + 1)
    name_cell = sheet.cell(row=2, column=header.index("姓名") + 1)
    assert ethnicity_cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert name_cell.fill.fgColor.rgb != ethnicity_cell.fill.fgColor.rgb


# --- the command ----------------------------------------------------------------------------------


def test_the_command_imports_and_registers(roster, school, school_class, capsys, county_reviewer):
    call_command("import_roster", *NATIONAL_LOAD, str(roster(pupil(1), pupil(2))), "--school", school.code)
    assert "新注册学生 2 人" in capsys.readouterr().out
    assert set(Student.objects.values_list("status", flat=True)) == {Status.ENROLLED}
    batch = ImportBatch.objects.get()
    assert (batch.node, batch.source, batch.state, batch.new_count, batch.created_by) == (
        school,
        ImportBatch.Source.COMMAND,
        ImportBatch.State.DONE,
        2,
        county_reviewer,
    )
    with batch.file.open("rb") as handle:
        assert handle.read(2) == b"PK"


def test_the_command_dry_run_writes_nothing(roster, school, school_class, capsys, county_reviewer):
    call_command("import_roster", *NATIONAL_LOAD, str(roster(pupil(1))), "--school", school.code, "--dry-run")
    assert "试运行" in capsys.readouterr().out
    assert not Student.objects.exists() and not ImportBatch.objects.exists()


def test_the_command_exits_1_with_a_summary_and_the_error_workbook(
    roster, school, school_class, tmp_path, capsys, county_reviewer
):
    errors = tmp_path / "errors.xlsx"
    with pytest.raises(CommandError) as error:
        call_command(
            "import_roster",
            *NATIONAL_LOAD,
            str(roster(pupil(1), pupil(2, 民族="火星族"))),
            "--school",
            school.code,
            "--errors",
            str(errors),
        )
    assert error.value.returncode == 1
    assert "第 3 行" in capsys.readouterr().err
    assert openpyxl.load_workbook(errors).worksheets[0].cell(row=2, column=1).value == 3
    assert not Student.objects.exists() and not ImportBatch.objects.exists()


def test_the_command_creates_classes_only_when_asked(roster, school, capsys, county_reviewer):
    path = roster(pupil(1, 班级="3班"), pupil(2, level=2, 年级="二年级", 班级="1班"))
    with pytest.raises(CommandError):
        call_command("import_roster", *NATIONAL_LOAD, str(path), "--school", school.code)
    call_command("import_roster", *NATIONAL_LOAD, str(path), "--school", school.code, "--create-classes")
    assert sorted(str(c) for c in SchoolClass.objects.filter(grade__school=school)) == [
        "一年级3班",
        "二年级1班",
    ]
    assert Student.objects.count() == 2


def test_the_command_still_refuses_grades_the_school_does_not_teach(roster, school, county_reviewer):
    with pytest.raises(CommandError):
        call_command(
            "import_roster",
            *NATIONAL_LOAD,
            str(roster(pupil(1, level=7, 年级="七年级"))),
            "--school",
            school.code,
            "--create-classes",
        )
    assert not SchoolClass.objects.exists()


def test_a_county_file_names_each_school(roster, tree, school, school_class, county_reviewer):
    middle = tree["1420102004"]
    create_class(middle.grades.get(level=7), by=None, name="1班")
    path = roster(pupil(1, school=school.code), pupil(2, level=7, 年级="初一", school=middle.code))
    call_command("import_roster", *NATIONAL_LOAD, str(path), "--school", "420102")
    assert sorted(Student.objects.values_list("school__code", flat=True)) == [school.code, middle.code]
    assert ImportBatch.objects.get().node == tree["420102"]


def test_a_county_file_refuses_rows_without_or_outside_its_schools(roster, tree, school, school_class):
    path = roster(pupil(1, school=""), pupil(2, school="1420506003"), pupil(3, school=school.code))
    scope = tree["420102"]
    plan = prepare(path, scope=scope)
    found = problems(plan)
    assert list(found) == [2, 3]
    assert "学校标识码" in found[2][0]
    assert "没有学校标识码为 1420506003 的学校" in found[3][0]


def test_a_county_file_needs_the_school_column(roster, tree, school_class):
    row = pupil(1)
    del row["学校标识码"]
    plan = prepare(roster(row), scope=tree["420102"])
    assert "学校标识码" in plan.file_errors[0]


def test_the_command_refuses_an_unknown_code(roster, db, county_reviewer):
    with pytest.raises(CommandError):
        call_command("import_roster", *NATIONAL_LOAD, str(roster(pupil(1))), "--school", "999999")


def test_large_files_are_checked_by_several_processes(
    transactional_db, roster, school, school_class, registrar, monkeypatch
):
    """The forked path gives the same rows, values and problems as the plain one.

    transactional_db: the parent closes its connection before forking, which it cannot do inside
    the transaction an ordinary test runs in (and then checks in one process).
    """
    from students.roster import validate

    school_class.capacity = 50
    school_class.save()
    rows = [pupil(n) for n in range(1, 31)] + [pupil(31, 民族="火星族")]
    path = roster(*rows)
    plain = prepare(path, scope=school, by=registrar, processes=2)
    assert validate.parallel_workers(read_roster(path), 2) == 0  # below PARALLEL_MIN_ROWS
    monkeypatch.setattr(validate, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(validate, "PARALLEL_CHUNK", 4)
    assert validate.parallel_workers(read_roster(path), 2) == 2
    forked = prepare(path, scope=school, by=registrar, processes=2)
    assert [(r.number, r.values, r.problems, r.action) for r in forked.rows] == [
        (r.number, r.values, r.problems, r.action) for r in plain.rows
    ]


def test_the_command_with_a_missing_file(db, school, capsys, county_reviewer):
    with pytest.raises(CommandError):
        call_command("import_roster", *NATIONAL_LOAD, "/nonexistent/roster.xlsx", "--school", school.code)
    assert "/nonexistent/roster.xlsx" in capsys.readouterr().err
    assert not ImportBatch.objects.exists()


# --- the command's stream: rows written while the rest are checked --------------------------------


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of two rows, so that a small file streams through several."""
    from students.roster import validate

    monkeypatch.setattr(validate, "PARALLEL_CHUNK", 2)


def stream_import(path, school):
    from students.roster.importer import import_file

    return import_file(path, scope=school, register=True)


def test_the_stream_writes_every_row_of_a_valid_file(roster, school, school_class, small_chunks):
    plan, batch = stream_import(roster(*[pupil(n) for n in range(1, 8)]), school)
    assert [row.number for row in plan.rows] == list(range(2, 9))
    assert Student.objects.filter(status=Status.ENROLLED).count() == 7
    assert StatusEvent.objects.count() == Student.history.count() == Guardian.objects.count() == 7
    assert (batch.state, batch.new_count) == (ImportBatch.State.DONE, 7)


def test_a_bad_row_late_in_the_stream_undoes_what_was_written(
    roster, school, school_class, registrar, small_chunks
):
    path = roster(*[pupil(n) for n in range(1, 7)], pupil(7, 民族="火星族"))
    before = snapshot()
    with pytest.raises(RosterInvalid) as raised:
        stream_import(path, school)
    assert snapshot() == before
    assert not ImportBatch.objects.exists()
    # The same problems as a check of the whole file reports.
    assert problems(raised.value.plan) == problems(prepare(path, scope=school))
    assert "火星族" in only_problem(raised.value.plan, 8)


def test_a_twin_late_in_the_stream_is_reported_not_matched(roster, school, school_class, small_chunks):
    """The second copy must not find the first, just written, as a student of the school."""
    path = roster(*[pupil(n) for n in range(1, 6)], pupil(1))
    with pytest.raises(RosterInvalid) as raised:
        stream_import(path, school)
    assert not Student.objects.exists()
    found = problems(raised.value.plan)
    assert sorted(found) == [2, 7]
    assert all("2、7" in " ".join(messages) for messages in found.values())


def test_a_full_class_is_found_at_the_end_of_the_stream(roster, school, school_class, small_chunks):
    school_class.capacity = 4
    school_class.save()
    with pytest.raises(RosterInvalid) as raised:
        stream_import(roster(*[pupil(n) for n in range(1, 7)]), school)
    assert not Student.objects.exists()
    assert sorted(problems(raised.value.plan)) == [6, 7]


def test_a_number_the_stream_gave_away_falls_back_to_the_whole_check(
    roster, school, school_class, small_chunks
):
    """Row 2 gets the first J number of its prefix; row 4 brings that very number in the file. The
    stream's insert fails, everything is undone and the file is written as a whole instead."""
    from students.numbers import j_number

    first = pupil_without_id(1)
    birth = birth_for(1, day=2)
    given = j_number("420102", birth, 1)
    rows = [first, pupil(2), pupil_without_id(3, 出生日期=birth.isoformat(), 学籍号=given)]
    rows[0]["出生日期"] = birth.isoformat()
    stream_import(roster(*rows), school)
    numbers = dict(Student.objects.values_list("name", "number"))
    assert numbers[rows[2]["姓名"]] == given
    assert numbers[rows[0]["姓名"]] not in (given, None)
    assert Student.objects.count() == 3


def test_the_stream_with_forked_processes(transactional_db, roster, school, school_class, monkeypatch):
    """The command's own path: two processes check, the parent writes as their chunks come in."""
    from students.roster import validate

    school_class.capacity = 50
    school_class.save()
    monkeypatch.setattr(validate, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(validate, "PARALLEL_CHUNK", 3)
    from students.roster.importer import import_file

    plan, _batch = import_file(roster(*[pupil(n) for n in range(1, 21)]), scope=school, processes=2)
    assert [row.number for row in plan.rows] == list(range(2, 22))
    assert Student.objects.filter(status=Status.ENROLLED).count() == 20

    bad = roster(*[pupil(n) for n in range(21, 40)], pupil(40, 民族="火星族"))
    with pytest.raises(RosterInvalid) as raised:
        import_file(bad, scope=school, processes=2)
    assert Student.objects.count() == 20
    assert list(problems(raised.value.plan)) == [21]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a reading connection of its own on PostgreSQL")
def test_the_streams_reads_go_through_a_connection_of_their_own(
    transactional_db, roster, school, school_class, small_chunks, monkeypatch
):
    """The command's path outside any transaction: the chunks' reads run in a thread with its own
    connection while the import's connection writes. It still finds the students already there
    (committed) and never takes a row of this file, written ahead but not committed, for one of them."""
    from students.roster import bulk

    school_class.capacity = 50
    school_class.save()
    stream_import(roster(pupil(1), pupil(2)), school)
    read_on = set()
    run = bulk.ReadingAside.run

    def spied(self, function, *args):
        if self.executor is not None:
            read_on.add(self.executor.submit(backend_pid).result())
        return run(self, function, *args)

    def backend_pid():
        connection.ensure_connection()
        return connection.connection.info.backend_pid

    monkeypatch.setattr(bulk.ReadingAside, "run", spied)
    changed = pupil(2, 现住址="武汉市江岸区胜利街2号")
    plan, _batch = stream_import(roster(pupil(1), changed, *[pupil(n) for n in range(3, 9)]), school)
    assert read_on and backend_pid() not in read_on
    assert [row.action for row in plan.rows] == [UNCHANGED, UPDATE, *[NEW] * 6]
    assert Student.objects.count() == 8
    assert Student.objects.get(name=changed["姓名"]).address == changed["现住址"]

    # A twin of a row written ahead (not committed, so unseen by the reading connection) is still
    # reported as the file's own repeat, and nothing is written.
    with pytest.raises(RosterInvalid) as raised:
        stream_import(roster(*[pupil(n) for n in range(9, 13)], pupil(9)), school)
    assert Student.objects.count() == 8
    assert sorted(problems(raised.value.plan)) == [2, 6]
