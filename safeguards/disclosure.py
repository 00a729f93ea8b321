"""Statistical disclosure control: the thresholds, the suppressed table and how it is shown.

Every aggregate a ``chair`` or ``executive`` sees (tables, charts, maps, exports, PDFs) goes
through one function, ``safeguards.suppression.suppress_table`` (or ``suppress_counts``, the
same for a long ``key…, count`` frame). It returns a :class:`SuppressedTable`, defined here: the
counts with hidden cells set to ``<NA>``, the strings to show, and the masks of what was hidden
and why.

The rules (``docs/disclosure-control.md`` gives the sources and the reasoning):

- **Primary suppression.** A cell or a shown total with ``1 <= count < k`` is hidden and shown
  as ``"<k"``. ``k`` is per feed (:data:`DEFAULT_THRESHOLDS`, overridable, see
  :func:`threshold_for`). Zeros are shown: they say that nothing happened, about nobody.
- **Secondary (complementary) suppression.** More cells are hidden until no hidden cell can be
  worked out exactly from what is shown: the other cells, the row, column and grand totals, and
  what the labels themselves say (``"<k"`` means 0 to k-1, ``"[c]"`` means k or more).
  Complements are chosen to hide as little as possible: small non-zero cells first
  (``safeguards.suppression``, on the flow network of ``safeguards.suppression_network``).
- **Rates** on hidden counts are hidden too (:func:`suppress_rates`).

Here too: which roles are suppressed (:func:`must_suppress`), the notes every suppressed view
shows (:func:`legend`, :func:`legend_for`), and the same table shape with nothing hidden, for
analysts (:func:`open_table`).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from core.errors import ConfigError

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

#: How protected figures are made (``safeguards.publication``), said under every protected view.
PERTURBED = ("Protected figures: every small count is replaced by a value drawn at random "
             "before anything is added up, so totals and rates are close to the true figures, "
             "not exact (cell-key perturbation).")

#: Shown for a hidden count of k or more (a complementary suppression). The Government
#: Statistical Service's symbol for "confidential".
CONFIDENTIAL = "[c]"


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
        return checked_threshold(override, f"the threshold for {feed}")
    variable = THRESHOLD_ENV.format(FEED=feed.upper())
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return DEFAULT_THRESHOLDS[feed]
    try:
        return checked_threshold(int(raw), variable)
    except ValueError:
        raise ConfigError(f"{variable} was {raw!r}; expected a whole number of at least "
                          f"{MIN_THRESHOLD} (the default for {feed} is "
                          f"{DEFAULT_THRESHOLDS[feed]})") from None


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
    '<5: fewer than 5 (hidden to protect the people counted). Protected figures: ...'
    """
    return (f"<{threshold}: fewer than {threshold} (hidden to protect the people counted). "
            f"{PERTURBED} {CONFIDENTIAL}: hidden so that a small number cannot be worked out "
            f"from the totals.")


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
    return (f"{small}, hidden to protect the people counted. {PERTURBED} "
            f"{CONFIDENTIAL}: hidden so that a "
            f"small number cannot be worked out from the totals. hidden: a sum or rate of "
            f"figures one of which is hidden.")


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


# --- internals ------------------------------------------------------------------------------


def checked_threshold(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < MIN_THRESHOLD:
        raise ValueError(f"{what} was {value!r}; expected a whole number of at least "
                         f"{MIN_THRESHOLD}")
    return int(value)
