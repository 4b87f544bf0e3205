"""Uploaded files: student photos and evidence scans (images or PDF).

Every upload is personal data (个人信息保护法). The rules, shared by every app:

- A file is judged by its content, never by its name or the browser's content type: Pillow identifies
  and fully decodes images, a PDF must look like one from its first to its last bytes.
- A PDF is not kept: its pages are rendered (PDFium, in a child process: pdfrender.py) into one
  picture, which is then treated like any uploaded image. Scripts, links and attachments stay behind.
- Images are re-encoded from their pixels: the EXIF orientation is applied first, then every metadata
  block (EXIF with GPS, comments, XMP, text chunks, ICC profiles after converting the colours to sRGB)
  is left behind. What is stored is exactly what was checked.
- Files are stored under `settings.MEDIA_ROOT` (default storage) with a random name
  (`<app>/<yyyy>/<mm>/<uuid>.<ext>`), never the uploader's. `MEDIA_URL` is not routed: a view checks
  access with the app's access helper first and then streams the file with `serve_private_file`.

Limits come from `settings.REGISTRAR` (all optional); see `DEFAULTS`.
"""

import hashlib
import io
import struct
import subprocess
import sys
import unicodedata
import uuid
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from registrar import pdfrender
from registrar.errors import DomainError

MB = 1024 * 1024

DEFAULTS = {
    # Source 003: each evidence image at most 10 MB.
    "UPLOAD_MAX_BYTES": 10 * MB,
    # More pixels than this is refused before decoding: a 600 dpi A4 scan has about 35 million.
    # Pillow's own limit (Image.MAX_IMAGE_PIXELS, about 89 million) still applies above it.
    "UPLOAD_MAX_PIXELS": 50_000_000,
    # Source 003: "分辨率在200*200以上" so that the scan stays legible.
    "EVIDENCE_MIN_SIZE": (200, 200),
    # Phone pictures are a few MB; the photo is then reduced to PHOTO_MAX_SIDE.
    "PHOTO_MAX_BYTES": 10 * MB,
    "PHOTO_MIN_SIZE": (100, 100),
    # Enough for the printed forms (the national photo is 358×441 px) with room to crop.
    "PHOTO_MAX_SIDE": 1200,
    # A PDF is kept as a picture of its pages: 150 dpi keeps a scanned A4 page legible (1240×1754).
    "PDF_RENDER_DPI": 150,
    "PDF_MAX_PAGES": 20,
    # A page larger than this (a poster) is scaled down to it on its longer side.
    "PDF_PAGE_MAX_SIDE": 2500,
    # The child process rendering a PDF is stopped after this many seconds or this much memory.
    "PDF_RENDER_SECONDS": 30,
    "PDF_RENDER_MAX_MEMORY": 1024 * MB,
}

JPEG_QUALITY = 90
# If a re-encoded JPEG comes out above the size limit, these qualities are tried in turn.
JPEG_FALLBACK_QUALITIES = (80, 70)

CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}
# Pillow opens phone JPEGs holding several pictures as format "MPO": the first picture is kept.
OUTPUT_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG"}
# What Pillow's decoders raise on malformed input.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, struct.error)


def config(name):
    return getattr(settings, "REGISTRAR", {}).get(name, DEFAULTS[name])


class UploadError(DomainError):
    """An uploaded file was refused; the message says why, in the user's language."""


class UnrecognisedFile(UploadError):
    """The content is not of an accepted kind at all (as opposed to a damaged or unsuitable image)."""


@dataclass(frozen=True)
class CleanFile:
    """A checked file, ready to store: `content` is exactly what will be written."""

    content: bytes = field(repr=False)
    extension: str
    content_type: str
    width: int | None
    height: int | None
    sha256: str
    size: int
    original_name: str
    # Things the user should be told although the file was accepted (e.g. stored as PNG).
    notices: tuple = ()

    @property
    def download_name(self):
        """The uploaded name with the extension of the content: 身份证.jpg holding a PNG → 身份证.png."""
        return download_name(self.original_name, self.extension)

    @property
    def is_image(self):
        return self.content_type.startswith("image/")

    @property
    def is_pdf(self):
        return self.content_type == "application/pdf"


