"""The explorer's map modes in the link: one map, twin map, month by month; and a found place.

These sit beside ``views.viewstate``'s :class:`~views.viewstate.ExplorerState` (the filters and
the map's choices), in the same link. The format (every key optional)::

    &view=twin&left=nrm&right=rosewood      twin map: two feeds side by side
    &view=months&month=2025-03              month by month: the frame shown
    &place=E05011402                        a found place (an area code): the map goes there

A link is untrusted: :func:`options_from_params` never raises, drops what it cannot use and
says so without echoing it. A role is held to what it may see: a place is resolved for the
role (``views.place_search``: a chair's LSOA becomes its ward).

No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from core.schema import FEEDS
from views.place_search import Place, place_by_code

MODES = ("map", "twin", "months")
MODE_TITLES = {"map": "One map", "twin": "Twin map", "months": "Month by month"}
P_VIEW, P_LEFT, P_RIGHT, P_MONTH, P_PLACE = "view", "left", "right", "month", "place"
OPTION_PARAMS = (P_VIEW, P_LEFT, P_RIGHT, P_MONTH, P_PLACE)
DEFAULT_LEFT, DEFAULT_RIGHT = "nrm", "rosewood"
_MONTH = re.compile(r"^\d{4}-\d{2}$")


@dataclass(frozen=True)
class ExploreOptions:
    """How the explorer draws its map.

    Attributes
    ----------
    mode : {"map", "twin", "months"}
    left, right : str
        The twin map's feeds (distinct).
    month : str or None
        The month frame shown (``"2025-03"``), one of the period's months; None: the last.
    place : Place or None
        The found place the map is fitted to and outlines.
    warnings : tuple of str
    """

    mode: str = "map"
    left: str = DEFAULT_LEFT
    right: str = DEFAULT_RIGHT
    month: str | None = None
    place: Place | None = None
    warnings: tuple[str, ...] = ()


def period_months(start: dt.date | None, end: dt.date | None) -> tuple[str, ...]:
    """The months ``"YYYY-MM"`` the period touches, in order (none without dates)."""
    if start is None or end is None:
        return ()
    return tuple(str(p) for p in pd.period_range(pd.Period(start, "M"), pd.Period(end, "M"),
                                                 freq="M"))


def month_title(month: str) -> str:
    """``"2025-03"`` -> ``"March 2025"``."""
    return pd.Period(month, "M").strftime("%B %Y")


def options_from_params(params: Mapping[str, str | Iterable[str]], *, role: str,
                        start: dt.date | None, end: dt.date | None) -> ExploreOptions:
    """The options a link asks for, as far as they are valid for ``role`` and the period."""
    values = {key: _values(params.get(key)) for key in OPTION_PARAMS}
    notes: list[str] = []
    mode = _one(values[P_VIEW], MODES, "map view", notes) or "map"
    left = _one(values[P_LEFT], tuple(FEEDS), "left feed", notes) or DEFAULT_LEFT
    right = _one(values[P_RIGHT], tuple(FEEDS), "right feed", notes) or (
        DEFAULT_RIGHT if left != DEFAULT_RIGHT else DEFAULT_LEFT)
    if left == right:
        notes.append("the twin map's two feeds were the same: comparing with another")
        right = next(f for f in FEEDS if f != left)
    month = None
    if values[P_MONTH]:
        given = values[P_MONTH][-1]
        if len(values[P_MONTH]) == 1 and _MONTH.match(given) and given in period_months(
                start, end):
            month = given
        else:
            notes.append("ignored a month in the link outside the period")
    found = place_by_code(values[P_PLACE][-1] if values[P_PLACE] else None, role)
    if found.message:
        notes.append(found.message.rstrip("."))
    return ExploreOptions(mode=mode, left=left, right=right, month=month, place=found.place,
                          warnings=tuple(notes))


def options_to_params(options: ExploreOptions) -> dict[str, str]:
    """The query parameters of ``options`` (defaults left out)."""
    params: dict[str, str] = {}
    if options.mode != "map":
        params[P_VIEW] = options.mode
    if options.mode == "twin":
        params[P_LEFT], params[P_RIGHT] = options.left, options.right
    if options.mode == "months" and options.month:
        params[P_MONTH] = options.month
    if options.place is not None:
        params[P_PLACE] = options.place.code
    return params


def _values(raw) -> list[str]:
    items = [raw] if isinstance(raw, str) else list(raw) if raw is not None else []
    return [str(v).strip() for v in items[:8] if isinstance(v, str) and len(v) <= 64
            and v.strip()]


def _one(given: list[str], choices: tuple[str, ...], what: str, notes: list[str]) -> str | None:
    if not given:
        return None
    value = given[-1].lower()
    if len(given) > 1 or value not in choices:
        notes.append(f"ignored an invalid {what} in the link")
        return None
    return value
