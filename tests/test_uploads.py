"""Uploaded photos and evidence scans: judged by content, cleaned, stored privately, served safely.

Every image is made here with Pillow; bombs are PNG headers that declare huge sizes.
"""

import io
import re
import struct
import zlib

import pytest
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.urls import include, path
from PIL import Image, ImageCms, ImageDraw, PngImagePlugin

from registrar.choices import Role
from registrar.uploads import (
    PrivateFile,
    UploadError,
    ViewerFile,
    clean_evidence,
    clean_image,
    clean_pdf,
    clean_photo,
    save_clean_file,
    serve_private_file,
)


class UploadsTestScan(PrivateFile):
    """A concrete PrivateFile for these tests only; never saved, so it needs no table."""

    class Meta:
        app_label = "registrar"
        managed = False


# --- Making files ---------------------------------------------------------------------------------


def picture(size=(400, 300), mode="RGB"):
    """White, with the left half red: orientation can be read from the pixels."""
    image = Image.new(mode, size, "white")
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 2 - 1, size[1] - 1), fill="red")
    return image


def encode(image, fmt="JPEG", **params):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def upload(name, data):
    # The browser's content type is always "image/jpeg" here: it must play no part.
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def png_declaring(width, height):
    """A valid PNG header claiming a size its few bytes of data cannot fill."""

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


def reopen(clean_file):
    image = Image.open(io.BytesIO(clean_file.content))
    image.load()
    return image


def pdf(*objects, tail=b"%%EOF\n"):
    body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    for number, text in enumerate(objects, start=1):
        body += b"%d 0 obj\n" % number + text + b"\nendobj\n"
    return body + b"trailer\n<< /Root 1 0 R >>\n" + tail


CATALOGUE = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"


def stream_object(dictionary, data):
    return dictionary + b"\nstream\n" + data + b"\nendstream"


# --- Images: what is accepted ---------------------------------------------------------------------


def test_a_jpeg_is_re_encoded_and_described():
    original = encode(picture())

    clean = clean_image(upload("身份证.jpg", original))

    assert (clean.extension, clean.content_type) == ("jpg", "image/jpeg")
    assert (clean.width, clean.height) == (400, 300)
    assert clean.size == len(clean.content)
    assert re.fullmatch(r"[0-9a-f]{64}", clean.sha256)
    assert clean.original_name == "身份证.jpg"
    assert clean.download_name == "身份证.jpg"
    assert clean.notices == ()
    assert reopen(clean).format == "JPEG"


def test_a_png_named_jpg_is_judged_by_content_and_stored_as_png():
    clean = clean_image(upload("身份证.jpg", encode(picture(), "PNG")))

    assert (clean.extension, clean.content_type) == ("png", "image/png")
    assert reopen(clean).format == "PNG"
    assert clean.download_name == "身份证.png"
    assert clean.notices == ("文件名为 身份证.jpg，但内容是 PNG 文件，已按 PNG 保存",)


def test_a_text_file_named_jpg_is_refused():
    with pytest.raises(UploadError) as refused:
        clean_image(upload("身份证.jpg", "这不是图片".encode() * 100))

    assert refused.value.message == "文件不是 JPG 或 PNG 图片"


def test_another_image_format_is_refused():
    with pytest.raises(UploadError) as refused:
        clean_image(upload("scan.jpg", encode(picture(), "GIF")))

    assert refused.value.message == "文件不是 JPG 或 PNG 图片"


def test_formats_can_be_narrowed_to_jpeg():
    with pytest.raises(UploadError) as refused:
        clean_image(upload("scan.png", encode(picture(), "PNG")), formats=("JPEG",))

    assert refused.value.message == "文件不是 JPG 图片"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_truncated_image_is_refused(fmt, keep):
    data = encode(picture(), fmt)

    with pytest.raises(UploadError) as refused:
        clean_image(upload("scan.jpg", data[: int(len(data) * keep)]))

    assert refused.value.message == "图片不完整或已损坏"


