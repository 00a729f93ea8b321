"""The ``hotspots_`` table of ``models.hotspots.HotspotModel``: one row per hotspot (events,
expected, relative risk, p-value, feeds, districts and wards, area, neighbours, trend class) and
its monthly counts, from the cells a method found. Split from the estimator so each reads at once.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from core import trends
from geo.crs import BNG, WGS84
from models._events import Events
from models._grid import Grid

COLUMNS = ["hotspot_id", "rank", "ranked_by", "events", "expected", "relative_risk", "p_value",
           "feed_mix", "feeds", "cross_feed", "districts", "wards", "area_km2", "touches",
           "overlaps", "trend", "trend_p", "first_month", "last_month", "geometry"]


def describe_hotspots(found, counts, grid: Grid, events: Events, cell, feed_labels: dict, alpha: float):
    """The ``hotspots_`` frame and the monthly counts per hotspot."""
    labels, n = found.labels, len(found.p_values)
    total, population = counts.sum(), grid.population.ravel()
    event_label = np.where(cell >= 0, labels[np.maximum(cell, 0)], -1)
    months = pd.PeriodIndex(events.date, freq="M")
    overlaps = found.overlaps or [[] for _ in range(n)]
    cells = (found.cells if found.cells is not None
             else [np.flatnonzero(labels == k) for k in range(n)])
    # Each hotspot's events: with overlaps shown, the whole window's, shared cells included.
    members = _event_members(cells, cell, labels.size) if any(overlaps) else None
    monthly = monthly_counts(event_label, months, n, members)
    month_totals = (pd.Series(months[cell >= 0]).value_counts()
                    .reindex(monthly.index, fill_value=0).to_numpy())
    shapes = [grid.polygon(c, crs=BNG) for c in cells]
    districts, wards = grid.areas_touched(shapes, "district"), grid.areas_touched(shapes, "ward")
    feed_names, feed_code = np.unique(events.feed.astype(str), return_inverse=True)
    mix = np.zeros((n, len(feed_names)), int)
    inside = event_label >= 0
    if members is None:
        np.add.at(mix, (event_label[inside], feed_code[inside]), 1)
    else:
        for k, mine in enumerate(members):
            mix[k] = np.bincount(feed_code[mine], minlength=len(feed_names))
    touches = touching_hotspots(labels, grid, n)
    ranked_by = ("llr" if isinstance(found.statistic, pd.DataFrame)
                 and "llr" in found.statistic.columns else "events")
    rows = []
    for k in range(n):
        events_k = float(counts.ravel()[cells[k]].sum())
        share = population[cells[k]].sum() / population.sum()
        expected = total * share
        feeds = sorted(f for f, lab in feed_labels.items() if (lab[cells[k]] >= 0).any())
        series = monthly[k].to_numpy()
        emerging = trends.classify(series, month_totals * share, alpha=alpha)
        active = monthly.index[series > 0]
        rows.append({
            "hotspot_id": k, "rank": k + 1, "ranked_by": ranked_by, "events": int(events_k),
            "expected": expected,
            "relative_risk": relative_risk(events_k, expected, total),
            "p_value": float(found.p_values[k]),
            "feed_mix": {str(f): int(v) for f, v in zip(feed_names, mix[k]) if v},
            "feeds": feeds, "cross_feed": len(feeds) >= 2, "districts": districts[k],
            "wards": wards[k], "area_km2": len(cells[k]) * grid.cell_km2, "touches": touches[k],
            "overlaps": list(overlaps[k]),
            "trend": emerging.category, "trend_p": emerging.mann_kendall.p_value,
            "first_month": str(active.min()) if len(active) else None,
            "last_month": str(active.max()) if len(active) else None, "geometry": shapes[k]})
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=COLUMNS), geometry="geometry", crs=BNG)
    # The window the trend class is about, for its label (``core.trend_words.hotspot_label``).
    frame["trend_months"] = len(monthly)
    frame["trend_to"] = str(monthly.index.max()) if len(monthly) else None
    if isinstance(found.statistic, pd.DataFrame):
        for column in found.statistic.columns:
            frame[column] = found.statistic[column].to_numpy()[:n]
    return frame.to_crs(WGS84), monthly


def touching_hotspots(labels: np.ndarray, grid: Grid, n: int) -> list[list[int]]:
    """Ids of the hotspots whose cells touch each hotspot's (8 neighbours)."""
    from scipy import ndimage

    grid_labels = labels.reshape(grid.shape)
    out = []
    for k in range(n):
        mine = grid_labels == k
        ring = ndimage.binary_dilation(mine, structure=np.ones((3, 3), bool)) & ~mine
        out.append(sorted(int(j) for j in np.unique(grid_labels[ring]) if j >= 0 and j != k))
    return out


def relative_risk(c: float, e: float, total: float) -> float:
    """SaTScan's relative risk: (c / e) / ((C - c) / (C - e))."""
    if e <= 0:
        return float("inf")
    outside = (total - c) / (total - e) if total > e else float("nan")
    return (c / e) / outside if outside else float("inf")


def _event_members(cells: list, cell: np.ndarray, n_cells: int) -> list[np.ndarray]:
    """Per hotspot, which events (by position) fall in its cells, shared ones included."""
    out = []
    for mine in cells:
        member = np.zeros(n_cells + 1, bool)  # the last slot: events off the grid (-1)
        member[mine] = True
        out.append(member[np.where(cell >= 0, cell, n_cells)])
    return out


def monthly_counts(event_label, months, n, members=None) -> pd.DataFrame:
    """Events per month (every month from the first to the last event) and hotspot;
    ``members`` (per hotspot, its events: overlapping hotspots) instead of the labels."""
    if len(months) == 0:
        return pd.DataFrame(columns=range(n), dtype=int)
    span = pd.period_range(months.min(), months.max(), freq="M")
    if members is not None:
        table = pd.DataFrame({k: pd.Series(months[mine]).value_counts().reindex(
            span, fill_value=0).to_numpy() for k, mine in enumerate(members)},
            index=span, columns=range(n)).fillna(0)
        table.index.name, table.columns.name = "month", "hotspot_id"
        return table.astype(int)
    frame = pd.DataFrame({"month": months, "label": event_label})
    table = (frame[frame["label"] >= 0].groupby(["month", "label"]).size()
             .unstack(fill_value=0).reindex(index=span, columns=range(n), fill_value=0))
    table.index.name, table.columns.name = "month", "hotspot_id"
    return table.astype(int)
