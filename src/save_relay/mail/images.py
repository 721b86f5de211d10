"""Attachments as subscribers get them: photos re-encoded without metadata. Pure, no database.

A photo from a phone names the spot it was taken (GPS), the phone (make, model, serial numbers), the
time and often the owner; invariant 7 says none of that leaves the police. :func:`scrub_attachment`
decodes JPEG, PNG, WebP and HEIC/HEIF (with pillow-heif) photos with Pillow, applies the EXIF
orientation, converts a colour profile to sRGB, and encodes the pixels again with nothing else:
no EXIF, XMP, IPTC, ICC profile, comments or text chunks. HEIC/HEIF become JPEG (mail programs
rarely show HEIC). Anything that cannot be decoded safely is reported, never passed on as it is.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from save_relay.mail.i18n import AttachmentNote, Metadata

try:  # HEIC/HEIF: an optional opener; without it such photos are "unsupported" (dropped, told)
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - pillow-heif is a dependency; kept for slim installs
    HEIF_SUPPORTED = False

__all__ = ["HEIF_SUPPORTED", "ScrubResult", "scrub_attachment"]

MAX_PIXELS = 40_000_000  # 40 MP: larger than any phone photo; a "decompression bomb" is refused
JPEG_QUALITY = 90

#: Formats we re-encode, by Pillow's format name: the output format and content type.
_OUTPUT: dict[str, tuple[str, str, str]] = {
    "JPEG": ("JPEG", "image/jpeg", ".jpg"),
    "MPO": ("JPEG", "image/jpeg", ".jpg"),  # a JPEG with extra frames (some cameras): first frame
    "PNG": ("PNG", "image/png", ".png"),
    "WEBP": ("WEBP", "image/webp", ".webp"),
    "HEIF": ("JPEG", "image/jpeg", ".jpg"),
}
_IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/webp", "image/heic", "image/heif"}
)
_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".heic", ".heif"})
#: Documents that can name their author, company, printer or edit history: kept, with a note.
METADATA_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/rtf",
        "text/rtf",
    }
)
METADATA_TYPE_PREFIXES = (
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.oasis.opendocument.",
)
METADATA_SUFFIXES = frozenset(
    {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".rtf"}
)
_SRGB = ImageCms.createProfile("sRGB")
# EXIF tags (0th IFD and Exif IFD) that say who, with what and when.
_CAMERA_TAGS = (0x010F, 0x0110, 0xA431, 0xA433, 0xA434)  # make, model, body serial, lens make/model
_DATE_TAGS = (0x0132, 0x9003, 0x9004)  # DateTime, DateTimeOriginal, DateTimeDigitized
_AUTHOR_TAGS = (0x013B, 0x8298, 0x9C9D)  # Artist, Copyright, XPAuthor
_SOFTWARE_TAG = 0x0131
_GPS_IFD, _EXIF_IFD = 0x8825, 0x8769


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """What becomes of one attachment.

    ``status``: ``cleaned`` (``data`` is the re-encoded image, under ``content_type``/``filename``),
    ``kept`` (not an image: ``data`` is the original; ``note`` may warn that it can carry metadata) or
    ``dropped`` (an image that could not be cleaned: ``data`` is None and ``note`` says why; send the
    report without it and tell the moderator).
    """

    status: Literal["cleaned", "kept", "dropped"]
    data: bytes | None
    content_type: str
    filename: str
    removed: tuple[Metadata, ...] = ()
    note: AttachmentNote | None = None
    size: tuple[int, int] | None = None  # width, height of a cleaned image


def _suffix(filename: str) -> str:
    return PurePosixPath(filename.replace("\\", "/")).suffix.lower()


def _is_image(content_type: str, filename: str) -> bool:
    return content_type.lower().startswith("image/") or _suffix(filename) in _IMAGE_SUFFIXES


def _carries_metadata(content_type: str, filename: str) -> bool:
    ctype = content_type.lower()
    return (
        ctype in METADATA_TYPES
        or ctype.startswith(METADATA_TYPE_PREFIXES)
        or _suffix(filename) in METADATA_SUFFIXES
    )


def _exif_metadata(image: Image.Image) -> list[Metadata]:
    """What the image's EXIF block tells (GPS, camera, date, author, software, anything else)."""
    exif = image.getexif()
    if not exif and "exif" not in image.info:
        return []
    tags = dict(exif)
    tags.update(exif.get_ifd(_EXIF_IFD))
    found: list[Metadata] = []
    if exif.get_ifd(_GPS_IFD) or _GPS_IFD in tags:
        found.append(Metadata.GPS)
    for kind, keys in (
        (Metadata.CAMERA, _CAMERA_TAGS),
        (Metadata.DATE_TAKEN, _DATE_TAGS),
        (Metadata.AUTHOR, _AUTHOR_TAGS),
        (Metadata.SOFTWARE, (_SOFTWARE_TAG,)),
    ):
        if any(tags.get(key) for key in keys):
            found.append(kind)
    return [*found, Metadata.EXIF]


