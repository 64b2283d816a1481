"""Synthetic customer transactions with known segments, for tests and benchmarks.

Nothing here is used by the segmentation itself: the generator only knows business
profiles (how often a kind of customer buys, how much, since when, and whether their
spending is rising or falling), draws customers from them with a seeded generator and
writes the transactions file a bank would upload. Each customer's profile is the ground
truth that quality is measured against (adjusted Rand index).

All draws are vectorised with numpy, so a million transactions take a second or two.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

CHANNELS = ("branch", "mobile", "web", "pos")


@dataclass(frozen=True)
class Profile:
    """How one kind of customer behaves; ranges are drawn uniformly per customer."""

    name: str
    share: float
    tenure_days: tuple[float, float]
    """Days from the first purchase to the as-of date."""
    recency_days: tuple[float, float]
    """Days from the last purchase to the as-of date (capped at the tenure)."""
    purchases_per_year: float
    """Mean purchase rate while the customer is active (first to last purchase)."""
    ticket_median: float
    """Median amount of one purchase for a typical customer of this profile."""
    timing: tuple[float, float] = (1.0, 1.0)
    """Beta(a, b) of where purchases fall between first and last: (1, 1) steady,
    a > b bunched towards the end (rising), a < b towards the start (fading)."""
    ticket_growth: float = 0.0
    """Log-change of the ticket from first to last purchase (0 flat, > 0 growing)."""
    channels: tuple[float, float, float, float] = (0.25, 0.25, 0.25, 0.25)


PROFILES: tuple[Profile, ...] = (
    Profile(
        "high value",
        0.08,
        (500, 1095),
        (0, 20),
        20,
        900.0,
        channels=(0.3, 0.4, 0.2, 0.1),
    ),
    Profile("loyal", 0.20, (365, 1095), (0, 40), 7, 180.0, channels=(0.2, 0.5, 0.2, 0.1)),
    Profile(
        "growing",
        0.12,
        (200, 500),
        (0, 25),
        6,
        150.0,
        timing=(3.0, 1.0),
        ticket_growth=1.2,
        channels=(0.1, 0.6, 0.2, 0.1),
    ),
    Profile("new", 0.10, (5, 90), (0, 90), 8, 120.0, channels=(0.2, 0.5, 0.2, 0.1)),
    Profile(
        "at risk",
        0.20,
        (450, 1095),
        (100, 240),
        7,
        220.0,
        timing=(1.0, 2.0),
        ticket_growth=-0.5,
        channels=(0.4, 0.2, 0.1, 0.3),
    ),
    Profile("dormant", 0.30, (500, 1095), (330, 900), 2.5, 90.0, channels=(0.5, 0.1, 0.1, 0.3)),
)

AS_OF = dt.date(2026, 1, 1)


@dataclass(frozen=True)
class SyntheticData:
    """Transactions (customer_id, date, amount, channel) and each customer's true profile."""

    transactions: pd.DataFrame
    truth: pd.Series
    """Profile name, indexed by customer_id."""
    as_of: dt.date

    def to_csv(self) -> bytes:
        """The transactions as the UTF-8 CSV file a bank uploads."""
        buffer = io.StringIO()
        self.transactions.to_csv(buffer, index=False, date_format="%Y-%m-%d")
        return buffer.getvalue().encode()


def generate(
    customers: int,
    transactions: int | None = None,
    *,
    seed: int = 0,
    profiles: tuple[Profile, ...] = PROFILES,
    as_of: dt.date = AS_OF,
) -> SyntheticData:
    """Draw ``customers`` customers from ``profiles``; the same seed gives the same data.

    With ``transactions`` the purchase rates are scaled so that the file holds exactly
    that many rows (every customer keeps at least one purchase).
    """
    if customers < len(profiles):
        raise ValueError(f"need at least {len(profiles)} customers, one per profile")
    rng = np.random.default_rng(seed)
    kinds = _assign_profiles(customers, profiles, rng)
    table = _profile_table(profiles)

    tenure = rng.uniform(table["tenure_lo"][kinds], table["tenure_hi"][kinds])
    recency = np.minimum(
        rng.uniform(table["recency_lo"][kinds], table["recency_hi"][kinds]), tenure
    )
    active_years = (tenure - recency) / 365.0
    rate = table["rate"][kinds] * rng.lognormal(0.0, 0.3, customers)
    expected = rate * active_years
    if transactions is not None:
        expected *= max(transactions - customers, 0) / max(expected.sum(), 1e-9)
    extra = rng.poisson(expected)
    if transactions is not None:
        extra = _adjust_total(extra, transactions - customers, rng)
    counts = extra + 1

    rows = _draw_purchases(
        kinds=kinds, counts=counts, tenure=tenure, recency=recency, table=table, rng=rng
    )
    ids = np.char.add("C", np.char.zfill(np.arange(1, customers + 1).astype(str), 7))
    owner = np.repeat(np.arange(customers), counts)
    days_ago = np.rint(rows["days_ago"]).astype(np.int64)
    frame = pd.DataFrame(
        {
            "customer_id": ids[owner],
            "date": pd.Timestamp(as_of) - pd.to_timedelta(days_ago, unit="D"),
            "amount": np.round(rows["amount"], 2),
            "channel": np.asarray(CHANNELS)[rows["channel"]],
        }
    )
    frame = frame.sort_values(["date", "customer_id"], kind="stable", ignore_index=True)
    names = np.asarray([profile.name for profile in profiles])
    truth = pd.Series(names[kinds], index=pd.Index(ids, name="customer_id"), name="segment")
    return SyntheticData(frame, truth, as_of)


