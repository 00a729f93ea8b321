"""Statistical disclosure control: small counts are hidden, and cannot be worked back out.

Every aggregate a ``chair`` or ``executive`` sees (tables, charts, maps, exports, PDFs) goes
through one function, :func:`suppress_table` (or :func:`suppress_counts`, the same for a long
``key…, count`` frame). It returns a :class:`SuppressedTable`: the counts with hidden cells set
to ``<NA>``, the strings to show, and the masks of what was hidden and why.

The rules (``docs/disclosure-control.md`` gives the sources and the reasoning):

- **Primary suppression.** A cell or a shown total with ``1 <= count < k`` is hidden and shown
  as ``"<k"``. ``k`` is per feed (:data:`DEFAULT_THRESHOLDS`, overridable, see
  :func:`threshold_for`). Zeros are shown: they say that nothing happened, about nobody.
- **Secondary (complementary) suppression.** More cells are hidden until no hidden cell can be
  worked out exactly from what is shown: the other cells, the row, column and grand totals, and
  what the labels themselves say (``"<k"`` means 0 to k-1, ``"[c]"`` means k or more).
  Complements are chosen to hide as little as possible: small non-zero cells first.
- **Rates** on hidden counts are hidden too (:func:`suppress_rates`).

How "cannot be worked out" is checked: a table with its totals is a network flow (source → row
→ column → sink → source, one arc per cell or total), and the values an attacker cannot
exclude are exactly the circulations that fit the shown numbers and the label bounds. A hidden
cell can take more than one value if and only if it lies on a cycle of the residual graph, which
is a strongly-connected-component and bridge test, linear in the table size. This is the same
answer as minimising and maximising every hidden cell by linear programming (the constraint
matrix of a two-way table is totally unimodular, so the LP bounds are whole numbers), at a
fraction of the cost: the tests check it against an independent ``scipy.optimize.linprog``
audit on random tables.

One call protects one table. Two views cut differently from the same data (a ward × month table
and a ward map of the year) can give away, together, what neither gives alone: derive both from
one :class:`SuppressedTable` instead.
"""
from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from core.errors import ConfigError, DashboardError

#: The threshold ``k`` per feed: counts 1 to k-1 are hidden. See docs/disclosure-control.md.
DEFAULT_THRESHOLDS: Mapping[str, int] = MappingProxyType(
    {"nrm": 5, "rosewood": 5, "mandevilla": 10})

#: Environment variable overriding one feed's threshold, e.g. ``DISCLOSURE_THRESHOLD_NRM=10``.
THRESHOLD_ENV = "DISCLOSURE_THRESHOLD_{FEED}"

#: The smallest threshold accepted. k = 2 would hide only counts of 1, and next to shown zeros
#: a "<2" reads as "one person": no protection worth the name.
MIN_THRESHOLD = 3

#: Roles whose views show unsuppressed counts. Every other role, and no role, gets suppression:
#: a role this module does not know about fails safe.
EXEMPT_ROLES = frozenset({"analyst"})

#: Label of the total row and column.
TOTAL = "Total"

#: Shown for a hidden count of k or more (a complementary suppression). The Government
#: Statistical Service's symbol for "confidential".
CONFIDENTIAL = "[c]"

# Node numbers of the flow network; row i is node 2 + i, column j is node 2 + n_rows + j.
_SOURCE, _SINK = 0, 1
# Path weight of an arc that is already hidden (or an unshown margin): small, but not zero, so
# that among equally cheap cycles the shortest wins and no cycle revisits a node.
_FREE = 1e-6
# Weight that takes an arc out of a path search.
_BLOCKED = 1e15


class UnprotectableTableError(DashboardError):
    """No pattern of hidden cells protects this table; it must not be shown.

    Never seen in testing (thousands of random tables); raised rather than showing a table that
    gives a small count away.
    """


