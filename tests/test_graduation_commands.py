"""The graduation commands: the template, the results import (exit 0 written, 1 refused, a second run
changes nothing) and the audit's counts."""

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from graduation.models import Result
from tests.graduation_helpers import senior_results, workbook_bytes

pytest_plugins = ["tests.graduation_fixtures"]


@pytest.fixture(autouse=True)
def _season(season):
    """In the graduation season."""


def test_the_template_of_a_province_and_stage(tree, tmp_path):
    path = tmp_path / "模板.xlsx"
    call_command("graduation_template", province="420000", stage="中职", output=str(path))
    header = [cell.value for cell in load_workbook(path).active[1]]
    assert header == ["学籍号", "姓名", "顶岗实习", "实习报告", "缴费"]
    with pytest.raises(CommandError):
        call_command("graduation_template", province="420000", stage="大学", output=str(path))


def test_the_import_writes_all_or_nothing_and_exits_1_when_refused(high_school, seniors, tmp_path, capsys):
    good = tmp_path / "good.xlsx"
    good.write_bytes(workbook_bytes(senior_results(seniors)))
    call_command(
        "import_graduation_results", str(good), school=high_school.code, stage="senior", dry_run=True
    )
    assert not Result.objects.exists()
    call_command("import_graduation_results", str(good), school=high_school.code, stage="高中")
    assert Result.objects.count() == 3
    history = Result.history.count()
    call_command("import_graduation_results", str(good), school=high_school.code, stage="高中")
    assert Result.history.count() == history
    rows = senior_results(seniors, credits=130)
    rows[3][1] = "别人"
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(workbook_bytes(rows))
    errors = tmp_path / "errors.xlsx"
    with pytest.raises(CommandError) as refused:
        call_command(
            "import_graduation_results", str(bad), school=high_school.code, stage="高中", errors=str(errors)
        )
    assert refused.value.returncode == 1
    assert set(Result.objects.values_list("credits", flat=True)) == {150}
    sheet = load_workbook(errors).active
    assert sheet.cell(row=2, column=1).value == 4
    assert "不一致" in sheet.cell(row=2, column=2).value


def test_the_audit_prints_the_counts_and_writes_the_workbook(high_school, loaded, tmp_path, capsys):
    path = tmp_path / "audit.xlsx"
    call_command("graduation_audit", school="420102", output=str(path))
    output = capsys.readouterr().out
    assert "可毕业: 2" in output and "不可毕业（结业）: 1" in output and "学分: 1" in output
    assert load_workbook(path).active.max_row == 4
