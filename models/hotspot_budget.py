"""The area budget of ``HotspotModel.hotspots_``: which of a method's hotspots are kept.

Hotspots go strongest first (the scan's by LLR, the others' by events). ``rule="stop"`` keeps
them until the first whose cells would take the total past the budget; ``rule="skip"`` skips
that one and goes on with the next, smaller ones (docs/hotspots.md, 3e). When hotspots may
share cells (the scan's ``overlap="centres"``), a hotspot costs only the cells no kept,
stronger hotspot holds: the budget counts the union of cells, and each kept hotspot lists the
ranks of the stronger kept hotspots it overlaps.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from models._grid import Grid
from models.baselines import CellHotspots

RULES = ("stop", "skip")


def bounded(found: CellHotspots, counts, grid: Grid, max_area, max_hotspots,
            rule: str = "stop") -> CellHotspots:
    """The hotspots of ``found`` kept within ``max_area`` of the region (``None``: no budget)
    and ``max_hotspots`` (``None``: any number), renumbered by rank. Cell scores are left as
    they are."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    n = len(found.p_values)
    inside = found.labels >= 0
    if isinstance(found.statistic, pd.DataFrame) and "llr" in found.statistic.columns:
        strength = found.statistic["llr"].to_numpy(float)[:n]
    else:
        strength = np.bincount(found.labels[inside], weights=counts.ravel()[inside],
                               minlength=n)
    order = np.argsort(-strength, kind="stable")
    budget = np.inf if max_area is None else max_area * grid.area_km2 / grid.cell_km2 + 1e-9
    windows = found.cells
    if windows is None:
        windows = _cells_by_label(found.labels, n)
    owner = np.full(found.labels.size, -1)  # the kept hotspot (its new id) each cell counts for
    used, keep, cells, overlaps = 0, [], [], []
    for k in order:
        if len(keep) == (max_hotspots or n):
            break
        mine = windows[k]
        held = owner[mine]
        cost = int((held < 0).sum())
        if used + cost > budget:
            if rule == "stop":
                break
            continue
        overlaps.append([int(r) + 1 for r in np.unique(held[held >= 0])])
        owner[mine[held < 0]] = len(keep)
        used += cost
        keep.append(k)
        cells.append(mine)
    statistic = found.statistic
    if isinstance(statistic, pd.DataFrame):
        statistic = statistic.iloc[keep].reset_index(drop=True)
    shared = found.cells is not None
    return CellHotspots(owner, np.asarray(found.p_values)[keep], found.scores, statistic,
                        cells if shared else None, overlaps if shared else None)


def _cells_by_label(labels: np.ndarray, n: int) -> list[np.ndarray]:
    """Each label's cells (flat indices, ascending)."""
    inside = np.flatnonzero(labels >= 0)
    by_label = inside[np.argsort(labels[inside], kind="stable")]
    return np.split(by_label, np.cumsum(np.bincount(labels[inside], minlength=n))[:-1])