@dataclass(frozen=True)
class SuppressedTable:
    """A table of counts after disclosure control, in every form a view needs.

    ``counts``, ``display``, ``suppressed`` and ``primary`` have the same shape: the cells plus
    a ``Total`` column (row totals) and a ``Total`` row (column totals) where they are shown.
    For a single-column table (a list of areas) only the ``Total`` row is added, for a
    single-row table only the ``Total`` column.

    Attributes
    ----------
    counts : DataFrame of Int64
        The true counts, ``<NA>`` where hidden. For charts, maps and exports.
    display : DataFrame of str
        What people see: ``"12"``, ``"0"``, ``"<5"`` (hidden, fewer than k: a small count or a
        zero hidden with it) or ``"[c]"`` (hidden, k or more, to protect a small one).
    suppressed : DataFrame of bool
        True where hidden, for either reason.
    primary : DataFrame of bool
        True where hidden because the count itself is 1 to k-1.
    cells : DataFrame of Int64
        ``counts`` without the totals, with the input's own row and column labels.
    threshold : int
        k: counts 1 to k-1 are hidden.
    """

    counts: pd.DataFrame
    display: pd.DataFrame
    suppressed: pd.DataFrame
    primary: pd.DataFrame
    cells: pd.DataFrame
    threshold: int

    @property
    def secondary(self) -> pd.DataFrame:
        """True where hidden only to protect another count (complementary suppression)."""
        return self.suppressed & ~self.primary

    def long(self) -> pd.DataFrame:
        """One row per cell (totals excluded), for maps and long-format exports.

        Returns
        -------
        DataFrame
            The row and column keys as columns, then ``count`` (Int64, ``<NA>`` where hidden),
            ``display``, ``suppressed`` and ``primary``. A one-column table whose columns have no
            name (a list, as :func:`suppress_counts` makes without ``columns``) has no column
            key.
        """
        n_rows, n_cols = self.cells.shape
        parts = {"count": self.cells}
        for name in ("display", "suppressed", "primary"):
            part = getattr(self, name).iloc[:n_rows, :n_cols].copy()
            part.index, part.columns = self.cells.index, self.cells.columns
            parts[name] = part
        if n_cols == 1 and self.cells.columns.name is None:
            frame = pd.DataFrame({name: part.iloc[:, 0] for name, part in parts.items()})
        else:
            frame = pd.DataFrame({name: part.stack(future_stack=True)
                                  for name, part in parts.items()})
        return frame.reset_index()


def must_suppress(role: str | None) -> bool:
    """Whether views for ``role`` must go through disclosure control.

    ``chair`` and ``executive`` views are suppressed (the issue's requirement); so is every role
    not in :data:`EXEMPT_ROLES`, and a missing role, so that a new or misspelt role fails safe.
    """
    return role not in EXEMPT_ROLES


def threshold_for(feed: str, override: int | None = None) -> int:
    """The threshold k for one feed: counts 1 to k-1 are hidden.

    Parameters
    ----------
    feed : {"nrm", "rosewood", "mandevilla"}
    override : int, optional
        Use this instead (a view that needs a stricter threshold). Beats the environment.

    Returns
    -------
    int
        ``override`` if given, else the environment variable ``DISCLOSURE_THRESHOLD_<FEED>``
        (e.g. ``DISCLOSURE_THRESHOLD_MANDEVILLA``) if set and not empty, else
        ``DEFAULT_THRESHOLDS[feed]``.

    Raises
    ------
    ValueError
        Unknown feed, or an ``override`` that is not a whole number of at least 3.
    ConfigError
        The environment variable is not a whole number of at least 3.
    """
    if feed not in DEFAULT_THRESHOLDS:
        raise ValueError(f"feed was {feed!r}; expected one of {', '.join(DEFAULT_THRESHOLDS)}")
    if override is not None:
        return _checked_threshold(override, f"the threshold for {feed}")
    variable = THRESHOLD_ENV.format(FEED=feed.upper())
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return DEFAULT_THRESHOLDS[feed]
    try:
        return _checked_threshold(int(raw), variable)
    except ValueError:
        raise ConfigError(f"{variable} was {raw!r}; expected a whole number of at least "
                          f"{MIN_THRESHOLD} (the default for {feed} is "
                          f"{DEFAULT_THRESHOLDS[feed]})") from None


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
    network = _Network(values, k, show_rows, show_cols)
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


