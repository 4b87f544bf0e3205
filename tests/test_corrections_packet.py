"""The submission packet: a zip of the summary workbook (新生 / 在籍生 / 毕业生, sorted by 学籍号) and one
folder of evidence images per student named 学籍号姓名; only requests in scope; the download logged."""

import io
import zipfile
from datetime import date

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from openpyxl import load_workbook
from PIL import Image

from corrections import packet, services
from corrections.models import Correction, Group
from corrections.rules import EvidenceKind
from registrar.models import AuditEvent
from tests.correction_helpers import (
    INPUT,
    LIFE,
    NOW,
    attach,
    class_of_level,
    enrol,
    ethnicity_change,
    scan,
    scan_bytes,
    submitted_correction,
)
from tests.rules_helpers import set_rule

URL = reverse("corrections:packet")


@pytest.fixture(autouse=True)
def _fixed_day():
    with time_machine.travel(NOW):
        yield


@pytest.fixture
def corrections(registrar, school, school_class):
    """Three students: two new first-graders (sequence 5 and 1, so numbers sort against the order
    of making) and a third-grader enrolled two years ago."""
    late = enrol(registrar, school_class, name="赵小五", sequence=5)
    early = enrol(registrar, school_class, name="钱小一", sequence=1)
    older = enrol(
        registrar, class_of_level(school, 3), name="孙小三", sequence=3, enrolled_on=date(2023, 9, 1)
    )

    name = services.create_correction(late, by=registrar, changes={"name": ("赵晓五", LIFE)})
    attach(name, registrar, EvidenceKind.ID_CARD, EvidenceKind.HOUSEHOLD, EvidenceKind.HOUSEHOLD)
    services.add_evidence(
        name, by=registrar, kind=EvidenceKind.ID_CARD, uploaded_file=scan("反面.jpg", scan_bytes(fmt="PNG"))
    )
    two_fields = services.create_correction(
        early, by=registrar, changes={"name": ("钱晓一", INPUT), "ethnicity": ("03", INPUT)}
    )
    attach(two_fields, registrar, EvidenceKind.ID_CARD, EvidenceKind.REGISTRATION_FORM)
    in_school = submitted_correction(registrar, older)
    return {"late": name, "early": two_fields, "older": in_school}


def post(client, *corrections):
    return client.post(URL, {"selected": [str(correction.pk) for correction in corrections]})


