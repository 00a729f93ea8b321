"""Ingestion: formats, geomasking, area codes, idempotency, replace, quarantine, CLI."""
import io
import re
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

import data.ingest as ingest_module
from core.errors import ConfigError, DuplicateRecordError, FileFormatError, SchemaError
from data.ingest import ingest_file
from geo.geomask import lonlat_to_bng
from tests.conftest import VALID_ROWS, store_snapshot, write_csv


@pytest.mark.parametrize("feed", ["nrm", "rosewood", "mandevilla"])
def test_a_valid_file_of_each_feed_is_stored(store, valid_file, feed):
    report = ingest_file(valid_file(feed), feed, store=store)
    assert report.added == len(VALID_ROWS[feed]) and report.rows_read == report.added
    stored = store.query(feed)
    assert sorted(stored["record_id"]) == sorted(r["record_id"] for r in VALID_ROWS[feed])
    assert stored["district_code"].notna().all() and stored["ward_code"].notna().all()
    assert store.batches()[0]["source"] == "real"


def test_values_are_parsed_into_canonical_form(store, valid_file):
    ingest_file(valid_file("nrm"), "nrm", store=store)
    rows = store.query("nrm").set_index("record_id")
    assert rows.loc["NRM-2", "referral_date"] == pd.Timestamp("2024-06-15")
    assert rows.loc["NRM-2", "exploitation_type"] == "criminal;sexual"
    assert rows.loc["NRM-2", "district_code"] == "E08000032"  # Bradford
    assert rows.loc["NRM-1", "district_code"] == "E08000035"  # Leeds


def test_points_are_snapped_to_cell_centres_and_raw_coordinates_never_stored(store, valid_file):
    ingest_file(valid_file("nrm"), "nrm", store=store)
    rows = store.query("nrm").set_index("record_id")
    raw_e, raw_n = lonlat_to_bng([-1.5491], [53.8008])
    e, n = rows.loc["NRM-1", ["easting", "northing"]]
    assert e % 100 == 50 and n % 100 == 50
    assert abs(e - raw_e[0]) <= 50 and abs(n - raw_n[0]) <= 50
    stored_bytes = b"".join(store_snapshot(store.root).values())
    for raw in (b"-1.5491", b"53.8008", b"-1.7594", b"53.796"):
        assert raw not in stored_bytes


def test_a_larger_geomask_cell_coarsens_further(store, valid_file):
    ingest_file(valid_file("nrm"), "nrm", store=store, geomask_m=500)
    rows = store.query("nrm").dropna(subset=["easting"])
    assert ((rows["easting"] % 500) == 250).all() and (rows["geomask_m"] == 500).all()


def test_a_geomask_below_50_m_is_refused(store, valid_file):
    with pytest.raises(ConfigError, match="below the minimum of 50 m"):
        ingest_file(valid_file("nrm"), "nrm", store=store, geomask_m=20)


def test_an_lsoa_only_record_counts_for_its_areas_but_is_never_a_point(store, valid_file):
    ingest_file(valid_file("nrm"), "nrm", store=store)
    row = store.query("nrm").set_index("record_id").loc["NRM-3"]
    assert row["lsoa_code"] == "E01011000" and not row["has_point"]
    assert pd.isna(row["easting"]) and pd.isna(row["longitude"])


def test_a_2011_lsoa_code_is_mapped_to_2021(store, valid_file):
    rows = [dict(VALID_ROWS["nrm"][2], lsoa_code="E01011330")]
    ingest_file(valid_file("nrm", rows), "nrm", store=store)
    from geo.boundaries import lsoa_2011_to_2021
    assert store.query("nrm")["lsoa_code"].iloc[0] == lsoa_2011_to_2021()["E01011330"]


def test_reingesting_the_same_file_adds_nothing(store, valid_file):
    path = valid_file("rosewood")
    ingest_file(path, "rosewood", store=store)
    before = store_snapshot(store.root)
    again = ingest_file(path, "rosewood", store=store)
    assert (again.added, again.unchanged) == (0, 2)
    assert store_snapshot(store.root) == before


