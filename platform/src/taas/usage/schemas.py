"""What the usage API returns."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field


class UsageRow(BaseModel):
    day: dt.date
    module: str
    version: str
    calls: Annotated[
        int,
        Field(description="Billable calls: forwarded to the module, which answered (any status)."),
    ]
    errors: Annotated[int, Field(description="Billable calls the module answered with 4xx or 5xx.")]
    refusals: Annotated[
        int,
        Field(
            description="Calls the gateway answered itself (rate limit, quota, scopes, a "
            "suspended bank, a withdrawn version, an unreachable module); never billed."
        ),
    ] = 0
    refusals_by_reason: Annotated[
        dict[str, int],
        Field(description="Refusals per reason (the last part of the problem type)."),
    ] = {}
    bytes_in: int
    bytes_out: int
    latency_ms_avg: float
    latency_ms_max: float
    tenants: Annotated[int | None, Field(description="Distinct tenants (vendor view only).")] = None


class UsageReport(BaseModel):
    start: dt.date
    end: dt.date
    rows: list[UsageRow]
