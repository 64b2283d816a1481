"""Where the fields are on a card, in pixels of the card normalised to 856x540 (10 px/mm).

The resident ID card front has a fixed layout: labels in a column at the left, values to
their right, the photo at the right and the 18-character number along the bottom. A bank
card's number is embossed across the middle. Regions are generous (a few millimetres of
margin) because the card outline found in a photo is only accurate to a millimetre or two.
"""

from __future__ import annotations

from dataclasses import dataclass

CARD_SIZE = (856, 540)


@dataclass(frozen=True)
class Region:
    """A rectangle ``[x0, x1) x [y0, y1)`` on the normalised card."""

    x0: int
    y0: int
    x1: int
    y1: int

    def contains(self, x: float, y: float) -> bool:
        """Whether the point ``(x, y)`` (e.g. a word's centre) lies inside."""
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1


# The text column of the ID card front (labels and values, without the photo).
ID_TEXT_AREA = Region(30, 30, 590, 420)
ID_FIELDS = {
    "name": Region(145, 45, 590, 118),
    "sex": Region(145, 118, 265, 178),
    "ethnicity": Region(355, 118, 590, 178),
    "birth": Region(145, 178, 590, 243),
    "address": Region(145, 243, 590, 410),
}
ID_NUMBER = Region(235, 425, 845, 510)
BANK_NUMBER_BAND = Region(20, 265, 836, 400)
