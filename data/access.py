"""The role-scoped query layer: the only way pages read the store.

Every read names a ``Principal`` (who, in which role). Rules from ``data.roles`` are enforced
here, where the data is read, not by hiding widgets: a chair or executive can never receive
point-level rows through any page, query parameter, download or cached object, because no method
returns them to those roles. Aggregates for suppressed roles go through ``data.disclosure`` (the one
suppression function for charts, tables, maps, exports and PDFs). Refusals raise ``AccessDenied``
and are audited.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data import roles
from data.audit import AuditEvent, record
from data.errors import AccessDenied
from data.filters import EventFilter
from data.schema import FEEDS, check_feed, feed_fields
from data.disclosure import (TOTAL, SuppressedTable, must_suppress, suppress_counts, suppress_table,
                             threshold_for)
from data.store import Store
from geo.geomask import bng_to_lonlat

# Point rows carry category fields and the geomasked location only: never the partner's
# record_id or Rosewood's person_ref, which a map or export does not need.
POINT_LOCATION = ["event_date", "longitude", "latitude", "easting", "northing", "lsoa_code",
                  "ward_code", "district_code"]
AREA_COLUMN = {"lsoa": "lsoa_code", "ward": "ward_code", "district": "district_code"}


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user id (email or local user name) and a role from ``data.roles.ROLES``."""

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
    def _deny(self, what: str, exc: AccessDenied):
        self._audit("access-denied", detail=what)
        raise exc

    def require_level(self, level: str) -> None:
        try:
            roles.require_level(self.role, level)
        except AccessDenied as exc:
            self._deny(f"{level}-level data", exc)

    def require(self, action: str) -> None:
        try:
            roles.require(self.role, action)
        except AccessDenied as exc:
            self._deny(action, exc)

    # -- reads -------------------------------------------------------------------------------
    def points(self, feed: str, filters: EventFilter | None = None) -> pd.DataFrame:
        """Geomasked point rows (records with a point only). Analysts only."""
        check_feed(feed)
        self.require_level("point")
        rows = self.store.query(feed, filters, columns=point_columns(feed))
        rows = rows[rows["longitude"].notna()].reset_index(drop=True)
        self._audit("view-points", feed=feed, filters=filters, records=len(rows))
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
        rows = self.store.query(feed, filters, columns=["easting", "northing"]).dropna()
        e = (rows["easting"].to_numpy(int) // cell_m) * cell_m + cell_m // 2
        n = (rows["northing"].to_numpy(int) // cell_m) * cell_m + cell_m // 2
        keys, counts = np.unique(np.stack([e, n], axis=1), axis=0, return_counts=True) \
            if len(e) else (np.empty((0, 2), int), np.empty(0, int))
        lon, lat = bng_to_lonlat(keys[:, 0], keys[:, 1])
        self._audit("view-points", feed=feed, filters=filters, records=int(counts.sum()),
                    detail=f"cells of {cell_m} m")
        return pd.DataFrame({"easting": keys[:, 0], "northing": keys[:, 1],
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
        raw = pd.concat([self.store.counts(feed, [AREA_COLUMN[level]], filters, freq=freq)
                         .rename(columns={AREA_COLUMN[level]: "code"}) for feed in feeds])
        raw = raw.groupby(keys, as_index=False)["count"].sum() if len(raw) else raw
        table = _complete_grid(raw, level, freq)
        return self._protect(table, max(feeds, key=threshold_for), freq)

    # -- helpers -----------------------------------------------------------------------------
    def _protect(self, table: pd.DataFrame, feed: str, freq: str | None) -> pd.DataFrame:
        """Apply small-number suppression for roles that need it (the one shared function)."""
        if not self.suppressed:
            table["count"] = table["count"].astype("Int64")
            table["display"] = table["count"].astype(str)
            table["suppressed"] = False
            return table
        protected = suppress_counts(table, rows="code", columns="period" if freq else None,
                                    feed=feed)
        return protected.long()[["code", *(["period"] if freq else []), "count", "display",
                                 "suppressed"]]

    def district_feed_table(self, filters: EventFilter | None = None) -> SuppressedTable:
        """Records per district (rows) and feed (columns) with totals, protected for the role.

        One table mixes feeds, so suppressed roles get the strictest feed threshold for all of
        it: a lower one would let the Mandevilla column's small counts show.
        """
        self.require_level("district")
        parts = [self.store.counts(feed, ["district_code"], filters)
                 .rename(columns={"district_code": "code"}).assign(feed=feed) for feed in FEEDS]
        table = (pd.concat(parts, ignore_index=True)
                 .pivot_table(index="code", columns="feed", values="count", aggfunc="sum")
                 .reindex(index=_codes("district"), columns=list(FEEDS)).fillna(0)
                 .astype("int64"))
        table.index.name, table.columns.name = "district_code", "feed"
        if not self.suppressed:
            return unsuppressed_table(table)
        return suppress_table(table, threshold=max(threshold_for(feed) for feed in FEEDS))

    def _audit(self, action: str, *, feed=None, filters=None, records=None, detail=None) -> None:
        record(self.store, AuditEvent(action=action, actor=self.principal.user, role=self.role,
                                      page=None, filters=_filters_dict(feed, filters),
                                      records=records, detail=detail))


def unsuppressed_table(table: pd.DataFrame) -> SuppressedTable:
    """The same shape as ``suppress_table``'s result, with nothing hidden (for analysts)."""
    counts = table.copy()
    counts[TOTAL] = counts.sum(axis=1)
    counts.loc[TOTAL] = counts.sum(axis=0)
    counts = counts.astype("Int64")
    hidden = pd.DataFrame(False, index=counts.index, columns=counts.columns)
    return SuppressedTable(counts=counts, display=counts.astype(str), suppressed=hidden,
                           primary=hidden, cells=table.astype("Int64"), threshold=1)


def _codes(level: str) -> list[str]:
    from geo.boundaries import load_boundaries

    return load_boundaries(level)["code"].tolist()


def _complete_grid(counts: pd.DataFrame, level: str, freq: str | None) -> pd.DataFrame:
    codes = _codes(level)
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


def _filters_dict(feed, filters: EventFilter | None) -> dict:
    out = {"feed": feed} if feed else {}
    if filters is not None:
        out.update({k: (v.isoformat() if hasattr(v, "isoformat") else v)
                    for k, v in vars(filters).items() if v not in (None, ())})
    return out
