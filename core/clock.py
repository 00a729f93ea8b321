"""The one place the code reads the time, so that tests (and replays) can set it.

Code that needs the time calls ``clock.now()`` (aware UTC), ``clock.today()`` (the local calendar
date), ``clock.local_now()`` or ``clock.timestamp()`` (seconds since the epoch), never ``datetime.now()`` or
``time.time()`` itself. A test sets the time with ``clock.frozen(moment)`` (or ``clock.set``),
so nothing in the suite depends on when, or how fast, it runs.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator

_source: Callable[[], dt.datetime] | None = None


def now() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return _source() if _source is not None else dt.datetime.now(dt.timezone.utc)


def today() -> dt.date:
    """Today's date where the server runs (the calendar users see)."""
    return local_now().date()


def local_now() -> dt.datetime:
    """The current local time where the server runs, naive (for file stamps and local dates)."""
    return now().astimezone().replace(tzinfo=None)


def timestamp() -> float:
    """Seconds since the epoch (for durations and expiry)."""
    return now().timestamp()


def set(source: Callable[[], dt.datetime] | None) -> None:  # noqa: A001 (clock.set reads well)
    """Read the time from ``source`` from now on (None: the system clock)."""
    global _source
    _source = source


@contextlib.contextmanager
def frozen(moment: dt.datetime) -> Iterator[Callable[[dt.timedelta], None]]:
    """Hold the clock at ``moment`` (aware); yields ``advance(delta)`` to move it on."""
    if moment.tzinfo is None:
        raise ValueError("frozen() takes an aware datetime")
    state = {"at": moment.astimezone(dt.timezone.utc)}

    def advance(delta: dt.timedelta) -> None:
        state["at"] += delta

    previous = _source
    set(lambda: state["at"])
    try:
        yield advance
    finally:
        set(previous)
