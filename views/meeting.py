"""Meeting mode: what a partnership chair shows in the room, step by step, and its link.

A meeting looks at one **period** (a quarter, ``2026-Q3``, or a month, ``2026-09``), for West
Yorkshire or one **district**, and steps through:

1. ``headline``: records per feed this period, against the previous period and the same period
   last year, whether each change is beyond normal variation (``views.kpis.change_test``, the
   Trends page's test) and a Mann-Kendall trend flag over the trend window;
2. ``districts``: records per district and feed, with the rate per 100,000 residents;
3. ``hotspots``: the hotspot model's top hotspots (areas, never points) on a map;
4. ``tasking``: the tasking list and what changed since the last meeting (the previous period);
5. ``trends``: records per feed and period over the last two years.

Only whole periods the data cover completely are offered (:func:`available_periods`,
``core.periods.complete_periods``): a store ending on 30 November offers no fourth quarter, whose
two months would be compared against three.

The meeting state is in the link (:func:`to_query_params`, :func:`from_query_params`), so a chair
can prepare a link and open it in the room. A link is untrusted: anything unknown is dropped with
a warning that does not repeat the value.

This module holds the periods and the link. The figures of every step (shared with the briefing
pack) are in ``views.meeting_figures``, the tasking list in ``views.meeting_tasks`` and what each
step shows (tables, map, chart) in ``views.meeting_steps``. Hotspots come from
``views.hotspots``, tasks from ``views.tasking``. No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from core.errors import PeriodError
from core.filters import EventFilter
from core.periods import check_covered, complete_periods
from core.roles import may, may_see_level
from geo.boundaries import DISTRICT_CODES

STEPS = ("headline", "districts", "hotspots", "tasking", "trends")
STEP_TITLES = {"headline": "Headline numbers", "districts": "District comparison",
               "hotspots": "Hotspots", "tasking": "Tasking",
               "trends": "Trends"}
# What a role needs for a step beyond reading district aggregates.
STEP_NEEDS = {"hotspots": (("view_hotspots",), "ward"),
              "tasking": (("tasking", "view_hotspots"), "ward")}

P_PERIOD, P_DISTRICT, P_STEP = "period", "district", "step"
PARAMS = (P_PERIOD, P_DISTRICT, P_STEP)
ALL_DISTRICTS = "all"
WEST_YORKSHIRE = "West Yorkshire"
YEAR = {"Q": 4, "M": 12}

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


# -- periods -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """A quarter or a month: ``key`` as in the link ("2026-Q3", "2026-09")."""

    key: str

    def __post_init__(self):
        if not (_QUARTER.match(self.key) or _MONTH.match(self.key)):
            raise PeriodError(f"period {self.key[:20]!r} is not a quarter like 2026-Q3 or a "
                              "month like 2026-09")

    @property
    def freq(self) -> str:
        return "Q" if "Q" in self.key else "M"

    @cached_property
    def pandas(self) -> pd.Period:
        return pd.Period(self.key, freq=self.freq)

    @property
    def start(self) -> dt.date:
        return self.pandas.start_time.date()

    @property
    def end(self) -> dt.date:
        return self.pandas.end_time.date()

    @property
    def label(self) -> str:
        """"Jul–Sep 2026" for a quarter, "September 2026" for a month."""
        p = self.pandas
        if self.freq == "M":
            return p.strftime("%B %Y")
        return f"{p.start_time:%b}–{p.end_time:%b %Y}"

    def shifted(self, n: int) -> "Period":
        """The period ``n`` steps later (earlier when negative)."""
        return Period(period_key(self.pandas + n))

    @property
    def previous(self) -> "Period":
        return self.shifted(-1)

    @property
    def last_year(self) -> "Period":
        return self.shifted(-YEAR[self.freq])

    def filter(self, district: str | None = None) -> EventFilter:
        return EventFilter(start=self.start, end=self.end,
                           districts=(district,) if district else ())


def period_key(p: pd.Period) -> str:
    return f"{p.year}-Q{p.quarter}" if p.freqstr.startswith("Q") else f"{p.year}-{p.month:02d}"


def available_periods(store_period: tuple[dt.date, dt.date] | None) -> list[str]:
    """Quarters, then months, that the data cover completely, latest first (empty for an empty
    store or one that covers no whole month): ``store_period`` is the first and last day."""
    if store_period is None:
        return []
    out = []
    for freq in ("Q", "M"):
        out += [period_key(p) for p in reversed(complete_periods(*store_period, freq))]
    return out


def default_period(store_period: tuple[dt.date, dt.date] | None) -> str | None:
    """The latest quarter the data cover completely (meetings look at quarters by default),
    else the latest such month, else None."""
    periods = available_periods(store_period)
    return periods[0] if periods else None


def period_title(key: str) -> str:
    """A period key as the period picker shows it: ``"2026-Q3"`` → ``"Jul–Sep 2026"``."""
    return Period(key).label


def check_period(key: str, store_period: tuple[dt.date, dt.date] | None) -> None:
    """PeriodError unless ``key`` is a period the data cover completely (malformed, without
    data or recorded in part: each says so)."""
    period = Period(key)
    if store_period is None:
        raise PeriodError("the store holds no records yet")
    check_covered(period.pandas, *store_period)


# -- the link ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeetingState:
    """What the meeting shows: a period key, a district code (None: West Yorkshire), a step."""

    period: str
    district: str | None = None
    step: str = STEPS[0]
    warnings: tuple[str, ...] = field(default=(), compare=False)


def steps_for(role: str) -> tuple[str, ...]:
    """The steps ``role`` may see, in order: hotspots and the tasking list need ward-level
    access and ``view_hotspots`` (or, for tasking, the ``tasking`` action)."""
    return tuple(step for step in STEPS if step not in STEP_NEEDS
                 or (any(may(role, action) for action in STEP_NEEDS[step][0])
                     and may_see_level(role, STEP_NEEDS[step][1])))


def to_query_params(state: MeetingState) -> dict[str, str]:
    """``{"period": "2026-Q3", "step": "districts"}`` (+ ``"district": code`` with a focus)."""
    params = {P_PERIOD: state.period, P_STEP: state.step}
    if state.district:
        params[P_DISTRICT] = state.district
    return params


def from_query_params(params: Mapping[str, str | Sequence[str]], *, role: str,
                      periods: Sequence[str]) -> MeetingState:
    """The meeting a link asks for, held to what exists and what ``role`` may see.

    Never raises on the link: an unknown period falls back to the latest quarter, an unknown
    district to West Yorkshire, an unknown or unavailable step to the first, each with a warning
    (the value itself is not repeated: it could be markup). ``periods`` are the choices
    (:func:`available_periods`); it must not be empty.
    """
    if not periods:
        raise ValueError("no periods to choose from: the store is empty")
    warnings = []

    def one(key: str) -> str | None:
        value = params.get(key)
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else None
        return None if value in (None, "") else str(value)[:64]

    period = one(P_PERIOD)
    if period is not None and period not in periods:
        warnings.append("the period is not one with data")
        period = None
    district = one(P_DISTRICT)
    if district in (None, ALL_DISTRICTS):
        district = None
    elif district not in DISTRICT_CODES:
        warnings.append("the district is not a West Yorkshire district")
        district = None
    allowed = steps_for(role)
    step = one(P_STEP)
    if step is not None and step.isdigit() and 1 <= int(step) <= len(allowed):
        step = allowed[int(step) - 1]
    if step is not None and step not in allowed:
        warnings.append("the step is not one this role can see")
        step = None
    return MeetingState(period=period or periods[0], district=district, step=step or allowed[0],
                        warnings=tuple(warnings))


def move(state: MeetingState, role: str, by: int) -> MeetingState:
    """The state ``by`` steps on (back when negative), stopping at the first and last step."""
    allowed = steps_for(role)
    i = allowed.index(state.step) if state.step in allowed else 0
    return MeetingState(state.period, state.district,
                        allowed[min(max(i + by, 0), len(allowed) - 1)])
