"""The store contract, on both backends: atomic batches, crash safety, concurrent writers,
filtered reads, aggregation.

One suite: the ``store`` fixture below is parametrised over ``parquet`` (the embedded store in a
temporary folder) and ``postgis`` (a fresh database in a throwaway cluster, see
tests/pg_fixtures.py; skipped with the reason where PostgreSQL/PostGIS are missing, failing on CI).
"""
import datetime as dt
import multiprocessing
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from core.errors import ConfigError, DuplicateRecordError, StoreError
from core.filters import EventFilter
from data.ingest import ingest_file, ingest_frame
from storage.base import RecordConflict
from storage.open import open_store
from storage.parquet import ParquetStore
from tests.conftest import VALID_ROWS, store_snapshot, write_csv
from tests.sample_store import feed_rows

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["parquet", "postgis"])
def store(request, tmp_path):
    """An empty store of each backend (overrides the Parquet-only fixture of conftest)."""
    if request.param == "parquet":
        return ParquetStore(tmp_path / "store")
    return request.getfixturevalue("pg_store")


def backend(store) -> str:
    return "parquet" if isinstance(store, ParquetStore) else "postgis"


def contents(store) -> dict:
    """Everything a reader can see: batches and every record of every feed."""
    return {"batches": store.batches(),
            **{feed: store.query(feed).sort_values("record_id", ignore_index=True)
               for feed in ("nrm", "rosewood", "mandevilla")}}


def assert_same_contents(before: dict, after: dict) -> None:
    assert before["batches"] == after["batches"]
    for feed in ("nrm", "rosewood", "mandevilla"):
        pd.testing.assert_frame_equal(before[feed], after[feed])


def _run_ingest(store_url, path, feed, patch="", wait=True):
    """Ingest in a separate process, optionally patching the store first (to kill or slow it)."""
    code = "\n".join([
        "import os, sys, time",
        "import storage.parquet as store_module",
        "import storage.postgis as pg_module",
        textwrap.dedent(patch),
        "from data.ingest import ingest_file",
        f"ingest_file({str(path)!r}, {feed!r}, store={str(store_url)!r})",
    ])
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    return process.wait(120) if wait else process


KILL_BEFORE_RENAME = """
real_replace = os.replace
def dying_replace(src, dst):
    if str(src).endswith('.parquet'):
        os._exit(9)          # killed after writing the temporary file, before the rename
    real_replace(src, dst)
store_module.os.replace = dying_replace
"""
KILL_BEFORE_COMMIT = """
store_module.ParquetStore._commit = lambda self, manifest: os._exit(9)  # renamed, not committed
"""
# PostGIS: killed after every row is inserted (batch row, events), before the COMMIT.
KILL_BEFORE_PG_COMMIT = """
import psycopg
real_execute = psycopg.Connection.execute
def dying_execute(self, query, *args, **kwargs):
    if str(query) == 'DROP TABLE incoming':
        os._exit(9)
    return real_execute(self, query, *args, **kwargs)
psycopg.Connection.execute = dying_execute
"""
KILLS = [("parquet", KILL_BEFORE_RENAME), ("parquet", KILL_BEFORE_COMMIT),
         ("postgis", KILL_BEFORE_PG_COMMIT)]


@pytest.mark.parametrize("store,patch", KILLS, indirect=["store"],
                         ids=["parquet-killed-before-rename", "parquet-killed-before-manifest",
                              "postgis-killed-before-commit"])
def test_a_killed_writer_leaves_exactly_the_completed_batches(store, valid_file, patch):
    ingest_file(valid_file("nrm"), "nrm", store=store)
    before = contents(store)
    snapshot = store_snapshot(store.root) if backend(store) == "parquet" else None
    assert _run_ingest(store.url, valid_file("mandevilla"), "mandevilla", patch) == 9
    assert_same_contents(before, contents(store))
    assert len(store.query("nrm")) == 3 and store.query("mandevilla").empty
    assert [b["feed"] for b in store.batches()] == ["nrm"]
    if snapshot is not None:
        leftovers = set(store_snapshot(store.root)) - set(snapshot)
        assert leftovers, "the killed writer should have left a file behind"
    # The next writer (cleans up and) completes normally.
    ingest_file(valid_file("mandevilla"), "mandevilla", store=store)
    assert len(store.query("mandevilla")) == 2
    if snapshot is not None:
        assert not any(name in store_snapshot(store.root) for name in leftovers)


