"""The role-scoped query layer: the only way pages read the store.

Every read names a ``Principal`` (who, in which role). Rules from ``core.roles`` are enforced
here, where the data is read, not by hiding widgets: a chair or executive can never receive
point-level rows through any page, query parameter, download or cached object, because no method
returns them to those roles. Every aggregate for a protected role (all but the analyst) is a
sum of the store's published atoms (``safeguards.publication``: cell-key perturbation of small
counts on a fixed lattice), for charts, tables, maps, exports and PDFs alike, so no combination
of answers can be differenced to a hidden count. Refusals raise ``AccessDenied`` and are
audited.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import periods as _periods
from core import roles
from core.errors import AccessDenied
from core.filters import EventFilter
from core.schema import FEEDS, check_feed, feed_fields
from geo.geomask import bng_to_lonlat
from safeguards import publication as _pub
from safeguards.audit import AuditEvent, record
from safeguards.count_tables import (
    area_codes,
    complete_area_grid,
    transposed,
    unsuppressed_table,
    with_total_row,
)
from safeguards.disclosure import (
    TOTAL,
    SuppressedTable,
    must_suppress,
    open_table,
    threshold_for,
)
from storage.base import Store

# Point rows carry category fields and the geomasked location only: never the partner's
# record_id or Rosewood's person_ref, which a map or export does not need.
POINT_LOCATION = ["event_date", "longitude", "latitude", "easting", "northing", "lsoa_code",
                  "ward_code", "district_code"]
AREA_COLUMN = {"lsoa": "lsoa_code", "ward": "ward_code", "district": "district_code"}


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user id (email or local user name) and a role from ``core.roles.ROLES``."""

    user: str
    role: str

    def __post_init__(self):
        roles.check_role(self.role)


def point_columns(feed: str) -> list[str]:
    """Columns a point query returns: category fields and geomasked location, no identifiers."""
    fields = [f.name for f in feed_fields(feed) if f.kind not in ("id", "ref")]
    return fields + POINT_LOCATION