def test_a_jpeg_missing_only_its_end_marker_is_refused():
    data = encode(picture())
    assert data.endswith(b"\xff\xd9")

    with pytest.raises(UploadError) as refused:
        clean_image(upload("scan.jpg", data[:-2]))

    assert refused.value.message == "图片不完整或已损坏"


@pytest.mark.parametrize(
    "size",
    [
        (100_000, 100_000),  # Pillow itself refuses
        (10_000, 10_000),  # Pillow only warns: the warning is an error here
        (8_000, 8_000),  # 64 megapixels: above our own limit of 50
    ],
)
def test_a_decompression_bomb_is_refused_before_decoding(size):
    with pytest.raises(UploadError) as refused:
        clean_image(upload("bomb.png", png_declaring(*size)))

    assert refused.value.message == "图片尺寸过大，疑似压缩炸弹"


def test_the_pixel_limit_is_configurable(settings):
    settings.REGISTRAR = {**settings.REGISTRAR, "UPLOAD_MAX_PIXELS": 1_000_000}
    assert clean_image(upload("ok.png", encode(picture((1000, 1000)), "PNG"))).width == 1000

    with pytest.raises(UploadError) as refused:
        clean_image(upload("big.png", encode(picture((1001, 1000)), "PNG")))

    assert refused.value.message == "图片尺寸过大，疑似压缩炸弹"


def test_pillows_own_warning_refuses_even_above_a_higher_configured_limit(settings):
    settings.REGISTRAR = {**settings.REGISTRAR, "UPLOAD_MAX_PIXELS": 150_000_000}

    with pytest.raises(UploadError) as refused:
        clean_image(upload("bomb.png", png_declaring(10_000, 10_000)))

    assert refused.value.message == "图片尺寸过大，疑似压缩炸弹"


def test_a_file_over_10_mb_is_refused_by_its_declared_size():
    data = encode(picture()) + b"\x00" * (10 * 1024 * 1024)

    with pytest.raises(UploadError) as refused:
        clean_image(upload("scan.jpg", data))

    assert refused.value.message == "文件超过 10 MB"


def test_a_stream_of_unknown_size_is_read_only_one_byte_past_the_limit():
    class Stream(io.BytesIO):
        name = "scan.jpg"
        largest_read = 0

        def read(self, size=-1):
            Stream.largest_read = max(Stream.largest_read, size)
            return super().read(size)

    with pytest.raises(UploadError) as refused:
        clean_image(Stream(b"\xff" * 5000), max_bytes=4000)

    assert refused.value.message == "文件超过 4 KB"
    assert Stream.largest_read == 4001


def test_an_empty_file_is_refused():
    with pytest.raises(UploadError) as refused:
        clean_evidence(upload("scan.jpg", b""))

    assert refused.value.message == "文件是空的"


def test_150_by_150_is_refused_where_the_evidence_minimum_applies():
    data = encode(picture((150, 150)))

    with pytest.raises(UploadError) as refused:
        clean_evidence(upload("身份证.jpg", data))

    assert refused.value.message == "图片至少需要 200×200 像素，当前为 150×150"
    assert clean_image(upload("身份证.jpg", data)).width == 150


def test_the_minimum_counts_after_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(picture((300, 200)), exif=exif)

    assert clean_image(upload("scan.jpg", data), min_size=(200, 300)).height == 300
    with pytest.raises(UploadError):
        clean_image(upload("scan.jpg", data), min_size=(300, 200))


# --- Images: what is removed and applied ----------------------------------------------------------


def test_exif_orientation_6_is_applied_and_dropped():
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held on its side: turn 90° clockwise to view
    data = encode(picture((400, 300)), exif=exif)

    clean = clean_image(upload("scan.jpg", data))
    stored = reopen(clean)

    assert (clean.width, clean.height) == (300, 400)
    assert stored.size == (300, 400)
    # The red left half is now on top.
    assert stored.convert("RGB").getpixel((150, 20))[1] < 60
    assert stored.convert("RGB").getpixel((150, 380)) > (200, 200, 200)
    assert 0x0112 not in stored.getexif()


