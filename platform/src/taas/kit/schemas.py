"""The base of every model the API accepts: strict, closed input.

Strict means no coercion: ``true`` is not the integer 1, ``"30"`` is not a number, ``0.0``
is not an integer. A lax model once read ``{"keep_data_days": false}`` as "keep nothing"
and destroyed a tenant's data; a request that does not say exactly what it means is
refused with a 422 instead.

FastAPI validates a request body after decoding its JSON, in pydantic's Python mode, where
strict enums accept only enum instances. JSON can only send an enum as its value, so enum
fields are declared with :data:`JsonEnum`, which accepts exactly the member values (and
nothing a lax enum would otherwise coerce).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict

JsonEnum = Strict(False)
"""Annotate enum fields of strict input with this: ``Annotated[Tier, JsonEnum]``."""


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
"""A date in a query string: only ``YYYY-MM-DD`` (a lax date also reads ``0`` as 1970-01-01)."""


class StrictInput(BaseModel):
    """A request body or a part of one: no coercion, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")