def suppress_rates(rates: pd.DataFrame | pd.Series,
                   suppressed: SuppressedTable | pd.DataFrame | pd.Series,
                   ) -> pd.DataFrame | pd.Series:
    """Hide every rate whose count is hidden.

    A rate and its published denominator give the count back, so a rate is hidden wherever
    its count is.

    Parameters
    ----------
    rates : DataFrame or Series
        Rates computed from the true counts, labelled like the table (cells and/or totals).
    suppressed : SuppressedTable, or a bool DataFrame or Series
        ``table.suppressed`` (for a DataFrame of rates) or one of its columns (for a Series).
        A SuppressedTable with a single column also serves a Series.

    Returns
    -------
    DataFrame or Series of float
        ``rates`` with ``NaN`` where the count is hidden.

    Raises
    ------
    ValueError
        A rate has no count in ``suppressed``: nothing says whether it may be shown.
    """
    mask = suppressed.suppressed if isinstance(suppressed, SuppressedTable) else suppressed
    if isinstance(rates, pd.Series) and isinstance(mask, pd.DataFrame):
        if mask.shape[1] != 1:
            raise ValueError("a Series of rates needs the suppressed mask of one column: pass "
                             "table.suppressed[column]")
        mask = mask.iloc[:, 0]
    aligned = mask.reindex_like(rates)
    unknown = aligned.isna()
    if unknown.to_numpy().any():
        where = unknown.stack().loc[lambda s: s].index if isinstance(unknown, pd.DataFrame) \
            else unknown[unknown].index
        raise ValueError(f"rates for {len(where)} cells the count table does not have "
                         f"(first: {where[0]!r})")
    return rates.astype(float).mask(aligned.astype(bool))


def legend(threshold: int) -> str:
    """The note every suppressed view shows under its table, chart or map.

    Examples
    --------
    >>> legend(5)  # doctest: +ELLIPSIS
    '<5: fewer than 5 (hidden to protect the people counted). [c]: hidden so that ...'
    """
    return (f"<{threshold}: fewer than {threshold} (hidden to protect the people counted). "
            f"{CONFIDENTIAL}: hidden so that a small number cannot be worked out from the "
            f"totals.")


def legend_for(thresholds: Mapping[str, int]) -> str:
    """The note under a view whose columns are hidden at different thresholds.

    ``thresholds`` maps what is counted (e.g. "NRM referrals") to its k; a view that shows a
    sum of several of them only where every part is shown marks the others "hidden".

    Examples
    --------
    >>> legend_for({"NRM referrals": 5, "Mandevilla flags": 10})  # doctest: +ELLIPSIS
    '<5: fewer than 5 (NRM referrals); <10: fewer than 10 (Mandevilla flags), hidden to ...'
    """
    by_k: dict[int, list[str]] = {}
    for title, k in thresholds.items():
        by_k.setdefault(k, []).append(title)
    small = "; ".join(f"<{k}: fewer than {k} ({', '.join(titles)})"
                      for k, titles in sorted(by_k.items()))
    return (f"{small}, hidden to protect the people counted. {CONFIDENTIAL}: hidden so that a "
            f"small number cannot be worked out from the totals. hidden: a sum or rate of "
            f"figures one of which is hidden.")


# --- internals ------------------------------------------------------------------------------


def _key_list(keys: str | Sequence[str]) -> list[str]:
    return [keys] if isinstance(keys, str) else list(keys)