def download_name(original_name, extension):
    stem = PurePosixPath(original_name).stem if original_name else ""
    return f"{stem or _('file')}.{extension}"


def _make_clean_file(content, extension, *, original_name, width=None, height=None, notices=()):
    return CleanFile(
        content=content,
        extension=extension,
        content_type=CONTENT_TYPES[extension],
        width=width,
        height=height,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        original_name=original_name,
        notices=tuple(notices),
    )


def format_size(size):
    if size >= MB:
        return f"{size // MB} MB" if size % MB == 0 else f"{size / MB:.1f} MB"
    if size >= 1024:
        return f"{round(size / 1024)} KB"
    return f"{size} B"


def clean_original_name(name):
    """The last path component, without control characters, at most 200 characters. Display only."""
    name = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C").strip()
    if len(name) > 200:
        suffix = PurePosixPath(name).suffix[:10]
        name = name[: 200 - len(suffix)] + suffix
    return name


def _read(uploaded_file, max_bytes):
    """Read at most max_bytes + 1 bytes: enough to know that a file is too large without reading it all."""
    declared = getattr(uploaded_file, "size", None)
    if isinstance(declared, int) and declared > max_bytes:
        raise UploadError(_("The file is larger than %(limit)s.") % {"limit": format_size(max_bytes)})
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    data = uploaded_file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadError(_("The file is larger than %(limit)s.") % {"limit": format_size(max_bytes)})
    if not data:
        raise UploadError(_("The file is empty."))
    return data


# --- Images ---------------------------------------------------------------------------------------


def _not_an_image_message(formats):
    if set(formats) == {"JPEG", "PNG"}:
        return _("The file is not a JPG or PNG image.")
    if formats == ("JPEG",):
        return _("The file is not a JPG image.")
    return _("The file is not a PNG image.")


def _bomb_error():
    return UploadError(_("The image is too large; it may be a decompression bomb."))


def _check_pixels(size):
    width, height = size
    if width * height > config("UPLOAD_MAX_PIXELS"):
        raise _bomb_error()


def _decode(data, formats):
    """Identify the image by its content and decode every pixel. Returns (image, "JPEG" | "PNG")."""
    try:
        # Pillow warns (and only above twice its limit refuses) about huge images: refuse them all.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=formats) as probe:
                found = probe.format
                _check_pixels(probe.size)
                # verify() checks the structure (PNG checksums); the file must be opened again afterwards.
                probe.verify()
            image = Image.open(io.BytesIO(data), formats=formats)
            _check_pixels(image.size)
            # A truncated file fails here: Pillow refuses to fill in missing data unless told to.
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _bomb_error() from error
    except UnidentifiedImageError as error:
        raise UnrecognisedFile(_not_an_image_message(formats)) from error
    except DECODE_ERRORS as error:
        raise UploadError(_("The image is incomplete or damaged.")) from error
    return image, OUTPUT_FORMATS[found]


def _orient(image):
    """A copy turned as the EXIF orientation says, so that the stored image needs no metadata."""
    try:
        return ImageOps.exif_transpose(image)
    except DECODE_ERRORS:
        # Unreadable EXIF: keep the pixels as they are; the metadata is dropped anyway.
        return image.copy()


_srgb_profile = None


def _to_srgb(image):
    """Convert colours described by an embedded ICC profile to sRGB, so the profile can be dropped.

    Browsers show untagged images as sRGB; CMYK scans become RGB (browsers show CMYK poorly).
    """
    global _srgb_profile
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            if _srgb_profile is None:
                _srgb_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
            return ImageCms.profileToProfile(image, source, _srgb_profile, outputMode=output_mode)
        except (ImageCms.PyCMSError, *DECODE_ERRORS):
            pass
    if image.mode == "CMYK":
        return image.convert("RGB")
    return image


