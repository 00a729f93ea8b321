"""The hotspot model's fit of some feeds and filters, before any role's disclosure control.

``views.hotspots.fit_hotspots`` checks the role, then takes the fit from :func:`model_fit`
and protects and audits it for that role. The fit itself does not depend on the role (it reads
the geomasked points and the exposure layers inside the data layer, and the model is seeded),
so it is kept here once per process for the store's content, its exposure layers, the feeds,
the filters and the seed: a second role, a second user or the Explore page's hotspot overlay
asking for the same filters protect the same fit instead of fitting again (one fit is ~0.4 s
of CPU on the demo store once the process has its grids, ~0.7 s the first time; 1-2 s of wall
clock on a loaded machine: docs/hotspot-evaluation.md, "First fit in a fresh process, second
round").

What is kept is model output (hotspot cells, their counts, monthly counts per hotspot), never
a per-event row, the same as the page's own cached views hold after protection; it never
leaves this module but through ``fit_hotspots``. The server's warm-up fits the Hotspots page's
default views this way before anyone asks (``ui.hotspot_loaders.prefit_default_views``): no
one is shown anything then, so nothing is audited; every view made from it is, as before.

No Streamlit here.
"""
from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from core.filters import EventFilter
from geo.crs import BNG
from safeguards.access import RoleScopedQuery

FEED_TITLES = {"nrm": "NRM", "rosewood": "Rosewood", "mandevilla": "Mandevilla"}
#: Fits kept per process (least recently used dropped first): the page's fits, the alerts'
#: month scans and the backtest's month scores (6 per filter set) of a few filter sets.
MAX_FITS = 64

_fits: OrderedDict = OrderedDict()
_running: dict = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class ModelFit:
    """What ``fit_hotspots`` needs of a fit: the model's ``hotspots_`` and
    ``monthly_counts_`` (callers copy before changing them), the events inside and outside
    the grid, the notes on denominators and left-out events, and what expected counts are
    measured against."""

    raw: gpd.GeoDataFrame
    monthly: pd.DataFrame
    n_events: int
    n_outside: int
    notes: tuple[str, ...]
    measured_against: str
    #: The area budget: the share of West Yorkshire the hotspots may cover (None: none).
    max_area: float | None = None
    #: The share of West Yorkshire the kept hotspots cover (their union).
    area_share: float = 0.0
    #: Significant places the method found but the area budget (or ``max_hotspots``) left out.
    left_out: int = 0


def model_fit(query: RoleScopedQuery, feeds: Sequence[str], filters: EventFilter, *,
              random_state: int, model_params: dict) -> ModelFit:
    """The fit of ``feeds`` and ``filters`` (the caller has checked ``view_hotspots``), kept
    per store content, exposure layers, feeds, filters and seed when ``model_params`` is
    empty (the page's model); other parameters are fitted every time."""
    if model_params:
        return _fit(query, list(feeds), filters, random_state, model_params)
    return kept(("hotspots", *content_key(query.store), tuple(feeds), filters, random_state),
                lambda: _fit(query, list(feeds), filters, random_state, model_params))


def kept(key: tuple, make):
    """``make()``, kept per process under ``key`` (least recently used dropped first).

    Role-independent model output only (a fit, a month's backtest score, a month's alert
    scan), keyed by the store's content (:func:`content_key`), never by who asks. A caller
    asking for a key another thread is working out waits for it instead of working it out
    again (the server's warm-up and a first visitor, or two first visitors).
    """
    while True:
        with _lock:
            if key in _fits:
                _fits.move_to_end(key)
                return _fits[key]
            running = _running.get(key)
            if running is None:
                running = _running[key] = threading.Event()
                break
        running.wait()
        with _lock:
            if key in _fits:
                _fits.move_to_end(key)
                return _fits[key]
        # The other thread failed: work it out here (its error was raised there).
    try:
        value = make()
        with _lock:
            _fits[key] = value
            while len(_fits) > MAX_FITS:
                _fits.popitem(last=False)
        return value
    finally:
        with _lock:
            _running.pop(key, None)
        running.set()