class RoleScopedQuery:
    """Reads from ``store`` on behalf of ``principal``, within what the role may see."""

    def __init__(self, store: Store, principal: Principal):
        self.store = store
        self.principal = principal

    @property
    def role(self) -> str:
        return self.principal.role

    @property
    def suppressed(self) -> bool:
        """Whether this role's aggregates go through small-number suppression."""
        return must_suppress(self.role)

    # -- guards ------------------------------------------------------------------------------
    def refuse(self, what: str, exc: AccessDenied):
        """Record the refusal of ``what`` in the audit trail, then raise ``exc``."""
        self.record_access("access-denied", detail=what)
        raise exc

    def require_level(self, level: str) -> None:
        try:
            roles.require_level(self.role, level)
        except AccessDenied as exc:
            self.refuse(f"{level}-level data", exc)

    def require(self, action: str) -> None:
        try:
            roles.require(self.role, action)
        except AccessDenied as exc:
            self.refuse(action, exc)

    # -- reads -------------------------------------------------------------------------------
    def points(self, feed: str, filters: EventFilter | None = None) -> pd.DataFrame:
        """Geomasked point rows (records with a point only). Analysts only."""
        check_feed(feed)
        self.require_level("point")
        rows = self.store.query(feed, filters, columns=point_columns(feed))
        rows = rows[rows["longitude"].notna()].reset_index(drop=True)
        self.record_access("view-points", feed=feed, filters=filters, records=len(rows))
        return rows

    def cell_counts(self, feed: str, filters: EventFilter | None = None,
                    cell_m: int = 100) -> pd.DataFrame:
        """Events per square BNG cell of ``cell_m`` metres (a multiple of the geomask), analysts only.

        Aggregated on the server so that what a map sends grows with occupied cells, not with
        events. Columns: ``easting``, ``northing`` (cell centre, metres), ``longitude``,
        ``latitude`` (the centre in WGS84) and ``count``. Records without a point are left out.
        """
        check_feed(feed)
        self.require_level("point")
        if cell_m < 100 or cell_m % 100:
            raise ValueError(f"cell_m was {cell_m}; use a multiple of the 100 m geomask")
        # The store groups where the data live (PostGIS: in SQL; Parquet: Store.cell_counts).
        cells = self.store.cell_counts(feed, filters, cell_m)
        e, n = cells["easting"].to_numpy(np.int64), cells["northing"].to_numpy(np.int64)
        counts = cells["count"].to_numpy(np.int64)
        lon, lat = bng_to_lonlat(e, n)
        self.record_access("view-points", feed=feed, filters=filters,
                           records=int(counts.sum()), detail=f"cells of {cell_m} m")
        return pd.DataFrame({"easting": e, "northing": n,
                             "longitude": np.round(lon, 6), "latitude": np.round(lat, 6),
                             "count": counts})

    def area_counts(self, feeds: str | Sequence[str], level: str,
                    filters: EventFilter | None = None, freq: str | None = None) -> pd.DataFrame:
        """Counts by area (and period with ``freq`` "M"/"Q"), long format.

        ``feeds`` is one feed or several; several are summed *before* suppression and protected
        as one table with the strictest of their thresholds (summing separately suppressed
        counts would be both wrong and disclosive).

        Columns: ``code``, [``period``], ``count`` (Int64, <NA> where suppressed), ``display``
        (text: the count, or "<k" where suppressed) and ``suppressed`` (bool). Every area of
        the level appears, with 0 where nothing happened, so a missing row reveals nothing.
        """
        feeds = [feeds] if isinstance(feeds, str) else list(dict.fromkeys(feeds))
        if not feeds:
            raise ValueError("choose at least one feed")
        for feed in feeds:
            check_feed(feed)
        if level not in AREA_COLUMN:
            raise ValueError(f"level was {level!r}; expected one of {tuple(AREA_COLUMN)}")
        self.require_level(level)
        keys = ["code", "period"] if freq else ["code"]
        if self.suppressed:
            return self._published_area_counts(feeds, level, filters, freq)
        raw = pd.concat([self.store.counts(feed, [AREA_COLUMN[level]], filters, freq=freq)
                         .rename(columns={AREA_COLUMN[level]: "code"}) for feed in feeds])
        raw = raw.groupby(keys, as_index=False)["count"].sum() if len(raw) else raw
        table = complete_area_grid(raw, level, freq)
        table["count"] = table["count"].astype("Int64")
        table["display"] = table["count"].astype(str)
        table["suppressed"] = False
        return table

    # -- helpers -----------------------------------------------------------------------------

    def _published_area_counts(self, feeds, level, filters, freq) -> pd.DataFrame:
        """``area_counts`` for protected roles: sums of the feeds' published atoms
        (``safeguards.publication``), dates widened to whole months."""
        codes = area_codes(level)
        selected = [_pub.select(_pub.publication_for(self.store, feed), filters)
                    for feed in feeds]
        periods = None
        if freq:
            ordinals = np.concatenate([a["month"].dt.asfreq(freq).array.asi8 for a in selected])
            if not len(ordinals):
                return pd.DataFrame(columns=["code", "period", "count", "display", "suppressed"])
            periods = pd.period_range(pd.Period(ordinal=ordinals.min(), freq=freq),
                                      pd.Period(ordinal=ordinals.max(), freq=freq), freq=freq)
        published = records = 0
        for atoms in selected:
            pub, rec = _pub.area_grid(atoms, AREA_COLUMN[level], codes, periods)
            published, records = published + pub, records + rec
        k = max(threshold_for(feed) for feed in feeds)
        published, records = np.ravel(published), np.ravel(records)
        hidden = (records > 0) & (published < k)
        out = {"code": np.repeat(codes, len(periods)) if freq else codes}
        if freq:
            out["period"] = np.tile(periods, len(codes))
        out.update({"count": pd.arrays.IntegerArray(published, hidden.copy()),
                    "display": np.where(hidden, f"<{k}", published.astype(str)).astype(object),
                    "suppressed": hidden})
        return pd.DataFrame(out)

    def district_feed_table(self, filters: EventFilter | None = None) -> SuppressedTable:
        """Records per district (rows) and feed (columns) with totals, protected for the role.

        For protected roles the figures are sums of published atoms (``safeguards.publication``):
        each feed's column at its own threshold, the all-feed Total at the strictest.
        """
        self.require_level("district")
        if self.suppressed:
            codes = area_codes("district")
            published, records = {}, {}
            for feed in FEEDS:
                atoms = _pub.select(_pub.publication_for(self.store, feed), filters)
                sums = _pub.published_sums(atoms, ["district_code"]).set_index("district_code")
                published[feed] = sums["published"].reindex(codes).fillna(0)
                records[feed] = sums["records"].reindex(codes).fillna(0)
            frames = [pd.DataFrame(x, index=pd.Index(codes, name="district_code"))
                      .rename_axis(columns="feed") for x in (published, records)]
            return _pub.shown(*frames, {feed: threshold_for(feed) for feed in FEEDS},
                              row_totals=True, column_totals=True)
        # One column per feed from its counts (one row per district): what a pivot of them
        # made, at a fifth of its cost (twice in every headline, docs/benchmarks.md).
        table = (pd.DataFrame({feed: self.store.counts(feed, ["district_code"], filters)
                               .set_index("district_code")["count"] for feed in FEEDS})
                 .reindex(index=area_codes("district"), columns=list(FEEDS)).fillna(0)
                 .astype("int64"))
        table.index.name, table.columns.name = "district_code", "feed"
        return unsuppressed_table(table)

    # -- whole calendar periods (views.feed_tables, the Trends page) ------------------------------
    def period_counts(self, feed: str, by: str, periods,
                      filters: EventFilter | None = None) -> SuppressedTable:
        """Records of ``feed`` per row of ``by`` (rows) and whole period (columns), protected.

        ``by`` is an area level ("district", "ward": rows are its area codes) or a partition of
        ``core.periods.PARTITIONS`` ("age_group", "exploitation_type", "status", "repeat",
        "referred_to_police": rows are its categories, over West Yorkshire, which needs
        district-level access). ``periods`` are whole consecutive months or quarters
        (``core.periods.whole_periods``): never arbitrary dates, so ``filters`` may not set
        ``start``/``end``. The total per period is shown (a ``Total`` row); totals over periods
        are not. Protected roles get sums of published atoms at the feed's threshold.
        """
        check_feed(feed)
        periods = _periods.whole_periods(periods)
        if self.suppressed:
            rows, atoms, keys = self._published_rows(feed, by, periods, filters)
            published, records = _pub.period_grid(atoms, keys, rows, periods)
            return _pub.shown(published, records, threshold_for(feed), row_totals=False,
                              column_totals=True)
        return open_table(self._period_table(feed, by, periods, filters))

    def period_tables(self, feed: str, level: str, quarters, data_months):
        """Every whole-period table of ``feed`` protected together (``safeguards.period_tables``).

        ``level`` ("district", "ward") × months, × quarters and over the whole span, and each
        partition of the feed × months and × quarters, over every month of the consecutive
        whole ``quarters``; ``data_months`` are the months holding data (the others are not
        shown). Protected roles get sums of the feed's published atoms
        (``safeguards.publication``), so no table can be differenced against another: the
        tables every page showing (feed, period, area) counts must read. Returns a
        ``safeguards.period_tables.FeedPeriodTables``.
        """
        from safeguards import period_tables as _tables

        check_feed(feed)
        if level not in AREA_COLUMN or level == "lsoa":
            raise ValueError(f"level was {level!r}; expected 'district' or 'ward'")
        quarters = _periods.whole_periods(quarters)
        months = _tables.quarter_months(quarters)
        if self.suppressed:
            k = threshold_for(feed)
            rows, atoms, keys = self._published_rows(feed, level, months)
            area = _pub.period_view(atoms, keys, rows, months, data_months, k, whole=True)
            parts = {}
            for by in _periods.partitions_of(feed):
                rows, atoms, keys = self._published_rows(feed, by, months)
                parts[by] = _pub.period_view(atoms, keys, rows, months, data_months, k,
                                             whole=False)
            return _tables.FeedPeriodTables(feed=feed, threshold=k, area=area, parts=parts)
        area = self._period_table(feed, level, months)
        parts = {by: self._period_table(feed, by, months) for by in _periods.partitions_of(feed)}
        return _tables.FeedPeriodTables(
            feed=feed, threshold=1,
            area=_tables.open_period_tables(area, data_months, row_totals=True),
            parts={by: _tables.open_period_tables(t, data_months, row_totals=False)
                   for by, t in parts.items()})

    def feeds_total(self, level: str, periods) -> SuppressedTable:
        """Records of all feeds together per area of ``level`` (rows) and whole period, with a
        ``Total`` row: for protected roles a sum of every feed's published atoms, shown at the
        strictest feed's threshold (so a total is shown even where one feed's count is "<k")."""
        periods = _periods.whole_periods(periods)
        self.require_level(level)
        published = records = None
        for feed in FEEDS:
            if self.suppressed:
                rows, atoms, keys = self._published_rows(feed, level, periods)
                pub, rec = _pub.period_grid(atoms, keys, rows, periods)
            else:
                pub = rec = self._period_table(feed, level, periods)
            published = pub if published is None else published + pub
            records = rec if records is None else records + rec
        if not self.suppressed:
            return open_table(published)
        return _pub.shown(published, records, max(threshold_for(feed) for feed in FEEDS),
                          row_totals=False, column_totals=True)

    def ward_set_counts(self, feeds: Sequence[str], wards: Sequence[str],
                        filters: EventFilter | None = None, periods=None) -> SuppressedTable:
        """Records of each feed (rows, with a ``Total`` row over feeds) in a set of wards (a
        place: e.g. the wards a hotspot or a task covers), over the filters (one column,
        ``records``) or per whole period of ``periods`` (columns).

        For protected roles, sums of published atoms (``safeguards.publication``): a set of
        wards is a union of atoms, so this is as safe as any other protected figure. Each feed
        at its own threshold, the Total at the strictest.
        """
        from dataclasses import replace

        self.require_level("ward")
        feeds = list(dict.fromkeys(feeds))
        for feed in feeds:
            check_feed(feed)
        if periods is not None:
            periods = _periods.whole_periods(periods)
            filters = _whole(filters, periods)
        f = replace(filters or EventFilter(), wards=tuple(wards))
        columns = periods if periods is not None else pd.Index(["records"])
        published, records = {}, {}
        for feed in feeds:
            if self.suppressed:
                atoms = _pub.select(_pub.publication_for(self.store, feed), f)
                pub = atoms["published"].to_numpy(np.int64)
                rec = atoms["count"].to_numpy(np.int64)
                months = atoms["month"]
            else:
                rows = self.store.query(feed, f, columns=["event_date"])
                pub = rec = np.ones(len(rows), np.int64)
                months = pd.to_datetime(rows["event_date"]).dt.to_period("M")
            if periods is None:
                published[feed], records[feed] = [int(pub.sum())], [int(rec.sum())]
            else:
                position = pd.Index(periods.asi8).get_indexer(
                    months.dt.asfreq(periods.freqstr).array.asi8)
                inside = position >= 0
                published[feed] = np.bincount(position[inside], pub[inside],
                                              minlength=len(periods)).astype(np.int64)
                records[feed] = np.bincount(position[inside], rec[inside],
                                            minlength=len(periods)).astype(np.int64)
        frames = [pd.DataFrame(x, index=columns).T.rename_axis(index="feed")
                  for x in (published, records)]
        if not self.suppressed:
            return with_total_row(open_table(frames[1]))
        thresholds = {feed: threshold_for(feed) for feed in feeds}
        table = _pub.shown(frames[0].T, frames[1].T, thresholds, row_totals=True,
                           column_totals=False)
        return with_total_row(transposed(table))

    def _published_rows(self, feed: str, by: str, periods, filters: EventFilter | None = None):
        """The rows of ``by``, the feed's published atoms inside ``periods`` and each atom's
        row (an area code or a partition category)."""
        if by in AREA_COLUMN:
            self.require_level(by)
            atoms = _pub.select(_pub.publication_for(self.store, feed), _whole(filters, periods))
            return area_codes(by), atoms, atoms[AREA_COLUMN[by]]
        partition = _periods.check_partition(feed, by)
        self.require_level("district")
        atoms = _pub.select(_pub.publication_for(self.store, feed), _whole(filters, periods))
        return list(partition.categories), atoms, _pub.labels(atoms, by)

    def _period_table(self, feed: str, by: str, periods,
                      filters: EventFilter | None = None) -> pd.DataFrame:
        """True counts per row of ``by`` and whole period: never returned to a page."""
        if by in AREA_COLUMN:
            self.require_level(by)
            rows = self.store.query(feed, _whole(filters, periods),
                                    columns=[AREA_COLUMN[by], "event_date"])
            keys, labels = rows[AREA_COLUMN[by]], area_codes(by)
        else:
            partition = _periods.check_partition(feed, by)
            self.require_level("district")
            rows = self.store.query(feed, _whole(filters, periods),
                                    columns=[*partition.columns, "record_id", "event_date"])
            keys = (self._repeat_labels(rows, periods) if by == "repeat"
                    else _periods.partition_labels(rows, by))
            labels = partition.categories
        return _periods.tabulate(keys, rows["event_date"], labels, periods)

    def _repeat_labels(self, rows: pd.DataFrame, periods) -> pd.Series:
        """"first"/"repeat" per episode; person_ref is read and dropped here, never returned."""
        history = self.store.query("rosewood", EventFilter(end=periods[-1].end_time.date()),
                                   columns=["record_id", "person_ref", "event_date"])
        repeat = _periods.repeat_flags(history)
        flags = rows["record_id"].map(repeat).fillna(False).astype(bool)
        return pd.Series(np.where(flags, "repeat", "first"), index=rows.index, dtype=object)

    def median_hours_to_found(self, periods, filters: EventFilter | None = None) -> pd.DataFrame:
        """Median hours from reported missing to found, per whole period of the report.

        Columns ``period``, ``n`` (found episodes; <NA> for suppressed roles, whose counts come
        from ``period_counts(..., "status", ...)``), ``median_hours`` (NaN where hidden or none
        found) and ``suppressed`` (True where a median over 1 to k-1 episodes is hidden).
        """
        periods = _periods.whole_periods(periods)
        self.require_level("district")
        rows = self.store.query("rosewood", _whole(filters, periods),
                                columns=["event_date", "reported_missing_at", "found_at"])
        out = _periods.median_hours(rows, periods)
        out["suppressed"] = False
        if self.suppressed:
            out["suppressed"] = (out["n"] > 0) & (out["n"] < threshold_for("rosewood"))
            out["median_hours"] = out["median_hours"].mask(out["suppressed"])
            out["n"] = pd.array([pd.NA] * len(out), dtype="Int64")
        return out

    def period_trends(self, feed: str, level: str, periods, filters: EventFilter | None = None,
                      alpha: float = 0.05) -> pd.DataFrame:
        """Mann-Kendall trend of each area's counts over ``periods`` (``core.periods.trend_table``).

        Computed on the true counts, which never leave this method. For suppressed roles an
        area with fewer than k records over the window is not tested ("too few records"), and
        only the flag (``trend``) is returned: ``p_value`` and ``slope`` are NaN, since a
        precise p-value and Sen's slope of counts that include hidden cells say something of
        those cells. Other roles get both.
        """
        check_feed(feed)
        periods = _periods.whole_periods(periods)
        if level not in AREA_COLUMN:
            raise ValueError(f"level was {level!r}; expected one of {tuple(AREA_COLUMN)}")
        self.require_level(level)
        if self.suppressed:
            # On published sums, like every other figure of a protected role: a flag computed
            # on the true counts would say something of the small ones.
            rows, atoms, keys = self._published_rows(feed, level, periods, filters)
            table = _pub.period_grid(atoms, keys, rows, periods)[0]
        else:
            rows = self.store.query(feed, _whole(filters, periods),
                                    columns=[AREA_COLUMN[level], "event_date"])
            table = _periods.tabulate(rows[AREA_COLUMN[level]], rows["event_date"],
                                      area_codes(level), periods)
        table.loc[TOTAL] = table.sum(axis=0)
        minimum = threshold_for(feed) if self.suppressed else 0
        out = _periods.trend_table(table, alpha=alpha, min_total=minimum)
        if self.suppressed:
            out["p_value"] = np.nan
            out["slope"] = np.nan
        return out.rename(columns={"row": "code"})

    def record_access(self, action: str, *, feed=None, filters=None, records=None,
                      detail=None) -> None:
        """Record an access by this principal in the audit trail."""
        record(self.store, AuditEvent(action=action, actor=self.principal.user, role=self.role,
                                      page=None, filters=_filters_dict(feed, filters),
                                      records=records, detail=detail))


def _filters_dict(feed, filters: EventFilter | None) -> dict:
    out = {"feed": feed} if feed else {}
    if filters is not None:
        out.update({k: (v.isoformat() if hasattr(v, "isoformat") else v)
                    for k, v in vars(filters).items() if v not in (None, ())})
    return out


def _whole(filters: EventFilter | None, periods) -> EventFilter:
    """``filters`` restricted to the whole ``periods``; dates in ``filters`` are refused."""
    from dataclasses import replace

    filters = filters or EventFilter()
    if filters.start or filters.end:
        raise ValueError("give whole periods, not dates: the filters must not set start or end")
    return replace(filters, start=periods[0].start_time.date(), end=periods[-1].end_time.date())
