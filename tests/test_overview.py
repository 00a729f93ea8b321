"""The landing page's summary of a store: counts per feed and district, period, kind of data."""
import datetime as dt

import pytest

from core import clock
from core.schema import FEED_TITLES, FEEDS
from data.ingest import ingest_frame
from geo.boundaries import DISTRICT_CODES
from safeguards.access import Principal, RoleScopedQuery
from safeguards.disclosure import threshold_for
from storage.base import store_fingerprint
from storage.parquet import ParquetStore
from tests.sample_store import FIRST_DAY, build_store, district_counts, feed_rows, last_day
from views.overview import FEED_SHORT_TITLES, TOTAL_LABEL
from views.overview import store_overview as _store_overview

N_ROWS = {"nrm": 12, "rosewood": 7, "mandevilla": 5}


def store_overview(store, role="analyst", **kwargs):
    return _store_overview(RoleScopedQuery(store, Principal("tester", role)), **kwargs)


def as_int(label: str) -> int:
    return int(label.replace(",", ""))


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
    assert overview.records_label == str(sum(N_ROWS.values()))
    assert not overview.suppressed


def test_district_table_has_names_feed_columns_and_totals(overview):
    table = overview.district_table
    assert list(table.index) == [*sorted(DISTRICT_CODES.values()), TOTAL_LABEL]
    assert list(table.columns) == [*FEED_SHORT_TITLES.values(), TOTAL_LABEL]
    for feed, n in N_ROWS.items():
        expected = {DISTRICT_CODES[code]: count for code, count in district_counts(n).items()}
        column = table[FEED_SHORT_TITLES[feed]]
        assert column.drop(TOTAL_LABEL).map(as_int).to_dict() == expected, feed
        assert as_int(column[TOTAL_LABEL]) == n
    numbers = table.map(as_int)
    assert (numbers[TOTAL_LABEL] == numbers.drop(columns=TOTAL_LABEL).sum(axis=1)).all()
    assert numbers.loc[TOTAL_LABEL, TOTAL_LABEL] == sum(N_ROWS.values())


def _names() -> dict[str, str]:
    from geo.boundaries import DISTRICT_CODES

    return dict(DISTRICT_CODES)


@pytest.mark.parametrize("role", ["chair", "executive", "admin"])
def test_roles_under_disclosure_control_see_small_counts_hidden(sample_store, role):
    overview = store_overview(sample_store, role)
    assert overview.suppressed and overview.threshold == 10
    # Each feed at its own threshold: the same cells the Trends page and meeting mode hide.
    assert overview.thresholds == {FEED_SHORT_TITLES[f]: threshold_for(f) for f in FEEDS}
    assert "<5: fewer than 5 (NRM referrals" in overview.suppression_note
    for feed in FEEDS:
        k = threshold_for(feed)
        column = overview.district_table[FEED_SHORT_TITLES[feed]].drop(TOTAL_LABEL)
        shown = column[~column.isin([f"<{k}", "[c]"])].map(as_int)
        assert not shown.between(1, k - 1).any(), feed
    cells = overview.district_table.drop(index=TOTAL_LABEL, columns=TOTAL_LABEL)
    assert "<10" in set(cells.to_numpy().ravel())
    # The all-feed total is the sum of every feed's published atoms (safeguards.publication):
    # shown when 10 or more, even where a feed's figure is "<k"; the sum of the shown figures
    # where every part is shown.
    from safeguards.publication import build_publication

    names = {v: k for k, v in _names().items()}
    for name, row in overview.district_table.drop(index=TOTAL_LABEL).iterrows():
        total = sum(int(a.loc[a["district_code"] == names[name], "published"].sum())
                    for a in (build_publication(sample_store, f).atoms for f in FEEDS))
        assert row[TOTAL_LABEL] == (f"{total:,}" if total >= 10 else "<10")
        parts = row.drop(TOTAL_LABEL)
        if not parts.str.contains("<").any():
            assert as_int(row[TOTAL_LABEL]) == parts.map(as_int).sum()
    hidden_feeds = [f for f in overview.feeds if f.count is None]
    assert all(f.display == f"<{threshold_for(f.feed)}" for f in hidden_feeds)


def test_period_is_first_to_last_event_date(overview):
    assert overview.period == (FIRST_DAY, last_day(N_ROWS))
    assert overview.period_label == "2 Jan 2023 – 20 Mar 2023"


def test_synthetic_store_is_flagged_with_its_batches(overview):
    assert overview.data_kind == "synthetic" and overview.is_synthetic and not overview.is_empty
    assert overview.n_batches == len(N_ROWS)
    age = clock.now() - overview.last_ingested_at
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
    assert overview.records_label == "0" and overview.n_batches == 0
    assert overview.last_ingested_at is None
    assert {f.feed: f.count for f in overview.feeds} == dict.fromkeys(FEEDS, 0)
    # Every district still has its row, with zeros: the table's shape never depends on the data.
    assert list(overview.district_table.index) == [*sorted(DISTRICT_CODES.values()), TOTAL_LABEL]
    assert set(overview.district_table.to_numpy().ravel()) == {"0"}


def test_fingerprint_changes_when_the_store_changes(tmp_path):
    store = build_store(tmp_path / "store", {"nrm": 3})
    before = store_fingerprint(store)
    assert store_fingerprint(store) == before  # stable while nothing is written
    build_store(tmp_path / "store", {"mandevilla": 2})
    assert store_fingerprint(store) != before