def open_packet(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_packet_holds_the_workbook_and_a_folder_per_student(client_for, registrar, corrections):
    late, early, older = (corrections[key].student for key in ("late", "early", "older"))
    assert early.number < late.number

    response = post(client_for(registrar), *corrections.values())

    assert "attachment" in response["Content-Disposition"]
    assert (
        "%E5%85%B3%E9%94%AE%E6%95%B0%E6%8D%AE%E5%8F%98%E6%9B%B4%E6%9D%90%E6%96%99-20251020.zip"
        in (response["Content-Disposition"])
    )
    archive = open_packet(response)
    assert sorted(archive.namelist()) == sorted(
        [
            "关键数据变更汇总表.xlsx",
            f"{late.number}赵小五/身份证.jpg",
            f"{late.number}赵小五/户口本.jpg",
            f"{late.number}赵小五/户口本-2.jpg",
            f"{late.number}赵小五/身份证-2.png",
            f"{early.number}钱小一/身份证.jpg",
            f"{early.number}钱小一/报名登记表.jpg",
            f"{older.number}孙小三/身份证.jpg",
        ]
    )
    with archive.open(f"{late.number}赵小五/身份证-2.png") as image:
        assert Image.open(image).format == "PNG"


def test_the_workbook_has_three_sheets_sorted_by_number(client_for, registrar, corrections):
    late, early, older = (corrections[key].student for key in ("late", "early", "older"))
    archive = open_packet(post(client_for(registrar), *corrections.values()))

    workbook = load_workbook(io.BytesIO(archive.read("关键数据变更汇总表.xlsx")))

    assert workbook.sheetnames == ["新生", "在籍生", "毕业生"]
    header = ("学籍号", "姓名", "更正内容", "原信息", "更正后信息", "更正原因")
    rows = {name: list(workbook[name].iter_rows(values_only=True)) for name in workbook.sheetnames}
    assert rows["新生"] == [
        header,
        (early.number, "钱小一", "姓名", "钱小一", "钱晓一", "录入错误"),
        (early.number, "钱小一", "民族", "汉族", "回族", "录入错误"),
        (late.number, "赵小五", "姓名", "赵小五", "赵晓五", "信息变更"),
    ]
    assert rows["在籍生"] == [header, (older.number, "孙小三", "民族", "汉族", "回族", "信息变更")]
    assert rows["毕业生"] == [header]


def test_the_packet_is_chinese_whatever_the_language(client_for, registrar, corrections):
    client = client_for(registrar)
    client.cookies["django_language"] = "en"
    archive = open_packet(post(client, corrections["older"]))
    workbook = load_workbook(io.BytesIO(archive.read("关键数据变更汇总表.xlsx")))
    assert list(workbook["在籍生"].iter_rows(values_only=True))[1][2:] == ("民族", "汉族", "回族", "信息变更")


def test_the_download_is_logged(client_for, registrar, corrections):
    post(client_for(registrar), corrections["late"], corrections["older"])

    event = AuditEvent.objects.get(action="corrections.packet.downloaded")
    assert (event.actor, event.node) == (registrar, registrar.node)
    assert event.data == {
        "corrections": sorted([corrections["late"].pk, corrections["older"].pk]),
        "students": 2,
        "images": 5,
    }


def test_only_requests_in_scope_go_into_the_packet(
    client_for, registrar, outsider, county_reviewer, corrections
):
    response = post(client_for(outsider), *corrections.values())
    assert response.status_code == 302
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "请先勾选要放入材料包的申请。"
    ]
    assert not AuditEvent.objects.filter(action="corrections.packet.downloaded").exists()

    # The county sees the schools below it.
    archive = open_packet(post(client_for(county_reviewer), corrections["older"]))
    assert len(archive.namelist()) == 2


def test_a_mixed_selection_keeps_only_what_the_user_sees(registrar, outsider, other_school, corrections):
    theirs = enrol(outsider, class_of_level(other_school, 1), name="外校生", sequence=9)
    their_request = ethnicity_change(outsider, theirs)
    chosen = packet.packet_corrections(registrar, [corrections["older"].pk, their_request.pk])
    assert list(chosen) == [Correction.objects.get(pk=corrections["older"].pk)]


def test_nothing_ticked_downloads_nothing(client_for, registrar, corrections):
    response = client_for(registrar).post(URL, {"selected": ["x"], "query": "state=draft"})
    assert response["Location"] == reverse("corrections:list") + "?state=draft"


def test_a_class_teacher_gets_no_packet(client_for, class_teacher, corrections):
    assert post(client_for(class_teacher), corrections["older"]).status_code == 403


def test_formula_like_text_stays_text(client_for, registrar, school_class, tree):
    # Names cannot hold a formula; an address can, once the province makes it a key field.
    set_rule(tree["420000"], "corrections", "added_fields", "address")
    student = enrol(registrar, school_class, name="李四", sequence=7)
    changes = {"address": ("=HYPERLINK(A)", LIFE)}
    correction = services.create_correction(student, by=registrar, changes=changes)
    archive = open_packet(post(client_for(registrar), correction))
    cell = load_workbook(io.BytesIO(archive.read("关键数据变更汇总表.xlsx")))["新生"]["E2"]
    assert (cell.value, cell.data_type) == ("=HYPERLINK(A)", "s")


def test_the_groups_follow_the_student_at_submission(registrar, corrections):
    assert {key: corrections[key].group for key in corrections} == {
        "late": Group.NEW,
        "early": Group.NEW,
        "older": Group.ENROLLED,
    }
