"""Issue 14 item 6: the fast ingest paths give exactly what the plain ones give.

Each shortcut (Arrow CSV parse, validation on distinct values, one spatial query, plain-decimal
cast, content hash per distinct value) is compared with the slower way it replaces, on inputs
chosen to hit its edges; where the shortcut declines, the slow way must still be taken.
"""
from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from core.schema import feed_schema
from data import readers, validation
from data.ingest import _parse, content_hash, ingest_file
from data.location import _plain_decimals
from geo.areas import containing_lsoa, lsoas_bng
from storage.parquet import ParquetStore
from tests.conftest import VALID_ROWS, write_csv

HEADER = "record_id,referral_date,exploitation_type,age_group,gender,first_responder,longitude,latitude"
BODIES = {
    "plain": "NRM-1,2024-03-01,labour,adult,male,police,-1.5491,53.8008\n"
             "NRM-2,01/03/2024,sexual;labour,child,female,ngo,-1.75,53.79\n",
    "crlf_bom": "\ufeff" + HEADER + "\r\nNRM-1,2024-03-01,labour,adult,male,police,-1.5,53.8\r\n",
    "quoted": 'NRM-1,"2024-03-01","labour, sexual",adult,"ma""le",police,-1.5,53.8\n',
    "escaped": "NRM-1,2024-03-01,labour,adult,male,police,'-1.5491,53.8008\n"
               "'=NRM-2,2024-03-01,labour,adult,'male,police,-1.5,53.8\n",
    "blank_lines": "NRM-1,2024-03-01,labour,adult,male,police,-1.5,53.8\n\n"
                   "NRM-2,2024-03-01,labour,adult,male,police,-1.5,53.8\n\n",
    "quoted_newline": 'NRM-1,2024-03-01,"lab\nour",adult,male,police,-1.5,53.8\n',
    "no_final_newline": "NRM-1,2024-03-01,labour,adult,male,police,-1.5,53.8",
    "lone_cr": "NRM-1,2024-03-01,labour,adult,male,police,-1.5,53.8\r"
               "NRM-2,2024-03-01,labour,adult,male,police,-1.5,53.8\r",
}
TAKES_FAST_PATH = {"plain", "crlf_bom", "quoted", "escaped", "no_final_newline"}


def _write(tmp_path, name, body) -> object:
    text = body if body.startswith("\ufeff") else HEADER + "\n" + body
    path = tmp_path / f"{name}.csv"
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize("name", list(BODIES))
def test_the_arrow_csv_reader_gives_the_row_by_row_readers_cells_and_rows(tmp_path, name,
                                                                       monkeypatch):
    path = _write(tmp_path, name, BODIES[name])
    taken = []
    real_fast = readers._fast_csv_body
    monkeypatch.setattr(readers, "_fast_csv_body",
                        lambda raw, headers: taken.append(real_fast(raw, headers)) or taken[-1])
    headers, fast = readers.read_partner_file(path)
    assert (taken[0] is not None) == (name in TAKES_FAST_PATH)
    monkeypatch.setattr(readers, "_fast_csv_body", lambda raw, headers: None)
    slow_headers, slow = readers.read_partner_file(path)
    assert headers == slow_headers
    assert fast.astype(object).to_dict("list") == slow.astype(object).to_dict("list")


def test_a_malformed_row_is_still_reported_with_its_row_number(tmp_path):
    path = _write(tmp_path, "bad", BODIES["plain"] + "NRM-3,2024-03-01,labour\n")
    with pytest.raises(Exception, match="row 4: has 3 fields but the header has 8"):
        readers.read_partner_file(path)


def _reference_hash(records: pd.DataFrame) -> pd.Series:
    """content_hash as first defined: kept here to prove stored hashes never change."""
    columns = sorted(c for c in records.columns if c != "content_hash")
    canonical = records[columns].astype("string").fillna("\x00")
    return pd.util.hash_pandas_object(canonical, index=False).map("{:016x}".format).astype("string")


def test_content_hash_is_unchanged_from_its_first_definition():
    rng = np.random.default_rng(7)
    n = 2_000
    records = pd.DataFrame({
        "record_id": pd.array([f"R-{i}" for i in range(n)], dtype="string"),
        "day": pd.to_datetime(rng.integers(0, 40, n), unit="D", origin="2024-01-01"),
        "minute": pd.to_datetime(rng.integers(0, 5_000, n), unit="m", origin="2024-01-01"),
        "midnight_or_missing": pd.Series(pd.to_datetime(rng.integers(0, 3, n), unit="D",
                                                        origin="2024-01-01")).where(
            rng.random(n) > 0.3),
        "category": pd.array(rng.choice(["a", "b", None], n), dtype="string"),
        "easting": pd.array(rng.integers(0, 4, n) * 100 + 50, dtype="Int32"),
        "distinct_float": np.where(rng.random(n) > 0.2, np.round(rng.uniform(-2, -1, n), 6),
                                   np.nan),
        "flag": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
        "has_point": rng.random(n) > 0.5,
        "geomask_m": np.int16(100),
    })
    records.loc[records.index[:9], "easting"] = pd.NA
    sample = records.iloc[::3]  # a filtered frame keeps its own index
    for frame in (records, sample, records.iloc[:0]):
        pd.testing.assert_series_equal(content_hash(frame), _reference_hash(frame))


