"""What each feed is measured against: the one place a feed names its denominator.

A hotspot is "more events than expected", and *expected* depends on who can have the event.
Referrals (NRM) and clinic flags (Mandevilla) can come from anyone living here, so they are
measured against residents (Census 2021). Rosewood episodes are people going missing from
asylum accommodation: only people placed in a site can have one, so Rosewood is measured
against the bed-nights of open sites (``data.exposure``): measured against residents every
accommodation site would look like a hotspot. A feed whose exposure layer is not loaded falls
back to residents, and the hotspot view says so.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.schema import check_feed

RESIDENTS = "residents"
ACCOMMODATION = "accommodation"  # the exposure layer of data.exposure


@dataclass(frozen=True)
class Denominator:
    """``kind``: ``"residents"`` or the name of an exposure layer; ``title`` for pages."""

    kind: str
    title: str


DENOMINATORS = {
    RESIDENTS: Denominator(RESIDENTS, "residents (Census 2021)"),
    ACCOMMODATION: Denominator(ACCOMMODATION, "bed-nights of open asylum accommodation sites"),
}
#: Each feed's denominator; a feed not listed is measured against residents.
FEED_DENOMINATOR = {"nrm": RESIDENTS, "rosewood": ACCOMMODATION, "mandevilla": RESIDENTS}


def denominator_of(feed: str) -> Denominator:
    """The denominator ``feed`` is measured against (residents unless it names a layer)."""
    check_feed(feed)
    return DENOMINATORS[FEED_DENOMINATOR.get(feed, RESIDENTS)]


def exposure_feeds() -> dict[str, str]:
    """Feeds measured against an exposure layer: feed → layer name."""
    return {feed: kind for feed, kind in FEED_DENOMINATOR.items() if kind != RESIDENTS}
