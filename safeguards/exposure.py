"""Who may see the exposure layer (asylum accommodation sites), enforced where it is read.

The sites are more sensitive than the events: a site's location and size say where asylum
seekers live, which is what someone looking to exploit or harass them wants. So, whatever the
role, no function here returns a site's row, and:

- **analysts** may read the layer *aggregated to their area levels* (LSOA, ward, district:
  :func:`exposure_by_area`), never a point, hexagon or site row, each read audited as
  ``view-exposure``;
- **protected roles** (chair, executive, admin: ``safeguards.disclosure.must_suppress``) never
  read it, at any level (``AccessDenied``, audited): one site in a ward would be its bed count;
  they may learn only *whether* a layer is loaded and when (:func:`layer_status`), so a page can
  say what Rosewood was measured against;
- the hotspot model uses the sites inside the data layer (:func:`sites_for_fit`, called by
  ``views.hotspots.fit_hotspots``), the way that function reads event points for a chair:
  read, used, never returned. What a protected role then sees of a Rosewood hotspot is its area
  and ward-based published figures (``views.hotspots``), nothing of the layer.

docs/data-protection.md gives the reasoning.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core import clock
from core.errors import AccessDenied
from geo.boundaries import load_boundaries
from safeguards.access import AREA_COLUMN, RoleScopedQuery
from storage.exposure import bed_nights, check_layer, read_layer

LAYER = "accommodation"
#: Area levels an analyst may read the layer at: never "point" or "hex" (a single site).
EXPOSURE_LEVELS = ("lsoa", "ward", "district")


def layer_status(query: RoleScopedQuery, layer: str = LAYER) -> dict:
    """Whether ``layer`` is loaded, for any role: ``loaded``, ``loaded_on`` (a date) and, for
    analysts only, ``sites`` (how many)."""
    check_layer(layer)
    stored = read_layer(query.store, layer)
    if stored is None:
        return {"layer": layer, "loaded": False, "loaded_on": None}
    meta, sites = stored
    out = {"layer": layer, "loaded": True, "loaded_on": str(meta.get("ingested_at", ""))[:10]}
    if not query.suppressed:
        out["sites"] = len(sites)
    return out


def exposure_by_area(query: RoleScopedQuery, level: str, start=None, end=None,
                     layer: str = LAYER) -> pd.DataFrame:
    """Open sites and bed-nights per area of ``level`` between ``start`` and ``end``. Analysts.

    Columns ``code``, ``sites`` (sites open at some time in the window), ``beds`` (their
    capacity) and ``bed_nights``; every area of the level appears (0 where none). A site known
    only by its ward counts in that ward and its district, not in any LSOA. Without a window,
    the whole life of every site. Raises ``AccessDenied`` (audited) for protected roles and for
    levels below LSOA; ``LookupError`` when no layer is loaded.
    """
    check_layer(layer)
    if query.suppressed:
        query.refuse(f"the {layer} exposure layer", AccessDenied(
            f"the {query.role} role may not see the {layer} exposure layer at any level: "
            "sites reveal where asylum seekers live (docs/data-protection.md)"))
    if level not in EXPOSURE_LEVELS:
        query.refuse(f"{level}-level {layer} exposure", AccessDenied(
            f"the {layer} exposure layer is shown by {', '.join(EXPOSURE_LEVELS)} only, never "
            f"by {level}: a point or small cell is a single site"))
    query.require_level(level)
    stored = read_layer(query.store, layer)
    if stored is None:
        raise LookupError(f"no {layer} exposure layer is loaded: load one with "
                          "python -m data.exposure FILE")
    _, sites = stored
    window_start = sites["opened_on"].min() if start is None else pd.Timestamp(start)
    window_end = pd.Timestamp(clock.local_now()).normalize() if end is None else pd.Timestamp(end)
    nights = bed_nights(sites, window_start, window_end)
    open_ = nights > 0
    column = AREA_COLUMN[level]
    frame = pd.DataFrame({"code": sites[column].astype(object), "sites": open_.astype(np.int64),
                          "beds": np.where(open_, sites["bed_capacity"], 0),
                          "bed_nights": nights})
    table = (frame.dropna(subset=["code"]).groupby("code")[["sites", "beds", "bed_nights"]].sum()
             .reindex(load_boundaries(level)["code"], fill_value=0)
             .rename_axis("code").reset_index())
    query.record_access("view-exposure", feed=f"exposure:{layer}",
                        detail=f"{level}, {window_start.date()} to {window_end.date()}",
                        records=int(table["sites"].sum()))
    return table


def sites_for_fit(query: RoleScopedQuery, layer: str = LAYER) -> pd.DataFrame | None:
    """The stored sites of ``layer`` (``None`` when none is loaded), for fitting a model
    inside the data layer only: ``views.hotspots.fit_hotspots`` passes them to the model and
    returns nothing of them. Needs the ``view_hotspots`` action (audited refusal otherwise)."""
    check_layer(layer)
    query.require("view_hotspots")
    stored = read_layer(query.store, layer)
    return None if stored is None else stored[1]