def _flatten(image):
    """An image JPEG can hold (L or RGB); transparency is painted over white."""
    if image.mode in ("L", "RGB"):
        return image
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I"):
        # 16-bit grey: scale to 8 bits rather than clip.
        return image.convert("I").point(lambda value: value / 256).convert("L")
    if "A" in image.mode or image.mode == "P" or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


PNG_MODES = {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"}


def _encode(image, output_format, *, max_bytes):
    """Write the pixels anew, with no metadata but the transparency and the resolution (dpi)."""
    transparency = image.info.get("transparency")
    dpi = image.info.get("dpi")
    image = _to_srgb(image)
    if output_format == "JPEG":
        image = _flatten(image)
    elif image.mode not in PNG_MODES:
        image = image.convert("RGBA")
    # Pillow writes some blocks (PNG ICC profile, JPEG comment) from `info` unless told otherwise.
    image.info = {}
    params = {}
    if dpi and all(isinstance(value, int | float) and 0 < value < 10000 for value in dpi):
        params["dpi"] = tuple(round(value) for value in dpi)
    if output_format == "PNG":
        if transparency is not None and image.mode in ("1", "L", "I", "I;16", "P", "RGB"):
            params["transparency"] = transparency
        content = _save(image, "PNG", optimize=True, **params)
        if len(content) > max_bytes:
            raise UploadError(
                _("Even after re-encoding the image is larger than %(limit)s; scan it at a lower resolution.")
                % {"limit": format_size(max_bytes)}
            )
        return content
    for quality in (JPEG_QUALITY, *JPEG_FALLBACK_QUALITIES):
        content = _save(image, "JPEG", quality=quality, optimize=True, **params)
        if len(content) <= max_bytes:
            return content
    raise UploadError(
        _("Even after re-encoding the image is larger than %(limit)s; scan it at a lower resolution.")
        % {"limit": format_size(max_bytes)}
    )


def _save(image, output_format, **params):
    buffer = io.BytesIO()
    image.save(buffer, output_format, **params)
    return buffer.getvalue()


def _check_min_size(image, min_size):
    if not min_size:
        return
    min_width, min_height = min_size
    width, height = image.size
    if width < min_width or height < min_height:
        raise UploadError(
            _(
                "The image must be at least %(min_width)d×%(min_height)d pixels; "
                "this one is %(width)d×%(height)d."
            )
            % {"min_width": min_width, "min_height": min_height, "width": width, "height": height}
        )


def _name_notice(original_name, extension):
    """Say so when the uploaded name claims another format than the content has."""
    suffix = PurePosixPath(original_name).suffix.lower().lstrip(".")
    claimed = {"jpg": "jpg", "jpeg": "jpg", "jpe": "jpg", "png": "png", "pdf": "pdf"}.get(suffix)
    if claimed is None or claimed == extension:
        return ()
    return (
        _("The file is named %(name)s but holds a %(format)s file; it was stored as %(format)s.")
        % {"name": original_name, "format": extension.upper()},
    )


def _clean_image_data(
    data, *, original_name, min_size, max_bytes, formats, output_format=None, max_side=None
):
    unknown = set(formats) - {"JPEG", "PNG"}
    if not formats or unknown:
        raise ValueError(f"Only JPEG and PNG are accepted, not {sorted(unknown)}")
    image, found = _decode(data, tuple(formats))
    # The decoded original is released as soon as its turned copy exists: big scans take memory.
    with image:
        oriented = _orient(image)
    with oriented:
        _check_min_size(oriented, min_size)
        notices = []
        if max_side and max(oriented.size) > max_side:
            oriented.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            notices.append(
                _("The picture was reduced to %(width)d×%(height)d pixels.")
                % {"width": oriented.width, "height": oriented.height}
            )
        output_format = output_format or found
        content = _encode(oriented, output_format, max_bytes=max_bytes)
        width, height = oriented.size
    extension = EXTENSIONS[output_format]
    if output_format == found:
        notices[:0] = _name_notice(original_name, extension)
    return _make_clean_file(
        content, extension, original_name=original_name, width=width, height=height, notices=notices
    )


def clean_image(uploaded_file, *, min_size=None, max_bytes=None, formats=("JPEG", "PNG")):
    """Check an uploaded image by its content and re-encode it without metadata.

    `min_size` is (width, height) in pixels after orientation, or None for no minimum; `max_bytes`
    defaults to REGISTRAR["UPLOAD_MAX_BYTES"] (10 MB). Raises UploadError with a message for the user.
    The result keeps the format found in the content (a PNG named .jpg is stored as .png, with a notice).
    """
    max_bytes = max_bytes or config("UPLOAD_MAX_BYTES")
    data = _read(uploaded_file, max_bytes)
    return _clean_image_data(
        data,
        original_name=clean_original_name(getattr(uploaded_file, "name", "")),
        min_size=min_size,
        max_bytes=max_bytes,
        formats=formats,
    )


def clean_photo(uploaded_file):
    """A student photo (JPG or PNG in): fully decoded, oriented, reduced to PHOTO_MAX_SIDE, JPEG out."""
    max_bytes = config("PHOTO_MAX_BYTES")
    data = _read(uploaded_file, max_bytes)
    return _clean_image_data(
        data,
        original_name=clean_original_name(getattr(uploaded_file, "name", "")),
        min_size=config("PHOTO_MIN_SIZE"),
        max_bytes=max_bytes,
        formats=("JPEG", "PNG"),
        output_format="JPEG",
        max_side=config("PHOTO_MAX_SIDE"),
    )


# --- PDF ------------------------------------------------------------------------------------------

PDF_RENDERER = Path(__file__).with_name("pdfrender.py")


def _pdf_refusal(status, detail):
    """The message for the renderer's exit status (see pdfrender.py)."""
    if status == pdfrender.DAMAGED:
        return UploadError(_("The PDF document is incomplete or damaged."))
    if status == pdfrender.PASSWORD:
        return UploadError(
            _("The PDF document is protected by a password. Save it without one, or scan the paper again.")
        )
    if status == pdfrender.TOO_MANY_PAGES:
        return UploadError(
            _(
                "The PDF document has %(count)s pages; at most %(limit)d are accepted. "
                "Split it into several files."
            )
            % {"count": detail, "limit": config("PDF_MAX_PAGES")}
        )
    if status == pdfrender.TOO_LARGE:
        return UploadError(_("The pages of the PDF document are too large; scan them at a lower resolution."))
    # Out of memory, a crash in PDFium, anything else: nothing to tell but that it failed.
    return UploadError(
        _("The PDF document could not be read. Scan the paper again, or save it as JPG or PNG.")
    )


def _render_pdf(data):
    """The pages as one PNG, rendered by PDFium in a child process bounded in time and memory."""
    command = [
        sys.executable,
        # Isolated: the child imports nothing from the project or the environment's paths.
        "-I",
        str(PDF_RENDERER),
        f"--dpi={config('PDF_RENDER_DPI')}",
        f"--max-pages={config('PDF_MAX_PAGES')}",
        f"--max-pixels={config('UPLOAD_MAX_PIXELS')}",
        f"--max-side={config('PDF_PAGE_MAX_SIDE')}",
        f"--max-memory={config('PDF_RENDER_MAX_MEMORY')}",
    ]
    try:
        finished = subprocess.run(
            command, input=data, capture_output=True, timeout=config("PDF_RENDER_SECONDS"), check=False
        )
    except subprocess.TimeoutExpired as error:
        raise UploadError(
            _("The PDF document could not be read in time. Scan the paper again, or save it as JPG or PNG.")
        ) from error
    if finished.returncode == 0 and finished.stdout:
        return finished.stdout
    raise _pdf_refusal(finished.returncode, finished.stderr.decode("ascii", "replace").strip())


def _clean_pdf_data(data, *, original_name, min_size, max_bytes):
    """A PDF becomes a picture of its pages: what a reviewer needs to see, and nothing that could run.

    Scripts, actions, links, attached files and forms stay behind in the PDF, which is not kept.
    """
    if not data.startswith(b"%PDF-"):
        raise UnrecognisedFile(_("The file is not a PDF document."))
    if b"%%EOF" not in data[-1024:]:
        raise UploadError(_("The PDF document is incomplete or damaged."))
    pages = _render_pdf(data)
    clean = _clean_image_data(
        pages,
        original_name=original_name,
        min_size=min_size,
        max_bytes=max_bytes,
        formats=("PNG",),
        output_format="JPEG",
    )
    notice = _("The PDF document was stored as a picture of its pages.")
    return replace(clean, notices=(notice, *clean.notices))


def clean_pdf(uploaded_file, *, max_bytes=None, min_size=None):
    """Check an uploaded PDF and turn its pages into one JPG picture (pages one under another).

    The PDF itself is not kept: PDFium renders it without its form environment (no script or action
    runs) in a child process limited to REGISTRAR["PDF_RENDER_SECONDS"] and ["PDF_RENDER_MAX_MEMORY"],
    at most REGISTRAR["PDF_MAX_PAGES"] pages at ["PDF_RENDER_DPI"]. The result is an image like any
    other upload: decoded, re-encoded, and served inline with a sandboxing policy.
    """
    max_bytes = max_bytes or config("UPLOAD_MAX_BYTES")
    data = _read(uploaded_file, max_bytes)
    return _clean_pdf_data(
        data,
        original_name=clean_original_name(getattr(uploaded_file, "name", "")),
        min_size=min_size,
        max_bytes=max_bytes,
    )


def clean_evidence(uploaded_file, *, allow_pdf=True, min_size=None):
    """An evidence scan: a JPG or PNG image, or (when allow_pdf) a PDF, told apart by content.

    A PDF is stored as a JPG picture of its pages (see clean_pdf). Images, and the pictures of a
    PDF's pages, must measure at least `min_size`, by default REGISTRAR["EVIDENCE_MIN_SIZE"] (200×200).
    """
    max_bytes = config("UPLOAD_MAX_BYTES")
    data = _read(uploaded_file, max_bytes)
    original_name = clean_original_name(getattr(uploaded_file, "name", ""))
    min_size = min_size or config("EVIDENCE_MIN_SIZE")
    if data.startswith(b"%PDF-") and allow_pdf:
        return _clean_pdf_data(data, original_name=original_name, min_size=min_size, max_bytes=max_bytes)
    try:
        return _clean_image_data(
            data,
            original_name=original_name,
            min_size=min_size,
            max_bytes=max_bytes,
            formats=("JPEG", "PNG"),
        )
    except UnrecognisedFile as error:
        if allow_pdf:
            raise UnrecognisedFile(_("The file is neither a JPG or PNG image nor a PDF document.")) from error
        raise


# --- Storage --------------------------------------------------------------------------------------


def private_upload_to(instance, filename):
    """<app>/<yyyy>/<mm>/<random>.<ext>: nothing of the uploader's name reaches the disk."""
    extension = PurePosixPath(filename).suffix.lower().lstrip(".")
    if extension not in CONTENT_TYPES:
        extension = "bin"
    now = timezone.localtime()
    return f"{instance._meta.app_label}/{now:%Y/%m}/{uuid.uuid4().hex}.{extension}"


def save_clean_file(instance, clean_file, *, field_name="file"):
    """Write a CleanFile into `instance.<field_name>` under a random name; the row itself is not saved.

    Fills the PrivateFile fields the model has (original_name, content_type, size, sha256, width,
    height), so it also works for a plain FileField such as a student's photo. Call it in the service,
    after every other check, just before saving the row.
    """
    fields = {model_field.name for model_field in instance._meta.get_fields()}
    for name in ("original_name", "content_type", "size", "sha256", "width", "height"):
        if name in fields:
            setattr(instance, name, getattr(clean_file, name))
    getattr(instance, field_name).save(
        f"{uuid.uuid4().hex}.{clean_file.extension}", ContentFile(clean_file.content), save=False
    )
    return instance


class PrivateFile(models.Model):
    """Abstract base of every stored upload (evidence scans …). Subclass it in the workflow app.

    The file lives in the default storage under a random name; serve it with `serve_private_file`
    from a view that has checked access first.
    """

    file = models.FileField(gettext_lazy("file"), upload_to=private_upload_to, max_length=200)
    original_name = models.CharField(gettext_lazy("original file name"), max_length=255, blank=True)
    content_type = models.CharField(gettext_lazy("content type"), max_length=50)
    size = models.PositiveIntegerField(gettext_lazy("size in bytes"))
    sha256 = models.CharField(gettext_lazy("SHA-256 checksum"), max_length=64)
    width = models.PositiveIntegerField(gettext_lazy("width in pixels"), null=True, blank=True)
    height = models.PositiveIntegerField(gettext_lazy("height in pixels"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(gettext_lazy("uploaded at"), default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self):
        return self.original_name or self.file.name

    @classmethod
    def from_clean_file(cls, clean_file, **fields):
        """An unsaved instance holding `clean_file`, already written to storage; the caller saves it."""
        return save_clean_file(cls(**fields), clean_file)

    @property
    def extension(self):
        return PurePosixPath(self.file.name).suffix.lstrip(".")

    @property
    def download_name(self):
        return download_name(self.original_name, self.extension)

    @property
    def is_image(self):
        return self.content_type.startswith("image/")

    @property
    def is_pdf(self):
        return self.content_type == "application/pdf"

    def delete_with_file(self):
        """Delete the row, and the file once the deletion is committed."""
        storage, name = self.file.storage, self.file.name
        self.delete()
        transaction.on_commit(lambda: storage.delete(name))


# --- Serving --------------------------------------------------------------------------------------

# Even if a browser were tricked into rendering a stored file as a page, it could run nothing.
IMAGE_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
)
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


def serve_private_file(request, field_file, *, filename, content_type, inline=True):
    """Stream a stored upload to a user who may see it.

    The caller MUST check access first (the app's access helper: 404 outside the user's scope, 403
    without the role). `filename` is what the browser shows or saves (Chinese names work: RFC 5987),
    `content_type` the one recorded when the file was cleaned. Only the JPG and PNG images we
    re-encoded are shown inline; anything else (a PDF kept from before PDFs were turned into
    pictures) is a download, under a sandboxing policy. A missing file is a 404. `request` is not
    read today; it is there so that every call site already passes what access logging will need.
    """
    if content_type not in CONTENT_TYPES.values():
        content_type = "application/octet-stream"
    if not content_type.startswith("image/"):
        inline = False
    try:
        handle = field_file.open("rb")
    except (FileNotFoundError, ValueError) as error:
        raise Http404 from error
    response = FileResponse(
        handle,
        content_type=content_type,
        as_attachment=not inline,
        filename=clean_original_name(filename) or download_name("", "bin"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Content-Security-Policy"] = IMAGE_POLICY if inline else OTHER_POLICY
    # The review pages show images of their own origin; the site-wide default is DENY.
    response["X-Frame-Options"] = "SAMEORIGIN" if inline else "DENY"
    return response


@dataclass(frozen=True)
class ViewerFile:
    """One entry of the file viewer (templates/registrar/_viewer.html)."""

    url: str
    name: str
    content_type: str
    download_url: str = ""

    @classmethod
    def for_upload(cls, upload, url, download_url=""):
        return cls(
            url=url, name=upload.download_name, content_type=upload.content_type, download_url=download_url
        )
