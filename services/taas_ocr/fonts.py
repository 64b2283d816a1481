"""The fonts the synthetic samples are drawn with: Noto Sans CJK (Debian package
``fonts-noto-cjk``) and a bold monospaced Latin font for card numbers."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from PIL import ImageFont

NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
SC_INDEX = 2  # Noto Sans CJK SC inside the .ttc collections
MONO_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf")


class FontsMissingError(RuntimeError):
    """The CJK fonts the generator draws with are not installed."""


@functools.cache
def _font_file(bold: bool) -> Path:
    name = "NotoSansCJK-Bold.ttc" if bold else "NotoSansCJK-Regular.ttc"
    if (NOTO_DIR / name).exists():
        return NOTO_DIR / name
    fc_match = shutil.which("fc-match")
    if fc_match:
        style = "Bold" if bold else "Regular"
        found = subprocess.run(
            [fc_match, "-f", "%{file}", f"Noto Sans CJK SC:style={style}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if "NotoSansCJK" in found:
            return Path(found)
    raise FontsMissingError(
        "Noto Sans CJK is not installed; run `taas stack up` or `apt-get install fonts-noto-cjk`"
    )


@functools.cache
def cjk_font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """Noto Sans CJK SC at ``size`` pixels."""
    return ImageFont.truetype(str(_font_file(bold)), size, index=SC_INDEX)


@functools.cache
def mono_font(size: int) -> ImageFont.FreeTypeFont:
    """A bold monospaced Latin font for embossed card numbers (falls back to Noto Mono CJK)."""
    if MONO_FONT.exists():
        return ImageFont.truetype(str(MONO_FONT), size)
    return ImageFont.truetype(str(_font_file(True)), size, index=7)
