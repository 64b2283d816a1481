"""Image clean-up before Tesseract: grey, denoise, contrast, deskew, card crop, binarise, upscale.

All functions take and return 8-bit single-channel (grey) numpy arrays unless they say
otherwise, and never modify their input.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Gray = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float32]

MAX_SIDE_PX = 2400
"""Larger inputs are scaled down first: more pixels only slow Tesseract down."""
NOISY_SIGMA = 3.0
"""Measured noise (``noise_sigma``) above which denoising runs; clean scans measure ~0."""
CARD_ASPECT = 85.6 / 54.0
"""ISO/IEC 7810 ID-1: ID cards and bank cards."""


def to_gray(image: npt.NDArray[np.uint8]) -> Gray:
    """A grey copy of a decoded BGR, BGRA or grey image."""
    if image.ndim == 2:
        return image.copy()
    code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return np.asarray(cv2.cvtColor(image, code), dtype=np.uint8)


def limit_size(gray: Gray, max_side: int = MAX_SIDE_PX) -> tuple[Gray, float]:
    """``gray`` scaled so its longer side is at most ``max_side``, and the scale used."""
    scale = min(1.0, max_side / max(gray.shape))
    if scale == 1.0:
        return gray, 1.0
    size = (round(gray.shape[1] * scale), round(gray.shape[0] * scale))
    return np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), np.uint8), scale


def noise_sigma(gray: Gray) -> float:
    """The noise level: the standard deviation of the pixels around them (9x9) in the
    flattest quarter of the image.

    Flat paper with text and print has a local deviation near 0 away from the strokes;
    sensor noise and the blotches of heavy JPEG compression raise it everywhere.
    """
    values = gray.astype(np.float32)
    mean = cv2.blur(values, (9, 9))
    mean_of_squares = cv2.blur(values * values, (9, 9))
    deviation = np.sqrt(np.maximum(mean_of_squares - mean * mean, 0))
    return float(np.percentile(deviation, 25))


def denoise(gray: Gray) -> Gray:
    """Non-local-means denoising with a strength that follows the measured noise; clean
    images (noise below ``NOISY_SIGMA``) are returned as they are."""
    sigma = noise_sigma(gray)
    if sigma < NOISY_SIGMA:
        return gray
    strength = min(max(2 * sigma, 10.0), 30.0)
    return np.asarray(
        cv2.fastNlMeansDenoising(gray, None, h=strength, templateWindowSize=7, searchWindowSize=21),
        np.uint8,
    )


def normalise_contrast(gray: Gray) -> Gray:
    """Stretch the 1st-99th percentile of grey levels to 0-255: undoes a washed-out photo."""
    low, high = np.percentile(gray, (1, 99))
    stretched = (gray.astype(np.float32) - low) * 255.0 / max(float(high - low), 1.0)
    return np.asarray(np.clip(stretched, 0, 255), np.uint8)


def binarize(gray: Gray, block: int = 31, offset: int = 12) -> Gray:
    """Dark text on white: adaptive (local mean) threshold, so shading does not matter."""
    block = block | 1
    return np.asarray(
        cv2.adaptiveThreshold(
            gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, offset
        ),
        np.uint8,
    )


def dark_text(gray: Gray) -> Gray:
    """``gray`` inverted when its text is light on a dark background (embossed cards)."""
    return np.asarray(255 - gray, np.uint8) if float(np.median(gray)) < 110 else gray


def text_height(gray: Gray) -> float | None:
    """The median height in pixels of the ink blobs that look like characters, if any."""
    ink = (binarize(gray) == 0).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    heights = stats[1:count, cv2.CC_STAT_HEIGHT]
    areas = stats[1:count, cv2.CC_STAT_AREA]
    plausible = heights[(areas >= 6) & (heights >= 4) & (heights < gray.shape[0] / 4)]
    return float(np.median(plausible)) if plausible.size >= 5 else None


def upscale_text(gray: Gray, min_px: float = 12.0, target_px: float = 20.0) -> tuple[Gray, float]:
    """``gray`` enlarged (bicubic) when its ink blobs are under ``min_px`` tall (median),
    so that they become ``target_px``. Blobs are characters or their parts: 26 px type
    measures 14-19 px; Tesseract's accuracy drops when it gets under about 10. Returns
    the image and the factor (at most 3)."""
    height = text_height(gray)
    if height is None or height >= min_px:
        return gray, 1.0
    factor = min(target_px / height, 3.0)
    size = (round(gray.shape[1] * factor), round(gray.shape[0] * factor))
    return np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_CUBIC), np.uint8), factor


# --------------------------------------------------------------------------- deskew


def _row_profile_score(ink: Gray, angle: float) -> float:
    height, width = ink.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    rotated = cv2.warpAffine(ink, matrix, (width, height), flags=cv2.INTER_NEAREST)
    rows = rotated.sum(axis=1, dtype=np.float64)
    return float(np.square(np.diff(rows)).sum())


def skew_angle(gray: Gray, max_deg: float = 15.0) -> float:
    """The rotation (degrees, counter-clockwise positive as in OpenCV) that makes text lines
    horizontal: the angle whose row projection of the ink pixels is sharpest.

    Coarse search in 1° steps over ±``max_deg``, then 0.1° steps around the best, on a
    copy at most 800 px wide.
    """
    small, _ = limit_size(gray, 800)
    ink = (binarize(normalise_contrast(small)) == 0).astype(np.uint8)
    if ink.sum() == 0:
        return 0.0

    def best(candidates: npt.NDArray[np.float64]) -> float:
        return float(max(candidates, key=lambda angle: _row_profile_score(ink, float(angle))))

    coarse = best(np.arange(-max_deg, max_deg + 0.5, 1.0))
    return best(np.arange(coarse - 1.0, coarse + 1.05, 0.1))


@dataclass(frozen=True)
class Rotation:
    """A rotation about the image centre that enlarges the canvas to keep every pixel."""

    matrix: npt.NDArray[np.float64]
    """2x3 affine matrix from input to output pixel coordinates."""

    def back(self, points: Points) -> Points:
        """Output coordinates mapped back to the input image."""
        inverse = cv2.invertAffineTransform(self.matrix)
        return np.asarray(cv2.transform(points.reshape(-1, 1, 2), inverse).reshape(-1, 2))


def rotate(gray: Gray, angle: float, fill: int = 255) -> tuple[Gray, Rotation]:
    """``gray`` rotated by ``angle`` degrees with the canvas grown to fit."""
    height, width = gray.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos + 0.5), int(height * cos + width * sin + 0.5)
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    rotated = cv2.warpAffine(
        gray, matrix, (new_w, new_h), flags=cv2.INTER_CUBIC, borderValue=(fill,)
    )
    return np.asarray(rotated, np.uint8), Rotation(np.asarray(matrix, np.float64))


# --------------------------------------------------------------------------- cards


def _order_corners(points: Points) -> Points:
    """Top-left, top-right, bottom-right, bottom-left, with the long side horizontal."""
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    ordered = points[np.argsort(angles)]  # clockwise on screen, starting from top-left-ish
    start = int(np.argmin(ordered.sum(axis=1)))
    ordered = np.roll(ordered, -start, axis=0)
    top = np.linalg.norm(ordered[1] - ordered[0])
    side = np.linalg.norm(ordered[3] - ordered[0])
    if side > top:  # a portrait quad: the card's top edge is the left one
        ordered = np.roll(ordered, 1, axis=0)
    return np.asarray(ordered, np.float32)


def _card_like(contour: npt.NDArray[np.int32], image_area: float) -> Points | None:
    area = cv2.contourArea(contour)
    if area < 0.2 * image_area or area > 0.97 * image_area:
        return None
    (_, _), (w, h), _ = rect = cv2.minAreaRect(contour)
    if w == 0 or h == 0 or area / (w * h) < 0.85:
        return None
    if abs(max(w, h) / min(w, h) - CARD_ASPECT) > 0.3:
        return None
    hull = cv2.convexHull(contour)
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    if len(quad) == 4:
        return _order_corners(quad.reshape(4, 2).astype(np.float32))
    return _order_corners(cv2.boxPoints(rect).astype(np.float32))


def find_card(gray: Gray) -> Points | None:
    """The four corners of a card lying on a contrasting surface, or None when the card
    fills the image (a scan) or cannot be told from its background."""
    small, scale = limit_size(gray, 800)
    blurred = cv2.GaussianBlur(small, (5, 5), 0)
    _, mask = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15))
    for candidate in (mask, 255 - mask):
        closed = cv2.morphologyEx(candidate, cv2.MORPH_CLOSE, kernel)
        contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:2]:
            corners = _card_like(np.asarray(contour, np.int32), float(small.size))
            if corners is not None:
                return np.asarray(corners / scale, np.float32)
    return None


def warp_card(gray: Gray, corners: Points, size: tuple[int, int]) -> Gray:
    """The quadrilateral ``corners`` of ``gray`` mapped onto a ``size`` (w, h) rectangle."""
    width, height = size
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    matrix = cv2.getPerspectiveTransform(corners, target.astype(np.float32))
    return np.asarray(cv2.warpPerspective(gray, matrix, size, flags=cv2.INTER_CUBIC), np.uint8)


def normalise_card(gray: Gray, size: tuple[int, int]) -> tuple[Gray, bool]:
    """The card in ``gray`` cropped, straightened and scaled to ``size``, and whether its
    outline was found.

    A card photographed on a table is found by its outline; a scan that is only the card
    is deskewed by its text lines instead and scaled whole.
    """
    corners = find_card(gray)
    if corners is not None:
        return warp_card(gray, corners, size), True
    angle = skew_angle(gray)
    if abs(angle) >= 0.3:  # smaller skews: rotating costs more sharpness than it gains
        gray, _ = rotate(gray, angle, fill=int(np.median(gray)))
    return np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_CUBIC), np.uint8), False