def test_a_refused_file_leaves_nothing(store, valid_file):
    ingest_file(valid_file("nrm"), "nrm", store=store)
    before = contents(store)
    changed = [dict(r, gender="female") if r["record_id"] == "NRM-1" else
               dict(r, record_id=r["record_id"] + "-new") for r in VALID_ROWS["nrm"]]
    # Two new records and one conflicting: the whole file is refused, the new ones too.
    with pytest.raises(DuplicateRecordError, match="already stored with different content"):
        ingest_file(valid_file("nrm", changed, name="changed.csv"), "nrm", store=store)
    assert_same_contents(before, contents(store))


def test_a_failed_append_leaves_nothing(store, valid_file):
    ingest_file(valid_file("nrm"), "nrm", store=store)
    before = contents(store)
    rows = store.query("nrm")
    twice = pd.concat([rows.assign(record_id="X-1"), rows.assign(record_id="X-1")])
    with pytest.raises(StoreError, match="more than once"):
        store.append("nrm", twice, source="real", file_name="twice.csv")
    assert_same_contents(before, contents(store))


def test_replace_swaps_the_stored_record_and_keeps_batch_rows_right(store, valid_file):
    ingest_file(valid_file("nrm"), "nrm", store=store)
    changed = [dict(r, gender="female") if r["record_id"] == "NRM-1" else r
               for r in VALID_ROWS["nrm"]]
    report = ingest_file(valid_file("nrm", changed, name="changed.csv"), "nrm", store=store,
                         replace=True)
    assert (report.added, report.unchanged, report.replaced) == (0, 2, 1)
    stored = store.query("nrm").set_index("record_id")
    assert len(stored) == 3 and stored.loc["NRM-1", "gender"] == "female"
    assert sum(b["rows"] for b in store.batches()) == 3


def test_reingesting_a_file_adds_nothing(store, valid_file):
    ingest_file(valid_file("rosewood"), "rosewood", store=store)
    report = ingest_file(valid_file("rosewood"), "rosewood", store=store)
    assert (report.added, report.unchanged) == (0, 2)
    assert len(store.batches()) == 1 and len(store.query("rosewood")) == 2


SLOW_WRITE = """
real_write = store_module.ParquetStore._write_batch
def slow_write(self, *args, **kwargs):
    time.sleep(1.5)            # hold the lock long enough for the other writer to arrive
    return real_write(self, *args, **kwargs)
store_module.ParquetStore._write_batch = slow_write
real_copy = pg_module._copy_in
def slow_copy(*args, **kwargs):
    time.sleep(1.5)            # PostGIS: inside the transaction, holding the feed's lock
    return real_copy(*args, **kwargs)
pg_module._copy_in = slow_copy
"""


def test_two_concurrent_ingests_of_different_files_both_land(store, tmp_path, valid_file):
    more = [dict(r, record_id=r["record_id"] + "b") for r in VALID_ROWS["nrm"]]
    slow = _run_ingest(store.url, valid_file("nrm"), "nrm", SLOW_WRITE, wait=False)
    time.sleep(1.0)  # the slow writer is inside its write, holding the lock
    fast = _run_ingest(store.url, write_csv(tmp_path / "more.csv", more), "nrm", wait=False)
    assert slow.wait(120) == 0 and fast.wait(120) == 0
    assert len(store.batches()) == 2
    assert len(store.query("nrm")) == 6


def test_concurrent_ingests_of_the_same_file_land_once(store, valid_file):
    path = valid_file("rosewood")
    processes = [_run_ingest(store.url, path, "rosewood", wait=False) for _ in range(3)]
    assert [p.wait(120) for p in processes] == [0, 0, 0]
    assert len(store.query("rosewood")) == 2 and len(store.batches()) == 1


def _ingest_slice(args):
    url, lo, hi = args
    frame = feed_rows("nrm", hi).iloc[lo:hi]
    return ingest_frame(frame, "nrm", name=f"slice-{lo}-{hi}", store=url).added


