"""Exporting the roster: the command, the round trip through the import, county-wide, the formula guard."""

import zipfile
from io import BytesIO
from urllib.parse import quote

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse

from registrar.models import AuditEvent
from registrar.services import create_class
from students.models import Guardian, StatusEvent, Student
from students.privacy import mask_id
from students.roster.template import COLUMNS
from tests.roster_helpers import NATIONAL_LOAD, birth_for, pupil, resident_id, write_file

# The template's columns, then 学籍状态 (which the import leaves aside as an unknown column).
HEADERS = [*[column.header for column in COLUMNS], "学籍状态"]
COMPARED = [
    field.attname
    for field in Student._meta.concrete_fields
    if field.attname not in ("id", "created_at", "updated_at", "registration_id")
]


@pytest.fixture
def classes(school, school_class):
    return {
        "一年级2班": create_class(school_class.grade, by=None, name="2班"),
        "二年级1班": create_class(school.grades.get(level=2), by=None, name="1班"),
    }


def varied_rows(school):
    """Rows using every column: optional fields, flags, a second guardian, a student without an ID."""
    return [
        pupil(
            1,
            school=school.code,
            姓名拼音="WANG Wei",
            曾用名="王小伟",
            通信地址="武汉市江岸区邮政信箱 12 号",
            家庭地址="武汉市江岸区胜利街 3 号",
            邮政编码="430010",
            班内学号="01",
            学籍辅号="A0001",
            是否独生子女="是",
            是否留守儿童="否",
            是否进城务工人员随迁子女="是",
            是否孤儿="否",
            是否烈士或优抚子女="否",
            残疾类型="无残疾",
            监护人1身份证件类型="居民身份证",
            监护人1身份证件号=resident_id(birth_for(1).replace(year=1988), 13),
            监护人2姓名="家长乙",
            监护人2关系="母亲",
            监护人2联系电话="027-85551234",
        ),
        pupil(2, 班级="2班", 姓名="阿卜杜拉·买买提", 民族="维吾尔族", 健康状况="一般或较弱", 就读方式="住校"),
        pupil(
            3,
            level=2,
            年级="二年级",
            身份证件类型="其他",
            身份证件号="",
            监护人1身份证件类型="居民身份证",
            监护人1身份证件号=resident_id(birth_for(2).replace(year=1986), 21),
        ),
    ]


def students_as_data():
    rows = []
    for student in Student.objects.order_by("name"):
        values = {name: getattr(student, name) for name in COMPARED}
        values["school_id"] = student.school.code
        values["grade_id"] = student.grade.level
        values["school_class_id"] = student.school_class.name
        guardians = [
            (g.order, g.name, g.relation, g.phone, g.id_type, g.id_number, g.is_guardian)
            for g in student.guardians.order_by("order")
        ]
        rows.append((values, guardians))
    return rows


def empty_the_database():
    StatusEvent.objects.all().delete()
    Guardian.objects.all().delete()
    Student.objects.all().delete()


def test_export_then_import_into_an_empty_database_reproduces_the_roster(
    tmp_path, school, classes, county_reviewer
):
    source = write_file(tmp_path / "in.xlsx", varied_rows(school))
    call_command("import_roster", *NATIONAL_LOAD, str(source), "--school", school.code)
    before = students_as_data()
    assert len(before) == 3

    exported = tmp_path / "out.xlsx"
    call_command("export_roster", "--school", school.code, "-o", str(exported))
    sheet = openpyxl.load_workbook(exported).worksheets[0]
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert all(row[HEADERS.index("学籍号")] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)} == {school.code}

    empty_the_database()
    call_command("import_roster", *NATIONAL_LOAD, str(exported), "--school", school.code)
    assert students_as_data() == before


def test_county_wide_export_and_filters(tmp_path, tree, school, classes, county_reviewer):
    middle = tree["1420102004"]
    create_class(middle.grades.get(level=7), by=None, name="1班")
    rows = [{**row, "学校标识码": school.code} for row in varied_rows(school)]
    rows.append(pupil(4, level=7, 年级="初一", school=middle.code))
    call_command(
        "import_roster", *NATIONAL_LOAD, str(write_file(tmp_path / "county.xlsx", rows)), "--school", "420102"
    )

    def exported(*options):
        out = tmp_path / "out.xlsx"
        call_command("export_roster", *options, "-o", str(out))
        sheet = openpyxl.load_workbook(out).worksheets[0]
        return sorted((row[0], row[2]) for row in sheet.iter_rows(min_row=2, values_only=True))

    everyone = exported("--school", "420102")
    assert [code for code, _name in everyone] == sorted([school.code] * 3 + [middle.code])
    assert exported("--school", "420102", "--grade", "初一") == [(middle.code, pupil(4)["姓名"])]
    assert exported("--school", school.code, "--grade", "1", "--class", "2") == [
        (school.code, "阿卜杜拉·买买提")
    ]
    assert exported("--school", "420506") == []
    event = AuditEvent.objects.filter(action="students.roster.exported").first()
    assert event.data["rows"] == 0


