"""Evidence of key-data corrections: what each change needs (domain §7) and the image checks of the
upload path (registrar.uploads through corrections.services.add_evidence and the request page)."""

import io
import struct
import zlib

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from corrections import rules, services
from corrections.models import Evidence
from corrections.rules import EvidenceKind, Reason
from registrar.errors import DomainError
from registrar.models import AuditEvent
from rules.reading import Rules
from tests.correction_helpers import (
    INPUT,
    LIFE,
    NOW,
    attach,
    enrol,
    ethnicity_change,
    scan,
    scan_bytes,
    submitted_correction,
)

ID_CARD, HOUSEHOLD, POLICE = EvidenceKind.ID_CARD, EvidenceKind.HOUSEHOLD, EvidenceKind.POLICE
FORM, GRADUATE = EvidenceKind.REGISTRATION_FORM, EvidenceKind.GRADUATE_FORM
# K-12: the household register page serves wherever the ID card is asked for.
IDENTITY = (ID_CARD, EvidenceKind.HOUSEHOLD_PAGE)


def required(changes, data=None, **options):
    """The evidence under the national defaults, or with a province's rows `data` over them."""
    return rules.required_evidence(changes, Rules(data or {}), **options)


def kinds(requirements):
    return [requirement.kinds for requirement in requirements]


# --- the rules (domain §7) -------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["name", "gender", "birth_date", "id_type", "id_number", "ethnicity"])
def test_an_input_error_needs_the_id_card_and_the_registration_form(field):
    assert kinds(required([(field, Reason.INPUT_ERROR)])) == [IDENTITY, (FORM,)]


@pytest.mark.parametrize("field", ["gender", "ethnicity", "id_type"])
def test_sex_or_ethnic_group_changed_in_life_needs_the_id_card(field):
    assert kinds(required([(field, Reason.LIFE_CHANGE)])) == [IDENTITY]


def test_a_name_changed_in_life_needs_the_household_page_or_a_police_certificate():
    assert kinds(required([("name", Reason.LIFE_CHANGE)])) == [IDENTITY, (HOUSEHOLD, POLICE)]


@pytest.mark.parametrize("field", ["id_number", "birth_date"])
def test_an_id_number_or_birth_date_changed_in_life_needs_the_police_letter(field):
    assert kinds(required([(field, Reason.LIFE_CHANGE)])) == [IDENTITY, (POLICE,)]


def test_a_graduate_also_needs_the_graduate_form():
    requirements = required([("ethnicity", Reason.LIFE_CHANGE)], graduate=True)
    assert kinds(requirements) == [IDENTITY, (GRADUATE,)]


def test_each_item_is_asked_for_once():
    changes = [
        ("id_number", Reason.LIFE_CHANGE),
        ("birth_date", Reason.LIFE_CHANGE),
        ("gender", Reason.INPUT_ERROR),
    ]
    assert kinds(required(changes)) == [IDENTITY, (POLICE,), (FORM,)]


def test_an_alternative_is_met_by_either_kind():
    (identity, former_name) = required([("name", Reason.LIFE_CHANGE)])
    assert former_name.met_by({POLICE}) and former_name.met_by({HOUSEHOLD})
    assert not former_name.met_by({ID_CARD})
    assert rules.missing_evidence([identity, former_name], [ID_CARD]) == [former_name]
    assert former_name.label == "户口本曾用名页 或 公安机关出具的变更、更正证明"


def test_a_province_may_set_its_own_evidence():
    data = {"correction_evidence": {"life_change:ethnicity": "id_card; household"}}
    assert kinds(required([("ethnicity", Reason.LIFE_CHANGE)], data)) == [(ID_CARD,), (HOUSEHOLD,)]
    # The other rules stay.
    assert kinds(required([("gender", Reason.LIFE_CHANGE)], data)) == [IDENTITY]


# --- the rules in the service ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fixed_day():
    with time_machine.travel(NOW):
        yield


@pytest.fixture
def student(registrar, school_class):
    return enrol(registrar, school_class)


@pytest.fixture
def draft(registrar, student):
    return ethnicity_change(registrar, student)