def content_key(store) -> tuple:
    """What a kept fit depends on in the store: its address, content and exposure layers."""
    from storage.base import store_fingerprint
    from storage.exposure import layers_fingerprint

    return store.url, store_fingerprint(store), layers_fingerprint(store)


def forget_fits() -> None:
    """Drop every kept fit (tests)."""
    with _lock:
        _fits.clear()


def _fit(query: RoleScopedQuery, feeds: list[str], filters: EventFilter, random_state: int,
         model_params: dict) -> ModelFit:
    from models._events import events_frame
    from models.hotspots import HotspotModel, OutsideAreaWarning

    # Read here, never returned: the geomasked cell centre and the date of each event.
    frames = [events_frame(query.store.query(feed, filters,
                                             columns=["event_date", "easting", "northing"]),
                           feed) for feed in feeds]
    events = pd.concat(frames, ignore_index=True) if frames else None
    events = gpd.GeoDataFrame(events, geometry="geometry", crs=frames[0].crs)
    # The forecast ranking (``HotspotModel.top_area``) is not drawn on this page yet: not fitted
    # here, so a page view does not pay for it (issue 13 follow-up).
    exposure, denominator_notes = _exposure_for(query, feeds)
    model_params = {"ranking": None, "exposure": exposure, **model_params}
    model = HotspotModel(random_state=random_state, **model_params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OutsideAreaWarning)
        model.fit(events)
    n_events = int(model.n_events_)
    notes = denominator_notes + tuple(str(w.message) for w in caught
                                      if issubclass(w.category, OutsideAreaWarning))
    covered = model.hotspots_.to_crs(BNG).union_all().area / 1e6 if len(model.hotspots_) else 0.0
    return ModelFit(raw=model.hotspots_, monthly=model.monthly_counts_, n_events=n_events,
                    n_outside=len(events) - n_events, notes=notes,
                    measured_against=_measured_against(feeds, exposure),
                    max_area=model.max_area, area_share=covered / model.grid_.area_km2,
                    left_out=int(model.n_candidates_) - len(model.hotspots_))


def _exposure_for(query: RoleScopedQuery, feeds: list[str]) -> tuple[dict | None, tuple]:
    """Each feed's exposure layer (``core.denominators``), read inside the data layer for the
    fit only (``safeguards.exposure.sites_for_fit``), and a note per feed measured against
    something other than residents, or falling back to them because its layer is not loaded."""
    from core.denominators import denominator_of, exposure_feeds
    from safeguards.exposure import sites_for_fit

    exposure, notes = {}, []
    for feed in feeds:
        layer = exposure_feeds().get(feed)
        if layer is None:
            continue
        sites = sites_for_fit(query, layer)
        if sites is None:
            notes.append(f"{FEED_TITLES[feed]} is measured against residents: no {layer} "
                         f"exposure layer is loaded, so the {layer} sites themselves can show "
                         "as hotspots.")
        else:
            exposure[feed] = sites
            notes.append(f"{FEED_TITLES[feed]} is measured against "
                         f"{denominator_of(feed).title}, not residents.")
    return exposure or None, tuple(notes)


def _measured_against(feeds: list[str], exposure: dict | None) -> str:
    """"resident population", or what the feeds measured against a layer are measured
    against, e.g. "resident population (Rosewood: bed-nights of open asylum accommodation
    sites)"."""
    from core.denominators import denominator_of

    layered = [f for f in feeds if exposure and f in exposure]
    if not layered:
        return "resident population"
    if len(layered) == len(feeds):
        return "; ".join(dict.fromkeys(denominator_of(f).title for f in layered))
    return "resident population (" + "; ".join(
        f"{FEED_TITLES[f]}: {denominator_of(f).title}" for f in layered) + ")"