def _typed(rows, feed):
    frame = pd.DataFrame(rows).astype("string")
    frame["_row"] = range(2, len(frame) + 2)
    typed, _ = _parse(frame, feed)
    return frame, typed


@pytest.mark.parametrize("change", [
    {}, {"gender": "robot"}, {"record_id": "NRM 1"}, {"referral_date": "2031-01-01"},
    {"referral_date": "1999-12-31"}, {"exploitation_type": "labour;cooking"},
])
def test_validation_on_distinct_values_agrees_with_full_pandera(change, monkeypatch):
    rows = [dict(VALID_ROWS["nrm"][0], record_id=f"NRM-{i}") for i in range(40)]
    rows[7].update(change)
    raw, typed = _typed(rows, "nrm")
    quick = validation.validate(typed, raw, "nrm")
    assert validation.passes_on_distinct_values(typed, feed_schema("nrm")) == (not change)
    monkeypatch.setattr(validation, "passes_on_distinct_values", lambda *a: False)
    assert quick == validation.validate(typed, raw, "nrm")
    assert bool(quick) == bool(change)


def test_duplicates_and_found_before_missing_fail_the_quick_check():
    nrm = [dict(VALID_ROWS["nrm"][0]) for _ in range(2)]
    assert not validation.passes_on_distinct_values(_typed(nrm, "nrm")[1], feed_schema("nrm"))
    rose = [dict(VALID_ROWS["rosewood"][0], found_at="2024-04-30T10:00")]
    assert not validation.passes_on_distinct_values(_typed(rose, "rosewood")[1],
                                                    feed_schema("rosewood"))


def test_one_spatial_query_picks_the_lsoa_sjoin_picks():
    lsoas = lsoas_bng()
    rng = np.random.default_rng(3)
    west, south, east, north = lsoas.total_bounds
    points = gpd.GeoSeries(gpd.points_from_xy(rng.uniform(west, east, 5_000),
                                              rng.uniform(south, north, 5_000)), crs=lsoas.crs)
    # Points on shared edges and corners too: where generalised edges overlap, the first wins.
    corners = lsoas.geometry.iloc[:200].exterior.get_coordinates().to_numpy()
    points = pd.concat([points, gpd.GeoSeries(gpd.points_from_xy(*corners.T), crs=lsoas.crs)],
                       ignore_index=True)
    hit = gpd.sjoin(gpd.GeoDataFrame(geometry=points), lsoas, how="left", predicate="within")
    expected = hit[~hit.index.duplicated(keep="first")]["code"].astype("string")
    got = pd.Series(containing_lsoa(points.array, lsoas), dtype="string")
    pd.testing.assert_series_equal(got, expected.reset_index(drop=True), check_names=False)


@pytest.mark.parametrize("cells", [
    ["-1.5491", "", "53.8008", "430512", "0.1234567890123456789"],
    ["1e3", "-1.5"], ["+1.5"], [".5"], ["nan"], ["N53.8"], ["1,5"],
])
def test_plain_decimals_match_to_numeric_or_decline(cells):
    text = pd.Series(cells, dtype="string")
    expected = pd.to_numeric(text.replace("", pd.NA), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)
    got = _plain_decimals(text)
    if all(c == "" or re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", c) for c in cells):
        np.testing.assert_array_equal(got, expected)
    else:
        assert got is None


def test_a_file_ingested_through_the_fast_paths_stores_what_the_slow_paths_store(
        tmp_path, monkeypatch):
    rows = [dict(VALID_ROWS["nrm"][i % len(VALID_ROWS["nrm"])], record_id=f"NRM-{i}")
            for i in range(30)]
    path = write_csv(tmp_path / "f.csv", rows)
    fast = ParquetStore(tmp_path / "fast")
    ingest_file(path, "nrm", store=fast)
    monkeypatch.setattr(readers, "_fast_csv_body", lambda raw, headers: None)
    monkeypatch.setattr(validation, "passes_on_distinct_values", lambda *a: False)
    slow = ParquetStore(tmp_path / "slow")
    ingest_file(path, "nrm", store=slow)
    pd.testing.assert_frame_equal(fast.query("nrm").sort_values("record_id").reset_index(drop=True),
                                  slow.query("nrm").sort_values("record_id").reset_index(drop=True))
