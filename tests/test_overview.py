"""The landing page's summary of a store: counts per feed and district, period, kind of data."""
import datetime as dt

import pytest

from data.overview import (FEED_SHORT_TITLES, TOTAL_LABEL, UNKNOWN_AREA_LABEL, store_fingerprint,
                           store_overview)
from data.ingest import ingest_frame
from data.schema import FEED_TITLES, FEEDS
from data.store import ParquetStore
from geo.boundaries import DISTRICT_CODES
from tests.sample_store import FIRST_DAY, build_store, district_counts, feed_rows, last_day

N_ROWS = {"nrm": 12, "rosewood": 7, "mandevilla": 5}


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("overview") / "store", N_ROWS)


@pytest.fixture(scope="module")
def overview(sample_store):
    return store_overview(sample_store)


def test_feed_totals_match_what_was_ingested_in_contract_order(overview):
    assert [f.feed for f in overview.feeds] == list(FEEDS)
    assert {f.feed: f.count for f in overview.feeds} == N_ROWS
    assert [f.title for f in overview.feeds] == [FEED_TITLES[f] for f in FEEDS]
    assert overview.n_records == sum(N_ROWS.values())


def test_district_table_has_names_feed_columns_and_totals(overview):
    table = overview.district_table
    assert list(table.index) == [*sorted(DISTRICT_CODES.values()), TOTAL_LABEL]
    assert list(table.columns) == [*FEED_SHORT_TITLES.values(), TOTAL_LABEL]
    for feed, n in N_ROWS.items():
        expected = {DISTRICT_CODES[code]: count for code, count in district_counts(n).items()}
        column = table[FEED_SHORT_TITLES[feed]]
        assert column.drop(TOTAL_LABEL).to_dict() == expected, feed
        assert column[TOTAL_LABEL] == n
    assert (table[TOTAL_LABEL] == table.drop(columns=TOTAL_LABEL).sum(axis=1)).all()
    assert table.loc[TOTAL_LABEL, TOTAL_LABEL] == sum(N_ROWS.values())
    assert UNKNOWN_AREA_LABEL not in table.index


def test_period_is_first_to_last_event_date(overview):
    assert overview.period == (FIRST_DAY, last_day(N_ROWS))
    assert overview.period_label == "2 Jan 2023 – 20 Mar 2023"


def test_synthetic_store_is_flagged_with_its_batches(overview):
    assert overview.data_kind == "synthetic" and overview.is_synthetic and not overview.is_empty
    assert overview.n_batches == len(N_ROWS)
    age = dt.datetime.now(dt.timezone.utc) - overview.last_ingested_at
    assert dt.timedelta(0) <= age < dt.timedelta(hours=1)
    assert overview.last_ingested_label.endswith("UTC")


@pytest.mark.parametrize("sources, kind", [(["real"], "real"), (["real", "synthetic"], "mixed")])
def test_real_and_mixed_stores_are_not_called_synthetic(tmp_path, sources, kind):
    store = ParquetStore(tmp_path / "store")
    for i, source in enumerate(sources):
        frame = feed_rows("nrm", 3).assign(record_id=lambda f, i=i: f["record_id"] + f"-{i}")
        ingest_frame(frame, "nrm", name=f"{source}.csv", store=store, source=source)
    overview = store_overview(store)
    assert overview.data_kind == kind and not overview.is_synthetic


@pytest.mark.parametrize("make_store", [
    lambda root: ParquetStore(root / "never-created"),
    lambda root: ParquetStore(root),  # the folder exists but holds nothing
], ids=["missing", "empty"])
def test_missing_or_empty_store_gives_an_empty_overview(tmp_path, make_store):
    overview = store_overview(make_store(tmp_path))
    assert overview.is_empty and not overview.is_synthetic and overview.data_kind == "empty"
    assert overview.period is None and overview.period_label == ""
    assert overview.n_records == 0 and overview.n_batches == 0
    assert overview.last_ingested_at is None
    assert {f.feed: f.count for f in overview.feeds} == dict.fromkeys(FEEDS, 0)
    # Every district still has its row, with zeros: the table's shape never depends on the data.
    assert list(overview.district_table.index) == [*sorted(DISTRICT_CODES.values()), TOTAL_LABEL]
    assert int(overview.district_table.to_numpy().sum()) == 0


def test_unknown_district_codes_get_their_own_row(sample_store):
    names = {code: name for code, name in DISTRICT_CODES.items() if name != "Leeds"}
    table = store_overview(sample_store, district_names=names).district_table
    leeds = {f: district_counts(n)["E08000035"] for f, n in N_ROWS.items()}
    assert list(table.index)[-2:] == [UNKNOWN_AREA_LABEL, TOTAL_LABEL]
    assert table.loc[UNKNOWN_AREA_LABEL, FEED_SHORT_TITLES["nrm"]] == leeds["nrm"]
    assert table.loc[TOTAL_LABEL, TOTAL_LABEL] == sum(N_ROWS.values())


def test_fingerprint_changes_when_the_store_changes(tmp_path):
    store = build_store(tmp_path / "store", {"nrm": 3})
    before = store_fingerprint(store)
    assert store_fingerprint(store) == before  # stable while nothing is written
    build_store(tmp_path / "store", {"mandevilla": 2})
    assert store_fingerprint(store) != before