def test_overlapping_ingests_from_many_processes_land_exactly_once(store):
    """Four processes ingest overlapping slices of one feed at once: every record lands once."""
    slices = [(store.url, 0, 40), (store.url, 20, 60), (store.url, 10, 50), (store.url, 0, 60)]
    # Warm the parent (boundaries loaded, pooled connections open) so the forked children share
    # the loaded boundaries and must not disturb the parent's connections.
    ingest_frame(feed_rows("mandevilla", 1), "mandevilla", name="warm", store=store)
    # fork: children start at once (no re-import); each opens its own connections
    with multiprocessing.get_context("fork").Pool(4) as pool:
        added = pool.map(_ingest_slice, slices)
    stored = store.query("nrm", columns=["record_id"])["record_id"]
    assert sum(added) == 60 and len(stored) == 60 and stored.is_unique
    assert set(stored) == {f"NRM-{i:04d}" for i in range(60)}
    assert sum(b["rows"] for b in store.batches() if b["feed"] == "nrm") == 60
    assert store.query("nrm", columns=["record_id"])["record_id"].is_unique  # parent still works


@pytest.fixture
def filled(store, valid_file):
    for feed in ("nrm", "rosewood", "mandevilla"):
        ingest_file(valid_file(feed), feed, store=store)
    return store


@pytest.mark.parametrize("filters,expected", [
    (EventFilter(), ["NRM-1", "NRM-2", "NRM-3"]),
    (EventFilter(start=dt.date(2024, 6, 15)), ["NRM-2", "NRM-3"]),
    (EventFilter(end=dt.date(2024, 6, 15)), ["NRM-1", "NRM-2"]),
    (EventFilter(districts=("E08000032",)), ["NRM-2"]),
    (EventFilter(age_groups=("child",)), ["NRM-2", "NRM-3"]),
    (EventFilter(exploitation_types=("sexual",)), ["NRM-2"]),
    (EventFilter(exploitation_types=("labour", "criminal")), ["NRM-1", "NRM-2", "NRM-3"]),
])
def test_nrm_filters(filled, filters, expected):
    assert sorted(filled.query("nrm", filters)["record_id"]) == expected


def test_rosewood_status_and_mandevilla_indicator_filters(filled):
    found = filled.query("rosewood", EventFilter(rosewood_status="found"))
    missing = filled.query("rosewood", EventFilter(rosewood_status="missing"))
    assert found["record_id"].tolist() == ["RW-1"] and missing["record_id"].tolist() == ["RW-2"]
    flagged = filled.query("mandevilla", EventFilter(indicators=("under_18",)))
    assert flagged["record_id"].tolist() == ["MV-1"]


def test_counts_by_area_and_month(filled):
    counts = filled.counts("nrm", ["district_code"], freq="M")
    assert counts["count"].sum() == 3
    assert set(counts["period"].astype(str)) == {"2024-03", "2024-06", "2024-07"}


def test_summary_period_and_sources(filled):
    summary = filled.summary()
    assert summary.groupby("feed")["count"].sum().to_dict() == {
        "mandevilla": 2, "nrm": 3, "rosewood": 2}
    assert filled.period() == (dt.date(2024, 2, 14), dt.date(2024, 7, 1))
    assert filled.sources() == {"real"} and not filled.is_synthetic_only()


def test_an_empty_store_reads_as_empty(store):
    assert store.query("nrm").empty and store.period() is None and store.is_synthetic_only()
    assert store.batches() == [] and store.counts("nrm", ["ward_code"], freq="Q").empty


def test_query_reads_only_the_columns_asked_for(filled):
    assert list(filled.query("nrm", columns=["record_id"]).columns) == ["record_id"]
    assert list(filled.query("nrm", columns=["latitude", "event_date"]).columns) == [
        "latitude", "event_date"]


def test_batches_describe_what_was_stored(filled):
    batches = filled.batches()
    assert [(b["feed"], b["rows"], b["source"], b["file_name"]) for b in batches] == [
        ("nrm", 3, "real", "nrm.csv"), ("rosewood", 2, "real", "rosewood.csv"),
        ("mandevilla", 2, "real", "mandevilla.csv")]
    assert all(dt.datetime.fromisoformat(b["ingested_at"]).tzinfo for b in batches)
    assert len({b["id"] for b in batches}) == 3