def test_formula_like_text_is_written_as_text(tmp_path, school, school_class, county_reviewer):
    row = pupil(1, 现住址='=HYPERLINK("http://x","点我")', 籍贯="+湖北", 出生地="-武汉", 户口所在地="@江岸")
    call_command(
        "import_roster", *NATIONAL_LOAD, str(write_file(tmp_path / "in.xlsx", [row])), "--school", school.code
    )
    out = tmp_path / "out.xlsx"
    call_command("export_roster", "--school", school.code, "-o", str(out))
    with zipfile.ZipFile(out) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    sheet = openpyxl.load_workbook(out).worksheets[0]
    values = dict(zip(HEADERS, list(sheet[2]), strict=True))
    for header, text in (
        ("现住址", row["现住址"]),
        ("籍贯", "+湖北"),
        ("出生地", "-武汉"),
        ("户口所在地", "@江岸"),
    ):
        assert values[header].value == text
        assert values[header].data_type == "s"
        assert values[header].quotePrefix


# --- the export view ------------------------------------------------------------------------------


@pytest.fixture
def imported(tmp_path, school, classes, county_reviewer):
    call_command(
        "import_roster",
        *NATIONAL_LOAD,
        str(write_file(tmp_path / "in.xlsx", varied_rows(school))),
        "--school",
        school.code,
    )


def download(response):
    return openpyxl.load_workbook(BytesIO(b"".join(response.streaming_content))).worksheets[0]


def test_the_export_view_takes_the_roster_filters_and_logs(client_for, registrar, imported, school):
    response = client_for(registrar).get(reverse("students:roster_export"), {"grade": "1"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].startswith("attachment")
    sheet = download(response)
    names = sorted(row[2] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert len(names) == 2
    event = AuditEvent.objects.get(action="students.roster.exported")
    assert (event.actor, event.data["rows"], event.node) == (registrar, 2, school)
    assert "年级" in event.data["filter"]


def test_the_file_says_its_status_keeps_its_header_in_view_and_is_named_for_what_it_holds(
    client_for, registrar, imported, school
):
    response = client_for(registrar).get(reverse("students:roster_export"), {"status": "enrolled"})
    sheet = openpyxl.load_workbook(BytesIO(b"".join(response.streaming_content))).worksheets[0]
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert {row[HEADERS.index("学籍状态")] for row in rows} == {"在校"}
    disposition = response["Content-Disposition"]
    assert "attachment" in disposition and quote("花名册-育才小学-在校-") in disposition


@pytest.mark.parametrize(("persona", "masked"), [("registrar", False), ("principal", True)])
def test_whole_id_numbers_only_for_the_roles_that_need_them(
    client_for, imported, persona, masked, registrar, principal
):
    user = {"registrar": registrar, "principal": principal}[persona]
    sheet = download(client_for(user).get(reverse("students:roster_export")))
    student = Student.objects.exclude(id_number="").first()
    values = [str(value) for row in sheet.iter_rows(min_row=2, values_only=True) for value in row if value]
    assert (student.id_number in " ".join(values)) is not masked
    assert (mask_id(student.id_number) in values) is masked
    event = AuditEvent.objects.get(action="students.roster.exported")
    assert event.data["masked"] is masked


def test_a_class_teacher_exports_their_class_masked(client_for, class_teacher, imported, school):
    from registrar.models import SchoolClass

    class_teacher.classes.set([SchoolClass.objects.filter(grade__school=school).first()])
    sheet = download(client_for(class_teacher).get(reverse("students:roster_export")))
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows
    for row in rows:
        assert "*" in row[HEADERS.index("身份证件号")]


def test_the_export_view_shows_only_what_the_user_may_see(client_for, outsider, imported):
    sheet = download(client_for(outsider).get(reverse("students:roster_export")))
    assert list(sheet.iter_rows(min_row=2, values_only=True)) == []
    assert AuditEvent.objects.get(action="students.roster.exported").data["rows"] == 0


def test_a_county_reviewer_exports_the_county(client_for, county_reviewer, imported):
    sheet = download(client_for(county_reviewer).get(reverse("students:roster_export")))
    assert len(list(sheet.iter_rows(min_row=2, values_only=True))) == 3


def test_the_export_view_requires_login(client, db):
    url = reverse("students:roster_export")
    assert client.get(url)["Location"].startswith(reverse("login"))


def test_the_error_workbook_keeps_formula_like_text_as_text(tmp_path, school, school_class):
    from students.roster.error_workbook import write_error_workbook
    from students.roster.importer import prepare

    row = pupil(1, 现住址="=1+1", 民族="火星族")
    plan = prepare(write_file(tmp_path / "in.xlsx", [row]), scope=school)
    out = write_error_workbook(plan, tmp_path / "errors.xlsx")
    with zipfile.ZipFile(out) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()
    sheet = openpyxl.load_workbook(out).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("现住址") + 1)
    assert (cell.value, cell.data_type) == ("=1+1", "s")


@pytest.mark.parametrize("persona", ["county_reviewer", "registrar"])
def test_a_school_filter_outside_the_users_node_exports_nothing(
    client_for, request, imported, other_school, persona
):
    client = client_for(request.getfixturevalue(persona))

    response = client.get(reverse("students:roster_export"), {"school": other_school.code}, follow=True)

    assert response.redirect_chain[0][0].startswith(reverse("students:roster"))
    assert response["Content-Type"].startswith("text/html")
    [message] = [str(message) for message in response.context["messages"]]
    assert message.startswith("未导出花名册：学校：")
    assert not AuditEvent.objects.filter(action="students.roster.exported").exists()


def test_a_class_of_another_school_exports_nothing(client_for, registrar, imported, other_school):
    foreign = create_class(other_school.grades.get(level=1), by=None, name="1班")

    response = client_for(registrar).get(reverse("students:roster_export"), {"school_class": foreign.pk})

    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="students.roster.exported").exists()


