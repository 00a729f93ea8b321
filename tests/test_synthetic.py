"""The synthetic generator: realism, planted hotspots, determinism, scaling, store and CLI."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core import clock
from core.errors import StoreError
from data import synthetic
from data.ingest import ingest_file
from data.pseudonymise import PSEUDONYM_PATTERN
from geo.areas import lsoa_of_points
from geo.boundaries import DISTRICT_CODES
from geo.geomask import lonlat_to_bng
from storage.parquet import ParquetStore

END = "2025-12-31"  # five whole calendar years, 2021-2025, safely in the past
DATE = {"nrm": "referral_date", "rosewood": "reported_missing_at", "mandevilla": "flag_date"}


@pytest.fixture(scope="module")
def default_build(tmp_path_factory):
    """The default demo build (5 years, seed 1), made once for the module."""
    root = tmp_path_factory.mktemp("default") / "store"
    result = synthetic.build_store(root, years=5, seed=1, end=END)
    return ParquetStore(root), result


@pytest.fixture(scope="module")
def stored(default_build):
    store, _ = default_build
    return {feed: store.query(feed) for feed in synthetic.FEEDS}


@pytest.fixture(scope="module")
def truth(default_build):
    store, _ = default_build
    return json.loads((store.root / synthetic.TRUTH_FILE).read_text(encoding="utf-8"))


def _hashes(store):
    return {feed: set(store.query(feed, columns=["content_hash"])["content_hash"])
            for feed in synthetic.FEEDS}


def test_the_same_seed_stores_identical_content_and_another_seed_differs(tmp_path):
    builds = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        synthetic.build_store(tmp_path / name, years=1, seed=seed, end=END)
        builds[name] = _hashes(ParquetStore(tmp_path / name))
    assert builds["a"] == builds["b"]
    assert all(len(h) > 50 for h in builds["a"].values())
    for feed in synthetic.FEEDS:
        assert len(builds["a"][feed] & builds["c"][feed]) < 0.05 * len(builds["a"][feed])


def test_every_record_lands_in_one_of_the_five_districts(stored):
    for feed, rows in stored.items():
        assert len(rows) > 0
        assert rows["district_code"].isin(list(DISTRICT_CODES)).all(), feed
        assert rows["lsoa_code"].notna().all() and rows["ward_code"].notna().all()
        assert set(rows["district_code"]) == set(DISTRICT_CODES)


def test_yearly_volumes_are_in_the_documented_ranges_and_rise(stored):
    for feed, rows in stored.items():
        per_year = rows["event_date"].dt.year.value_counts().sort_index()
        assert list(per_year.index) == [2021, 2022, 2023, 2024, 2025]
        low, high = synthetic.YEARLY_RANGE[feed]
        assert per_year.between(low, high).all(), (feed, per_year.to_dict())
        assert per_year[2025] > per_year[2021] * 1.15, feed  # trend, plus hotspots that start


def test_volumes_peak_in_summer(stored):
    months = stored["nrm"]["event_date"].dt.month
    assert months.isin([6, 7, 8]).sum() > 1.2 * months.isin([12, 1, 2]).sum()


def test_nrm_mixes_follow_the_documented_shares(stored):
    nrm = stored["nrm"]
    assert 0.35 <= (nrm["age_group"] == "child").mean() <= 0.47
    assert 0.70 <= (nrm["gender"] == "male").mean() <= 0.82
    first = nrm.groupby("age_group")["exploitation_type"].agg(lambda s: s.value_counts().index[0])
    assert first["child"] == "criminal" and first["adult"] == "labour"
    assert (nrm["exploitation_type"].str.contains(";")).any()  # multi-valued referrals exist
    assert nrm["first_responder"].nunique() == 6


def test_mandevilla_under_18_matches_child_age_group(stored):
    flags = stored["mandevilla"]
    under_18 = flags["indicators"].str.contains("under_18")
    assert (under_18 == (flags["age_group"] == "child")).all()
    assert flags["indicators"].notna().all() and flags["indicators"].str.contains(";").any()
    assert 0.2 < flags["referred_to_police"].mean() < 0.8


def test_rosewood_episodes_repeat_end_in_order_and_cluster(stored):
    episodes = stored["rosewood"]
    per_person = episodes["person_ref"].value_counts()
    assert (per_person >= 2).sum() > 50 and per_person.max() <= 6
    assert episodes["person_ref"].str.fullmatch(PSEUDONYM_PATTERN).all()
    found = episodes.dropna(subset=["found_at"])
    assert (found["found_at"] >= found["reported_missing_at"]).all()
    missing = episodes["found_at"].isna()
    assert 0.005 < missing.mean() < 0.10
    recent = episodes["reported_missing_at"] >= pd.Timestamp(END) - pd.Timedelta(days=14)
    assert missing[recent].mean() > 3 * missing[~recent].mean()
    # A person's earlier episode ended before the next one began.
    ordered = episodes.sort_values(["person_ref", "reported_missing_at"])
    nxt = ordered.groupby("person_ref")["reported_missing_at"].shift(-1)
    has_next = nxt.notna()
    assert (ordered.loc[has_next, "found_at"] <= nxt[has_next]).all()
    # Accommodation concentrates episodes in far fewer LSOAs than population-weighted referrals.
    assert episodes["lsoa_code"].nunique() < 0.4 * stored["nrm"]["lsoa_code"].nunique()


def test_some_records_have_only_an_lsoa_and_partners_forms_are_mixed(stored):
    # Rosewood episodes at a site the partner gives only by area are given by area too
    # (data.synthetic_sites), so that feed has more rows without a point.
    upper = {"nrm": 0.13, "mandevilla": 0.13, "rosewood": 0.30}
    for feed, rows in stored.items():
        assert 0.03 <= (~rows["has_point"]).mean() <= upper[feed], feed
    frames = synthetic.generate(years=1, seed=2, end=END)
    assert frames["nrm"]["easting"].notna().mean() > 0.05
    assert frames["nrm"]["longitude"].notna().mean() > 0.6


def test_planted_hotspots_stand_out_after_their_start_month(stored, truth):
    slack = truth["geomask_m"] * 0.71  # stored points are cell centres
    months = pd.period_range(truth["start"], truth["end"], freq="M")
    for feed, spots in truth["hotspots"].items():
        points = stored[feed].dropna(subset=["easting"])
        month = points["event_date"].dt.to_period("M")
        for spot in spots:
            near = np.hypot(points["easting"].astype(float) - spot["easting"],
                            points["northing"].astype(float) - spot["northing"]) \
                <= spot["radius_m"] + slack
            start = pd.Period(spot["start_month"], "M")
            n_before, n_after = (months < start).sum(), (months >= start).sum()
            before = (near & (month < start)).sum() / n_before
            after = (near & (month >= start)).sum() / n_after
            assert after > 3 * max(before, 0.1), (spot["id"], before, after)
            excess = after - before
            assert 0.5 * spot["intensity_per_month"] < excess < 1.6 * spot["intensity_per_month"]


def test_truth_file_matches_the_constants_and_the_store(default_build, truth, stored):
    _, result = default_build
    assert (truth["seed"], truth["years"], truth["end"], truth["scale"]) == (1, 5, END, 1.0)
    assert truth["start"] == "2021-01-01" and truth["format"] == synthetic.TRUTH_FORMAT
    assert truth["records"] == {f: len(rows) for f, rows in stored.items()} == result["records"]
    months = pd.period_range(truth["start"], truth["end"], freq="M")
    for feed, specs in synthetic.HOTSPOTS.items():
        spots = truth["hotspots"][feed]
        assert len(spots) == len(specs)
        assert len({s["district_code"] for s in spots}) == len(spots)
        for spot, spec in zip(spots, specs):
            assert spot["radius_m"] == spec.radius_m
            assert spot["intensity_per_month"] == spec.per_month
            assert spot["start_month"] == str(months[round(spec.start_fraction * len(months))])
            assert spot["events"] > 0
            e, n = lonlat_to_bng([spot["longitude"]], [spot["latitude"]])
            assert abs(e[0] - spot["easting"]) < 1 and abs(n[0] - spot["northing"]) < 1
            codes, _ = lsoa_of_points([spot["easting"]], [spot["northing"]])
            assert codes[0] == spot["lsoa_code"]
            assert DISTRICT_CODES[spot["district_code"]] == spot["district_name"]


def test_batches_are_labelled_synthetic(default_build):
    store, _ = default_build
    assert store.sources() == {"synthetic"} and store.is_synthetic_only()
    assert {b["feed"] for b in store.batches()} == set(synthetic.FEEDS)


def test_events_sets_the_total_across_feeds_and_chunks_keep_ids_unique(tmp_path, monkeypatch):
    monkeypatch.setattr(synthetic, "CHUNK_ROWS", 700)
    result = synthetic.build_store(tmp_path / "s", years=2, seed=3, end=END, events=3000)
    store = ParquetStore(tmp_path / "s")
    rows = {feed: store.query(feed) for feed in synthetic.FEEDS}
    assert sum(len(r) for r in rows.values()) == 3000 == sum(result["records"].values())
    assert all(r["record_id"].is_unique for r in rows.values())
    assert len([b for b in store.batches() if b["feed"] == "nrm"]) == -(-len(rows["nrm"]) // 700)
    truth = json.loads((tmp_path / "s" / synthetic.TRUTH_FILE).read_text())
    assert truth["events_requested"] == 3000 and truth["scale"] > 1
    assert truth["hotspots"]["nrm"][0]["intensity_per_month"] == pytest.approx(
        synthetic.HOTSPOTS["nrm"][0].per_month * truth["scale"], rel=1e-4)


def test_dates_are_never_in_the_future_and_end_defaults_to_last_month():
    assert synthetic.default_end("2026-11-25") == pd.Timestamp("2026-10-31")
    assert synthetic.default_end("2026-03-01") == pd.Timestamp("2026-02-28")
    with pytest.raises(ValueError, match="not in the past"):
        synthetic.generate(years=1, end=pd.Timestamp(clock.local_now()) + pd.Timedelta(days=3))
    frames = synthetic.generate(years=1, seed=4)
    last = synthetic.default_end()
    for feed, frame in frames.items():
        assert pd.to_datetime(frame[DATE[feed]]).max() <= last + pd.Timedelta(days=1)
        assert pd.to_datetime(frame[DATE[feed]]).min() >= last - pd.DateOffset(years=1)
    found = pd.to_datetime(frames["rosewood"]["found_at"].replace("", None))
    assert found.max() < last + pd.Timedelta(days=1)


def test_a_store_with_other_data_is_refused_and_a_repeat_build_adds_nothing(tmp_path,
                                                                           valid_file):
    ingest_file(valid_file("nrm"), "nrm", store=tmp_path / "real")
    with pytest.raises(StoreError, match="already holds other data"):
        synthetic.build_store(tmp_path / "real", years=1, seed=1, end=END)
    first = synthetic.build_store(tmp_path / "s", years=1, seed=1, end=END)
    again = synthetic.build_store(tmp_path / "s", years=1, seed=1, end=END)
    assert sum(first["added"].values()) > 0 and sum(again["added"].values()) == 0
    with pytest.raises(StoreError):
        synthetic.build_store(tmp_path / "s", years=1, seed=2, end=END)


def test_the_cli_builds_a_store(tmp_path):
    done = subprocess.run([sys.executable, "-m", "data.synthetic", "--store", str(tmp_path / "s"),
                           "--years", "1", "--seed", "5"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ground truth in" in done.stdout
    store = ParquetStore(tmp_path / "s")
    assert all(len(store.query(feed)) > 0 for feed in synthetic.FEEDS)
    assert (tmp_path / "s" / synthetic.TRUTH_FILE).exists()
    bad = subprocess.run([sys.executable, "-m", "data.synthetic", "--store", str(tmp_path / "t"),
                          "--end", "2999-01-01"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "not in the past" in bad.stderr