def test_same_record_id_with_other_content_is_refused_naming_the_row(store, valid_file):
    ingest_file(valid_file("nrm"), "nrm", store=store)
    changed = [dict(r) for r in VALID_ROWS["nrm"]]
    changed[1]["age_group"] = "adult"
    before = store_snapshot(store.root)
    with pytest.raises(DuplicateRecordError) as caught:
        ingest_file(valid_file("nrm", changed, "v2.csv"), "nrm", store=store)
    problem = caught.value.problems[0]
    assert (problem.row, problem.column, problem.value) == (3, "record_id", "NRM-2")
    assert "--replace" in str(caught.value)
    assert store_snapshot(store.root) == before


def test_replace_overwrites_the_changed_records_only(store, valid_file):
    ingest_file(valid_file("nrm"), "nrm", store=store)
    changed = [dict(r) for r in VALID_ROWS["nrm"]]
    changed[1]["age_group"] = "adult"
    report = ingest_file(valid_file("nrm", changed, "v2.csv"), "nrm", store=store, replace=True)
    assert (report.added, report.unchanged, report.replaced) == (0, 2, 1)
    rows = store.query("nrm").set_index("record_id")
    assert len(rows) == 3 and rows.loc["NRM-2", "age_group"] == "adult"


def test_accept_valid_stores_good_rows_and_quarantines_the_rest(store, valid_file):
    rows = [dict(r) for r in VALID_ROWS["mandevilla"]]
    rows.append(dict(rows[0], record_id="MV-3", referred_to_police="maybe", longitude="-1.49123"))
    path = valid_file("mandevilla", rows)
    with pytest.raises(SchemaError, match="must be yes or no"):
        ingest_file(path, "mandevilla", store=store)
    report = ingest_file(path, "mandevilla", store=store, accept_valid=True)
    assert (report.added, report.quarantined) == (2, 1)
    quarantine = pd.read_csv(report.quarantine_path)
    assert quarantine["record_id"].tolist() == ["MV-3"]
    assert "row 4" in quarantine["reason"][0] and "must be yes or no" in quarantine["reason"][0]
    assert "-1.49123" not in open(report.quarantine_path).read()  # raw location withheld


def test_drop_unknown_drops_and_reports(store, valid_file):
    rows = [dict(r, region="North") for r in VALID_ROWS["mandevilla"]]
    report = ingest_file(valid_file("mandevilla", rows), "mandevilla", store=store,
                         drop_unknown=True)
    assert report.added == 2 and report.dropped_columns == ["region"]
    assert "dropped columns region" in report.summary()


def test_windows_1252_and_bom_csvs_are_read(store, tmp_path):
    rows = [dict(r) for r in VALID_ROWS["nrm"]]
    rows[0]["record_id"] = "NRM-1"
    cp = write_csv(tmp_path / "cp.csv", rows, encoding="cp1252")
    cp.write_bytes(cp.read_bytes().replace(b"NRM-1,", b"NRM-1,", 1))
    bom = write_csv(tmp_path / "bom.csv", VALID_ROWS["mandevilla"], encoding="utf-8-sig")
    assert ingest_file(cp, "nrm", store=store).added == 3
    assert ingest_file(bom, "mandevilla", store=store).added == 2


def test_xlsx_with_real_date_cells_is_read(store, tmp_path):
    frame = pd.DataFrame(VALID_ROWS["mandevilla"])
    frame["flag_date"] = pd.to_datetime(["2024-02-14", "2024-04-02"])
    path = tmp_path / "flags.xlsx"
    frame.to_excel(path, index=False)
    ingest_file(path, "mandevilla", store=store)
    assert sorted(store.query("mandevilla")["flag_date"].dt.strftime("%Y-%m-%d")) == [
        "2024-02-14", "2024-04-02"]


@pytest.mark.parametrize("crs", [4326, 27700])
def test_geoparquet_points_are_read_in_either_crs(store, tmp_path, crs):
    frame = pd.DataFrame(VALID_ROWS["mandevilla"]).drop(columns=["longitude", "latitude"])
    points = gpd.GeoSeries([Point(-1.4977, 53.6833), Point(-1.7850, 53.6458)], crs=4326).to_crs(crs)
    path = tmp_path / "flags.parquet"
    gpd.GeoDataFrame(frame, geometry=points).to_parquet(path)
    ingest_file(path, "mandevilla", store=store)
    assert set(store.query("mandevilla")["district_code"]) == {"E08000036", "E08000034"}


