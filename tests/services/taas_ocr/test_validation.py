"""Uploaded images are checked before any work: clear 4xx errors for what cannot be read."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from taas_ocr import generator, validation
from taas_ocr.validation import ImageError, decode


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header says it is ``width`` x ``height`` (a decompression bomb)."""
    png = encoded(Image.new("1", (64, 64)), "PNG")
    header = struct.pack(">II", width, height) + png[24:29]  # IHDR data after the size
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return png[:16] + header + crc + png[33:]


def refused(data: bytes) -> ImageError:
    with pytest.raises(ImageError) as caught:
        decode(data)
    return caught.value


def test_a_jpeg_is_decoded_to_bgr_pixels() -> None:
    image = Image.new("RGB", (64, 48), (255, 0, 0))
    decoded = decode(encoded(image, "PNG"))
    assert (decoded.format, decoded.width, decoded.height) == ("PNG", 64, 48)
    assert decoded.pixels.shape == (48, 64, 3)
    assert tuple(decoded.pixels[0, 0]) == (0, 0, 255)  # red, in OpenCV's channel order


def test_the_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (80, 40), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    decoded = decode(encoded(image, "JPEG", exif=exif))
    assert (decoded.width, decoded.height) == (40, 80)


def test_an_empty_file_is_refused() -> None:
    error = refused(b"")
    assert error.status == 422
    assert "empty" in error.detail


def test_bytes_that_are_not_an_image_are_refused() -> None:
    error = refused(b"%PDF-1.7 this is no image")
    assert error.status == 422
    assert "not an image" in error.detail
    assert error.hint
    assert "image/jpeg" in error.hint


def test_a_truncated_image_is_refused() -> None:
    whole = generator.bank_card(0).encoded("JPEG")
    error = refused(whole[: len(whole) // 2])
    assert error.status == 422
    assert "corrupt or truncated" in error.detail


def test_a_file_over_the_byte_limit_is_refused_before_decoding() -> None:
    error = refused(b"\xff" * (validation.MAX_IMAGE_BYTES + 1))
    assert error.status == 413
    assert f"{validation.MAX_IMAGE_BYTES:,}" in error.detail


def test_an_image_over_the_pixel_limit_is_refused_from_its_header() -> None:
    error = refused(png_claiming(10_000, 6_000))
    assert error.status == 413
    assert "10000x6000" in error.detail


def test_an_image_claiming_billions_of_pixels_is_refused() -> None:
    # Past Pillow's own bomb threshold: Pillow refuses to open it at all.
    assert refused(png_claiming(100_000, 100_000)).status == 413


def test_an_unsupported_format_is_refused() -> None:
    error = refused(encoded(Image.new("RGB", (64, 64)), "GIF"))
    assert error.status == 415
    assert "GIF" in error.detail


def test_a_tiny_image_is_refused() -> None:
    error = refused(encoded(Image.new("RGB", (20, 10)), "PNG"))
    assert error.status == 422
    assert "too small" in error.detail
