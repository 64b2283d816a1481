"""Image clean-up: deskew, card outline, noise, contrast, scaling."""

from __future__ import annotations

import math
import random

import cv2
import numpy as np
import pytest
from PIL import Image
from taas_ocr import camera, generator, layout, preprocess


def gray(image: Image.Image) -> preprocess.Gray:
    return np.asarray(image.convert("L"), np.uint8)


@pytest.mark.parametrize("angle", [-7.5, -3.0, 2.0, 6.0])
def test_deskew_finds_a_known_rotation_of_a_page(angle: float) -> None:
    page = generator.document(1).image.rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(250, 250, 247)
    )
    # Pillow rotates counter-clockwise; undoing it is the opposite rotation.
    assert preprocess.skew_angle(gray(page)) == pytest.approx(-angle, abs=0.3)


def test_a_straight_page_is_left_alone() -> None:
    assert abs(preprocess.skew_angle(gray(generator.document(2).image))) < 0.3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_card_on_a_table_is_found_and_straightened(seed: int) -> None:
    rng = random.Random(seed)
    angle = rng.choice((-1, 1)) * rng.uniform(3, 8)
    photo = camera.Degradation(angle_deg=angle, on_table=True).apply(
        generator.id_card(seed).image, rng
    )
    corners = preprocess.find_card(gray(photo))
    assert corners is not None
    top_left, top_right, _, bottom_left = corners
    top_edge = top_right - top_left
    # The card's top edge is tilted by the rotation (screen y points down).
    assert -math.degrees(math.atan2(top_edge[1], top_edge[0])) == pytest.approx(angle, abs=1.0)
    width, height = np.linalg.norm(top_edge), np.linalg.norm(bottom_left - top_left)
    assert width / height == pytest.approx(preprocess.CARD_ASPECT, abs=0.05)
    card, outline = preprocess.normalise_card(gray(photo), layout.CARD_SIZE)
    assert outline
    assert card.shape == (layout.CARD_SIZE[1], layout.CARD_SIZE[0])


def test_a_scan_of_the_card_alone_has_no_outline_and_is_scaled_whole() -> None:
    scan = gray(generator.id_card(3).image)
    assert preprocess.find_card(scan) is None
    card, outline = preprocess.normalise_card(scan, layout.CARD_SIZE)
    assert not outline
    assert card.shape == scan.shape


def test_noise_is_measured_and_removed() -> None:
    clean = gray(generator.document(0).image)
    assert preprocess.noise_sigma(clean) < 1.0
    assert preprocess.denoise(clean) is clean  # nothing to do: no time spent
    noise = np.random.default_rng(0).normal(0, 12, clean.shape)
    noisy = np.clip(clean + noise, 0, 255).astype(np.uint8)
    assert preprocess.noise_sigma(noisy) > preprocess.NOISY_SIGMA
    assert preprocess.noise_sigma(preprocess.denoise(noisy)) < preprocess.noise_sigma(noisy) / 2


def test_contrast_is_stretched_to_the_full_range() -> None:
    faded = (gray(generator.id_card(0).image) * 0.3 + 100).astype(np.uint8)
    stretched = preprocess.normalise_contrast(faded)
    low, high = np.percentile(stretched, (1, 99))
    assert low <= 2
    assert high >= 253


def test_small_text_is_upscaled_and_large_text_left_alone() -> None:
    page = gray(generator.document(0).image)
    assert preprocess.upscale_text(page)[1] == 1.0
    small = np.asarray(
        cv2.resize(page, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA), np.uint8
    )
    enlarged, factor = preprocess.upscale_text(small)
    assert factor > 1.5
    assert enlarged.shape[0] == round(small.shape[0] * factor)


def test_a_rotation_maps_points_back_to_the_input() -> None:
    image = gray(generator.document(0).image)
    _, rotation = preprocess.rotate(image, 5.0)
    points = np.array([[10, 20], [500, 300]], np.float32)
    forward = np.asarray(
        cv2.transform(points.reshape(-1, 1, 2), rotation.matrix).reshape(-1, 2), np.float32
    )
    assert np.allclose(rotation.back(forward), points, atol=0.01)


def test_light_text_on_a_dark_card_is_inverted() -> None:
    dark = np.full((50, 200), 40, np.uint8)
    assert preprocess.dark_text(dark)[0, 0] == 215
    light = np.full((50, 200), 220, np.uint8)
    assert preprocess.dark_text(light) is light


def test_large_images_are_scaled_down() -> None:
    big = np.zeros((3000, 4800), np.uint8)
    small, scale = preprocess.limit_size(big)
    assert max(small.shape) == preprocess.MAX_SIDE_PX
    assert scale == pytest.approx(0.5)