def _checked_threshold(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < MIN_THRESHOLD:
        raise ValueError(f"{what} was {value!r}; expected a whole number of at least "
                         f"{MIN_THRESHOLD}")
    return int(value)


def _resolve_threshold(feed: str | None, threshold: int | None) -> int:
    if feed is not None:
        return threshold_for(feed, threshold)
    if threshold is None:
        raise ValueError("give the feed (for its threshold) or the threshold")
    return _checked_threshold(threshold, "threshold")


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


class _Network:
    """A two-way table with its margins as a circulation, and the pattern search on it.

    Arcs, in this order: cell (i, j) from row i to column j; row total i from the source to
    row i; column total j from column j to the sink; the grand total from the sink back to the
    source. Flow conservation at every node is exactly "the cells add up to the totals". A
    margin the view does not show is a *free* arc (any value >= 0): no constraint.

    An attacker knows every shown arc exactly and bounds every hidden one by its label: "<k"
    is 0 to k-1, "[c]" is k or more. The values they cannot rule out are the circulations
    within those bounds; a hidden arc can vary if and only if it lies on a cycle of the
    residual graph (flow decomposition: any feasible change is a sum of such cycles).
    """

    def __init__(self, values: np.ndarray, k: int, show_rows: bool, show_cols: bool):
        self.n_rows, self.n_cols = n_rows, n_cols = values.shape
        self.show_rows, self.show_cols = show_rows, show_cols
        self.n_nodes = 2 + n_rows + n_cols
        self.k = k
        rows = 2 + np.arange(n_rows)
        cols = 2 + n_rows + np.arange(n_cols)
        self.tail = np.concatenate([np.repeat(rows, n_cols), np.full(n_rows, _SOURCE),
                                    cols, [_SINK]])
        self.head = np.concatenate([np.tile(cols, n_rows), rows, np.full(n_cols, _SINK),
                                    [_SOURCE]])
        self.flow = np.concatenate([values.ravel(), values.sum(axis=1), values.sum(axis=0),
                                    [values.sum()]]).astype(np.int64)
        self.n_arcs = len(self.flow)
        n_cells = n_rows * n_cols
        self.is_cell = np.arange(self.n_arcs) < n_cells
        self.free = np.zeros(self.n_arcs, dtype=bool)
        self.free[n_cells:n_cells + n_rows] = not show_rows
        self.free[n_cells + n_rows:n_cells + n_rows + n_cols] = not show_cols
        self.free[-1] = not (show_rows and show_cols)
        self.primary = ~self.free & (self.flow >= 1) & (self.flow < k)
        self.forced = np.zeros(self.n_arcs, dtype=bool)
        # Which ways each arc could move if hidden: "<k" arcs within 0..k-1, "[c]" arcs k and
        # up, free arcs anything >= 0. The same for shown arcs (as candidates) and hidden ones.
        small = self.flow < k
        self.can_up = self.free | ~small | (self.flow < k - 1)
        self.can_down = np.where(self.free | small, self.flow > 0, self.flow > k)
        self._edges()

    def _edges(self) -> None:
        """The residual edges every arc would have if hidden, as a CSR graph sorted by node."""
        up, down = np.flatnonzero(self.can_up), np.flatnonzero(self.can_down)
        src = np.concatenate([self.tail[up], self.head[down]])
        dst = np.concatenate([self.head[up], self.tail[down]])
        arc = np.concatenate([up, down])
        order = np.lexsort((dst, src))
        self.edge_src, self.edge_dst, self.edge_arc = src[order], dst[order], arc[order]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(self.edge_src,
                                                            minlength=self.n_nodes))])
        self.graph = sparse.csr_matrix(
            (np.ones(len(order)), self.edge_dst.astype(np.int32), indptr.astype(np.int32)),
            shape=(self.n_nodes, self.n_nodes))
        # Where each arc's edges sit in graph.data, to reweight or block them.
        self.edges_of = [[] for _ in range(self.n_arcs)]
        for position, a in enumerate(self.edge_arc.tolist()):
            self.edges_of[a].append(position)

    def cost(self) -> np.ndarray:
        """What hiding each shown arc costs: the information lost, smallest non-zero cells first.

        A cell costs its count. A zero costs one more than the largest cell, so that a zero is
        hidden (as "<k") only where that spares several cells or a total. A total costs its
        count, which is at least that of any cell it adds up.
        """
        largest = self.flow[self.is_cell].max(initial=0)
        cost = self.flow.astype(float)
        cost[self.is_cell & (self.flow == 0)] = largest + 1
        return np.maximum(cost, 1.0)

    def exposed(self, hidden: np.ndarray) -> np.ndarray:
        """Hidden arcs whose value the shown numbers and labels pin down exactly.

        A hidden arc can vary if and only if one of its residual edges lies on a cycle that
        does not use its other one. For an arc that can move one way only, that is "both ends
        in one strongly connected component" of the residual graph. For an arc that can move
        both ways it is, in addition, "not a bridge of that component taken undirected": if
        removing the pair leaves no path between its ends either way, every node of the
        component is reached from exactly one end and no edge crosses, so the pair is a bridge,
        and conversely.
        """
        active = hidden | self.free
        keep = active[self.edge_arc]
        graph = sparse.csr_matrix(
            (np.ones(int(keep.sum())), (self.edge_src[keep], self.edge_dst[keep])),
            shape=(self.n_nodes, self.n_nodes))
        _, component = csgraph.connected_components(graph, directed=True, connection="strong")
        movable = active & (self.can_up | self.can_down)
        inside = movable & (component[self.tail] == component[self.head])
        arcs = np.flatnonzero(inside)
        bridge = np.zeros(self.n_arcs, dtype=bool)
        bridge[arcs] = _bridges(self.n_nodes, self.tail[arcs], self.head[arcs])
        protected = inside & ~(self.can_up & self.can_down & bridge)
        return hidden & ~protected

    def protect(self) -> np.ndarray:
        """Primary suppressions plus the cheapest complements that leave none exposed.

        For each exposed arc, the cheapest residual cycle through it (hidden arcs cost almost
        nothing, shown ones their :meth:`cost`) is hidden whole: the arc can then move along
        it. Hiding more never pins anything down, so one cycle per exposed arc suffices; the
        final audit checks it.
        """
        hidden = self.primary | self.forced
        exposed = self.exposed(hidden)
        if not exposed.any():
            return hidden
        weight = np.where(hidden | self.free, _FREE, self.cost())
        self.graph.data[:] = weight[self.edge_arc]
        for arc in np.flatnonzero(exposed):
            cycle = self._cheapest_cycle(int(arc))
            if cycle is None:
                raise UnprotectableTableError(
                    "no pattern of hidden cells protects this table; it must not be shown")
            added = [a for a in cycle if not hidden[a] and not self.free[a]]
            hidden[added] = True
            for a in added:
                self.graph.data[self.edges_of[a]] = _FREE
        if self.exposed(hidden).any():  # cannot happen if the theory above holds
            raise UnprotectableTableError("the suppression pattern failed its own audit")
        return hidden

    def _cheapest_cycle(self, arc: int) -> list[int] | None:
        """Arcs of the cheapest residual cycle through ``arc`` (excluding it), or None."""
        tail, head = int(self.tail[arc]), int(self.head[arc])
        own = self.edges_of[arc]
        saved = self.graph.data[own].copy()
        self.graph.data[own] = _BLOCKED
        try:
            dist, pred = csgraph.dijkstra(self.graph, indices=[head, tail],
                                          return_predecessors=True)
        finally:
            self.graph.data[own] = saved
        # Moving the arc up needs a way back from its head to its tail; down, the reverse.
        options = []
        if self.can_up[arc] and dist[0, tail] < _BLOCKED:
            options.append((dist[0, tail], 0, tail))
        if self.can_down[arc] and dist[1, head] < _BLOCKED:
            options.append((dist[1, head], 1, head))
        if not options:
            return None
        _, which, node = min(options)
        arcs = []
        while pred[which, node] >= 0:
            before = int(pred[which, node])
            arcs.append(self._arc_of_edge(before, node))
            node = before
        return arcs

    def _arc_of_edge(self, src: int, dst: int) -> int:
        start, stop = self.graph.indptr[src], self.graph.indptr[src + 1]
        position = start + int(np.searchsorted(self.graph.indices[start:stop], dst))
        return int(self.edge_arc[position])


