"""One read per feed for a page's figures of one view, and the store's period from its files'
statistics (docs/benchmarks.md, "Start-up to the first map, seventh round").

``storage.base.share_reads`` lets a page run answer the queries of one view (same filters,
dates within the view's and its previous period's) from one read of each feed; every figure is
still asked of ``safeguards.access`` as before, so each is protected and audited by the same
rules. These tests check the rows are the same as a query's own read (order and types
included), that each figure is the same for every role, and count the reads.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pyarrow.parquet as pq
import pytest

from core.filters import EventFilter
from core.roles import ROLES, may_see_level
from core.schema import FEEDS
from data.ingest import ingest_frame
from safeguards.access import AREA_COLUMN, Principal, RoleScopedQuery, point_columns
from safeguards.audit import read_audit
from storage.base import SharedScan, Store, fingerprints_held, share_reads, shared_scan
from storage.parquet import ParquetStore
from tests.apptest import calls_to
from tests.sample_store import build_store, feed_rows
from ui import explore_loaders
from views.explore import headline
from views.viewstate import ExplorerState, to_filter

ROWS = {"nrm": 40, "rosewood": 24, "mandevilla": 16}


def two_batch_store(root) -> ParquetStore:
    """Every feed in two batches whose dates interleave (the second a few days later each)."""
    store = build_store(root, ROWS)
    for feed, n in ROWS.items():
        rows = feed_rows(feed, n // 2)
        rows["record_id"] = "B2-" + rows["record_id"]
        for column in ("referral_date", "flag_date"):
            if column in rows:
                rows[column] = (pd.to_datetime(rows[column]) + pd.Timedelta(days=3)).dt.strftime(
                    "%Y-%m-%d")
        if "reported_missing_at" in rows:
            rows["reported_missing_at"] = (pd.to_datetime(rows["reported_missing_at"])
                                           + pd.Timedelta(days=3)).dt.strftime("%Y-%m-%dT%H:%M")
            rows["found_at"] = ""
        ingest_frame(rows, feed, name=f"second-{feed}.csv", store=store, source="synthetic")
    assert sum(b["feed"] == "nrm" for b in store.batches()) == 2
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return two_batch_store(tmp_path_factory.mktemp("shared_reads") / "store")


VIEW = EventFilter(start=dt.date(2023, 2, 1), end=dt.date(2023, 8, 31))


def reads(store):
    """Counts ``ParquetStore._read`` (one read of a feed's files) in the block."""
    return calls_to(ParquetStore, "_read", lambda self, feed, filters, columns: feed)


def test_a_shared_read_gives_each_covered_query_the_rows_of_its_own_read(store):
    wide = ["event_date", "district_code", "ward_code", "lsoa_code", "easting", "northing",
            "age_group"]
    asked = [(VIEW, ["district_code"]),
             (replace(VIEW, start=dt.date(2023, 5, 1)), ["ward_code", "event_date"]),
             (replace(VIEW, end=dt.date(2023, 3, 15)), ["easting", "northing"]),
             (replace(VIEW, start=dt.date(2023, 8, 31)), ["age_group", "lsoa_code"]),
             (replace(VIEW, start=dt.date(2023, 4, 3), end=dt.date(2023, 4, 2 + 7)), wide)]
    own = {(feed, i): store.query(feed, f, columns) for feed in FEEDS
           for i, (f, columns) in enumerate(asked)}
    with fingerprints_held():
        share_reads(store.url, {feed: SharedScan(VIEW, tuple(wide)) for feed in FEEDS})
        with reads(store) as made:
            for (feed, i), expected in own.items():
                got = store.query(feed, *asked[i])
                pd.testing.assert_frame_equal(got, expected)
                assert len(got) or i == 3 and feed == "mandevilla" or len(expected) == 0
    assert sorted(made) == sorted(FEEDS)   # one read of each feed for all fifteen queries


def test_a_query_the_shared_read_does_not_cover_reads_as_before(store):
    scan = SharedScan(VIEW, ("district_code", "event_date"))
    not_covered = [(replace(VIEW, start=dt.date(2023, 1, 31)), ["district_code"]),  # earlier
                   (replace(VIEW, end=None), ["district_code"]),                      # open end
                   (replace(VIEW, age_groups=("child",)), ["district_code"]),         # filtered
                   (VIEW, ["ward_code"]),                                             # column
                   (VIEW, None),                                                      # all
                   (EventFilter(), ["district_code"])]
    for filters, columns in not_covered:
        assert not scan.covers(filters, columns)
        with fingerprints_held():
            share_reads(store.url, {"nrm": scan})
            with reads(store) as made:
                got = store.query("nrm", filters, columns)
        pd.testing.assert_frame_equal(got, store.query("nrm", filters, columns))
        assert made == ["nrm"]


def test_shared_reads_last_for_the_run_and_need_one(store):
    scan = SharedScan(VIEW, ("district_code", "event_date"))
    share_reads(store.url, {"nrm": scan})                 # no run: nothing is shared
    assert shared_scan(store.url, "nrm", VIEW, ["district_code"]) is None
    other = SharedScan(replace(VIEW, start=dt.date(2022, 1, 1), end=dt.date(2022, 12, 31)),
                       ("ward_code", "event_date"))
    with fingerprints_held():
        share_reads(store.url, {"nrm": [other, scan]})
        with fingerprints_held():                          # nested: the outer run's
            assert shared_scan(store.url, "nrm", VIEW, ["district_code"]) is scan
            assert shared_scan(store.url, "nrm", other.filters, ["ward_code"]) is other
        assert shared_scan("/another/store", "nrm", VIEW, ["district_code"]) is None
        store.query("nrm", VIEW, ["district_code"])
        assert scan.table is not None
    assert shared_scan(store.url, "nrm", VIEW, ["district_code"]) is None


def view_figures(store: ParquetStore, role: str, state: ExplorerState) -> dict:
    """What Explore's first run asks ``safeguards.access`` for ``role`` (views.explore,
    ui.explore_loaders): the headline with the previous period, the areas, cells and points."""
    query = RoleScopedQuery(store, Principal("tester", role))
    out = {"headline": headline(query, state, dt.date(2023, 1, 2)),
           "areas": query.area_counts(state.feeds, state.level, to_filter(state))}
    if may_see_level(role, "point"):
        for feed in state.feeds:
            out[f"cells {feed}"] = query.cell_counts(feed, to_filter(state))
            out[f"points {feed}"] = query.points(feed, to_filter(state))
    return out


STATES = [ExplorerState(start=dt.date(2023, 4, 1), end=dt.date(2023, 9, 30), level="ward"),
          ExplorerState(start=dt.date(2023, 3, 9), end=dt.date(2023, 7, 20), level="district",
                        feeds=("nrm", "mandevilla"), age_groups=("child",)),
          ExplorerState(start=dt.date(2023, 2, 1), end=dt.date(2023, 10, 31), level="lsoa",
                        feeds=("rosewood",), rosewood_status="found")]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("state", STATES, ids=range(len(STATES)))
def test_every_figure_and_audit_entry_of_a_view_is_the_same_with_shared_reads(
        tmp_path, monkeypatch, role, state):
    store = two_batch_store(tmp_path / "store")
    monkeypatch.setenv("STORE_URL", str(store.root))
    if not may_see_level(role, state.level):
        state = replace(state, level="district")
    before = len(read_audit(store))
    own = view_figures(store, role, state)
    middle = len(read_audit(store))
    with fingerprints_held(), reads(store) as made:
        explore_loaders.share_view_reads(Principal("tester", role), state)
        shared = view_figures(store, role, state)
    assert own.keys() == shared.keys()
    for name, figure in own.items():
        if isinstance(figure, pd.DataFrame):
            pd.testing.assert_frame_equal(shared[name], figure, obj=name)
        else:
            assert shared[name] == figure, name
    # The same audit entries (points and cells read), in the same order.
    audit = read_audit(store).iloc[::-1].reset_index(drop=True)
    kept = ["action", "role", "filters", "records", "detail"]
    first = audit.iloc[before:middle][kept].reset_index(drop=True)
    second = audit.iloc[middle:][kept].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, second)
    # A protected role's figures come from the publication (built from whole feeds, not the
    # view's rows); an analyst's from one read of each feed.
    if not RoleScopedQuery(store, Principal("tester", role)).suppressed:
        assert sorted(made) == sorted(FEEDS)