def _metadata(image: Image.Image) -> list[Metadata]:
    """Every kind of metadata the decoded image carries."""
    info = image.info
    found = _exif_metadata(image)
    if "xmp" in info or "XML:com.adobe.xmp" in info:
        found.append(Metadata.XMP)
    if "photoshop" in info or "iptc" in info:
        found.append(Metadata.IPTC)
    if info.get("icc_profile"):
        found.append(Metadata.ICC_PROFILE)
    if info.get("comment"):
        found.append(Metadata.COMMENT)
    if getattr(image, "text", None):  # PNG tEXt/zTXt/iTXt chunks
        found.append(Metadata.TEXT)
    if getattr(image, "n_frames", 1) > 1 and image.format not in ("MPO",):
        found.append(Metadata.ANIMATION)
    return list(dict.fromkeys(found))


def _to_srgb(image: Image.Image) -> Image.Image:
    """Pixels converted from the embedded colour profile to sRGB, so that dropping it keeps colours."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: the pixels as they are
    return converted if converted is not None else image


def _pixels(image: Image.Image, output: str) -> Image.Image:
    """The first frame, upright, in sRGB, in a mode ``output`` can store, with an empty ``info``."""
    image.seek(0)
    upright = ImageOps.exif_transpose(image)  # applies and forgets the Orientation tag
    upright = _to_srgb(upright)
    if output == "JPEG" and upright.mode not in ("RGB", "L", "CMYK"):
        upright = upright.convert("RGBA" if "transparency" in upright.info else "RGB").convert("RGB")
    clean = upright.copy() if upright is image else upright
    clean.info = {}
    return clean


def _encode(image: Image.Image, output: str) -> bytes:
    buffer = io.BytesIO()
    if output == "JPEG":
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, exif=b"", icc_profile=None)
    elif output == "WEBP":
        image.save(buffer, "WEBP", quality=JPEG_QUALITY, exif=b"", xmp=b"", icc_profile="")
    else:
        image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def _dropped(content_type: str, filename: str, note: AttachmentNote) -> ScrubResult:
    return ScrubResult("dropped", None, content_type, filename, note=note)


def _renamed(filename: str, suffix: str) -> str:
    if not filename:
        return f"photo{suffix}"
    path = PurePosixPath(filename.replace("\\", "/"))
    if path.suffix.lower() in (suffix, ".jpeg", ".jpe") and suffix == ".jpg":
        return path.name
    return path.with_suffix(suffix).name if path.suffix else f"{path.name}{suffix}"


def scrub_attachment(
    data: bytes, content_type: str, filename: str = "", *, max_pixels: int = MAX_PIXELS
) -> ScrubResult:
    """Clean one attachment for a distribution (see :class:`ScrubResult`); never raises on bad input.

    The format is read from the bytes, not trusted from ``content_type``; an image whose type or name
    says image but whose bytes are no (supported) image is dropped rather than sent on unread.
    """
    if not _is_image(content_type, filename):
        note = AttachmentNote.MAY_CARRY_METADATA if _carries_metadata(content_type, filename) else None
        return ScrubResult("kept", data, content_type, filename, note=note)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                if fmt not in _OUTPUT:
                    return _dropped(content_type, filename, AttachmentNote.UNSUPPORTED_IMAGE)
                if image.width * image.height > max_pixels:
                    return _dropped(content_type, filename, AttachmentNote.TOO_LARGE)
                output, out_type, suffix = _OUTPUT[fmt]
                removed = _metadata(image)
                clean = _pixels(image, output)
                encoded = _encode(clean, output)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _dropped(content_type, filename, AttachmentNote.TOO_LARGE)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, MemoryError):
        return _dropped(content_type, filename, AttachmentNote.UNREADABLE)
    except Exception:  # a decoder bug on hostile input: the photo is dropped, the report goes on
        return _dropped(content_type, filename, AttachmentNote.UNREADABLE)
    return ScrubResult(
        "cleaned", encoded, out_type, _renamed(filename, suffix), tuple(removed), size=clean.size
    )
