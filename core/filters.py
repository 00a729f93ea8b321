"""The filter every view and query shares: which records, from when, where."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

ROSEWOOD_STATUSES = ("found", "missing")


@dataclass(frozen=True)
class EventFilter:
    """Which records a query returns. Empty tuples mean "no restriction".

    ``start`` and ``end`` are inclusive dates. Feed-specific filters (``exploitation_types`` for
    NRM, ``rosewood_status`` for Rosewood, ``indicators`` for Mandevilla) are ignored by the
    other feeds.
    """

    start: dt.date | None = None
    end: dt.date | None = None
    districts: tuple[str, ...] = ()
    wards: tuple[str, ...] = ()
    age_groups: tuple[str, ...] = ()
    exploitation_types: tuple[str, ...] = ()
    rosewood_status: str | None = None
    indicators: tuple[str, ...] = field(default=())

    def __post_init__(self):
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        if self.rosewood_status not in (None, *ROSEWOOD_STATUSES):
            raise ValueError(f"rosewood_status was {self.rosewood_status!r}; "
                             f"expected one of {ROSEWOOD_STATUSES}")
