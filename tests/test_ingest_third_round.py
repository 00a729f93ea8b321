"""Issue 14 item 6, third round: each new shortcut gives exactly what the path it replaces gave.

* float text for the content hash (``data.content_hash.float_text``: Arrow's cast where it
  writes Python's text) against ``astype("string")``, on the coordinates the generator makes
  and on random doubles of every magnitude;
* the content hash's hex digits made as Arrow text against ``"{:016x}".format``;
* the store's Arrow sort (``storage.parquet.sorted_table``) against ``sort_values`` then
  ``from_pandas``, ties and missing dates included, and the stored file read back the same;
* identifier patterns matched on ids cell by cell against matching their distinct values;
* dates read in the UK form only when some cell is not ISO, against reading both always;
* the CSV header split at commas when its line is plain (``data.readers._plain_header``)
  against ``csv.reader``, and every file of the bad-input corpus read the same both ways.
"""
from __future__ import annotations

import csv
import dataclasses
import io
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from core.errors import DashboardError
from core.schema import feed_fields
from data import content_hash as content_hash_module
from data import identifiers, parse, readers
from data.content_hash import float_text, text_hashes
from data.synthetic import generate
from storage.base import stored_schema
from storage.parquet import ParquetStore, sorted_table

EDGE_FLOATS = [0.0, -0.0, 1.0, 53.0, -2.0, 0.5, 1e-4, 9.99e-5, 1e-5, 1e-7, 0.1 + 0.2,
               1e15, 1e15 + 0.5, 1e16, 1e16 - 2.0, 9999999999999998.0, 16393574076.896772,
               123456.789, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
               np.inf, -np.inf, np.nextafter(1e-4, 0), np.nextafter(1e16, 0)]


def _old_text(values: np.ndarray) -> np.ndarray:
    """The text ``text_hashes`` gave each distinct float before (``astype("string")``)."""
    return pd.Series(values).astype("string").to_numpy(dtype=object)


def test_float_text_is_astype_string_on_every_generated_coordinate():
    feeds = generate(seed=3, events=20_000)
    for feed, frame in feeds.items():
        for column in ("longitude", "latitude", "easting", "northing"):
            values = pd.to_numeric(frame[column], errors="coerce").dropna().to_numpy(float)
            for scaled in (values, np.round(values, 6), values / 7):
                np.testing.assert_array_equal(float_text(scaled), _old_text(scaled),
                                              err_msg=f"{feed}.{column}")


def test_float_text_is_astype_string_on_random_doubles_of_every_magnitude():
    rng = np.random.default_rng(14)
    bits = rng.integers(0, 2**64 - 1, 200_000, dtype=np.uint64, endpoint=True)
    values = np.concatenate([
        bits.view(np.float64),                              # every exponent, both signs
        10.0 ** rng.uniform(-9, 21, 100_000) * rng.choice([-1, 1], 100_000),
        np.round(rng.uniform(-1e6, 1e6, 100_000), rng.integers(0, 9)),
        np.array(EDGE_FLOATS), -np.array(EDGE_FLOATS),
    ])
    values = values[~np.isnan(values)]  # the distinct values text_hashes sees have no NaN
    np.testing.assert_array_equal(float_text(values), _old_text(values))


def test_text_hashes_of_a_float_column_are_the_hashes_of_its_old_text():
    rng = np.random.default_rng(5)
    column = pd.Series(np.where(rng.random(5_000) > 0.2, np.round(rng.uniform(-2.3, -1.1, 5_000),
                                                                   6), np.nan), name="longitude")
    # Not -0.0: factorize counts it as 0.0, so text_hashes gave it 0.0's hash before too
    # (never a stored value: coordinates are West Yorkshire cell centres).
    column[:len(EDGE_FLOATS) - 1] = [x for x in EDGE_FLOATS if str(x) != "-0.0"]
    old = pd.util.hash_array(column.astype("string").fillna("\x00").to_numpy(dtype=object),
                             categorize=False)
    np.testing.assert_array_equal(text_hashes(column), old)