def _assign_profiles(
    customers: int, profiles: tuple[Profile, ...], rng: np.random.Generator
) -> np.ndarray:
    shares = np.asarray([profile.share for profile in profiles], dtype=float)
    sizes = np.floor(shares / shares.sum() * customers).astype(np.int64)
    sizes = np.maximum(sizes, 1)
    sizes[np.argmax(sizes)] += customers - sizes.sum()
    kinds = np.repeat(np.arange(len(profiles)), sizes)
    return rng.permutation(kinds)


def _profile_table(profiles: tuple[Profile, ...]) -> dict[str, np.ndarray]:
    def column(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=float)

    return {
        "tenure_lo": column([p.tenure_days[0] for p in profiles]),
        "tenure_hi": column([p.tenure_days[1] for p in profiles]),
        "recency_lo": column([p.recency_days[0] for p in profiles]),
        "recency_hi": column([p.recency_days[1] for p in profiles]),
        "rate": column([p.purchases_per_year for p in profiles]),
        "ticket": column([p.ticket_median for p in profiles]),
        "timing_a": column([p.timing[0] for p in profiles]),
        "timing_b": column([p.timing[1] for p in profiles]),
        "growth": column([p.ticket_growth for p in profiles]),
        "channels": np.asarray([p.channels for p in profiles], dtype=float),
    }


def _adjust_total(extra: np.ndarray, target: int, rng: np.random.Generator) -> np.ndarray:
    """Add or remove single purchases at random until ``extra`` sums to ``target``."""
    extra = extra.copy()
    gap = target - int(extra.sum())
    while gap != 0:
        if gap > 0:
            picks = rng.integers(0, extra.size, gap)
            np.add.at(extra, picks, 1)
        else:
            holders = np.flatnonzero(extra > 0)
            picks = rng.choice(holders, size=min(-gap, holders.size), replace=False)
            extra[picks] -= 1
        gap = target - int(extra.sum())
    return extra


def _draw_purchases(
    *,
    kinds: np.ndarray,
    counts: np.ndarray,
    tenure: np.ndarray,
    recency: np.ndarray,
    table: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Days ago, amount and channel of every purchase, customer by customer in order.

    A customer's first purchase is at their tenure and the last at their recency (so both
    are exactly what the profile drew); the ones between follow the profile's timing.
    """
    owner = np.repeat(np.arange(kinds.size), counts)
    kind = kinds[owner]
    starts = np.cumsum(counts) - counts
    position = np.arange(owner.size) - starts[owner]
    # 0 = first purchase, 1 = last; the rest in between, shaped by the profile's timing.
    where = rng.beta(table["timing_a"][kind], table["timing_b"][kind])
    where[position == 0] = 0.0
    where[(position == 1) & (counts[owner] > 1)] = 1.0
    days_ago = tenure[owner] - where * (tenure[owner] - recency[owner])

    customer_ticket = table["ticket"][kinds] * rng.lognormal(0.0, 0.35, kinds.size)
    growth = table["growth"][kind] * (where - 0.5)
    amount = customer_ticket[owner] * np.exp(growth) * rng.lognormal(0.0, 0.45, owner.size)
    amount = np.maximum(amount, 1.0)

    cumulative = np.cumsum(table["channels"][kind], axis=1)
    cumulative /= cumulative[:, -1:]
    channel = (rng.random(owner.size)[:, None] > cumulative).sum(axis=1)
    return {"days_ago": days_ago, "amount": amount, "channel": np.minimum(channel, 3)}
