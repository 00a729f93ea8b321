"""Suppression: hide a table's small counts, and enough others that none can be worked out.

:func:`suppress_table` (a two-way table with its totals) and :func:`suppress_counts` (the same
for a long ``key…, count`` frame) return a ``safeguards.disclosure.SuppressedTable``;
:func:`protect_arcs` applies the same rules to any network of sums (subtotals nested on one side,
as ``safeguards.period_tables`` builds). The rules are in ``safeguards.disclosure``; the search
for complements and its exact audit in ``safeguards.suppression_network``.

One call protects one table. Two views cut differently from the same data (a ward × month table
and a ward map of the year) can give away, together, what neither gives alone: derive both from
one ``SuppressedTable`` instead.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from safeguards.disclosure import (
    CONFIDENTIAL,
    TOTAL,
    SuppressedTable,
    checked_threshold,
    threshold_for,
)
from safeguards.suppression_network import ArcNetwork, TableNetwork


def suppress_table(table: pd.DataFrame, *, feed: str | None = None,
                   threshold: int | None = None, row_totals: bool = True,
                   column_totals: bool = True) -> SuppressedTable:
    """Hide the small counts of a table, and enough others that none can be worked out.

    Parameters
    ----------
    table : DataFrame
        Counts: whole numbers >= 0, no missing values (a missing count is not a zero: fill it
        first if it is one). Rows and columns are the two dimensions (e.g. ward × month). A
        list of areas is a one-column table.
    feed : {"nrm", "rosewood", "mandevilla"}, optional
        Whose threshold applies (:func:`threshold_for`). Give ``feed``, ``threshold`` or both.
    threshold : int, optional
        k, overriding the feed's threshold.
    row_totals, column_totals : bool
        Whether the view shows a total per row (a ``Total`` column) and per column (a ``Total``
        row). With both, the grand total is shown too. Say exactly what the view shows: a
        total that is shown but was not declared here can give a hidden cell away, and one
        declared but not shown only costs information.

    Returns
    -------
    SuppressedTable

    Raises
    ------
    ValueError
        Neither ``feed`` nor ``threshold``, a bad threshold, counts that are not whole numbers
        >= 0, or a row or column already labelled ``Total``.
    ConfigError
        The feed's threshold environment variable is invalid.

    Examples
    --------
    >>> t = suppress_table(pd.DataFrame({"a": [2, 30, 15], "b": [10, 40, 60]},
    ...                                 index=["x", "y", "z"]), threshold=5)
    >>> t.display
             a    b Total
    x       <5  [c]    12
    y      [c]  [c]    70
    z       15   60    75
    Total   47  110   157
    """
    k = _resolve_threshold(feed, threshold)
    values = _whole_counts(table)
    n_rows, n_cols = values.shape
    # A total of a single cell is that cell: showing it twice adds nothing, so it is dropped.
    show_rows = row_totals and n_cols > 1
    show_cols = column_totals and n_rows > 1
    network = TableNetwork(values, k, show_rows, show_cols)
    hidden = network.protect() if values.size else np.zeros(network.n_arcs, dtype=bool)
    return _assemble(table, network, hidden, k)


def suppress_counts(frame: pd.DataFrame, *, rows: str | Sequence[str],
                    columns: str | Sequence[str] | None = None, count: str = "count",
                    feed: str | None = None, threshold: int | None = None,
                    row_totals: bool = True, column_totals: bool = True) -> SuppressedTable:
    """:func:`suppress_table` for a long frame of counts (one row per cell).

    Parameters
    ----------
    frame : DataFrame
        Key columns and a count column, at most one row per key combination (as
        ``Store.counts`` returns). A combination that is absent counts as zero.
    rows : str or list of str
        The key column(s) forming the table's rows (e.g. ``"ward_code"``).
    columns : str or list of str, optional
        The key column(s) forming its columns (e.g. ``"period"``). Without it the cells form
        a list with a grand total (``column_totals``), as a map of areas shows.
    count : str
        The count column.
    feed, threshold, row_totals, column_totals
        As for :func:`suppress_table`.

    Returns
    -------
    SuppressedTable
        ``.long()`` gives the result back in long form.

    Raises
    ------
    ValueError
        A key combination appears twice, or as for :func:`suppress_table`.
    """
    row_keys = _key_list(rows)
    column_keys = [] if columns is None else _key_list(columns)
    keys = row_keys + column_keys
    duplicated = frame.duplicated(subset=keys)
    if duplicated.any():
        first = frame.loc[duplicated, keys].iloc[0].tolist()
        raise ValueError(f"{int(duplicated.sum())} key combinations appear more than once "
                         f"(first: {first}); count each cell once")
    if column_keys:
        table = frame.pivot(index=row_keys, columns=column_keys, values=count).fillna(0)
    else:
        table = frame.set_index(row_keys)[[count]]
        table.columns = pd.Index([count])
    return suppress_table(table, feed=feed, threshold=threshold, row_totals=row_totals,
                          column_totals=column_totals)


def protect_arcs(tail, head, flow, *, threshold: int, free=None, fixed=None, forced=None,
                 cells=None) -> np.ndarray:
    """Which arcs of a circulation to hide: the same rules as :func:`suppress_table`.

    For tables whose sums form a network but not a plain two-way table: subtotals nested on
    one side (months within quarters within the whole span, areas within West Yorkshire) are
    one circulation, so one call protects every level of the hierarchy together and no level
    can be differenced against another. Every node must balance: what flows in (the parts of
    a total) equals what flows out (the total).

    Parameters
    ----------
    tail, head : sequences of int
        Node numbers of each arc (nodes 0 .. n-1).
    flow : sequence of int
        The true count on each arc (>= 0), balanced at every node.
    threshold : int
        k: arcs with 1 to k-1 are hidden, then complements.
    free : bool mask, optional
        Arcs that are not shown at all (any value >= 0 to a reader; never labelled).
    fixed : bool mask, optional
        Arcs a reader knows anyway (e.g. zeros outside the data): never hidden, never a
        complement.
    forced : bool mask, optional
        Arcs to hide whatever their value (hidden in another table that shares them).
    cells : bool mask, optional
        Arcs that are cells (a zero cell is an expensive complement); default all.

    Returns
    -------
    ndarray of bool
        True where hidden. ``"<k"`` labels arcs below k, ``"[c]"`` the others.
    """
    k = checked_threshold(threshold, "threshold")
    network = ArcNetwork(tail, head, flow, k, free=free, fixed=fixed, forced=forced,
                          cells=cells)
    if (network.flow < 0).any():
        raise ValueError("counts must be whole numbers >= 0")
    balance = (np.bincount(network.head, network.flow, network.n_nodes)
               - np.bincount(network.tail, network.flow, network.n_nodes))
    if np.abs(balance).max(initial=0) > 0:
        raise ValueError("the arcs do not balance: a total differs from the sum of its parts")
    if not network.n_arcs:
        return np.zeros(0, dtype=bool)
    return network.protect()


# --- internals ------------------------------------------------------------------------------


def _key_list(keys: str | Sequence[str]) -> list[str]:
    return [keys] if isinstance(keys, str) else list(keys)


def _resolve_threshold(feed: str | None, threshold: int | None) -> int:
    if feed is not None:
        return threshold_for(feed, threshold)
    if threshold is None:
        raise ValueError("give the feed (for its threshold) or the threshold")
    return checked_threshold(threshold, "threshold")


def _whole_counts(table: pd.DataFrame) -> np.ndarray:
    """The table's values as int64, or ValueError naming what is wrong."""
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"expected a DataFrame of counts, got {type(table).__name__}")
    if table.isna().to_numpy().any():
        raise ValueError("the table has missing counts; a missing count is not a zero")
    try:
        values = table.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ValueError("the table has values that are not numbers") from None
    if (values < 0).any() or (values != np.round(values)).any() or not np.isfinite(values).all():
        raise ValueError("counts must be whole numbers >= 0")
    return values.astype(np.int64)