def test_documents_round_trip(store):
    assert store.read_document("_notes.json") is None
    store.write_document("_notes.json", '{"a": "\u00e9"}')
    store.write_document("_notes.json", '{"a": "b"}')
    assert store.read_document("_notes.json") == '{"a": "b"}'


def test_update_document_reads_changes_and_writes_in_one_step(store):
    seen = []

    def append_x(text):
        seen.append(text)
        return (text or "") + "x"

    assert store.update_document("_dir/doc.txt", append_x) == "x"        # created
    assert store.update_document("_dir/doc.txt", append_x) == "xx"
    assert seen == [None, "x"]
    assert store.update_document("_dir/doc.txt", lambda text: None) == "xx"   # left as it is
    with pytest.raises(ValueError, match="refused"):
        store.update_document("_dir/doc.txt", lambda text: (_ for _ in ()).throw(
            ValueError("refused")))
    assert store.read_document("_dir/doc.txt") == "xx"
    assert store.update_document("_dir/doc.txt", append_x) == "xxx"  # lock/transaction released


def _increment(args):
    url, times = args
    target = open_store(url)

    def plus_one(text):
        value = int(text or 0)
        time.sleep(0.01)               # a writer that did not exclude the others would now lose
        return str(value + 1)          # their increments

    for _ in range(times):
        target.update_document("_counter", plus_one)


def test_concurrent_document_updates_from_many_processes_all_land(store):
    store.write_document("_counter", "0")
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_increment, [(store.url, 10)] * 4)
    assert store.read_document("_counter") == "40"


ROWS = {"nrm": 45, "rosewood": 31, "mandevilla": 22}


@pytest.fixture
def both(tmp_path, request):
    """The same sample data in a Parquet store and in a PostGIS store."""
    stores = {"parquet": ParquetStore(tmp_path / "same"),
              "postgis": request.getfixturevalue("pg_store")}
    for target in stores.values():
        for feed, n in ROWS.items():
            ingest_frame(feed_rows(feed, n), feed, name=f"s-{feed}", store=target)
    return stores


CASES = [EventFilter(), EventFilter(start=dt.date(2023, 3, 1), end=dt.date(2023, 6, 30)),
         EventFilter(districts=("E08000035", "E08000036"), age_groups=("child",)),
         EventFilter(exploitation_types=("criminal",)), EventFilter(rosewood_status="missing"),
         EventFilter(indicators=("repeat_procedure",))]


@pytest.mark.parametrize("filters", CASES, ids=range(len(CASES)))
def test_both_backends_give_identical_results(both, filters):
    parquet, postgis = both["parquet"], both["postgis"]
    for feed in ROWS:
        a = parquet.query(feed, filters).sort_values("record_id", ignore_index=True)
        b = postgis.query(feed, filters).sort_values("record_id", ignore_index=True)
        pd.testing.assert_frame_equal(a, b)
        for by, freq in ((["district_code"], None), (["ward_code"], "M"),
                         (["lsoa_code", "age_group"], "Q")):
            pd.testing.assert_frame_equal(parquet.counts(feed, by, filters, freq),
                                          postgis.counts(feed, by, filters, freq))
        assert parquet.checksum(feed) == postgis.checksum(feed)
    pd.testing.assert_frame_equal(parquet.summary(), postgis.summary())
    assert parquet.period() == postgis.period()


def test_postgis_cells_match_the_geomasked_points(both):
    postgis = both["postgis"]
    rows = postgis.query("nrm", columns=["easting", "northing"])
    cells = postgis.cell_counts("nrm", cell_m=1000)
    assert cells["count"].sum() == len(rows)
    expected = rows.assign(easting=rows["easting"] // 1000 * 1000 + 500,
                           northing=rows["northing"] // 1000 * 1000 + 500
                           ).groupby(["easting", "northing"]).size()
    assert dict(zip(zip(cells["easting"], cells["northing"]), cells["count"])) == {
        k: int(v) for k, v in expected.items()}


@pytest.mark.parametrize("cell_m", [100, 500, 1000])
@pytest.mark.parametrize("filters", [*CASES, EventFilter(start=dt.date(2030, 1, 1))],
                         ids=range(len(CASES) + 1))
