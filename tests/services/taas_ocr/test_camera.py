"""The bad photographs of the synthetic samples: rotated, impaired as declared."""

from __future__ import annotations

import random

import numpy as np
import pytest
from taas_ocr import camera, generator


def test_a_degraded_sample_has_rotation_and_two_impairments() -> None:
    for seed in range(20):
        rng = random.Random(seed)
        degradation = camera.Degradation.for_variant("degraded", rng)
        assert degradation is not None
        assert 3 <= abs(degradation.angle_deg) <= 8
        assert len(degradation.impairments) == 2
    stress = camera.Degradation.for_variant("stress", random.Random(0))
    assert stress is not None
    assert stress.impairments == camera.IMPAIRMENTS
    assert stress.noise_sigma > 0
    assert stress.blur_radius > 0
    assert stress.scale < 1
    assert camera.Degradation.for_variant("clean", random.Random(0)) is None


def test_unknown_impairments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown impairments"):
        camera.Degradation.draw(random.Random(0), ["smudge"])


def test_low_contrast_lowers_contrast() -> None:
    card = generator.id_card(2).image
    faded = camera.Degradation(contrast=0.4).apply(card, random.Random(0))
    assert np.std(np.asarray(faded.convert("L"))) < 0.6 * np.std(np.asarray(card.convert("L")))