def _assemble(table: pd.DataFrame, network: TableNetwork, hidden: np.ndarray,
              k: int) -> SuppressedTable:
    """Lay the arcs back out as frames: cells, then the Total column and Total row if shown."""
    n_rows, n_cols = network.n_rows, network.n_cols
    n_cells = n_rows * n_cols
    show_rows, show_cols = network.show_rows, network.show_cols

    def grid(per_arc: np.ndarray) -> np.ndarray:
        body = per_arc[:n_cells].reshape(n_rows, n_cols)
        if show_rows:
            body = np.column_stack([body, per_arc[n_cells:n_cells + n_rows]])
        if show_cols:
            bottom = per_arc[n_cells + n_rows:n_cells + n_rows + n_cols]
            if show_rows:
                bottom = np.append(bottom, per_arc[-1])
            body = np.vstack([body, bottom])
        return body

    index = _with_total(table.index, show_cols)
    columns = _with_total(table.columns, show_rows)
    values, mask, primary = grid(network.flow), grid(hidden), grid(network.primary & hidden)
    labels = np.where(~mask, values.astype(str), np.where(values < k, f"<{k}", CONFIDENTIAL))

    def frame(data: np.ndarray, dtype) -> pd.DataFrame:
        return pd.DataFrame(data, index=index, columns=columns).astype(dtype)

    counts = frame(values, "Int64").mask(mask)
    cells = counts.iloc[:n_rows, :n_cols].copy()
    cells.index, cells.columns = table.index, table.columns
    return SuppressedTable(counts=counts, display=frame(labels, object),
                           suppressed=frame(mask, bool), primary=frame(primary, bool),
                           cells=cells, threshold=k)


def _with_total(labels: pd.Index, add: bool) -> pd.Index:
    if not add:
        return labels
    total: Hashable = (TOTAL,) + ("",) * (labels.nlevels - 1) if labels.nlevels > 1 else TOTAL
    if total in labels:
        raise ValueError(f"the table already has a {TOTAL!r} row or column; pass the cells only")
    if labels.nlevels > 1:
        return labels.append(pd.MultiIndex.from_tuples([total], names=labels.names))
    return labels.append(pd.Index([total], name=labels.name))