def test_hex_digits_as_arrow_text_are_the_formatted_numbers():
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.integers(0, 2**64 - 1, 1_000, dtype=np.uint64, endpoint=True),
                             np.array([0, 1, 255, 2**63, 2**64 - 1], dtype=np.uint64)])
    hexed = content_hash_module._hex16(values)
    assert hexed.to_pylist() == [f"{v:016x}" for v in values.tolist()]
    assert len(content_hash_module._hex16(values[:0])) == 0
    series = content_hash_module.content_hash_of({"a": values}, pd.RangeIndex(3, 3 + len(values)))
    assert series.dtype == "string" and series.index[0] == 3


def _records(feed: str, rows: int, seed: int) -> pd.DataFrame:
    """Stored-shape rows for ``feed`` with many equal dates (ties) and a few missing."""
    rng = np.random.default_rng(seed)
    schema = stored_schema(feed)
    frame = schema.empty_table().to_pandas()
    frame = frame.reindex(range(rows))
    frame["record_id"] = pd.array([f"R-{i}" for i in range(rows)], dtype="string")
    frame["event_date"] = pd.to_datetime(rng.integers(0, 30, rows), unit="D",
                                         origin="2024-01-01").astype("datetime64[us]")
    frame.loc[frame.index[::97], "event_date"] = pd.NaT
    frame["content_hash"] = pd.array([f"{i:016x}" for i in range(rows)], dtype="string")
    frame["has_point"] = rng.random(rows) > 0.5
    frame["geomask_m"] = np.int16(100)
    frame.index = frame.index * 3 + 11  # a filtered frame keeps its own index
    return frame


@pytest.mark.parametrize("feed", ["nrm", "rosewood", "mandevilla"])
def test_the_arrow_sort_stores_the_rows_sort_values_stored(feed):
    schema = stored_schema(feed)
    for frame in (_records(feed, 3_000, 1), _records(feed, 3_000, 1).iloc[::-2],
                  _records(feed, 0, 1)):
        expected = pa.Table.from_pandas(frame.sort_values("event_date"), schema=schema,
                                        preserve_index=False)
        assert sorted_table(frame, schema).equals(expected)


def test_a_written_batch_reads_back_as_the_sorted_frame(tmp_path):
    frame = _records("nrm", 2_000, 4)
    store = ParquetStore(tmp_path / "s")
    store.append("nrm", frame, source="synthetic", file_name="x.csv")
    (batch,) = store.batches()
    stored = pq.read_table(store.root / batch["file"])
    expected = pa.Table.from_pandas(frame.sort_values("event_date"), schema=stored_schema("nrm"),
                                    preserve_index=False)
    assert stored.equals(expected)


CORPUS = Path(__file__).resolve().parent / "bad_inputs"
HEADER_TEXTS = ["a,b\n1,2\n", "a,b\r\n1,2\r\n", "a,b", ",\n1,2\n", "a, b ,\n1,2,3\n",
                "\ufeffa,b\n1,2\n", "a,b\r1,2\r", "a,,b\n1,2,3\n", 'a,"b"\n1,2\n',
                '"a\nb",c\n1,2\n', "a\n1\n", "a;b;c\n1;2;3\n", "\n", "a,b\rc\n1,2\n"]


def _read_both_ways(path: Path, monkeypatch):
    """``read_partner_file`` with the plain-header shortcut and without it: (result or the
    error's text) each way."""
    outcomes = []
    for shortcut in (True, False):
        if not shortcut:
            monkeypatch.setattr(readers, "_plain_header", lambda text: None)
        try:
            headers, frame = readers.read_partner_file(path)
            outcomes.append((headers, list(frame.columns), [str(t) for t in frame.dtypes],
                             frame.astype(object).to_numpy().tolist()))
        except DashboardError as exc:
            outcomes.append(str(exc))
    monkeypatch.undo()
    return outcomes


@pytest.mark.parametrize("text", HEADER_TEXTS)
def test_the_plain_header_is_what_the_csv_reader_reads(text, tmp_path, monkeypatch):
    got = readers._plain_header(text)
    if got is not None:
        assert got == next(csv.reader(io.StringIO(text, newline="")))
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode("utf-8"))
    fast, slow = _read_both_ways(path, monkeypatch)
    assert fast == slow