def test_a_file_keeps_the_national_labels_when_the_page_is_in_english(client_for, registrar, imported):
    """Files are exchanged with the national system: their code labels stay the standard's Chinese ones."""
    client = client_for(registrar)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    sheet = download(client.get(reverse("students:roster_export"), {"status": "enrolled"}))
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert {row[HEADERS.index("性别")] for row in rows} <= {"男", "女"}
    assert {row[HEADERS.index("学籍状态")] for row in rows} == {"在校"}


def test_the_sheet_writer_keeps_any_text_as_it_was(tmp_path):
    """Rows of plain text are joined whole, the others cell by cell: both read back as written."""
    from students.roster.exporter import FORMULA_STARTS
    from students.roster.xlsx_stream import StreamingSheet

    rows = [
        ["王小明", "", "2015-09-01", "在校"],
        ["A & B", "<b>", "x > y", ""],
        [" 前有空格", "后有空格 ", "=1+1", "-武汉"],
        ["@江岸", "控\x07制", "a\tb", "ok"],
        ["", "", "", ""],
        ["12", 3, 4.5, None],
    ]
    out = tmp_path / "sheet.xlsx"
    columns = [(f"列{n}", 10, False) for n in range(4)]
    with StreamingSheet(
        out, name="表", columns=columns, fill="DDE6F3", formula_starts=FORMULA_STARTS
    ) as sheet:
        for row in rows:
            sheet.append(row)
    with zipfile.ZipFile(out) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "\x07" not in xml
    read = list(openpyxl.load_workbook(out).worksheets[0].iter_rows(min_row=2, values_only=True))
    expected = [[value if value != "" else None for value in row] for row in rows]
    expected[3][1] = "控制"
    assert [list(row) for row in read] == expected
    quoted = openpyxl.load_workbook(out).worksheets[0]
    assert quoted["C4"].quotePrefix and quoted["D4"].quotePrefix and quoted["A5"].quotePrefix
    assert not quoted["A2"].quotePrefix


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_students_are_read_in_a_second_thread(
    tmp_path, school, classes, county_reviewer, monkeypatch
):
    """The command's and the job's case (tests otherwise run in a transaction, read in one thread);
    an in-memory SQLite database cannot be shared with a second connection."""
    import threading

    from django.db import connection

    from students.roster import exporter

    source = write_file(tmp_path / "in.xlsx", varied_rows(school))
    call_command("import_roster", *NATIONAL_LOAD, str(source), "--school", school.code)
    readers = []
    original = exporter._read_chunks

    def recorded(plan, students):
        readers.append(threading.current_thread())
        yield from original(plan, students)

    monkeypatch.setattr(exporter, "_read_chunks", recorded)
    out = tmp_path / "out.xlsx"
    assert exporter.write_roster(Student.objects.all(), out) == 3
    assert len(list(openpyxl.load_workbook(out).worksheets[0].iter_rows(min_row=2))) == 3
    shared = connection.vendor != "sqlite" or not connection.is_in_memory_db()
    assert (readers[0] is not threading.main_thread()) is shared

    def broken(plan, students):
        raise RuntimeError("the database went away")
        yield

    monkeypatch.setattr(exporter, "_read_chunks", broken)
    with pytest.raises(RuntimeError, match="went away"):
        exporter.write_roster(Student.objects.all(), tmp_path / "broken.xlsx")
