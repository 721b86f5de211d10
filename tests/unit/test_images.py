"""Attachments for subscribers: photos re-encoded without EXIF/GPS/XMP/ICC/text, upright; the rest noted."""

from __future__ import annotations

import io
import warnings

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from save_relay.mail.i18n import LANGUAGES, AttachmentNote, Metadata, attachment_note, metadata_label
from save_relay.mail.images import HEIF_SUPPORTED, scrub_attachment

GPS = {1: "N", 2: (51.0, 14.0, 28.8), 3: "E", 4: (5.0, 17.0, 10.3)}  # 51.2413 N, 5.2862 E


def photo(
    fmt: str = "JPEG", size: tuple[int, int] = (64, 48), orientation: int | None = None, **save: object
) -> bytes:
    """A photo as a phone writes it: GPS, make/model, date taken, software, XMP (left half red)."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "Apple", "iPhone 15 Pro", "17.1"
    exif[0x0132] = "2026:11:24 03:15:00"
    exif.get_ifd(0x8769)[0x9003] = "2026:11:24 03:15:00"
    exif.get_ifd(0x8825).update(GPS)
    if orientation is not None:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, fmt, exif=exif, **save)
    return buffer.getvalue()


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_clean(image: Image.Image) -> None:
    assert not image.getexif() and not image.getexif().get_ifd(0x8825)
    assert "exif" not in image.info and "xmp" not in image.info and "XML:com.adobe.xmp" not in image.info
    assert "icc_profile" not in image.info and "comment" not in image.info and "photoshop" not in image.info
    assert not getattr(image, "text", {})


@pytest.mark.parametrize(
    ("fmt", "ctype", "name"), [("JPEG", "image/jpeg", "foto.JPG"), ("WEBP", "image/webp", "x.webp")]
)
def test_photo_with_gps_comes_out_without_metadata(fmt: str, ctype: str, name: str) -> None:
    raw = photo(fmt, xmp=b"<x:xmpmeta>Jan Vos</x:xmpmeta>")
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the input really has GPS
    result = scrub_attachment(raw, ctype, name)
    assert result.status == "cleaned" and result.data is not None
    assert result.content_type == ctype and result.filename == name
    assert {Metadata.GPS, Metadata.CAMERA, Metadata.DATE_TAKEN, Metadata.SOFTWARE, Metadata.EXIF} <= set(
        result.removed
    )
    assert b"iPhone" not in result.data and b"Apple" not in result.data and b"Jan Vos" not in result.data
    image = reopen(result.data)
    assert image.format == fmt and image.size == (64, 48) and result.size == (64, 48)
    assert_clean(image)
    assert image.getpixel((5, 5))[0] > 200 and image.getpixel((60, 5))[2] > 200  # red left, blue right


def test_jpeg_quality_stays_good() -> None:
    raw = photo(size=(400, 300), quality=95)
    result = scrub_attachment(raw, "image/jpeg", "a.jpg")
    assert result.data is not None
    assert len(result.data) > len(raw) // 4  # quality ~90, not a thumbnail


def test_orientation_is_applied() -> None:
    raw = photo(size=(64, 48), orientation=6)  # stored landscape, shown rotated 90 degrees clockwise
    result = scrub_attachment(raw, "image/jpeg", "IMG_0001.jpeg")
    assert result.data is not None and result.filename == "IMG_0001.jpeg"
    image = reopen(result.data)
    assert image.size == (48, 64) and 0x0112 not in image.getexif()
    assert image.getpixel((24, 5))[0] > 200 and image.getpixel((24, 60))[2] > 200  # red now on top


def test_png_text_chunks_and_icc_profile_are_removed() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jan Vos")
    info.add_itxt("Comment", "Metaalwerken Vos NV, Balendijk 112", lang="nl")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    Image.new("RGBA", (20, 10), (0, 128, 0, 255)).save(buffer, "PNG", pnginfo=info, icc_profile=icc)
    result = scrub_attachment(buffer.getvalue(), "image/png", "screenshot.png")
    assert result.status == "cleaned" and result.data is not None
    assert set(result.removed) == {Metadata.TEXT, Metadata.ICC_PROFILE}
    assert b"Jan Vos" not in result.data and b"Balendijk" not in result.data
    image = reopen(result.data)
    assert image.format == "PNG" and image.mode == "RGBA" and image.size == (20, 10)
    assert_clean(image)


def test_the_format_comes_from_the_bytes_not_the_header() -> None:
    result = scrub_attachment(photo("PNG"), "image/jpeg", "foto.jpg")  # a PNG sent as JPEG
    assert result.content_type == "image/png" and result.filename == "foto.png"
    assert_clean(reopen(result.data or b""))


@pytest.mark.skipif(not HEIF_SUPPORTED, reason="pillow-heif not installed")
def test_heic_becomes_jpeg_without_metadata() -> None:
    raw = photo("HEIF", quality=90)
    result = scrub_attachment(raw, "image/heic", "IMG_4711.HEIC")
    assert result.status == "cleaned" and result.data is not None
    assert result.content_type == "image/jpeg" and result.filename == "IMG_4711.jpg"
    assert Metadata.GPS in result.removed
    image = reopen(result.data)
    assert image.format == "JPEG" and image.size == (64, 48)
    assert_clean(image)


def test_a_decompression_bomb_is_refused_cleanly() -> None:
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, "PNG")  # 400 MP, a few kB
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = scrub_attachment(buffer.getvalue(), "image/png", "bom.png")
    assert result == scrub_attachment(buffer.getvalue(), "image/png", "bom.png")
    assert result.status == "dropped" and result.data is None and result.note is AttachmentNote.TOO_LARGE
    small = scrub_attachment(photo(size=(100, 100)), "image/jpeg", "a.jpg", max_pixels=9_999)
    assert small.status == "dropped" and small.note is AttachmentNote.TOO_LARGE


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image",
        photo()[:200],
        b"\xff\xd8\xff\xe0" + b"\x00" * 50,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 30,
    ],
)
def test_unreadable_images_are_dropped_with_a_reason(data: bytes) -> None:
    result = scrub_attachment(data, "image/jpeg", "kapot.jpg")
    assert result.status == "dropped" and result.data is None
    assert result.note in (AttachmentNote.UNREADABLE, AttachmentNote.UNSUPPORTED_IMAGE)


def test_other_image_formats_are_dropped_not_passed_on() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "TIFF")
    result = scrub_attachment(buffer.getvalue(), "image/tiff", "scan.tif")
    assert result.status == "dropped" and result.note is AttachmentNote.UNSUPPORTED_IMAGE


@pytest.mark.parametrize(
    ("ctype", "name"),
    [
        ("application/pdf", "pv.pdf"),
        ("application/octet-stream", "verslag.DOCX"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "lijst.xlsx"),
        ("application/vnd.ms-powerpoint", "a.ppt"),
        ("application/msword", "a.doc"),
        ("application/vnd.ms-excel", "a.xls"),
        ("application/vnd.oasis.opendocument.text", "a.odt"),
    ],
)
def test_documents_are_kept_with_a_metadata_note(ctype: str, name: str) -> None:
    result = scrub_attachment(b"%PDF-1.4 or a zip", ctype, name)
    assert result.status == "kept" and result.data == b"%PDF-1.4 or a zip"
    assert result.note is AttachmentNote.MAY_CARRY_METADATA


def test_other_files_are_kept_without_a_note() -> None:
    result = scrub_attachment(b"hello", "text/plain", "notities.txt")
    assert result.status == "kept" and result.note is None and result.data == b"hello"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_label_in_every_language(language: str) -> None:
    assert all(metadata_label(kind, language) for kind in Metadata)
    assert all(attachment_note(note, language) for note in AttachmentNote)