def test_a_column_mapping_file_is_applied(store, tmp_path):
    rows = [{"Case ID": r["record_id"], "Flag Date": r["flag_date"], "Age": r["age_group"],
             "Indicators": r["indicators"], "Police?": r["referred_to_police"],
             "Lon": r["longitude"], "Lat": r["latitude"]} for r in VALID_ROWS["mandevilla"]]
    mapping = tmp_path / "map.yaml"
    mapping.write_text("Case ID: record_id\nFlag Date: flag_date\nAge: age_group\n"
                       "Police?: referred_to_police\nLon: longitude\nLat: latitude\n")
    report = ingest_file(write_csv(tmp_path / "p.csv", rows), "mandevilla", store=store,
                         columns=mapping)
    assert report.added == 2


def test_rosewood_found_before_missing_is_refused(store, valid_file):
    rows = [dict(VALID_ROWS["rosewood"][0], found_at="2024-04-30T10:00")]
    with pytest.raises(SchemaError) as caught:
        ingest_file(valid_file("rosewood", rows), "rosewood", store=store)
    problem = caught.value.problems[0]
    assert (problem.row, problem.column) == (2, "found_at")
    assert "found before going missing" in problem.reason


def test_cli_exit_codes_and_one_line_summary(tmp_path, valid_file):
    store_dir = tmp_path / "cli-store"
    ok = subprocess.run([sys.executable, "-m", "data.ingest", str(valid_file("nrm")), "--feed",
                         "nrm", "--store", str(store_dir)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().startswith("nrm.csv: stored 3 new nrm records")
    bad = write_csv(tmp_path / "bad.csv", [dict(VALID_ROWS["nrm"][0], gender="robot")])
    refused = subprocess.run([sys.executable, "-m", "data.ingest", str(bad), "--feed", "nrm",
                              "--store", str(store_dir)], capture_output=True, text=True)
    assert refused.returncode == 2
    assert "row 2, column 'gender' (value 'robot')" in refused.stderr
    assert refused.stdout.strip() == "bad.csv: refused (1 problem); the store is unchanged"
    # The command line is run by an operator acting in the role that owns ingestion.
    from safeguards.audit import read_audit, verify

    entries = read_audit(store_dir, action="ingest")
    assert entries["detail"].tolist() == ["refused: SchemaError", "stored"]
    assert entries["role"].tolist() == ["admin", "admin"]
    assert verify(store_dir).ok


def test_ingest_frame_matches_headers_like_a_file(store):
    from data.ingest import ingest_frame

    frame = pd.DataFrame(VALID_ROWS["mandevilla"]).rename(
        columns={"record_id": "Record ID", "flag_date": "Flag Date"})
    assert ingest_frame(frame, "mandevilla", name="frame", store=store).added == 2
    assert sorted(store.query("mandevilla")["record_id"]) == ["MV-1", "MV-2"]


def test_every_ingest_is_audited_with_who_what_and_how_many(store, valid_file, monkeypatch):
    from safeguards.audit import read_audit, verify

    monkeypatch.setenv("INGEST_ACTOR", "ops@wypartnership.example")
    ingest_file(valid_file("nrm"), "nrm", store=store)
    with pytest.raises(SchemaError):
        ingest_file(write_csv(store.root.parent / "bad.csv",
                              [dict(VALID_ROWS["nrm"][0], gender="robot")]), "nrm", store=store)
    entries = read_audit(store, action="ingest")
    assert entries["detail"].tolist() == ["refused: SchemaError", "stored"]
    assert entries["records"].tolist()[1] == 3
    assert set(entries["actor"]) == {"ops@wypartnership.example"}
    assert '"file": "nrm.csv"' in entries["filters"].iloc[1].replace('":"', '": "')
    assert verify(store).ok
    assert entries["role"].tolist() == ["admin", "admin"]  # the role that owns ingestion


def test_an_ingest_under_a_role_that_may_not_ingest_is_refused_and_audited(store, valid_file):
    from core.errors import AccessDenied
    from safeguards.audit import read_audit, verify

    with pytest.raises(AccessDenied, match="may not ingest"):
        ingest_file(valid_file("nrm"), "nrm", store=store, role="analyst")
    assert store_snapshot(store.root) == {}                      # nothing read, nothing stored
    denied = read_audit(store, action="access-denied")
    assert denied["role"].tolist() == ["analyst"] and denied["page"].tolist() == ["data.ingest"]
    assert read_audit(store, action="ingest").empty
    assert verify(store).ok


# -- the refusal report --------------------------------------------------------------------
def test_a_refusal_lists_the_first_50_problems_then_a_count(store, valid_file):
    """core.errors.InputFileError: 60 bad rows, one problem each: rows 2-51 are listed, in
    order, then "… and 10 more problems"; every problem stays on the exception."""
    rows = [dict(VALID_ROWS["nrm"][0], record_id=f"NRM-{i}", gender="robot") for i in range(60)]
    with pytest.raises(SchemaError) as caught:
        ingest_file(valid_file("nrm", rows), "nrm", store=store)
    exc = caught.value
    assert len(exc.problems) == 60
    lines = str(exc).splitlines()
    listed = [line for line in lines if line.startswith("  - ")]
    assert len(listed) == 50 == exc.MAX_LISTED
    assert listed == [f"  - row {r}, column 'gender' (value 'robot'): is not one of: female, "
                      "male, other, unknown" for r in range(2, 52)]
    assert lines[-1] == "  … and 10 more problems"
    assert len(lines) == 1 + 50 + 1                                # headline, 50, the count
    # Exactly 50 is listed whole, with no count line.
    fifty = SchemaError("f.csv", exc.problems[:50])
    assert str(fifty).splitlines()[-1].startswith("  - row 51,")


# -- progress --------------------------------------------------------------------------------
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def many_rows(n: int) -> list[dict]:
    return [dict(VALID_ROWS["nrm"][i % 3], record_id=f"NRM-{i}") for i in range(n)]


def test_a_forced_progress_bar_counts_rows_through_parse_and_geomask(store, valid_file,
                                                                     monkeypatch, capsys):
    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 50)
    report = ingest_file(valid_file("nrm", many_rows(120)), "nrm", store=store,
                         progress="always")
    assert report.added == 120
    err = capsys.readouterr().err
    assert "nrm.csv: read:" in err and "B/" in err                     # bytes read
    # Row by row, per chunk: the parse's chunks of CHUNK_ROWS; the locations' (geomask) with
    # the last two of equal size (``data.locating.location_chunks``: 50, 35, 35).
    for stage, counts in (("parse", (50, 100, 120)), ("geomask", (50, 85, 120))):
        for done in counts:
            assert re.search(rf"nrm\.csv: {stage}: +\d+%\|[^|]*\| {done}/120 rows", err), \
                (stage, done, err[-2000:])
    for stage in ("validate", "store"):
        assert re.search(rf"nrm\.csv: {stage}: 100%\|[^|]*\| 120/120 rows", err), stage


def test_progress_shows_on_a_terminal_only_for_large_files(store, valid_file, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    ingest_file(valid_file("nrm", many_rows(120)), "nrm", store=store, progress=True)
    assert terminal.getvalue() == ""                                    # small: no bar
    monkeypatch.setattr(ingest_module, "PROGRESS_MIN_ROWS", 100)
    ingest_file(valid_file("nrm", many_rows(120), name="b.csv"), "nrm", store=store,
                progress="auto")
    assert "b.csv: parse" in terminal.getvalue() and "120/120 rows" in terminal.getvalue()
    out = terminal.getvalue()
    ingest_file(valid_file("nrm", many_rows(130), name="c.csv"), "nrm", store=store,
                progress="never")
    assert terminal.getvalue() == out                                   # never: nothing
    monkeypatch.setattr(sys, "stderr", io.StringIO())                   # not a terminal
    ingest_file(valid_file("nrm", many_rows(140), name="d.csv"), "nrm", store=store,
                progress="auto")
    assert sys.stderr.getvalue() == ""
    with pytest.raises(ConfigError, match="progress"):
        ingest_file(valid_file("nrm"), "nrm", store=store, progress="sometimes")


def test_the_progress_bar_is_silent_in_tests_unless_forced(store, valid_file, capsys):
    ingest_file(valid_file("nrm", many_rows(120)), "nrm", store=store, progress=True)
    assert capsys.readouterr().err == ""


def test_cli_progress_forced_by_environment_shows_rows_on_stderr(tmp_path, valid_file):
    import os

    env = {**os.environ, "INGEST_PROGRESS": "always"}
    result = subprocess.run([sys.executable, "-m", "data.ingest",
                             str(valid_file("nrm", many_rows(40))), "--feed", "nrm",
                             "--store", str(tmp_path / "s")],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "nrm.csv: parse: 100%" in result.stderr and "40/40 rows" in result.stderr
    assert "stored 40 new nrm records" in result.stdout


def test_chunked_parsing_and_geomasking_give_the_same_records_and_problems(tmp_path,
                                                                           monkeypatch):
    """Row chunks (for the progress bar) change nothing: records, problems and their order."""
    from storage.parquet import ParquetStore

    rows = many_rows(30)
    rows[4]["gender"] = "robot"
    rows[11]["referral_date"] = "31/02/2024"
    rows[11]["longitude"] = "-2.2426"                               # Manchester, same row
    rows[25]["record_id"] = rows[3]["record_id"]                    # duplicate across chunks
    path = write_csv(tmp_path / "f.csv", rows)
    refusals, stored = [], []
    for chunk in (7, 1_000):
        monkeypatch.setattr(ingest_module, "CHUNK_ROWS", chunk)
        with pytest.raises(SchemaError) as caught:
            ingest_file(path, "nrm", store=ParquetStore(tmp_path / f"r{chunk}"))
        refusals.append(caught.value.problems)
        store = ParquetStore(tmp_path / f"s{chunk}")
        ingest_file(path, "nrm", store=store, accept_valid=True)
        stored.append(store.query("nrm").sort_values("record_id").reset_index(drop=True))
    assert refusals[0] == refusals[1]
    assert {p.row for p in refusals[0]} == {6, 13, 5, 27}
    pd.testing.assert_frame_equal(stored[0], stored[1])


# -- issue 12, section 4: every CSV the system writes is escaped; odd encodings are named -------
FORMULAS = ['=HYPERLINK("http://example.com/x","click")', "+1+1", "-1+1", "@1+1",
            "\tsexual", "\r=1"]


def test_the_quarantine_csv_is_escaped_for_spreadsheets(store, tmp_path):
    import csv as csv_module

    rows = [dict(VALID_ROWS["nrm"][0])]
    for i, formula in enumerate(FORMULAS):
        rows.append({**VALID_ROWS["nrm"][0], "record_id": f"NRM-F{i}", "gender": formula})
    path = write_csv(tmp_path / "formulas.csv", rows)
    report = ingest_file(path, "nrm", store=store, accept_valid=True)
    assert (report.added, report.quarantined) == (1, len(FORMULAS))
    with open(report.quarantine_path, encoding="utf-8-sig", newline="") as handle:
        raw = handle.read()
    table = list(csv_module.reader(io.StringIO(raw)))
    genders = [row[table[0].index("gender")] for row in table[1:]]
    assert genders == ["'" + f for f in FORMULAS]  # every one escaped, none lost
    for row in table:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_a_csv_escaped_by_the_system_reads_back_as_it_was(store, tmp_path):
    rows = [dict(r) for r in VALID_ROWS["nrm"][:2]]
    rows[0]["longitude"] = "'-1.5491"  # as core.csv_safety writes a text cell
    rows[1]["record_id"] = "'=NRM-2"  # unescaped, then refused like any formula
    with pytest.raises(SchemaError) as caught:
        ingest_file(write_csv(tmp_path / "escaped.csv", rows), "nrm", store=store)
    assert [(p.row, p.column, p.value) for p in caught.value.problems] == [
        (3, "record_id", "=NRM-2")]


def test_a_gb18030_file_is_named_as_another_encoding(store, tmp_path):
    header = ",".join(VALID_ROWS["nrm"][0])
    body = "NRM-1,2024-03-01,\u52b3\u5de5,adult,male,police,-1.5491,53.8008"
    path = tmp_path / "gb.csv"
    path.write_bytes(f"{header}\r\n{body}\r\n".encode("gb18030"))
    with pytest.raises(FileFormatError) as caught:
        ingest_file(path, "nrm", store=store)
    message = str(caught.value)
    assert "row 2 is not UTF-8 or Windows-1252 text" in message
    assert "is UTF-8 but" not in message


def test_windows_1252_accents_are_still_read_as_windows_1252(store, tmp_path):
    rows = [dict(r) for r in VALID_ROWS["nrm"][:1]]
    rows[0]["record_id"] = "NRM-\u00e9"  # é, one byte in Windows-1252
    path = write_csv(tmp_path / "cp.csv", rows, encoding="cp1252")
    with pytest.raises(SchemaError) as caught:  # the id rule refuses é: read, not garbled
        ingest_file(path, "nrm", store=store)
    assert caught.value.problems[0].value == "NRM-\u00e9"
