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

from pydantic import BaseModel, ConfigDict, Strict

JsonEnum = Strict(False)
"""Annotate enum fields of strict input with this: ``Annotated[Tier, JsonEnum]``."""


class StrictInput(BaseModel):
    """A request body or a part of one: no coercion, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")
