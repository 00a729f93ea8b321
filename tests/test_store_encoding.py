"""The batch files' write options (issue 14 item 6, tenth round): statistics only for the
columns that are read back from them, no dictionary for nearly distinct columns. What is
stored must not change: the same schema, rows and values in the same order as the old options
gave, the event date bounds in every row group, the same query answers, and stores written
with the old options stay readable and appendable."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow.parquet as pq
import pytest

from core.filters import EventFilter
from data import ingest as ingest_module
from data.synthetic import generate
from storage import parquet as parquet_store
from storage.base import stored_schema
from storage.parquet import ParquetStore


def old_write_options(schema):
    """The options every batch file was written with before this round."""
    return {"compression": "zstd",
            "use_dictionary": [c for c in schema.names if c not in {"record_id", "content_hash"}]}


@pytest.fixture(scope="module")
def feeds():
    return generate(seed=23, events=9_000)


@pytest.fixture
def small_groups(monkeypatch):
    monkeypatch.setattr(parquet_store, "ROW_GROUP_SIZE", 1_000)


def _ingest(root, feeds, options=None, monkeypatch=None) -> ParquetStore:
    if options is not None:
        monkeypatch.setattr(parquet_store, "write_options", options)
    store = ParquetStore(root)
    for feed, frame in feeds.items():
        ingest_module.ingest_frame(frame, feed, name=f"{feed}.csv", store=store)
    if options is not None:
        monkeypatch.undo()
    return store


def _tables(store: ParquetStore, feed: str):
    return [pq.read_table(store.root / b["file"]) for b in store.batches() if b["feed"] == feed]


def test_the_same_schema_rows_and_values_in_the_same_order_as_the_old_options(
        tmp_path, feeds, small_groups, monkeypatch):
    old = _ingest(tmp_path / "old", feeds, old_write_options, monkeypatch)
    monkeypatch.setattr(parquet_store, "ROW_GROUP_SIZE", 1_000)
    new = _ingest(tmp_path / "new", feeds)
    for feed in feeds:
        (before,), (after,) = _tables(old, feed), _tables(new, feed)
        assert after.num_rows == before.num_rows > 1_000   # several row groups
        assert after.schema == before.schema == stored_schema(feed)
        assert after.equals(before), feed      # values and order, nulls included
        old_file = old.root / old.batches()[list(feeds).index(feed)]["file"]
        new_file = new.root / new.batches()[list(feeds).index(feed)]["file"]
        assert new_file.stat().st_size <= 1.10 * old_file.stat().st_size, feed


def test_statistics_are_written_for_the_filtered_columns_and_event_date_only(
        tmp_path, feeds, small_groups):
    store = _ingest(tmp_path / "store", feeds)
    for batch in store.batches():
        metadata = pq.read_metadata(store.root / batch["file"])
        assert metadata.num_row_groups > 1
        names = metadata.schema.to_arrow_schema().names
        for group in range(metadata.num_row_groups):
            for index, name in enumerate(names):
                stats = metadata.row_group(group).column(index).statistics
                if name in parquet_store.STATISTICS_COLUMNS:
                    assert stats is not None and stats.has_min_max, (batch["feed"], name)
                else:
                    assert stats is None, (batch["feed"], name)
    # the period comes from them: the dates are not read
    dates = pd.concat([store.query(feed, columns=["event_date"]) for feed in feeds])
    assert store.period() == (dates["event_date"].min().date(), dates["event_date"].max().date())


def _filters(store: ParquetStore) -> list[EventFilter]:
    """Filters of every kind pushdown tests, on values the store holds."""
    rows = store.query("nrm", columns=["district_code", "ward_code", "age_group"])
    wards = tuple(rows["ward_code"].value_counts().index[:2])
    return [EventFilter(),
            EventFilter(start=dt.date(2022, 3, 1), end=dt.date(2023, 6, 30)),
            EventFilter(districts=(rows["district_code"].iloc[0],)),
            EventFilter(wards=wards, age_groups=(rows["age_group"].iloc[0],)),
            EventFilter(rosewood_status="found"),
            EventFilter(rosewood_status="missing", start=dt.date(2024, 1, 1))]


def test_an_old_store_appended_with_the_new_options_reads_and_filters_the_same(
        tmp_path, feeds, small_groups, monkeypatch):
    """Half of each feed written with the old options, the rest appended with the new; the
    answers equal those of a store written wholly with the old options."""
    halves = [{f: frame.iloc[:len(frame) // 2] for f, frame in feeds.items()},
              {f: frame.iloc[len(frame) // 2:] for f, frame in feeds.items()}]
    reference = _ingest(tmp_path / "reference", feeds, old_write_options, monkeypatch)
    monkeypatch.setattr(parquet_store, "ROW_GROUP_SIZE", 1_000)
    mixed = _ingest(tmp_path / "mixed", halves[0], old_write_options, monkeypatch)
    monkeypatch.setattr(parquet_store, "ROW_GROUP_SIZE", 1_000)
    for feed, frame in halves[1].items():
        ingest_module.ingest_frame(frame, feed, name=f"{feed}-2.csv", store=mixed)
    assert len(mixed.batches()) == 2 * len(feeds)
    assert mixed.period() == reference.period()
    assert mixed.first_event_dates() == reference.first_event_dates()
    filters = _filters(reference)
    for feed in feeds:
        for f in filters:
            got = mixed.query(feed, f).sort_values("record_id", ignore_index=True)
            want = reference.query(feed, f).sort_values("record_id", ignore_index=True)
            pd.testing.assert_frame_equal(got, want)
        assert mixed.checksum(feed) == reference.checksum(feed)
    # the filters select something, and not everything
    for f in filters[1:4]:
        assert 0 < len(mixed.query("nrm", f)) < len(feeds["nrm"]), f


def test_a_replace_rewrites_an_old_file_with_the_new_options(tmp_path, feeds, small_groups,
                                                             monkeypatch):
    feed = "rosewood"
    store = _ingest(tmp_path / "store", {feed: feeds[feed]}, old_write_options, monkeypatch)
    monkeypatch.setattr(parquet_store, "ROW_GROUP_SIZE", 1_000)
    before = store.query(feed).sort_values("record_id", ignore_index=True)
    changed = feeds[feed].iloc[:50].copy()
    changed["risk_level"] = changed["risk_level"].map(
        {"low": "medium", "medium": "high", "high": "low"}).fillna("low")
    ingest_module.ingest_frame(changed, feed, name="fix.csv", store=store, replace=True)
    after = store.query(feed).sort_values("record_id", ignore_index=True)
    assert len(after) == len(before)
    ids = set(changed["record_id"])
    unchanged = after[~after["record_id"].isin(ids)].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        unchanged, before[~before["record_id"].isin(ids)].reset_index(drop=True))
    assert (after[after["record_id"].isin(ids)]["risk_level"].tolist()
            != before[before["record_id"].isin(ids)]["risk_level"].tolist())
    # every file the replace wrote carries the new options' statistics only
    for batch in store.batches():
        metadata = pq.read_metadata(store.root / batch["file"])
        names = metadata.schema.to_arrow_schema().names
        with_stats = {names[i] for i in range(len(names))
                      if metadata.row_group(0).column(i).statistics is not None}
        assert with_stats == set(parquet_store.STATISTICS_COLUMNS) & set(names), batch["file"]