class _ArcNetwork(_Network):
    """Any circulation: arcs given directly (see :func:`protect_arcs`), not a two-way table."""

    def __init__(self, tail, head, flow, k: int, *, free=None, fixed=None, forced=None,
                 cells=None):
        self.tail = np.asarray(tail, dtype=np.int64)
        self.head = np.asarray(head, dtype=np.int64)
        self.flow = np.asarray(flow, dtype=np.int64)
        self.n_arcs = len(self.flow)
        self.n_nodes = int(max(self.tail.max(initial=0), self.head.max(initial=0))) + 1
        self.k = k

        def mask(values):
            return (np.zeros(self.n_arcs, dtype=bool) if values is None
                    else np.asarray(values, dtype=bool))

        self.free, fixed = mask(free), mask(fixed)
        self.is_cell = mask(cells) if cells is not None else np.ones(self.n_arcs, dtype=bool)
        self.primary = ~self.free & ~fixed & (self.flow >= 1) & (self.flow < k)
        self.forced = mask(forced) & ~self.free & ~fixed
        small = self.flow < k
        self.can_up = (self.free | ~small | (self.flow < k - 1)) & ~fixed
        self.can_down = np.where(self.free | small, self.flow > 0, self.flow > k) & ~fixed
        self._edges()


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
    k = _checked_threshold(threshold, "threshold")
    network = _ArcNetwork(tail, head, flow, k, free=free, fixed=fixed, forced=forced,
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


def _bridges(n_nodes: int, ends_a: np.ndarray, ends_b: np.ndarray) -> np.ndarray:
    """Which edges of an undirected multigraph are bridges (Tarjan's low-link, iterative)."""
    adjacency: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for edge, (a, b) in enumerate(zip(ends_a.tolist(), ends_b.tolist())):
        adjacency[a].append((b, edge))
        adjacency[b].append((a, edge))
    order = [-1] * n_nodes
    low = [0] * n_nodes
    bridge = np.zeros(len(ends_a), dtype=bool)
    clock = 0
    for root in range(n_nodes):
        if order[root] != -1 or not adjacency[root]:
            continue
        order[root] = low[root] = clock
        clock += 1
        stack = [(root, -1, iter(adjacency[root]))]
        while stack:
            node, via, neighbours = stack[-1]
            for other, edge in neighbours:
                if edge == via:
                    continue
                if order[other] == -1:
                    order[other] = low[other] = clock
                    clock += 1
                    stack.append((other, edge, iter(adjacency[other])))
                    break
                low[node] = min(low[node], order[other])
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > order[parent]:
                        bridge[via] = True
    return bridge


def _assemble(table: pd.DataFrame, network: _Network, hidden: np.ndarray,
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


def open_table(table: pd.DataFrame) -> SuppressedTable:
    """A rows × periods table with its ``Total`` row, nothing hidden (for analysts): the shape
    ``suppress_table(table, row_totals=False)`` gives."""
    counts = table.copy()
    if len(counts) > 1:
        counts.loc[TOTAL] = counts.sum(axis=0)
    counts = counts.astype("Int64")
    hidden = pd.DataFrame(False, index=counts.index, columns=counts.columns)
    return SuppressedTable(counts=counts, display=counts.astype(str), suppressed=hidden,
                           primary=hidden, cells=table.astype("Int64"), threshold=1)
