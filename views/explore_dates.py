"""The map explorer's dates: quick ranges, the previous period, whole months for protected roles.

Calendar arithmetic on the explorer's inclusive ``(start, end)`` dates, kept apart from the link
parsing in ``views.viewstate``: the default period and the quick picks are relative to the
store's last date (not today), so that a demo store built months ago still opens on data, and a
protected role's figures cover whole months (``safeguards.publication``), so its dates are
widened to them. No Streamlit here.
"""
from __future__ import annotations

import datetime as dt

from safeguards.disclosure import must_suppress

#: Quick date ranges, all relative to the store's last date (not today), so that a demo store
#: built months ago still opens on data.
QUICK_RANGES = {"3m": "3 months", "12m": "12 months", "ytd": "Year to date", "all": "All"}
DEFAULT_RANGE = "12m"


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months, the day clipped to the month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    last = (next_month - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def quick_range(name: str, store_period: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    """The dates of a quick pick (``QUICK_RANGES``), ending on the store's last date.

    Examples
    --------
    >>> quick_range("3m", (dt.date(2021, 1, 1), dt.date(2025, 11, 30)))
    (datetime.date(2025, 9, 1), datetime.date(2025, 11, 30))
    >>> quick_range("ytd", (dt.date(2021, 1, 1), dt.date(2025, 11, 30)))[0]
    datetime.date(2025, 1, 1)
    """
    first, last = store_period
    if name == "all":
        start = first
    elif name == "ytd":
        start = dt.date(last.year, 1, 1)
    elif name in ("3m", "12m"):
        # Back from the day after: 30 Nov gives 1 Sep to 30 Nov, whole months.
        start = add_months(last + dt.timedelta(days=1), -int(name[:-1]))
    else:
        raise ValueError(f"quick range was {name!r}; expected one of {tuple(QUICK_RANGES)}")
    return max(start, first), last


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period of the same length that ends the day before ``start``: as many whole months
    when ``start`` to ``end`` are whole months (so protected figures compare like with like),
    else as many days."""
    if start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        return add_months(start, -months), start - dt.timedelta(days=1)
    days = (end - start).days + 1
    before = start - dt.timedelta(days=1)
    return before - dt.timedelta(days=days - 1), before


def date_bounds(role: str, store_period: tuple[dt.date, dt.date] | None
                ) -> tuple[dt.date, dt.date] | None:
    """The dates ``role`` may pick: the store's, widened to whole months for a protected role
    (its figures count whole months)."""
    if store_period is None or not must_suppress(role):
        return store_period
    return whole_months(*store_period, [])


def whole_months(start: dt.date, end: dt.date, notes: list[str]) -> tuple[dt.date, dt.date]:
    """Protected roles' figures cover whole months (``safeguards.publication``): the dates
    widened to them, so that what the page says is what the figures count; ``notes`` is told
    when they moved."""
    whole = (start.replace(day=1), add_months(end.replace(day=1), 1) - dt.timedelta(days=1))
    if whole != (start, end):
        notes.append(f"protected figures cover whole months: showing "
                     f"{whole[0]:%-d %b %Y} to {whole[1]:%-d %b %Y}")
    return whole