def test_gps_and_all_other_metadata_are_removed_from_a_jpeg():
    exif = Image.Exif()
    exif[0x010F] = "PhoneMakerCo"
    exif[0x8825] = {1: "N", 2: (30.0, 35.0, 12.0), 3: "E", 4: (114.0, 17.0, 6.0)}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret-xmp</x:xmpmeta>'
    data = encode(picture(), exif=exif, comment=b"secret-comment", icc_profile=icc, xmp=xmp)
    uploaded = Image.open(io.BytesIO(data))
    assert uploaded.getexif().get_ifd(0x8825)[1] == "N"  # the test file really carries GPS

    clean = clean_image(upload("scan.jpg", data))
    stored = reopen(clean)

    assert dict(stored.getexif()) == {}
    assert stored.getexif().get_ifd(0x8825) == {}
    assert not {"exif", "comment", "icc_profile", "xmp"} & set(stored.info)
    for trace in (b"Exif", b"PhoneMakerCo", b"secret-comment", b"secret-xmp", b"ICC_PROFILE"):
        assert trace not in clean.content


def test_text_chunks_exif_and_icc_are_removed_from_a_png():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-text")
    info.add_itxt("Author", "secret-itxt")
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (30.0, 35.0, 12.0)}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(picture(), "PNG", pnginfo=info, exif=exif, icc_profile=icc)

    clean = clean_image(upload("scan.png", data))
    stored = reopen(clean)

    assert not {"exif", "icc_profile", "Comment", "Author"} & set(stored.info)
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"iCCP", b"secret"):
        assert chunk not in clean.content
    # The colours survive the conversion to untagged sRGB.
    assert stored.convert("RGB").getpixel((10, 10))[0] > 200


def test_transparency_of_a_png_is_kept():
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((0, 0, 149, 299), fill=(255, 0, 0, 255))

    stored = reopen(clean_image(upload("scan.png", encode(image, "PNG"))))

    assert stored.mode == "RGBA"
    assert stored.getpixel((250, 10))[3] == 0


def test_a_cmyk_jpeg_becomes_rgb():
    stored = reopen(clean_image(upload("scan.jpg", encode(picture(mode="CMYK")))))

    assert stored.mode == "RGB"


# --- Photos ---------------------------------------------------------------------------------------


def test_a_large_photo_is_reduced_and_stored_as_jpeg():
    image = Image.new("RGBA", (3000, 2000), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((0, 0, 1499, 1999), fill=(0, 0, 255, 255))

    clean = clean_photo(upload("照片.png", encode(image, "PNG")))
    stored = reopen(clean)

    assert (clean.extension, clean.content_type) == ("jpg", "image/jpeg")
    assert stored.size == (clean.width, clean.height) == (1200, 800)
    assert stored.mode == "RGB"
    # The transparent half is white, not black.
    assert stored.getpixel((1100, 400)) > (240, 240, 240)
    assert clean.notices == ("图片已缩小为 1200×800 像素",)
    assert clean.download_name == "照片.jpg"


def test_a_photo_keeps_its_size_when_small_enough_and_loses_its_metadata():
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (30.0, 35.0, 12.0)}

    clean = clean_photo(upload("photo.jpg", encode(picture((358, 441)), exif=exif)))

    assert (clean.width, clean.height) == (358, 441)
    assert clean.notices == ()
    assert b"Exif" not in clean.content


def test_a_tiny_photo_is_refused():
    with pytest.raises(UploadError) as refused:
        clean_photo(upload("photo.jpg", encode(picture((80, 100)))))

    assert refused.value.message == "图片至少需要 100×100 像素，当前为 80×100"


# --- PDF: kept as a picture of its pages -----------------------------------------------------------


