"""Checking an uploaded image before any work is done on it, with errors a caller can act on.

Order of checks: size in bytes (before reading everything), not empty, a known image
format (by content, not by the declared type), pixel count from the header (before
decoding, so a small file that claims to be a gigapixel image costs nothing), then a
full decode (truncated and corrupt files fail here), EXIF rotation applied.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""Largest accepted upload: a 12-megapixel phone photo is 3-8 MB as JPEG."""
MAX_IMAGE_PIXELS = 50_000_000
"""Largest accepted width x height (a decoded 50 MP grey image is 50 MB of memory)."""
MIN_IMAGE_SIDE = 32
"""Smaller images cannot hold readable text."""
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "BMP": "image/bmp",
           "TIFF": "image/tiff"}  # fmt: skip


# What Pillow's format plugins raise on malformed data (besides UnidentifiedImageError);
# UserWarning too where warnings are errors (Pillow warns about corrupt TIFF metadata).
PILLOW_DATA_ERRORS = (
    OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, UserWarning,
)  # fmt: skip
# Once per process, not per call (catch_warnings is not thread-safe, and decoding runs in
# worker threads): the pixel limit below is lower than Pillow's bomb warning threshold,
# and Pillow's complaints about a corrupt file's metadata are no use in the log.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")


class ImageError(Exception):
    """An input the module refuses: ``status`` is the HTTP status of the problem answer."""

    def __init__(self, status: int, detail: str, hint: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.hint = hint


def too_large(size: int) -> ImageError:
    """The error for an upload of ``size`` bytes (or more) over the limit."""
    return ImageError(
        413,
        f"the image is {size:,} bytes or more; the limit is {MAX_IMAGE_BYTES:,}",
        hint="send a JPEG at a lower quality or resolution (2000 px across is plenty)",
    )


def _corrupt(what: str) -> ImageError:
    return ImageError(
        422,
        f"the {what} is corrupt or truncated and cannot be decoded",
        hint="check that the whole file was sent",
    )


@dataclass(frozen=True)
class DecodedImage:
    """A decoded upload: BGR pixels (what OpenCV works on) and what it was."""

    pixels: npt.NDArray[np.uint8]
    format: str
    width: int
    height: int


def decode(data: bytes) -> DecodedImage:
    """``data`` decoded into pixels, or an ``ImageError`` saying what is wrong with it."""
    if len(data) > MAX_IMAGE_BYTES:
        raise too_large(len(data))
    if not data:
        raise ImageError(422, "the image is empty (0 bytes)", hint="send the file's content")
    try:
        image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(
            413,
            f"the image header claims more than {MAX_IMAGE_PIXELS:,} pixels",
            hint="scale the image down before sending it",
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageError(
            422,
            "the data is not an image this module can read",
            hint=f"send one of {', '.join(sorted(FORMATS.values()))}",
        ) from exc
    except PILLOW_DATA_ERRORS as exc:
        raise _corrupt("image") from exc
    if image.format not in FORMATS:
        raise ImageError(
            415,
            f"{image.format} images are not supported",
            hint=f"send one of {', '.join(sorted(FORMATS.values()))}",
        )
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageError(
            413,
            f"the image is {width}x{height} pixels; the limit is {MAX_IMAGE_PIXELS:,} pixels",
            hint="scale the image down before sending it",
        )
    if min(width, height) < MIN_IMAGE_SIDE:
        raise ImageError(
            422,
            f"the image is {width}x{height} pixels, too small to hold readable text",
            hint=f"send an image at least {MIN_IMAGE_SIDE} pixels on each side",
        )
    try:
        image.load()
        upright = ImageOps.exif_transpose(image).convert("RGB")
    except PILLOW_DATA_ERRORS as exc:
        raise _corrupt(f"{image.format} image") from exc
    bgr = np.ascontiguousarray(np.asarray(upright, dtype=np.uint8)[:, :, ::-1])
    return DecodedImage(bgr, str(image.format), upright.width, upright.height)
