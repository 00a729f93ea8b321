"""The flow network behind secondary suppression: which hidden counts can be worked out.

The network also finds the cheapest complements that stop it (:meth:`TableNetwork.protect`).

How "cannot be worked out" is checked: a table with its totals is a network flow (source → row
→ column → sink → source, one arc per cell or total), and the values an attacker cannot
exclude are exactly the circulations that fit the shown numbers and the label bounds. A hidden
cell can take more than one value if and only if it lies on a cycle of the residual graph, which
is a strongly-connected-component and bridge test, linear in the table size. This is the same
answer as minimising and maximising every hidden cell by linear programming (the constraint
matrix of a two-way table is totally unimodular, so the LP bounds are whole numbers), at a
fraction of the cost: the tests check it against an independent ``scipy.optimize.linprog``
audit on random tables.

Used by ``safeguards.suppression`` (``suppress_table``, ``protect_arcs``), never directly.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from core.errors import DashboardError

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


class TableNetwork:
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


class ArcNetwork(TableNetwork):
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