def scanned_pdf(pages=3, size=(1240, 1754)):
    """A PDF as a scanner makes it: one picture per page (a navy box at the top left of each)."""
    pictures = []
    for _number in range(pages):
        image = Image.new("RGB", size, "white")
        ImageDraw.Draw(image).rectangle((100, 100, 600, 600), fill="navy")
        pictures.append(image)
    buffer = io.BytesIO()
    pictures[0].save(buffer, "PDF", save_all=True, append_images=pictures[1:], resolution=150)
    return buffer.getvalue()


def test_a_pdf_is_stored_as_one_picture_of_its_pages():
    clean = clean_pdf(upload("转学证明.pdf", scanned_pdf(pages=3)))
    stored = reopen(clean)

    assert (clean.extension, clean.content_type) == ("jpg", "image/jpeg")
    assert stored.format == "JPEG"
    # A4 at 150 dpi, the three pages one under another with a band of 8 pixels between them.
    assert (clean.width, clean.height) == stored.size == (1240, 3 * 1754 + 2 * 8)
    assert stored.getpixel((300, 300))[2] > 80 > stored.getpixel((300, 300))[0]
    assert stored.getpixel((300, 1754 + 8 + 300))[2] > 80
    assert stored.getpixel((1000, 1000)) > (240, 240, 240)
    assert clean.download_name == "转学证明.jpg"
    assert clean.notices == ("PDF 文档已按其各页的图片保存",)
    assert not clean.content.startswith(b"%PDF")


