"""One protected set of tables per feed over whole months, quarters and the whole span.

Every page or report that shows a suppressed role counts of (feed, calendar period, area) reads
them from here, through ``RoleScopedQuery.period_tables`` and ``views.feed_tables.feed_tables``: the
Trends page (months and quarters), meeting mode and the briefing pack (a period's district
comparison, headline and trend), and the Overview (each district's records over the whole
span). So the same cells are hidden everywhere, and no page can be combined with another to
work a hidden count out.

Why one protection and not one per table: the tables are linked. A quarter is the sum of its
three months, a district's whole-span figure is the sum of its months, and West Yorkshire is
the sum of its districts. Protected one by one (a month table, a quarter table, a district ×
feed table), a hidden July count can be got back as the quarter minus the two shown months.
All these sums together are still a network (``safeguards.suppression.protect_arcs``)::

    source → area (whole span) → (area, quarter) → month → West Yorkshire quarter → sink → source
                                  quarter cell      month cell   WY month        WY quarter    grand

so one call protects every level at once, with the same guarantee as a single two-way table:
no hidden count can be narrowed to one value from everything shown.

A feed's breakdowns (age group, exploitation type, ...; ``core.periods.PARTITIONS``) are the same
network with categories instead of areas. They share West Yorkshire's month and quarter totals
and the grand total with the area network: a shared total hidden in one network is forced hidden
in the others and the networks are protected again until nothing changes; a breakdown month or
quarter whose total is hidden is hidden whole. A category's whole-span figure is not shown.

Months of the first and last quarter that lie outside the data (before the first record, after
the last) are known zeros: never shown, never hidden, never used as a complement.

Pure functions on tables already read by the query layer; no store, no Streamlit.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from safeguards.disclosure import CONFIDENTIAL, TOTAL, SuppressedTable, open_table
from safeguards.suppression import protect_arcs

#: Column label of the whole-span table (one column: each row's records over the span).
WHOLE = "whole span"
_MAX_ROUNDS = 20


@dataclass(frozen=True)
class PeriodTables:
    """One row dimension (areas or categories) of a feed, protected at every level together.

    Attributes
    ----------
    month, quarter : SuppressedTable
        Rows × months (the months holding data) and rows × quarters, each with a ``Total`` row
        (West Yorkshire per period) and no ``Total`` column: the shape
        ``RoleScopedQuery.period_counts`` gives.
    whole : SuppressedTable or None
        Rows × one column (:data:`WHOLE`) with a ``Total`` row: records over the whole span.
        None where it is not shown (breakdowns).
    shared : dict
        Which shared totals are hidden: ``"M"`` and ``"Q"`` (bool arrays over the months of
        the quarters, and the quarters) and ``"all"`` (the grand total).
    """

    month: SuppressedTable
    quarter: SuppressedTable
    whole: SuppressedTable | None
    shared: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FeedPeriodTables:
    """Every protected table of one feed: ``area`` (e.g. districts) and ``parts`` (one per
    partition of the feed), sharing their West Yorkshire totals."""

    feed: str
    threshold: int
    area: PeriodTables
    parts: dict[str, PeriodTables]


def quarter_months(quarters: pd.PeriodIndex) -> pd.PeriodIndex:
    """Every month of ``quarters`` (consecutive quarters, oldest first)."""
    return pd.period_range(quarters[0].asfreq("M", how="start"),
                           quarters[-1].asfreq("M", how="end"), freq="M")


def protect_feed(area: pd.DataFrame, parts: Mapping[str, pd.DataFrame], data_months,
                 threshold: int) -> FeedPeriodTables:
    """Protect a feed's area table and its breakdowns together (module docstring).

    Parameters
    ----------
    area : DataFrame
        Records per area (rows) and month (columns: every month of whole quarters), int.
    parts : mapping of str to DataFrame
        Records per category and month (same columns), one table per partition; each adds up
        to the area table's total per month.
    data_months : PeriodIndex
        The months holding data (the others are known zeros and are not shown).
    threshold : int
        The feed's k.
    """
    months = area.columns
    shared = _no_shared(months)
    for _ in range(_MAX_ROUNDS):
        area_tables = protect_period_table(area, data_months, threshold, row_totals=True,
                                           forced=shared)
        hidden = _union(shared, area_tables.shared)
        part_tables = {}
        for name, table in parts.items():
            part_tables[name] = protect_period_table(table, data_months, threshold,
                                                     row_totals=False, forced=hidden,
                                                     whole_columns=True)
            hidden = _union(hidden, part_tables[name].shared)
        if _same(hidden, area_tables.shared) and all(
                _same(hidden, t.shared) for t in part_tables.values()):
            return FeedPeriodTables(feed="", threshold=threshold, area=area_tables,
                                    parts=part_tables)
        shared = hidden
    raise RuntimeError("the shared totals of a feed's tables did not settle")  # pragma: no cover


def protect_period_table(table: pd.DataFrame, data_months, threshold: int, *,
                         row_totals: bool, forced: dict | None = None,
                         whole_columns: bool = False) -> PeriodTables:
    """Protect one rows × months table with its quarter, whole-span and total levels.

    ``forced`` hides shared totals hidden elsewhere (:class:`PeriodTables` ``shared``);
    ``whole_columns`` also hides every row of a month or quarter whose total is forced hidden.
    ``row_totals``: whether each row's whole-span figure is shown.
    """
    months = pd.PeriodIndex(table.columns, freq="M")
    quarters = pd.period_range(months[0].asfreq("Q"), months[-1].asfreq("Q"), freq="Q")
    if not months.equals(quarter_months(quarters)):
        raise ValueError("the month columns must be every month of whole quarters")
    values = table.to_numpy(dtype=np.int64)
    n_rows, n_months, n_quarters = values.shape[0], len(months), len(quarters)
    quarter_of = np.asarray([quarters.get_loc(m.asfreq("Q")) for m in months])
    known_zero = ~months.isin(pd.PeriodIndex(data_months, freq="M"))
    forced = forced or _no_shared(months)

    # Nodes: 0 source, 1 sink, rows, (row, quarter), months, quarters.
    row_node = 2 + np.arange(n_rows)
    rq_node = 2 + n_rows + np.arange(n_rows * n_quarters).reshape(n_rows, n_quarters)
    month_node = 2 + n_rows + n_rows * n_quarters + np.arange(n_months)
    quarter_node = month_node[-1] + 1 + np.arange(n_quarters)
    by_quarter = np.zeros((n_rows, n_quarters), dtype=np.int64)
    np.add.at(by_quarter.T, quarter_of, values.T)

    arcs = []  # (tail, head, flow, kind, position)

    def add(kind, tails, heads, flows, positions):
        for t, h, f, p in zip(np.ravel(tails), np.ravel(heads), np.ravel(flows), positions):
            arcs.append((int(t), int(h), int(f), kind, p))

    add("whole", np.zeros(n_rows, int), row_node, values.sum(axis=1), range(n_rows))
    add("quarter", np.repeat(row_node, n_quarters), rq_node, by_quarter,
        [(i, q) for i in range(n_rows) for q in range(n_quarters)])
    add("month", rq_node[:, quarter_of], np.tile(month_node, (n_rows, 1)), values,
        [(i, m) for i in range(n_rows) for m in range(n_months)])
    add("total_month", month_node, quarter_node[quarter_of], values.sum(axis=0),
        range(n_months))
    add("total_quarter", quarter_node, np.ones(n_quarters, int), by_quarter.sum(axis=0),
        range(n_quarters))
    add("grand", [1], [0], [values.sum()], [0])

    tail, head, flow, kind, position = map(list, zip(*arcs))
    kind = np.asarray(kind)
    free = (kind == "whole") & (not row_totals)
    fixed = np.zeros(len(arcs), dtype=bool)
    must = np.zeros(len(arcs), dtype=bool)
    for n, (what, where) in enumerate(zip(kind, position)):
        if what == "month":
            fixed[n] = known_zero[where[1]]
            must[n] = whole_columns and bool(forced["M"][where[1]])
        elif what == "quarter":
            must[n] = whole_columns and bool(forced["Q"][where[1]])
        elif what == "total_month":
            fixed[n] = known_zero[where]
            must[n] = bool(forced["M"][where])
        elif what == "total_quarter":
            must[n] = bool(forced["Q"][where])
        elif what == "grand":
            must[n] = bool(forced["all"])
    cells = np.isin(kind, ("month", "quarter"))
    hidden = protect_arcs(tail, head, flow, threshold=threshold, free=free, fixed=fixed,
                          forced=must, cells=cells)
    flow = np.asarray(flow)
    primary = (flow >= 1) & (flow < threshold) & ~free & ~fixed & hidden

    def grid(name, shape):
        out = {"flow": np.zeros(shape, np.int64), "hidden": np.zeros(shape, bool),
               "primary": np.zeros(shape, bool)}
        for n in np.flatnonzero(kind == name):
            out["flow"][position[n]] = flow[n]
            out["hidden"][position[n]] = hidden[n]
            out["primary"][position[n]] = primary[n]
        return out

    month_cells, quarter_cells = grid("month", (n_rows, n_months)), \
        grid("quarter", (n_rows, n_quarters))
    month_totals, quarter_totals = grid("total_month", (n_months,)), \
        grid("total_quarter", (n_quarters,))
    whole, grand = grid("whole", (n_rows,)), grid("grand", (1,))
    shown_months = ~known_zero
    month_table = _table(month_cells, month_totals, table.index, months[shown_months],
                         threshold, keep=shown_months)
    quarter_table = _table(quarter_cells, quarter_totals, table.index, quarters, threshold)
    whole_table = None
    if row_totals:
        whole_table = _table({k: v[:, None] for k, v in whole.items()}, grand, table.index,
                             pd.Index([WHOLE]), threshold)
    return PeriodTables(month=month_table, quarter=quarter_table, whole=whole_table,
                        shared={"M": month_totals["hidden"], "Q": quarter_totals["hidden"],
                                "all": bool(grand["hidden"][0])})


def open_period_tables(table: pd.DataFrame, data_months, *, row_totals: bool) -> PeriodTables:
    """The same tables with nothing hidden (for roles not under disclosure control)."""
    months = pd.PeriodIndex(table.columns, freq="M")
    quarters = pd.period_range(months[0].asfreq("Q"), months[-1].asfreq("Q"), freq="Q")
    shown = months.isin(pd.PeriodIndex(data_months, freq="M"))
    by_quarter = table.T.groupby(np.asarray([m.asfreq("Q") for m in months])).sum().T
    by_quarter.columns = quarters
    whole = table.sum(axis=1).to_frame(WHOLE) if row_totals else None
    return PeriodTables(month=open_table(table.loc[:, shown]), quarter=open_table(by_quarter),
                        whole=None if whole is None else open_table(whole),
                        shared=_no_shared(months))


# -- internals ------------------------------------------------------------------------------------
def _no_shared(months) -> dict:
    n_quarters = len(pd.period_range(months[0].asfreq("Q"), months[-1].asfreq("Q"), freq="Q"))
    return {"M": np.zeros(len(months), bool), "Q": np.zeros(n_quarters, bool), "all": False}


def _union(a: dict, b: dict) -> dict:
    return {"M": a["M"] | b["M"], "Q": a["Q"] | b["Q"], "all": bool(a["all"] or b["all"])}


def _same(a: dict, b: dict) -> bool:
    return (np.array_equal(a["M"], b["M"]) and np.array_equal(a["Q"], b["Q"])
            and a["all"] == b["all"])


def _table(cells: dict, totals: dict, index, columns, k: int, keep=None) -> SuppressedTable:
    """A SuppressedTable (cells with a Total row) from the protected arcs."""
    if keep is not None:
        cells = {name: v[:, keep] for name, v in cells.items()}
        totals = {name: v[keep] for name, v in totals.items()}
    values = np.vstack([cells["flow"], totals["flow"]])
    hidden = np.vstack([cells["hidden"], totals["hidden"]])
    primary = np.vstack([cells["primary"], totals["primary"]])
    rows = pd.Index(list(index) + [TOTAL], name=index.name)
    columns = pd.Index(columns, name="period")
    labels = np.where(~hidden, values.astype(str),
                      np.where(values < k, f"<{k}", CONFIDENTIAL))
    counts = pd.DataFrame(values, index=rows, columns=columns).astype("Int64") \
        .mask(pd.DataFrame(hidden, index=rows, columns=columns))
    cell_frame = counts.iloc[:-1].copy()
    cell_frame.index = index
    return SuppressedTable(
        counts=counts, display=pd.DataFrame(labels, index=rows, columns=columns).astype(object),
        suppressed=pd.DataFrame(hidden, index=rows, columns=columns),
        primary=pd.DataFrame(primary, index=rows, columns=columns), cells=cell_frame,
        threshold=k)
