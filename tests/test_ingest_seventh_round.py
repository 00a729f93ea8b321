"""Issue 14 item 6, seventh round: the 1,000,000-event ingest; each shortcut against the path it
replaces.

* the exact point-in-LSOA query asked once per distinct point (``data.location``): the same
  locations and the same problems, row by row and in the same order, as asking every point
  (the reference of ``tests/test_ingest_location_grid``), with repeated points inside, near an
  edge and outside West Yorkshire, with and without the grid table;
* date-time text for the content hash built from the digits (``data.content_hash``): the same
  text, and so the same hash, as pandas' ``astype("string")``, on midnights, minutes, seconds,
  leap days and the ends of the years it handles; fractions of a second and years outside
  1000-9999 take pandas' way.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import DashboardError, FileFormatError, Problem
from data import content_hash as content_hash_module
from data import location, readers
from data.content_hash import datetime_text, text_hashes
from tests.corpus import CORPUS
from tests.test_ingest_location_grid import _reference_resolve_locations, _text_frame


def _repeated_places_frame(rows: int, seed: int) -> pd.DataFrame:
    """A feed's text cells whose rows share a few places: inside the county, on LSOA edges (so
    the grid table cannot answer) and outside it, some as lon/lat, some as easting/northing."""
    from data.synthetic import generate

    frame = _text_frame(generate(seed=seed, events=rows)["nrm"])
    rng = np.random.default_rng(seed)
    places = [("-1.549", "53.7997", "", ""), ("-1.5491", "53.8008", "", ""),
              ("-2.2426", "53.4808", "", ""), ("", "", "430000", "433000"),
              ("", "", "500000", "300000"), ("-1.75", "53.79", "", "")]
    edges = location.lsoa_grid().table == location.NO_LSOA  # cells the table leaves open
    grid = location.lsoa_grid()
    rows_, columns = np.nonzero(edges)
    pick = rng.choice(len(rows_), 4, replace=False)
    for r, c in zip(rows_[pick], columns[pick]):
        places.append(("", "", f"{grid.x0 + (c + 0.5) * grid.cell_m:.1f}",
                       f"{grid.y0 + (r + 0.5) * grid.cell_m:.1f}"))
    chosen = rng.integers(0, len(places), len(frame))
    repeated = rng.random(len(frame)) < 0.7  # the rest keep their own generated place
    columns_ = ["longitude", "latitude", "easting", "northing"]
    for i in np.flatnonzero(repeated):
        frame.loc[i, columns_] = places[chosen[i]]
    return frame


@pytest.mark.parametrize("min_points", [0, 10**12], ids=["grid", "exact-only"])
def test_distinct_points_give_every_row_what_asking_each_point_gives(monkeypatch, min_points):
    monkeypatch.setattr(location, "MIN_POINTS", min_points)
    frame = _repeated_places_frame(4_000, seed=11)
    got, got_problems = location.resolve_locations(frame, 100)
    want, want_problems = _reference_resolve_locations(frame, 100)
    pd.testing.assert_frame_equal(got, want)
    assert got_problems == want_problems
    outside = [p for p in got_problems if "outside West Yorkshire" in p.reason]
    assert len(outside) > 100  # the repeated outside places are reported on every row


def test_distinct_points_keep_each_coordinate_exactly():
    easting = np.array([430000.1, 430000.1, 1e9, -0.0, 0.0, 430000.1, np.inf])
    northing = np.array([433000.0, 433000.5, 2e9, 5.0, 5.0, 433000.0, 1.0])
    points, inverse = location.distinct_points(easting, northing)
    assert len(points) == 5
    np.testing.assert_array_equal(points.real[inverse], easting)
    np.testing.assert_array_equal(points.imag[inverse], northing)


def _pandas_text(values) -> list[str]:
    return pd.Series(values).astype("string").tolist()


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
@pytest.mark.parametrize("case", ["midnights", "minutes", "seconds", "mixed", "edges"])
def test_datetime_text_is_what_pandas_writes(unit, case):
    rng = np.random.default_rng(3)
    start = np.datetime64("2019-12-31T00:00:00", "s")
    if case == "midnights":
        values = start + rng.integers(0, 3_000, 500) * np.timedelta64(1, "D")
    elif case == "minutes":
        values = start + rng.integers(0, 5_000_000, 500) * np.timedelta64(1, "m")
    elif case == "seconds":
        values = start + rng.integers(0, 10**9, 500) * np.timedelta64(1, "s")
    elif case == "mixed":  # mostly midnights, one time of day: every value gets its time
        values = start + rng.integers(0, 3_000, 500) * np.timedelta64(1, "D")
        values[17] += np.timedelta64(1, "s")
    else:  # leap days, year ends, the first and last days written here
        values = np.array(["2024-02-29T23:59:59", "2023-12-31T00:00:01", "2000-02-29T12:00:00",
                           "1900-03-01T00:00:00", "1970-01-01T00:00:00", "1969-12-31T23:59:59",
                           "1678-01-01T00:00:00", "2261-12-31T23:59:59"], dtype="datetime64[s]")
    index = pd.DatetimeIndex(np.unique(values).astype(f"datetime64[{unit}]"))
    made = datetime_text(index)
    assert made is not None
    assert [b.decode() for b in made] == _pandas_text(index)


@pytest.mark.parametrize("values", [
    pd.DatetimeIndex(["2024-01-01 00:00:00.5", "2024-01-02"]),        # a fraction of a second
    pd.DatetimeIndex(["2024-01-01", "2024-01-02"]).as_unit("us") + pd.Timedelta(1, "us"),
    pd.DatetimeIndex(np.array(["0999-12-31", "2024-01-01"], dtype="datetime64[us]")),
    pd.DatetimeIndex(["2024-01-01", "2024-01-02"]).tz_localize("Europe/London"),
    pd.DatetimeIndex([]),
])
def test_datetime_text_declines_what_it_does_not_write(values):
    assert datetime_text(values) is None


def test_text_hashes_of_date_times_are_the_hashes_of_pandas_text(monkeypatch):
    rng = np.random.default_rng(5)
    stamps = pd.Series(np.datetime64("2021-12-01T00:00", "m")
                       + rng.integers(0, 2_000_000, 3_000) * np.timedelta64(1, "m"))
    stamps = stamps.astype("datetime64[us]").where(rng.random(3_000) > 0.1)  # some missing
    for column in (stamps, stamps.dt.floor("D"), stamps.iloc[:0]):
        fast = text_hashes(column)
        monkeypatch.setattr(content_hash_module, "datetime_text", lambda _values: None)
        slow = text_hashes(column)
        monkeypatch.undo()
        want = pd.util.hash_array(column.astype("string").fillna("\x00").to_numpy(dtype=object),
                                  categorize=False)
        np.testing.assert_array_equal(fast, want)
        np.testing.assert_array_equal(slow, want)


def _read_csv_as_before(path):
    """``data.readers._read_csv`` before this round: the whole file decoded first, always."""
    import csv
    import io

    raw = path.read_bytes()
    readers._refuse_binary(path, raw)
    text = readers._decode(path, raw)
    if readers._HTML_START.match(text[:1024]):
        raise FileFormatError(path, [Problem(None, None, None,
                              "the file is a web page (HTML), not CSV: a page saved from a "
                              "browser, or a system's 'Excel' export that is really HTML. Open it "
                              "in Excel and save it as 'CSV UTF-8'")])
    csv.field_size_limit(1_000_000)
    headers = readers._plain_header(text)
    if headers is not None:
        body = readers._fast_csv_body(raw, headers)
        if body is not None:
            return readers._drop_blank_columns(headers, body)
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = next(rows)
    except StopIteration:
        raise FileFormatError(path, [Problem(None, None, None, "the file has no header row")])
    except csv.Error as exc:
        raise FileFormatError(path, [Problem(1, None, None, f"the header cannot be parsed: {exc}")])
    readers._check_delimiter(path, headers)
    body = readers._fast_csv_body(raw, headers) if rows.line_num == 1 else None
    if body is None:
        body = readers._csv_body(path, rows, headers)
    return readers._drop_blank_columns(headers, body)


def _outcome(read, path):
    try:
        headers, frame = read(path)
    except DashboardError as exc:
        return type(exc).__name__, str(exc)
    return headers, list(frame.columns), frame.astype(object).to_numpy().tolist()


def _crafted_files(folder):
    header = "record_id,referral_date,exploitation_type,age_group,gender,first_responder," \
             "longitude,latitude"
    row = "NRM-1,2024-03-01,labour,adult,male,police,-1.5491,53.8008"
    accented = row.replace("police", "polic\u00e9")
    wide = header + "," + ",".join(f"extra_{i:04d}" for i in range(120))  # a 1.5 kB header
    bodies = {
        "plain": f"{header}\n{row}\n",
        "header_only_no_newline": header,
        "row_no_final_newline": f"{header}\n{row}",
        "wide_header": f"{wide}\n{row}{',' * 120}\n",
        "crlf": f"{header}\r\n{row}\r\n",
        "quoted_header": f'"record_id",referral_date\n{row}\n',
        "html": "<!DOCTYPE html><html><body><table><tr><td>1</td></tr></table></body></html>\n",
        "semicolons": "record_id;referral_date;age_group\nNRM-1;2024-03-01;adult\n",
        "bom": f"\ufeff{header}\n{row}\n",
        "accent": f"{header}\n{accented}\n",
    }
    for name, text in bodies.items():
        path = folder / f"{name}.csv"
        path.write_bytes(text.encode("utf-8"))
        yield path
    cp1252 = folder / "cp1252.csv"
    cp1252.write_bytes(f"{header}\n{accented}\n".encode("cp1252"))
    yield cp1252


def test_reading_without_decoding_ascii_gives_what_decoding_gave(tmp_path):
    paths = sorted(CORPUS.glob("*.csv")) + list(_crafted_files(tmp_path))
    for path in paths:
        assert _outcome(readers._read_csv, path) == _outcome(_read_csv_as_before, path), path.name
    assert len(paths) > 60


def _number_as_before(frame, column, rows, problems):
    """``data.location._number`` before this round: every column cleaned first."""
    text = location.clean_text(frame[column])
    values = location._plain_decimals(text)
    if values is None:
        values = pd.to_numeric(text.replace("", pd.NA), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan)
    bad = (text != "").to_numpy() & np.isnan(values)
    for row in rows[bad]:
        problems.append(Problem(int(row), column, None, "is not a number (give decimal degrees or "
                                "metres, without N/S/E/W, degree signs or spaces)"))
    return values, bad


@pytest.mark.parametrize("cells", [
    ["-1.549", "53.8", "", "430512", "0", "-0.0"],
    ["-1.549", " 53.8", "", "430512"],                 # a space: cleaned first
    ["-1.549", "53.8\u00a0", "1e5", "nan", "inf"],     # not plain: judged cell by cell
    ["-1.549", "N53.8", "", "--1", "1.", ".5"],
    ["", "", ""],
])
@pytest.mark.parametrize("dtype", ["string", object])
def test_plain_decimal_cells_are_read_as_the_cleaned_cells_were(cells, dtype):
    frame = pd.DataFrame({"longitude": pd.array(cells, dtype=dtype)})
    rows = np.arange(2, len(cells) + 2)
    got_problems, want_problems = [], []
    got = location._number(frame, "longitude", rows, got_problems)
    want = _number_as_before(frame, "longitude", rows, want_problems)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got_problems == want_problems


def _normalise_as_before(codes: pd.Series):
    """``geo.areas.normalise_lsoa_codes`` before this round (pandas' ``isin`` of a set)."""
    from geo.areas import load_boundaries, lsoa_2011_to_2021

    codes = codes.astype("string").str.upper().str.strip()
    current = set(load_boundaries("lsoa")["code"])
    known = codes.isin(current)
    older = {} if known.all() else lsoa_2011_to_2021()
    mapped = codes.where(known, codes.map(older))
    return mapped, mapped.notna() & mapped.isin(current)


@pytest.mark.parametrize("with_2011", [False, True])
def test_lsoa_codes_are_judged_as_before(with_2011):
    from geo.areas import load_boundaries, lsoa_2011_to_2021, normalise_lsoa_codes

    current = list(load_boundaries("lsoa")["code"][:50])
    cells = current + [c.lower() for c in current[:10]] + [f" {c}\u00a0" for c in current[:5]] + \
        [None, "", "E01999999", "W01000001", "junk"]
    if with_2011:
        cells += list(lsoa_2011_to_2021())[:20]
    else:
        cells = [c for c in cells if c is None or c == "" or c.strip().upper() in current]
    codes = pd.Series(cells, dtype="string", index=np.arange(100, 100 + len(cells)))
    got, want = normalise_lsoa_codes(codes), _normalise_as_before(codes)
    pd.testing.assert_series_equal(got[0], want[0])
    pd.testing.assert_series_equal(got[1], want[1])
