"""The GeoDataFrame → arrays adapter of the hotspot models, and its inverse for store rows.

Models work in British National Grid metres (EPSG:27700). ``event_arrays`` is the one place a
GeoDataFrame of events is checked and turned into numpy arrays; ``events_frame`` builds such a
GeoDataFrame from rows read from the store (``store.query`` or ``RoleScopedQuery.points``);
``gridded_events`` is the preamble both fitted models share (arrays, grid, each event's cell).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import BNG
from models._grid import Grid, analysis_grid

DATE_COLUMN = "date"
FEED_COLUMN = "feed"


@dataclass(frozen=True)
class Events:
    """Events as arrays: BNG coordinates (m), dates (datetime64[D]) and feed names."""

    x: np.ndarray
    y: np.ndarray
    date: np.ndarray
    feed: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, mask: np.ndarray) -> "Events":
        return Events(self.x[mask], self.y[mask], self.date[mask], self.feed[mask])


def event_arrays(X, *, require_date: bool = True) -> Events:
    """Check a GeoDataFrame of events and return its BNG coordinates, dates and feeds.

    Parameters
    ----------
    X : GeoDataFrame
        One row per event: point geometry with a CRS, a ``date`` column, optionally ``feed``.
    require_date : bool
        Refuse a frame without a ``date`` column (``predict`` does not need dates).

    Returns
    -------
    Events

    Raises
    ------
    TypeError
        ``X`` is not a GeoDataFrame.
    ValueError
        The CRS is missing, a geometry is empty or not a point, or ``date`` is missing or invalid.
    """
    if not isinstance(X, gpd.GeoDataFrame):
        raise TypeError(f"X was a {type(X).__name__}; expected a GeoDataFrame of event points "
                        "(geometry with a CRS, a 'date' column, optionally 'feed')")
    if X.crs is None:
        raise ValueError("X has no CRS: set one before fitting, e.g. X.set_crs('EPSG:27700') "
                         "for British National Grid metres or X.set_crs('EPSG:4326') for "
                         "longitude/latitude")
    geometry = X.geometry
    if len(X) and (geometry.isna().any() or geometry.is_empty.any()):
        raise ValueError(f"X has {int((geometry.isna() | geometry.is_empty).sum())} missing or "
                         "empty geometries: drop events without a point first")
    if len(X) and not (geometry.geom_type == "Point").all():
        kinds = sorted(set(geometry.geom_type) - {"Point"})
        raise ValueError(f"X geometry must be points; found {kinds}")
    if not X.crs.equals(BNG):
        geometry = geometry.to_crs(BNG)
    date = _dates(X, require_date)
    feed = (X[FEED_COLUMN].astype(str).to_numpy(dtype=object) if FEED_COLUMN in X.columns
            else np.full(len(X), "all", dtype=object))
    return Events(geometry.x.to_numpy(float), geometry.y.to_numpy(float), date, feed)


def gridded_events(X, cell_size_m: int, population,
                   outside_warning: type[Warning]) -> tuple[Events, Grid, np.ndarray]:
    """Check the events ``X`` and place them on the analysis grid, warning for those off it.

    Returns the events' arrays, the grid (``models._grid.analysis_grid``) and each event's cell
    index (-1 outside West Yorkshire's populated cells). Events off the grid raise one
    ``outside_warning`` (the calling model's own category, so callers can silence it), pointed
    at the code that called the model's ``fit``.
    """
    events = event_arrays(X)
    grid = analysis_grid(cell_size_m, population)
    cell = grid.cell_index(events.x, events.y)
    if (cell < 0).any():
        # stacklevel 3: past this helper and the model's fit, as when fit warned itself
        warnings.warn(f"{int((cell < 0).sum())} of {len(cell)} events fall outside West "
                      "Yorkshire's populated cells and were left out", outside_warning,
                      stacklevel=3)
    return events, grid, cell


def _dates(X, require_date: bool) -> np.ndarray:
    if DATE_COLUMN not in X.columns:
        if require_date:
            raise ValueError(f"X has no {DATE_COLUMN!r} column: the model needs each event's "
                             f"date (columns were {list(X.columns)})")
        return np.full(len(X), np.datetime64("NaT"), dtype="datetime64[D]")
    try:
        dates = pd.to_datetime(X[DATE_COLUMN])
    except (ValueError, TypeError) as exc:
        raise ValueError(f"X column {DATE_COLUMN!r} is not a date: {exc}") from exc
    if require_date and dates.isna().any():
        raise ValueError(f"X column {DATE_COLUMN!r} has {int(dates.isna().sum())} missing dates")
    return dates.to_numpy().astype("datetime64[D]")


def events_frame(rows: pd.DataFrame, feed: str | None = None) -> gpd.GeoDataFrame:
    """A model-ready GeoDataFrame (BNG points, ``date``, ``feed``) from stored point rows.

    ``rows`` are what ``store.query`` or ``RoleScopedQuery.points`` return (geomasked
    ``easting``/``northing``, ``event_date``); rows without a point are dropped. ``feed`` fills
    the ``feed`` column unless ``rows`` has one.
    """
    rows = rows[rows["easting"].notna() & rows["northing"].notna()]
    data = {DATE_COLUMN: pd.to_datetime(rows["event_date"]).to_numpy()}
    if FEED_COLUMN in rows.columns:
        data[FEED_COLUMN] = rows[FEED_COLUMN].to_numpy()
    elif feed is not None:
        data[FEED_COLUMN] = np.full(len(rows), feed, dtype=object)
    geometry = gpd.points_from_xy(rows["easting"].astype(float), rows["northing"].astype(float))
    return gpd.GeoDataFrame(data, geometry=geometry, crs=BNG)
