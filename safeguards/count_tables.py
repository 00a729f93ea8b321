"""Shaping the count tables the role-scoped query returns (``safeguards.access``).

Helpers with no access rule of their own: an analyst's table in the shape of a protected one
(``unsuppressed_table``), totals and transposition of a ``SuppressedTable``, and the complete
grid of an area level (every area, and every period between the first and last, with 0 where
nothing was recorded). What a role may see is decided in ``safeguards.access`` before these run.
"""
from __future__ import annotations

import pandas as pd

from safeguards.disclosure import TOTAL, SuppressedTable


def unsuppressed_table(table: pd.DataFrame) -> SuppressedTable:
    """The same shape as ``suppress_table``'s result, with nothing hidden (for analysts)."""
    counts = table.copy()
    counts[TOTAL] = counts.sum(axis=1)
    counts.loc[TOTAL] = counts.sum(axis=0)
    counts = counts.astype("Int64")
    hidden = pd.DataFrame(False, index=counts.index, columns=counts.columns)
    return SuppressedTable(counts=counts, display=counts.astype(str), suppressed=hidden,
                           primary=hidden, cells=table.astype("Int64"), threshold=1)


def transposed(table: SuppressedTable) -> SuppressedTable:
    """A SuppressedTable with rows and columns swapped (totals become a Total row)."""
    return SuppressedTable(counts=table.counts.T, display=table.display.T,
                           suppressed=table.suppressed.T, primary=table.primary.T,
                           cells=table.cells.T, threshold=table.threshold)


def with_total_row(table: SuppressedTable) -> SuppressedTable:
    """``table`` with a ``Total`` row even when it has one row (the Total is that row)."""
    if TOTAL in table.display.index:
        return table

    def add(frame):
        return pd.concat([frame, frame.iloc[[0]].set_axis([TOTAL])])

    return SuppressedTable(counts=add(table.counts), display=add(table.display),
                           suppressed=add(table.suppressed), primary=add(table.primary),
                           cells=table.cells, threshold=table.threshold)


def area_codes(level: str) -> list[str]:
    """Every area code of ``level`` ("lsoa", "ward", "district"), in the boundaries' order."""
    from geo.boundaries import load_boundaries

    return load_boundaries(level)["code"].tolist()


def complete_area_grid(counts: pd.DataFrame, level: str, freq: str | None) -> pd.DataFrame:
    """``counts`` (``code``, optionally ``period``, ``count``) on every area of ``level`` and,
    with ``freq``, every period from the first to the last: 0 where nothing was counted."""
    codes = area_codes(level)
    if freq and len(counts):
        periods = pd.period_range(counts["period"].min(), counts["period"].max(), freq=freq)
        grid = pd.MultiIndex.from_product([codes, periods], names=["code", "period"]).to_frame(
            index=False)
        keys = ["code", "period"]
    else:
        grid, keys = pd.DataFrame({"code": codes}), ["code"]
    merged = grid.merge(counts, on=keys, how="left") if len(counts) else grid.assign(count=0)
    merged["count"] = merged["count"].fillna(0).astype("int64")
    return merged