HIDDEN_SCRIPT = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>"
ACTIVE_OBJECTS = {
    # The script hides behind a fake stream marker, where a scanner of names does not look.
    "script behind a fake stream": (
        HIDDEN_SCRIPT,
        b"<< /Length 9 >>\nstream\n" + b"<< /S /JavaScript /JS (app.alert(1)) >>",
    ),
    "link": (
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /URI /URI (http://evil.example/) >> >>",
        b"<< >>",
    ),
    "script in an object stream": (
        HIDDEN_SCRIPT,
        stream_object(
            b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode >>",
            zlib.compress(b"4 0 << /S /JavaScript /JS (app.alert(1)) >>"),
        ),
    ),
}


@pytest.mark.parametrize("case", ACTIVE_OBJECTS)
def test_scripts_and_actions_of_a_pdf_are_left_behind(case):
    catalogue, extra = ACTIVE_OBJECTS[case]

    clean = clean_evidence(upload("scan.pdf", pdf(catalogue, PAGES, PAGE, extra)))

    assert clean.content_type == "image/jpeg"
    assert reopen(clean).size == (1240, 1754)
    for trace in (b"JavaScript", b"app.alert", b"URI", b"evil.example", b"%PDF"):
        assert trace not in clean.content


def test_html_between_the_pdf_markers_is_refused():
    data = b"%PDF-1.7\n<html><body><script>alert(document.cookie)</script></body></html>\n%%EOF\n"

    with pytest.raises(UploadError) as refused:
        clean_evidence(upload("scan.pdf", data))

    assert refused.value.message == "PDF 文档不完整或已损坏"


def test_a_file_that_is_not_a_pdf_is_refused():
    with pytest.raises(UploadError) as refused:
        clean_pdf(upload("scan.pdf", encode(picture())))

    assert refused.value.message == "文件不是 PDF 文档"


def test_a_truncated_pdf_is_refused():
    data = scanned_pdf(pages=1)

    with pytest.raises(UploadError) as refused:
        clean_pdf(upload("scan.pdf", data[: len(data) // 2]))

    assert refused.value.message == "PDF 文档不完整或已损坏"


def test_a_pdf_over_the_limit_is_refused():
    with pytest.raises(UploadError) as refused:
        clean_pdf(upload("scan.pdf", pdf(CATALOGUE, PAGES, PAGE)), max_bytes=100)

    assert refused.value.message == "文件超过 100 B"


def test_a_pdf_with_too_many_pages_is_refused(settings):
    settings.REGISTRAR = {**settings.REGISTRAR, "PDF_MAX_PAGES": 2}

    with pytest.raises(UploadError) as refused:
        clean_pdf(upload("scan.pdf", scanned_pdf(pages=3, size=(300, 300))))

    assert refused.value.message == "PDF 文档有 3 页，最多接受 2 页。请拆分为几个文件"


def test_a_poster_sized_page_is_scaled_down():
    poster = pdf(CATALOGUE, PAGES, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 7200] >>")

    assert reopen(clean_pdf(upload("poster.pdf", poster))).size == (2500, 1250)


def test_a_pdf_that_takes_too_long_is_stopped(settings):
    settings.REGISTRAR = {**settings.REGISTRAR, "PDF_RENDER_SECONDS": 0.001}

    with pytest.raises(UploadError) as refused:
        clean_pdf(upload("scan.pdf", scanned_pdf(pages=1)))

    assert refused.value.message == "未能及时读取 PDF 文档。请重新扫描纸质材料，或另存为 JPG 或 PNG"


def test_a_pdf_renderer_out_of_memory_is_refused_plainly(settings):
    settings.REGISTRAR = {**settings.REGISTRAR, "PDF_RENDER_MAX_MEMORY": 20 * 1024 * 1024}

    with pytest.raises(UploadError) as refused:
        clean_pdf(upload("scan.pdf", scanned_pdf(pages=1)))

    assert refused.value.message == "无法读取 PDF 文档。请重新扫描纸质材料，或另存为 JPG 或 PNG"


def test_the_pictures_of_a_pdf_must_be_large_enough():
    with pytest.raises(UploadError) as refused:
        clean_evidence(upload("scan.pdf", pdf(CATALOGUE, PAGES, b"<< /Type /Page /MediaBox [0 0 72 72] >>")))

    assert refused.value.message == "图片至少需要 200×200 像素，当前为 150×150"


# --- Evidence: images or PDF by content -----------------------------------------------------------


def test_evidence_tells_a_pdf_from_an_image_by_content():
    as_pdf = clean_evidence(upload("户口本.jpg", scanned_pdf(pages=1)))
    as_image = clean_evidence(upload("户口本.pdf", encode(picture())))

    assert (as_pdf.extension, as_pdf.download_name, as_pdf.height) == ("jpg", "户口本.jpg", 1754)
    assert as_pdf.notices == ("PDF 文档已按其各页的图片保存",)
    assert (as_image.extension, as_image.download_name) == ("jpg", "户口本.jpg")


def test_evidence_without_pdf_refuses_a_pdf():
    with pytest.raises(UploadError) as refused:
        clean_evidence(upload("户口本.pdf", scanned_pdf(pages=1)), allow_pdf=False)

    assert refused.value.message == "文件不是 JPG 或 PNG 图片"


def test_evidence_refuses_what_is_neither_image_nor_pdf():
    with pytest.raises(UploadError) as refused:
        clean_evidence(upload("户口本.jpg", b"PK\x03\x04 a zip file"))

    assert refused.value.message == "文件既不是 JPG 或 PNG 图片，也不是 PDF 文档"


def test_evidence_minimum_can_be_set_by_the_caller():
    data = encode(picture((300, 300)))

    with pytest.raises(UploadError):
        clean_evidence(upload("scan.jpg", data), min_size=(400, 400))


# --- Storing --------------------------------------------------------------------------------------

STORED_NAME = re.compile(r"registrar/\d{4}/\d{2}/[0-9a-f]{32}\.(jpg|png|pdf)")


def test_a_clean_file_is_stored_under_a_random_name_with_its_facts(registrar):
    clean = clean_image(upload("身份证.jpg", encode(picture(), "PNG")))

    first = UploadsTestScan.from_clean_file(clean, uploaded_by=registrar)
    second = save_clean_file(UploadsTestScan(uploaded_by=registrar), clean)

    assert STORED_NAME.fullmatch(first.file.name), first.file.name
    assert first.file.name.endswith(".png")
    assert "身份证" not in first.file.name
    assert first.file.name != second.file.name
    assert default_storage.open(first.file.name).read() == clean.content
    assert default_storage.path(first.file.name).startswith(str(default_storage.location))
    assert (first.original_name, first.content_type, first.size, first.sha256) == (
        "身份证.jpg",
        "image/png",
        clean.size,
        clean.sha256,
    )
    assert (first.width, first.height, first.uploaded_by) == (400, 300, registrar)
    assert (first.download_name, first.is_image, first.is_pdf) == ("身份证.png", True, False)


# --- Serving --------------------------------------------------------------------------------------


def stored(name, data, cleaner=clean_evidence):
    return UploadsTestScan.from_clean_file(cleaner(upload(name, data)))


def evidence_view(request, scan):
    """What a workflow view does: check access first, then stream."""
    if not request.user.has_role(Role.SCHOOL_REGISTRAR):
        raise PermissionDenied
    return serve_private_file(request, scan.file, filename=scan.download_name, content_type=scan.content_type)


def test_an_image_is_served_inline_with_protective_headers(rf, registrar):
    scan = stored("身份证.jpg", encode(picture()))
    request = rf.get("/evidence/1/")
    request.user = registrar

    response = evidence_view(request, scan)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == "inline; filename*=utf-8''%E8%BA%AB%E4%BB%BD%E8%AF%81.jpg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "sandbox" in policy
    assert "script-src" not in policy
    assert b"".join(response.streaming_content) == default_storage.open(scan.file.name).read()


def test_the_view_refuses_before_serving(rf, class_teacher):
    scan = stored("身份证.jpg", encode(picture()))
    request = rf.get("/evidence/1/")
    request.user = class_teacher

    with pytest.raises(PermissionDenied):
        evidence_view(request, scan)


def test_a_pdf_kept_from_before_is_only_ever_downloaded_in_a_sandbox(rf, registrar):
    # Before PDFs were turned into pictures they were stored as they came.
    scan = UploadsTestScan(content_type="application/pdf", original_name="转学证明.pdf")
    scan.file.save("old.pdf", ContentFile(pdf(CATALOGUE, PAGES, PAGE)), save=False)
    request = rf.get("/evidence/1/")
    request.user = registrar

    response = evidence_view(request, scan)

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "sandbox" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_download_is_an_attachment(rf):
    scan = stored("户口本.png", encode(picture(), "PNG"))

    response = serve_private_file(
        rf.get("/"), scan.file, filename="户口本.png", content_type="image/png", inline=False
    )

    assert response["Content-Disposition"] == "attachment; filename*=utf-8''%E6%88%B7%E5%8F%A3%E6%9C%AC.png"
    assert response["X-Frame-Options"] == "DENY"


def test_an_unexpected_content_type_is_only_ever_downloaded(rf):
    scan = stored("scan.png", encode(picture(), "PNG"))

    response = serve_private_file(rf.get("/"), scan.file, filename="page.html", content_type="text/html")

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


def test_a_missing_file_is_not_found(rf):
    scan = UploadsTestScan(file="registrar/2020/01/" + "0" * 32 + ".jpg", content_type="image/jpeg")

    with pytest.raises(Http404):
        serve_private_file(rf.get("/"), scan.file, filename="x.jpg", content_type="image/jpeg")


def test_a_path_in_the_filename_is_not_sent(rf):
    scan = stored("scan.png", encode(picture(), "PNG"))

    response = serve_private_file(
        rf.get("/"), scan.file, filename="../../etc/身份证.png", content_type="image/png"
    )

    assert response["Content-Disposition"] == "inline; filename*=utf-8''%E8%BA%AB%E4%BB%BD%E8%AF%81.png"


# Through the whole middleware stack: login is required and the frame policy is not overridden.


def scan_url_view(request, name):
    if not request.user.has_role(Role.SCHOOL_REGISTRAR):
        raise PermissionDenied
    scan = UploadsTestScan(file=name, content_type="image/png", original_name="身份证.png")
    return serve_private_file(request, scan.file, filename=scan.download_name, content_type=scan.content_type)


@login_not_required
def viewer_page(request):
    files = [ViewerFile(url=f"/open/{request.GET['name']}", name="身份证.png", content_type="image/png")]
    body = render_to_string("registrar/_viewer.html", {"files": files}, request=request)
    return HttpResponse(f"<!DOCTYPE html><html lang='zh-hans'><body>{body}</body></html>")


@login_not_required
def open_scan_view(request, name):
    scan = UploadsTestScan(file=name, content_type="image/png")
    return serve_private_file(request, scan.file, filename="身份证.png", content_type="image/png")


urlpatterns = [
    path("scan/<path:name>", scan_url_view),
    path("open/<path:name>", open_scan_view),
    path("viewer/", viewer_page),
    # The project's own URLs (the login page among them).
    path("", include("registrar.urls")),
]


@pytest.fixture
def test_urls(settings):
    settings.ROOT_URLCONF = __name__


def test_through_the_middleware_login_is_required_and_headers_survive(test_urls, client, registrar):
    scan = stored("身份证.png", encode(picture(), "PNG"))

    anonymous = client.get(f"/scan/{scan.file.name}")
    client.force_login(registrar)
    response = client.get(f"/scan/{scan.file.name}")

    assert anonymous.status_code == 302
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == scan.file.open("rb").read()


# --- The viewer -----------------------------------------------------------------------------------


def test_the_viewer_shows_images_with_controls_and_old_pdfs_as_a_download_link_only():
    files = [
        ViewerFile(url="/e/1/", name="身份证.jpg", content_type="image/jpeg"),
        ViewerFile(
            url="/e/2/", name="转学证明.pdf", content_type="application/pdf", download_url="/e/2/?download=1"
        ),
    ]

    html = render_to_string("registrar/_viewer.html", {"files": files})

    for label in ("放大", "缩小", "适合窗口", "向左旋转", "向右旋转"):
        assert f">{label}</button>" in html
    assert '<img class="viewer-image" src="/e/1/" alt="身份证.jpg">' in html
    assert "<object" not in html
    assert 'href="/e/2/?download=1" download="转学证明.pdf"' in html
    assert "js/viewer.js" in html
    assert "css/viewer.css" in html
    assert html.count('role="toolbar"') == 1


def test_the_viewer_says_when_there_is_nothing():
    assert "尚未上传文件。" in render_to_string("registrar/_viewer.html", {"files": []})


def test_a_viewer_file_describes_a_stored_upload():
    scan = stored("户口本.jpg", encode(picture(), "PNG"))

    entry = ViewerFile.for_upload(scan, "/e/3/")

    assert entry == ViewerFile(url="/e/3/", name="户口本.png", content_type="image/png")


@pytest.mark.browser
def test_the_viewer_zooms_and_rotates_by_button_and_key(test_urls, live_server, page):
    scan = stored("身份证.png", encode(picture((400, 200)), "PNG"))

    page.goto(f"{live_server.url}/viewer/?name={scan.file.name}")
    viewer = page.locator("figure[data-viewer].viewer-ready")
    viewer.wait_for()
    image = viewer.locator("img.viewer-image")
    page.wait_for_function("document.querySelector('img.viewer-image').style.width !== ''")

    def shown():
        box = viewer.locator(".viewer-frame").bounding_box()
        return box["width"], box["height"]

    fitted_width, fitted_height = shown()
    assert fitted_width / fitted_height == pytest.approx(2, rel=0.02)

    viewer.get_by_role("button", name="放大").click()
    assert shown()[0] == pytest.approx(fitted_width * 1.25, rel=0.02)

    viewer.get_by_role("button", name="向右旋转").click()
    assert viewer.get_attribute("data-rotation") == "90"
    width, height = shown()
    assert height / width == pytest.approx(2, rel=0.02)
    assert "rotate(90deg)" in image.get_attribute("style")

    viewer.locator(".viewer-stage").focus()
    page.keyboard.press("l")
    assert viewer.get_attribute("data-rotation") == "0"
    page.keyboard.press("0")
    assert shown() == pytest.approx((fitted_width, fitted_height), rel=0.02)
    assert viewer.locator(".viewer-zoom").text_content().endswith("%")