@pytest.mark.parametrize("state", STATES, ids=range(len(STATES)))
def test_a_large_store_reads_each_feed_twice_the_previous_period_for_its_districts(
        tmp_path, monkeypatch, state):
    store = two_batch_store(tmp_path / "store")
    monkeypatch.setenv("STORE_URL", str(store.root))
    monkeypatch.setattr(explore_loaders, "SPANNING_READ_ROWS", 10)   # "large": > 10 records
    own = view_figures(store, "analyst", state)
    with fingerprints_held(), reads(store) as made:
        explore_loaders.share_view_reads(Principal("tester", "analyst"), state)
        shared = view_figures(store, "analyst", state)
    for name, figure in own.items():
        if isinstance(figure, pd.DataFrame):
            pd.testing.assert_frame_equal(shared[name], figure, obj=name)
        else:
            assert shared[name] == figure, name
    assert sorted(made) == sorted([*FEEDS] * 2)


def test_the_view_reads_hold_the_points_only_where_they_will_be_drawn(tmp_path, monkeypatch):
    store = two_batch_store(tmp_path / "store")
    monkeypatch.setenv("STORE_URL", str(store.root))
    state = STATES[0]
    with fingerprints_held():
        explore_loaders.share_view_reads(Principal("tester", "analyst"), state)
        scan = shared_scan(store.url, "nrm", to_filter(state), point_columns("nrm"))
        assert scan is not None and AREA_COLUMN["ward"] in scan.columns
    monkeypatch.setattr(explore_loaders, "MAX_POINTS", 10)   # more records than a map draws
    with fingerprints_held():
        explore_loaders.share_view_reads(Principal("tester", "analyst"), state)
        assert shared_scan(store.url, "nrm", to_filter(state), point_columns("nrm")) is None
        assert shared_scan(store.url, "nrm", to_filter(state), ["easting", "northing"])
    with fingerprints_held():
        explore_loaders.share_view_reads(Principal("tester", "chair"), state)
        assert shared_scan(store.url, "nrm", to_filter(state), ["easting", "northing"]) is None


