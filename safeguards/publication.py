"""What protected roles see: one perturbed publication per feed, from which every figure is summed.

Why not suppress each answer: a chair could ask for overlapping answers (26 Dec–31 Mar and
26 Dec–28 Feb; one feed and all feeds; a district and its other wards), each protected on its
own, and subtract them to get a hidden count back. So the figures of a ``chair``, ``executive``
or ``admin`` (every role but the analyst, ``safeguards.disclosure.must_suppress``) are all
built from one fixed **publication lattice**:

- **Atoms.** A feed's records are counted per ward × calendar month × every category a
  protected role can filter or break down by (:data:`ATOM_DIMS`): the finest cells any of
  their queries can ask for. Date filters are widened to whole months (:func:`month_span`).
- **Cell-key adjustment of small atoms** (after the ONS's cell-key method for Census 2021).
  Each record gets a secret record key (SipHash of its id under the deployment's key,
  ``safeguards.cell_key``); an atom's cell key is the sum of its records' keys. An atom of 1 to
  k-1 records is published as a value drawn from the feed's small-count table (:func:`small_table`)
  at its cell key — a value that does not depend on how many records it holds, and that is the
  same wherever the atom is counted. Atoms of k or more are published as they are; empty atoms
  are not stored (zero).
- **Every figure is a sum of published atoms** (:func:`published_sums`), never of the records.
  So any combination of figures — differences, sums, a linear-programming solver over all of
  them — can learn at most the published atoms, and a published small atom says "1 to k-1
  records" and nothing more. The guarantee does not depend on which queries exist.
- **Shown**: a cell with no records shows 0; a cell whose published sum is below k shows
  "<k"; any other cell shows its published sum. Totals, rates and all-feed sums are published
  sums too, so they are shown (approximately) even where a part is "<k".

The price: a figure that includes small atoms is approximate (the draw replaces the true small
count); the small-count table is the feed's own distribution of small atoms, so figures are
right on average. docs/disclosure-control.md gives the reasoning and the measured error.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import periods as _periods
from core.filters import EventFilter
from core.schema import check_feed
from safeguards.cell_key import record_keys
from safeguards.disclosure import TOTAL, SuppressedTable, threshold_for
from storage.base import Store, store_fingerprint

#: Per feed, the category columns of an atom: every field a protected role can filter or
#: break a feed down by (``core.filters.EventFilter``, ``core.periods.PARTITIONS``).
ATOM_DIMS = {
    "nrm": ("exploitation_type", "age_group"),
    "rosewood": ("age_group", "status", "repeat"),
    "mandevilla": ("age_group", "indicators", "referred_to_police"),
}
AREA_COLUMN = {"ward": "ward_code", "district": "district_code"}
#: Probabilities of the small-count table are rounded to this step, so that one record more or
#: less in the store does not move every draw.
TABLE_STEP = 0.01
_KEY_SPACE = 2 ** 32
_CACHE_SIZE = 6


@dataclass(frozen=True)
class Publication:
    """One feed's published atoms.

    Attributes
    ----------
    feed : str
    threshold : int
        k: atoms of 1 to k-1 records are adjusted.
    atoms : DataFrame
        ``ward_code``, ``district_code``, ``month`` (Period[M]), the feed's :data:`ATOM_DIMS`,
        ``count`` (true records: never shown), ``published`` (int) and ``adjusted`` (bool).
    table : ndarray
        The small-count table: probability of publishing 1, 2, …, k-1.
    """

    feed: str
    threshold: int
    atoms: pd.DataFrame
    table: np.ndarray


_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()


def publication_for(store: Store, feed: str) -> Publication:
    """The feed's publication for the store's current content (kept per store fingerprint)."""
    check_feed(feed)
    key = (store_fingerprint(store), feed, threshold_for(feed))
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    publication = build_publication(store, feed)
    with _lock:
        _cache[key] = publication
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return publication


def build_publication(store: Store, feed: str, threshold: int | None = None) -> Publication:
    """Count the feed's records into atoms and adjust the small ones (module docstring)."""
    k = threshold or threshold_for(feed)
    rows = _records(store, feed)
    rows["key"] = record_keys(rows["record_id"])
    keys = ["ward_code", "district_code", "month", *ATOM_DIMS[feed]]
    atoms = (rows.groupby(keys, dropna=False, observed=True, sort=True)
             .agg(count=("key", "size"), cell_key=("key", "sum")).reset_index())
    atoms["cell_key"] = atoms["cell_key"].to_numpy(np.uint64) % _KEY_SPACE
    table = small_table(atoms["count"].to_numpy(), k)
    small = (atoms["count"] >= 1) & (atoms["count"] < k)
    draws = draw_small(atoms["cell_key"].to_numpy(np.uint64), table)
    atoms["published"] = np.where(small, draws, atoms["count"]).astype(np.int64)
    atoms["adjusted"] = small.to_numpy()
    for column in keys:  # categories: every later selection and grouping is on codes
        if column != "month":
            atoms[column] = atoms[column].astype("category")
    return Publication(feed=feed, threshold=k, atoms=atoms.drop(columns="cell_key"),
                       table=table)


