import openpyxl
import pytest
from django.core.management import CommandError, call_command

from registrar.models import AuditEvent, Grade, Organisation
from tests.conftest import TREE

HEADER = ["代码", "名称", "类型", "上级代码", "学段", "学制"]


def write_workbook(path, rows, *, header=HEADER, title_rows=()):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for title in title_rows:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def history_count():
    return Organisation.history.count() + Grade.history.count()


@pytest.fixture
def tree_file(tmp_path):
    return write_workbook(tmp_path / "tree.xlsx", TREE)


def test_it_loads_a_tree(db, tree_file):
    call_command("import_orgs", str(tree_file))
    school = Organisation.objects.get(code="1420102001")
    assert school.parent.code == "420102"
    assert school.path == "420000/420100/420102/1420102001/"
    assert school.stages == ["primary"]
    assert list(school.grades.values_list("level", flat=True)) == [1, 2, 3, 4, 5, 6]
    assert AuditEvent.objects.filter(action="registrar.orgs.imported").count() == 1


def test_loading_the_same_file_again_changes_nothing(db, tree_file):
    call_command("import_orgs", str(tree_file))
    before = (
        Organisation.objects.count(),
        Grade.objects.count(),
        history_count(),
        AuditEvent.objects.count(),
    )
    call_command("import_orgs", str(tree_file))
    after = (Organisation.objects.count(), Grade.objects.count(), history_count(), AuditEvent.objects.count())
    assert before == after


def test_it_updates_a_renamed_node_and_keeps_history(db, tmp_path, tree_file):
    call_command("import_orgs", str(tree_file))
    renamed = [(*row[:1], "育才实验小学", *row[2:]) if row[0] == "1420102001" else row for row in TREE]
    call_command("import_orgs", str(write_workbook(tmp_path / "renamed.xlsx", renamed)))
    school = Organisation.objects.get(code="1420102001")
    assert school.name == "育才实验小学"
    assert school.history.first().history_change_reason


def test_it_moves_a_subtree(db, tmp_path, tree_file):
    call_command("import_orgs", str(tree_file))
    moved = [(*row[:3], "420506", *row[4:]) if row[0] == "1420102001" else row for row in TREE]
    call_command("import_orgs", str(write_workbook(tmp_path / "moved.xlsx", moved)))
    assert Organisation.objects.get(code="1420102001").path == "420000/420500/420506/1420102001/"


def test_it_accepts_title_rows_numeric_codes_and_columns_in_any_order(db, tmp_path):
    header = ["学制", "类型", "名称", "代码", "上级代码", "学段"]
    rows = [
        ("", "省", "湖北省", 420000, None, ""),
        ("", "市", "武汉市", 420100, 420000, ""),
        ("", "区", "江岸区", 420102, 420100, ""),
        ("6-3", "学校", "实验学校", 1420102009, 420102, "小学、初中"),
    ]
    path = write_workbook(
        tmp_path / "titled.xlsx", rows, header=header, title_rows=["江岸区学校名单", "2026年"]
    )
    call_command("import_orgs", str(path))
    school = Organisation.objects.get(code="1420102009")
    assert school.stages == ["primary", "junior"]
    assert school.grade_levels() == list(range(1, 10))


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (("1420102099", "孤校", "学校", "429999", "小学", "6-3-3"), "第 10 行：上级代码 429999 不存在"),
        (
            ("1420102001", "重复", "学校", "420102", "小学", "6-3-3"),
            "第 10 行：代码 1420102001 已在第 5 行出现",
        ),
        (("1420102098", "某校", "大学", "420102", "小学", "6-3-3"), "第 10 行：类型“大学”无法识别"),
        (("1420102097", "某校", "学校", "420102", "大学", "6-3-3"), "第 10 行：学段“大学”无法识别"),
        (("1420102096", "某校", "学校", "420000", "小学", "6-3-3"), "第 10 行：学校不能隶属于省"),
        (("42010", "某区", "区", "420100", "", ""), "第 10 行：县（区）的代码 42010 应为 6 位数字"),
    ],
)
def test_a_bad_row_refuses_the_whole_file(db, tmp_path, bad_row, message):
    path = write_workbook(tmp_path / "bad.xlsx", [*TREE, bad_row])
    with pytest.raises(CommandError) as excinfo:
        call_command("import_orgs", str(path))
    assert "没有写入任何数据" in str(excinfo.value)
    assert Organisation.objects.count() == 0
    assert Grade.objects.count() == 0


def test_it_reports_every_bad_row_with_its_number(db, tmp_path, capsys):
    rows = [*TREE, ("1420102099", "孤校", "学校", "429999", "小学", ""), ("9", "", "学校", "420102", "", "")]
    with pytest.raises(CommandError):
        call_command("import_orgs", str(write_workbook(tmp_path / "bad.xlsx", rows)))
    errors = capsys.readouterr().err
    assert "第 10 行" in errors
    assert "第 11 行" in errors


def test_it_refuses_a_file_that_is_not_a_workbook(db, tmp_path):
    path = tmp_path / "tree.xlsx"
    path.write_text("代码,名称\n")
    with pytest.raises(CommandError):
        call_command("import_orgs", str(path))
    assert Organisation.objects.count() == 0


def test_it_refuses_a_missing_header(db, tmp_path):
    path = write_workbook(tmp_path / "noheader.xlsx", TREE, header=["a", "b", "c", "d", "e", "f"])
    with pytest.raises(CommandError):
        call_command("import_orgs", str(path))