def test_the_analysts_district_table_is_the_pivot_of_the_feeds_counts(store):
    from safeguards.count_tables import area_codes

    query = RoleScopedQuery(store, Principal("tester", "analyst"))
    for filters in (None, VIEW, replace(VIEW, districts=("E08000035",)),
                    EventFilter(start=dt.date(2030, 1, 1))):   # nothing
        parts = [store.counts(feed, ["district_code"], filters)
                 .rename(columns={"district_code": "code"}).assign(feed=feed) for feed in FEEDS]
        pivot = (pd.concat(parts, ignore_index=True)
                 .pivot_table(index="code", columns="feed", values="count", aggfunc="sum")
                 .reindex(index=area_codes("district"), columns=list(FEEDS)).fillna(0)
                 .astype("int64"))
        pivot.index.name, pivot.columns.name = "district_code", "feed"
        table = query.district_feed_table(filters)
        pd.testing.assert_frame_equal(table.cells, pivot.astype("Int64"))
        assert int(table.counts.loc["Total", "Total"]) == int(pivot.to_numpy().sum())


# -- the period from the files' statistics ------------------------------------------------------

def periods(store: ParquetStore):
    """(statistics, read) answers: ``ParquetStore.period`` and ``Store.period``, which reads
    every feed's dates; the same for ``first_event_dates``."""
    return ((store.period(), Store.period(store)),
            (store.first_event_dates(), Store.first_event_dates(store)))


def test_the_period_from_statistics_is_the_period_read(store, tmp_path):
    for stats, read in periods(store):
        assert stats == read
    assert store.period() == (dt.date(2023, 1, 2), dt.date(2023, 10, 2))
    empty = ParquetStore(tmp_path / "empty")
    for stats, read in periods(empty):
        assert stats == read
    assert empty.period() is None
    assert empty.first_event_dates() == dict.fromkeys(FEEDS)
    only_nrm = build_store(tmp_path / "nrm only", {"nrm": 5})
    for stats, read in periods(only_nrm):
        assert stats == read
    assert only_nrm.first_event_dates()["rosewood"] is None


def test_the_period_reads_no_dates_when_the_statistics_are_there(store):
    with calls_to(ParquetStore, "query") as queries, calls_to(pq, "read_table") as tables:
        store.period()
    assert queries == [] and tables == []


def rewrite(store: ParquetStore, feed: str, change, **options) -> None:
    """Rewrite each batch file of ``feed`` in place as ``change(table)``, with ``options``."""
    for batch in store.batches():
        if batch["feed"] == feed:
            path = store.root / batch["file"]
            pq.write_table(change(pq.read_table(path)), path, **options)


def test_the_period_reads_the_dates_of_a_file_without_statistics(tmp_path):
    store = two_batch_store(tmp_path / "store")
    rewrite(store, "rosewood", lambda table: table, write_statistics=False)
    with calls_to(pq, "read_table") as tables:
        for stats, read in periods(store):
            assert stats == read
    assert len(tables) == 2 * 2   # the two rosewood files, for each of the two answers


def test_the_period_of_files_with_null_dates_and_many_row_groups(tmp_path):
    import pyarrow as pa
    import pyarrow.compute as pc

    store = two_batch_store(tmp_path / "store")

    def nulls_at_the_ends(table):
        dates = table["event_date"].combine_chunks()
        keep = pc.and_(pc.greater(pa.array(range(len(dates))), 1),
                       pc.less(pa.array(range(len(dates))), len(dates) - 2))
        return table.set_column(table.schema.get_field_index("event_date"), "event_date",
                                pc.if_else(keep, dates, pa.scalar(None, dates.type)))

    rewrite(store, "nrm", nulls_at_the_ends, row_group_size=3)
    rewrite(store, "mandevilla", lambda t: t.set_column(
        t.schema.get_field_index("event_date"), "event_date",
        pa.nulls(len(t), t.schema.field("event_date").type)), row_group_size=4)
    assert pq.read_metadata(store.root / store.batches()[0]["file"]).num_row_groups > 1
    (period, period_read), (firsts, firsts_read) = periods(store)
    assert period == period_read
    # A feed whose dates are all null has no first date: None (the read gave NaT).
    assert firsts == {feed: None if pd.isna(day) else day for feed, day in firsts_read.items()}
    assert firsts["mandevilla"] is None and firsts["nrm"] is not None
