"""A clean synthetic sample photographed badly: laid on a table, rotated, with impairments
(sensor noise, blur, low contrast, heavy JPEG compression, low resolution) at the levels
of a poor phone photo or cheap scan. Every draw comes from the caller's ``random.Random``.
For tests and benchmarks only (``taas_ocr.generator``)."""

# Synthetic data: seeded, reproducible draws (not secrets).

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageFilter

Variant = Literal["clean", "degraded", "stress"]
"""``clean``: a flat scan. ``degraded``: a photo on a table, rotated, with two of the
five impairments below. ``stress``: the photo with all five at once."""
IMPAIRMENTS = ("noise", "blur", "low_contrast", "jpeg", "low_resolution")


@dataclass(frozen=True)
class Degradation:
    """How a degraded sample differs from the clean one (neutral values change nothing)."""

    angle_deg: float = 0.0
    on_table: bool = False
    """Whether the card lies on a darker surface with a margin around it."""
    noise_sigma: float = 0.0
    blur_radius: float = 0.0
    contrast: float = 1.0
    """Factor on the distance from mid-grey."""
    jpeg_quality: int = 95
    scale: float = 1.0

    @property
    def impairments(self) -> tuple[str, ...]:
        """The impairments (of ``IMPAIRMENTS``) this degradation applies."""
        applied = {
            "noise": self.noise_sigma > 0,
            "blur": self.blur_radius > 0,
            "low_contrast": self.contrast < 1,
            "jpeg": self.jpeg_quality < 95,
            "low_resolution": self.scale < 1,
        }
        return tuple(name for name in IMPAIRMENTS if applied[name])

    @classmethod
    def draw(
        cls, rng: random.Random, impairments: Sequence[str], on_table: bool = True
    ) -> Degradation:
        """A photo rotated by 3-8° either way, with ``impairments`` at the levels of a
        poor phone photo or cheap scan, drawn per sample."""
        unknown = set(impairments) - set(IMPAIRMENTS)
        if unknown:
            raise ValueError(f"unknown impairments {sorted(unknown)}; known: {IMPAIRMENTS}")
        levels: dict[str, dict[str, float]] = {
            "noise": {"noise_sigma": rng.uniform(8, 16)},
            "blur": {"blur_radius": rng.uniform(0.8, 1.5)},
            "low_contrast": {"contrast": rng.uniform(0.35, 0.55)},
            "jpeg": {"jpeg_quality": rng.randint(25, 45)},
            "low_resolution": {"scale": rng.uniform(0.6, 0.8)},
        }
        chosen: dict[str, float] = {}
        for impairment in impairments:
            chosen.update(levels[impairment])
        return cls(
            angle_deg=rng.choice((-1, 1)) * rng.uniform(3, 8),
            on_table=on_table,
            noise_sigma=chosen.get("noise_sigma", 0.0),
            blur_radius=chosen.get("blur_radius", 0.0),
            contrast=chosen.get("contrast", 1.0),
            jpeg_quality=int(chosen.get("jpeg_quality", 95)),
            scale=chosen.get("scale", 1.0),
        )

    @classmethod
    def for_variant(
        cls, variant: Variant, rng: random.Random, on_table: bool = True
    ) -> Degradation | None:
        """The degradation of a ``variant`` (None for clean)."""
        if variant == "clean":
            return None
        if variant == "degraded":
            return cls.draw(rng, rng.sample(IMPAIRMENTS, 2), on_table)
        if variant == "stress":
            return cls.draw(rng, IMPAIRMENTS, on_table)
        raise ValueError(f"unknown variant {variant!r}")

    def apply(self, image: Image.Image, rng: random.Random) -> Image.Image:
        """``image`` degraded by these levels (noise and table colour drawn from ``rng``)."""
        fill = (250, 250, 247)
        if self.on_table:
            fill = (rng.randint(60, 110), rng.randint(50, 90), rng.randint(40, 80))
            margin = int(0.08 * image.width)
            table = Image.new("RGB", (image.width + 2 * margin, image.height + 2 * margin), fill)
            table.paste(image, (margin, margin))
            image = table
        image = image.rotate(
            self.angle_deg, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill
        )
        if self.scale != 1.0:
            size = (round(image.width * self.scale), round(image.height * self.scale))
            image = image.resize(size, Image.Resampling.BILINEAR)
        if self.blur_radius:
            image = image.filter(ImageFilter.GaussianBlur(self.blur_radius))
        pixels = np.asarray(image, dtype=np.float32)
        if self.contrast != 1.0:
            pixels = 128 + (pixels - 128) * self.contrast + rng.uniform(-20, 20)
        if self.noise_sigma:
            noise = np.random.default_rng(rng.getrandbits(32)).normal(
                0, self.noise_sigma, pixels.shape
            )
            pixels = (pixels + noise).astype(np.float32)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=self.jpeg_quality)
        return Image.open(io.BytesIO(out.getvalue())).convert("RGB")