def test_every_corpus_file_reads_the_same_with_the_plain_header_shortcut(monkeypatch):
    compared = 0
    for path in sorted(CORPUS.iterdir()):
        if path.suffix == ".yaml":
            continue
        fast, slow = _read_both_ways(path, monkeypatch)
        assert fast == slow, path.name
        compared += 1
    assert compared >= 50


def test_ids_matched_cell_by_cell_find_what_matching_distinct_values_finds(monkeypatch):
    frame = generate(seed=6, events=6_000)["nrm"].astype("string").fillna("")
    frame[readers.ROW_COLUMN] = np.arange(2, len(frame) + 2)
    planted = ["NHS-485-777-3456", "07700 900123", "ref-9434765919", "someone@example.org",
               "QQ123456C", "WF1 2AB", "07700 900123", "NRM-1", ""]  # repeats and plain ids too
    frame.loc[frame.index[3:3 + len(planted)], "record_id"] = planted
    frame.loc[frame.index[40], "gender"] = "07700 900123"
    columns = {"record_id": "id", "gender": "text", "age_group": "text"}
    cell_by_cell = identifiers.find_identifiers(frame, columns)
    monkeypatch.setattr(identifiers, "DISTINCT_COLUMNS", set())
    assert cell_by_cell == identifiers.find_identifiers(frame, columns)
    assert {p.row for p in cell_by_cell} >= {5, 6, 7, 8, 9, 10, 11, 42}
    assert all("07700 900123" not in str(p) for p in cell_by_cell)  # values masked as before


def _reference_distinct_dates(text: pd.Series, field):
    """``data.parse._parse_distinct_dates`` as it was: the UK pattern read on every cell."""
    cells = pa.array(text.array, type=pa.string())
    ascii_only = bool(pc.all(pc.string_is_ascii(cells)).as_py() is not False)
    parts = parse._extract(text, cells, parse._ISO, ascii_only)
    uk = parse._extract(text, cells, parse._UK, ascii_only)
    use_uk = parts["y"].isna() & uk["y"].notna()
    parts.loc[use_uk, ["y", "m", "d", "H", "M", "S"]] = uk.loc[use_uk, ["y", "m", "d", "H", "M",
                                                                        "S"]]
    matched = parts["y"].notna()
    numbers = parts[["y", "m", "d", "H", "M", "S"]].apply(
        parse._ascii_digits if ascii_only else partial(pd.to_numeric, errors="coerce")
    ).astype(float)
    numbers[["H", "M", "S"]] = numbers[["H", "M", "S"]].fillna(0)
    stamps = pd.to_datetime(
        numbers.rename(columns={"y": "year", "m": "month", "d": "day", "H": "hour", "M": "minute",
                                "S": "second"}).where(matched), errors="coerce")
    stamps = parse._apply_offsets(stamps, parts["tz"])
    if field.kind == "date":
        stamps = stamps.dt.normalize()
    return stamps, use_uk.to_numpy(), numbers["m"].to_numpy()


DATE_CELLS = {
    "all ISO": ["2024-03-01", "2024-03-01T14:05", "2023-12-31 23:59:59", "2024-02-30",
                "2024-03-01T10:00+01:00", "2024-06-01T10:00Z"],
    "ISO and UK": ["2024-03-01", "01/03/2024", "1/3/2024 9:05", "13/13/2024", "2024-13-01"],
    "all UK": ["31/03/2024 14:05", "29/02/2023", "01/12/2024"],
    "neither": ["45000", "1/3/24", "yesterday", "", "２０２４-03-01"],
}


@pytest.mark.parametrize("case", list(DATE_CELLS))
@pytest.mark.parametrize("kind", ["date", "datetime"])
def test_dates_read_the_uk_form_only_where_iso_fails_as_before(case, kind):
    field = next(f for f in feed_fields("rosewood") if f.kind == "datetime")
    field = dataclasses.replace(field, kind=kind)
    generated = generate(seed=2, events=3_000)["rosewood"]["reported_missing_at"]
    for cells in (DATE_CELLS[case], DATE_CELLS[case] + list(generated.astype(str)[:500])):
        text = pd.Series(cells, dtype="string")
        got, want = parse._parse_distinct_dates(text, field), \
            _reference_distinct_dates(text, field)
        pd.testing.assert_series_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[2], want[2])