def small_table(counts: np.ndarray, threshold: int) -> np.ndarray:
    """Probability of each small count 1 … k-1 among the atoms of ``counts``, rounded to steps
    of :data:`TABLE_STEP` (the value 1 gets what rounding leaves).

    The draw does not depend on an atom's true count, so the table's shape decides only how
    close sums come to the truth, never what they reveal: it follows the data, so that figures
    are right on average.
    """
    counts = np.asarray(counts)
    small = counts[(counts >= 1) & (counts < threshold)]
    share = np.bincount(small - 1, minlength=threshold - 1)[:threshold - 1].astype(float)
    if not share.sum():
        share[0] = 1.0
    table = np.round(share / share.sum() / TABLE_STEP) * TABLE_STEP
    table[0] = max(0.0, 1.0 - table[1:].sum())
    return table / table.sum()


def draw_small(cell_keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The small count published for each cell key: the quantile of ``cell_key / 2**32`` in
    ``table`` (values 1 … k-1)."""
    uniform = (np.asarray(cell_keys, dtype=np.float64) + 0.5) / _KEY_SPACE
    return np.searchsorted(np.cumsum(table)[:-1], uniform, side="right") + 1


def month_span(filters: EventFilter | None) -> tuple[pd.Period | None, pd.Period | None]:
    """The whole months a filter's dates cover: its start's month to its end's month."""
    filters = filters or EventFilter()
    start = pd.Period(filters.start, freq="M") if filters.start else None
    end = pd.Period(filters.end, freq="M") if filters.end else None
    return start, end


def whole_months(filters: EventFilter | None) -> EventFilter | None:
    """``filters`` with its dates widened to whole months: what a protected answer covers."""
    from dataclasses import replace

    if filters is None or not (filters.start or filters.end):
        return filters
    start, end = month_span(filters)
    return replace(filters, start=start.start_time.date() if start else None,
                   end=end.end_time.date() if end else None)


def select(publication: Publication, filters: EventFilter | None) -> pd.DataFrame:
    """The atoms inside ``filters`` (the store's filter semantics, dates as whole months)."""
    atoms = publication.atoms
    if filters is None:
        return atoms
    mask = np.ones(len(atoms), dtype=bool)
    start, end = month_span(filters)
    ordinals = atoms["month"].array.asi8
    if start is not None:
        mask &= ordinals >= start.ordinal
    if end is not None:
        mask &= ordinals <= end.ordinal
    for column, values in (("district_code", filters.districts), ("ward_code", filters.wards),
                           ("age_group", filters.age_groups)):
        if values:
            mask &= atoms[column].isin(list(values)).to_numpy()
    if publication.feed == "nrm" and filters.exploitation_types:
        mask &= _any_token(atoms["exploitation_type"], filters.exploitation_types)
    if publication.feed == "mandevilla" and filters.indicators:
        mask &= _any_token(atoms["indicators"], filters.indicators)
    if publication.feed == "rosewood" and filters.rosewood_status:
        mask &= (atoms["status"] == filters.rosewood_status).to_numpy()
    return atoms[mask]


def published_sums(atoms: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``keys`` … then ``published`` (sum of published atoms) and ``records`` (true records:
    used only to tell an empty cell from a small one, never shown)."""
    if not keys:
        return pd.DataFrame({"published": [int(atoms["published"].sum())],
                             "records": [int(atoms["count"].sum())]})
    return (atoms.groupby(keys, dropna=False, observed=True, sort=False)
            .agg(published=("published", "sum"), records=("count", "sum")).reset_index())


def area_grid(atoms: pd.DataFrame, column: str, codes, periods: pd.PeriodIndex | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Published sums and true records per area of ``codes`` (by the atoms' ``column``), and
    per period of ``periods`` if given: arrays of shape (areas,) or (areas, periods). One
    ``bincount`` each: this runs on every map and table a protected role opens."""
    category = atoms[column].cat
    position = pd.Index(list(codes)).get_indexer(category.categories)
    rows = np.where(category.codes >= 0, position[category.codes], -1)
    n = len(codes)
    if periods is not None:
        ordinals = atoms["month"].dt.asfreq(periods.freqstr).array.asi8
        columns = pd.Index(periods.asi8).get_indexer(ordinals)
        inside = (rows >= 0) & (columns >= 0)
        cells = rows[inside] * len(periods) + columns[inside]
        size, shape = n * len(periods), (n, len(periods))
    else:
        inside = rows >= 0
        cells, size, shape = rows[inside], n, (n,)
    out = []
    for name in ("published", "count"):
        weights = atoms[name].to_numpy(np.int64)[inside]
        out.append(np.bincount(cells, weights, minlength=size).astype(np.int64).reshape(shape))
    return out[0], out[1]


def labels(atoms: pd.DataFrame, by: str) -> pd.Series:
    """Each atom's category of partition ``by`` (``core.periods.PARTITIONS``)."""
    if by in ("status", "repeat"):
        return atoms[by].astype(object)
    return _periods.partition_labels(atoms, by)


def shown(published: pd.DataFrame, records: pd.DataFrame, threshold, *,
          row_totals: bool, column_totals: bool) -> SuppressedTable:
    """Rows × columns of published sums as a :class:`SuppressedTable` (module docstring's rule).

    ``threshold`` is one k, or a mapping of column to k (a table of one feed per column; the
    ``Total`` column gets the largest). Totals are published sums too (of the whole row or
    column, shown ones or not).
    """
    if isinstance(threshold, dict):
        per_column = [threshold[c] for c in published.columns]
        threshold = max(per_column)
    else:
        per_column = [threshold] * published.shape[1]
    pub = published.to_numpy(np.int64)
    rec = records.to_numpy(np.int64)
    index, columns = published.index, published.columns
    n_rows, n_cols = pub.shape
    if row_totals and n_cols > 1:
        pub = np.column_stack([pub, pub.sum(axis=1)])
        rec = np.column_stack([rec, rec.sum(axis=1)])
        columns = columns.append(pd.Index([TOTAL]))
        per_column.append(threshold)
    if column_totals and n_rows > 1:
        pub = np.vstack([pub, pub.sum(axis=0)])
        rec = np.vstack([rec, rec.sum(axis=0)])
        index = index.append(pd.Index([TOTAL]))
    index.name, columns.name = published.index.name, published.columns.name
    k = np.asarray(per_column)[None, :]
    hidden = (rec > 0) & (pub < k)

    def counts_frame(values, mask, rows, cols):
        return pd.DataFrame({j: pd.arrays.IntegerArray(values[:, n].copy(), mask[:, n].copy())
                             for n, j in enumerate(cols)}, index=rows, columns=cols)

    display = np.where(hidden, np.char.add("<", np.broadcast_to(k, pub.shape).astype(str)),
                       pub.astype(str)).astype(object)
    hidden_frame = pd.DataFrame(hidden, index=index, columns=columns)
    return SuppressedTable(
        counts=counts_frame(pub, hidden, index, columns),
        display=pd.DataFrame(display, index=index, columns=columns),
        suppressed=hidden_frame, primary=hidden_frame.copy(),
        cells=counts_frame(pub[:n_rows, :n_cols], hidden[:n_rows, :n_cols],
                           published.index, published.columns),
        threshold=threshold)


def _records(store: Store, feed: str) -> pd.DataFrame:
    """Every record of ``feed`` with its atom's keys (identifiers read here, never returned)."""
    dims = [d for d in ATOM_DIMS[feed] if d not in ("status", "repeat")]
    extra = ["found_at", "person_ref"] if feed == "rosewood" else []
    rows = store.query(feed, None, columns=["record_id", "event_date", "ward_code",
                                            "district_code", *dims, *extra])
    rows["month"] = pd.to_datetime(rows["event_date"]).dt.to_period("M")
    if feed == "rosewood":
        rows["status"] = np.where(rows["found_at"].notna(), "found", "missing")
        repeat = _periods.repeat_flags(rows[["record_id", "person_ref", "event_date"]])
        flags = rows["record_id"].map(repeat).fillna(False).astype(bool)
        rows["repeat"] = np.where(flags, "repeat", "first")
        rows = rows.drop(columns=["found_at", "person_ref"])
    for dim in dims:
        if isinstance(rows[dim].dtype, pd.CategoricalDtype):
            rows[dim] = rows[dim].astype(object)
    return rows.drop(columns="event_date")


def _any_token(values: pd.Series, chosen) -> np.ndarray:
    chosen = set(chosen)
    category = values.astype("category").cat
    hit = np.array([bool(chosen & set(str(v).split(";"))) for v in category.categories] + [False])
    return hit[category.codes]   # code -1 (missing) picks the final False



# -- tables of rows × whole periods (Trends, meeting, briefing pack, Overview) -------------------
def period_grid(atoms: pd.DataFrame, row_keys: pd.Series, rows, periods: pd.PeriodIndex
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Published sums and true records per row (``row_keys`` of each atom) and period: two
    ``rows`` × ``periods`` frames (int), 0 where no atom falls. One ``bincount`` each, on
    integer codes (boxing each atom's month as a Period cost 0.45 s at a million records)."""
    index = pd.Index(list(rows), name="row")
    row_at = index.get_indexer(np.asarray(row_keys, dtype=object))
    ordinals = atoms["month"].dt.asfreq(periods.freqstr).array.asi8
    column_at = pd.Index(periods.asi8).get_indexer(ordinals)
    inside = (row_at >= 0) & (column_at >= 0)
    cells = row_at[inside] * len(periods) + column_at[inside]
    out = []
    for name in ("published", "count"):
        values = np.bincount(cells, atoms[name].to_numpy(np.int64)[inside],
                             minlength=len(index) * len(periods)).astype(np.int64)
        grid = pd.DataFrame(values.reshape(len(index), len(periods)), index=index,
                            columns=periods)
        grid.columns.name = "period"
        out.append(grid)
    return out[0], out[1]


def period_view(atoms: pd.DataFrame, row_keys: pd.Series, rows, months: pd.PeriodIndex,
                data_months, threshold: int, *, whole: bool):
    """A ``safeguards.period_tables.PeriodTables`` of published sums: rows × the data months,
    rows × quarters and (``whole``) rows × the whole span, each with its Total row."""
    from safeguards.period_tables import WHOLE, PeriodTables

    published, records = period_grid(atoms, row_keys, rows, months)
    shown_months = months.isin(pd.PeriodIndex(data_months, freq="M"))
    quarter_of = np.asarray([m.asfreq("Q") for m in months])
    quarters = pd.PeriodIndex(pd.unique(quarter_of), freq="Q", name="period")

    def by_quarter(frame):
        out = frame.T.groupby(quarter_of).sum().T
        out.columns = quarters
        return out

    def table(pub, rec):
        return shown(pub, rec, threshold, row_totals=False, column_totals=True)

    whole_table = None
    if whole:
        whole_table = table(published.sum(axis=1).to_frame(WHOLE),
                            records.sum(axis=1).to_frame(WHOLE))
    return PeriodTables(month=table(published.loc[:, shown_months], records.loc[:, shown_months]),
                        quarter=table(by_quarter(published), by_quarter(records)),
                        whole=whole_table)