@pytest.mark.parametrize(
    ("changes", "needed"),
    [
        ({"ethnicity": ("03", INPUT)}, [ID_CARD, FORM]),
        ({"ethnicity": ("03", LIFE)}, [ID_CARD]),
        ({"name": ("张晓明", LIFE)}, [ID_CARD, HOUSEHOLD]),
        ({"name": ("张晓明", LIFE)}, [ID_CARD, POLICE]),
        ({"name": ("张晓明", INPUT)}, [ID_CARD, FORM]),
    ],
)
def test_submission_waits_for_every_required_item(registrar, student, changes, needed):
    correction = services.create_correction(student, by=registrar, changes=changes)
    for index, kind in enumerate(needed):
        assert services.submit_problems(correction), f"submittable before {kind} was attached"
        attach(correction, registrar, kind)
        if index < len(needed) - 1:
            assert "请补齐尚缺的证明材料" in services.submit_problems(correction)[-1]
    assert services.submit_problems(correction) == []


def test_an_unneeded_kind_does_not_stand_for_a_needed_one(registrar, student):
    correction = services.create_correction(student, by=registrar, changes={"name": ("张晓明", LIFE)})
    attach(correction, registrar, ID_CARD, EvidenceKind.OTHER, FORM)
    assert services.submit_problems(correction) == [
        "请补齐尚缺的证明材料：户口本曾用名页 或 公安机关出具的变更、更正证明。"
    ]


# --- the image checks, through the corrections upload path ----------------------------------------------


def png_declaring(width, height):
    """A valid PNG header claiming a size its few bytes of data cannot fill: a decompression bomb."""

    def chunk(kind, payload):
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def refused_upload(draft, registrar, upload, kind=ID_CARD):
    with pytest.raises(DomainError) as error:
        services.add_evidence(draft, by=registrar, kind=kind, uploaded_file=upload)
    assert not Evidence.objects.exists()
    return error.value.message