def test_the_query_layer_counts_cells_alike_on_both_backends(both, filters, cell_m,
                                                             monkeypatch):
    """RoleScopedQuery.cell_counts uses the store's own aggregation (SQL on PostGIS, never the
    points) and gives the identical frame on both backends, empty ones included."""
    from safeguards.access import Principal, RoleScopedQuery

    parquet, postgis = both["parquet"], both["postgis"]

    def no_points(feed, filters=None, columns=None):
        raise AssertionError(f"PostGIS cell counts read the points of {feed}")

    monkeypatch.setattr(postgis, "query", no_points)
    analyst = Principal("analyst@wy.example", "analyst")
    for feed in ROWS:
        a = RoleScopedQuery(parquet, analyst).cell_counts(feed, filters, cell_m=cell_m)
        b = RoleScopedQuery(postgis, analyst).cell_counts(feed, filters, cell_m=cell_m)
        pd.testing.assert_frame_equal(a, b)
        assert list(a.columns) == ["easting", "northing", "longitude", "latitude", "count"]
        assert a["count"].sum() == len(parquet.query(feed, filters, columns=["easting"])
                                       .dropna())
        assert a[["easting", "northing"]].apply(tuple, axis=1).is_monotonic_increasing


def test_postgis_schema_matches_the_stored_schema(pg_store):
    """The migrations define every column the store writes, with geometry in EPSG:27700 and a
    GiST index: a change to the contract needs a new migration, and this test says so."""
    from storage.base import stored_schema
    from storage.postgis import _PG_TYPES, current_revision, head_revision

    assert current_revision(pg_store.url) == head_revision()
    with pg_store.connection() as conn:
        for feed in ("nrm", "rosewood", "mandevilla"):
            rows = conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_name = %s", [f"events_{feed}"]).fetchall()
            types = dict(rows)
            for field in stored_schema(feed):
                assert types.get(field.name) == _PG_TYPES[field.type].replace(
                    "timestamp", "timestamp without time zone"), (feed, field.name)
            srid, kind = conn.execute("SELECT srid, type FROM geometry_columns "
                                      "WHERE f_table_name = %s", [f"events_{feed}"]).fetchone()
            assert (srid, kind) == (27700, "POINT")
            index = conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s AND "
                                 "indexdef LIKE '%%gist%%'", [f"events_{feed}"]).fetchone()
            assert index and "(geom)" in index[0]


def test_store_url_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("STORE_URL", str(tmp_path / "s"))
    assert open_store().url == str(tmp_path / "s")
    with pytest.raises(ConfigError, match="unsupported kind of store"):
        open_store("mysql://db/x")


def test_a_postgres_url_that_cannot_be_reached_is_a_config_error():
    pytest.importorskip("sqlalchemy")
    with pytest.raises(ConfigError, match="cannot connect to PostgreSQL"):
        open_store("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2")


def test_a_password_in_the_url_is_never_shown(pg_cluster, pg_url):
    """A password in STORE_URL is masked in ``url`` (shown on pages, written to logs)."""
    from sqlalchemy.engine import make_url

    with_password = make_url(pg_url.replace("postgresql://", "postgresql+psycopg://")).set(
        password="s3cret").render_as_string(hide_password=False).replace(
        "postgresql+psycopg://", "postgresql://")
    store = open_store(with_password)  # trust authentication: the password is not checked
    assert "s3cret" not in store.url and "***" in store.url and "s3cret" not in repr(store)
    assert open_store(store.url).batches() == []  # the masked URL reopens it in this process


def test_filters_reject_impossible_ranges():
    with pytest.raises(ValueError, match="is after end"):
        EventFilter(start=dt.date(2025, 1, 2), end=dt.date(2025, 1, 1))


def test_record_conflict_names_the_records(store, valid_file):
    ingest_file(valid_file("mandevilla"), "mandevilla", store=store)
    rows = store.query("mandevilla")
    rows.loc[rows["record_id"] == "MV-2", "content_hash"] = "0" * 16
    with pytest.raises(RecordConflict) as caught:
        store.append("mandevilla", rows, source="real", file_name="again.csv")
    assert caught.value.record_ids == ["MV-2"]