def test_a_truncated_image_is_refused(draft, registrar):
    data = scan_bytes()
    assert (
        refused_upload(draft, registrar, scan("身份证.jpg", data[: len(data) // 2])) == "图片不完整或已损坏"
    )


def test_a_decompression_bomb_is_refused(draft, registrar):
    message = refused_upload(draft, registrar, scan("身份证.png", png_declaring(10_000, 10_000)))
    assert message == "图片尺寸过大，疑似压缩炸弹"


def test_a_png_named_jpg_is_judged_by_content(client_for, draft, registrar):
    evidence = services.add_evidence(
        draft, by=registrar, kind=ID_CARD, uploaded_file=scan("身份证.jpg", scan_bytes(fmt="PNG"))
    )

    assert (evidence.content_type, evidence.extension, evidence.download_name) == (
        "image/png",
        "png",
        "身份证.png",
    )
    assert evidence.notices == ("文件名为 身份证.jpg，但内容是 PNG 文件，已按 PNG 保存",)
    response = client_for(registrar).get(reverse("corrections:evidence_file", args=[draft.pk, evidence.pk]))
    assert response["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).format == "PNG"


def test_gps_and_other_metadata_are_removed_on_save(draft, registrar):
    exif = Image.Exif()
    exif[0x010F] = "PhoneMakerCo"
    exif[0x8825] = {1: "N", 2: (30.0, 35.0, 12.0), 3: "E", 4: (114.0, 17.0, 6.0)}
    data = scan_bytes(exif=exif, comment=b"secret-comment")
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)[1] == "N"

    evidence = services.add_evidence(
        draft, by=registrar, kind=ID_CARD, uploaded_file=scan("身份证.jpg", data)
    )

    with default_storage.open(evidence.file.name, "rb") as handle:
        stored = handle.read()
    image = Image.open(io.BytesIO(stored))
    assert dict(image.getexif()) == {} and image.getexif().get_ifd(0x8825) == {}
    for trace in (b"Exif", b"PhoneMakerCo", b"secret-comment"):
        assert trace not in stored


def test_the_orientation_is_applied(draft, registrar):
    exif = Image.Exif()
    exif[0x0112] = 6
    evidence = services.add_evidence(
        draft, by=registrar, kind=ID_CARD, uploaded_file=scan("身份证.jpg", scan_bytes((400, 300), exif=exif))
    )
    assert (evidence.width, evidence.height) == (300, 400)


def test_an_image_under_200_by_200_is_refused(draft, registrar):
    message = refused_upload(draft, registrar, scan("身份证.jpg", scan_bytes((199, 400))))
    assert message == "图片至少需要 200×200 像素，当前为 199×400"


def test_a_pdf_is_not_an_image(draft, registrar):
    pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    assert refused_upload(draft, registrar, scan("身份证.jpg", pdf)) == "文件不是 JPG 或 PNG 图片"


def test_a_file_over_10_mb_is_refused(draft, registrar):
    data = scan_bytes() + b"\x00" * (10 * 1024 * 1024)
    assert refused_upload(draft, registrar, scan("身份证.jpg", data)) == "文件超过 10 MB"


def test_what_the_image_shows_must_be_named(draft, registrar):
    assert refused_upload(draft, registrar, scan(), kind="selfie") == "请选择图片的内容。"


def test_an_accepted_image_is_stored_privately_and_logged(draft, registrar):
    evidence = services.add_evidence(
        draft, by=registrar, kind=ID_CARD, uploaded_file=scan("张小明身份证.jpg")
    )

    assert evidence.file.name.startswith("corrections/")
    assert "张小明" not in evidence.file.name
    assert evidence.original_name == "张小明身份证.jpg"
    assert (evidence.uploaded_by, evidence.kind, evidence.download_name) == (registrar, ID_CARD, "身份证.jpg")
    event = AuditEvent.objects.get(action="corrections.evidence.added")
    assert event.data["evidence"] == evidence.pk and event.data["sha256"] == evidence.sha256


def test_evidence_is_added_and_removed_only_while_the_request_is_editable(draft, registrar, principal):
    evidence = attach(draft, registrar, ID_CARD)[0]
    with pytest.raises(PermissionDenied):
        services.add_evidence(draft, by=principal, kind=ID_CARD, uploaded_file=scan())
    with pytest.raises(PermissionDenied):
        services.remove_evidence(evidence, by=principal)
    services.submit_correction(draft, by=registrar)

    with pytest.raises(DomainError):
        services.add_evidence(draft, by=registrar, kind=ID_CARD, uploaded_file=scan())
    with pytest.raises(DomainError):
        services.remove_evidence(evidence, by=registrar)
    assert Evidence.objects.count() == 1


def test_a_removed_image_leaves_the_disk_once_committed(draft, registrar, django_capture_on_commit_callbacks):
    evidence = attach(draft, registrar, ID_CARD)[0]
    name = evidence.file.name
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_evidence(evidence, by=registrar)
    assert not Evidence.objects.exists()
    assert not default_storage.exists(name)
    assert AuditEvent.objects.filter(action="corrections.evidence.removed").count() == 1


def test_a_request_holds_a_limited_number_of_images(draft, registrar, monkeypatch):
    monkeypatch.setattr(services, "MAX_EVIDENCE", 2)
    attach(draft, registrar, ID_CARD, ID_CARD)
    with pytest.raises(DomainError) as error:
        attach(draft, registrar, ID_CARD)
    assert error.value.message == "一件申请最多 2 张图片，请先删除一张。"


# --- serving -------------------------------------------------------------------------------------------


def test_evidence_is_served_only_to_users_in_scope(
    client,
    client_for,
    registrar,
    principal,
    county_reviewer,
    class_teacher,
    outsider,
    outsider_reviewer,
    student,
):
    correction = submitted_correction(registrar, student)
    evidence = correction.evidence.get()
    url = reverse("corrections:evidence_file", args=[correction.pk, evidence.pk])

    assert client.get(url).status_code == 302
    for user in (registrar, principal, county_reviewer):
        response = client_for(user).get(url)
        assert response.status_code == 200, user
        assert response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"] == "private, no-store"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
    for user in (class_teacher, outsider, outsider_reviewer):
        assert client_for(user).get(url).status_code == 404, user
    # An image of another request is not reached through this one.
    other = submitted_correction(registrar, enrol(registrar, student.school_class, name="李四", sequence=3))
    wrong = reverse("corrections:evidence_file", args=[correction.pk, other.evidence.get().pk])
    assert client_for(registrar).get(wrong).status_code == 404


def test_a_download_is_an_attachment_named_by_content(client_for, registrar, student):
    correction = submitted_correction(registrar, student)
    evidence = correction.evidence.get()
    url = reverse("corrections:evidence_file", args=[correction.pk, evidence.pk])
    response = client_for(registrar).get(url + "?download=1")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "%E8%BA%AB%E4%BB%BD%E8%AF%81.jpg" in response["Content-Disposition"]
