"""Workbooks read as they are, not as they describe themselves (issue 12, section 4)."""
from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest

from core.errors import ConfigError, FileFormatError, ForbiddenFieldError
from data.ingest import ingest_file
from data.readers import read_partner_file

CORPUS = Path(__file__).resolve().parent / "bad_inputs"


def _corpus():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _corpus()


def corpus_file(maker, path: Path) -> Path:
    """``path``, written by ``maker`` (one of the corpus's ``xlsx_*`` makers)."""
    maker(path)
    return path


def test_a_lying_dimension_tag_hides_nothing(tmp_path):
    path = corpus_file(make.xlsx_dimension_hides_rows, tmp_path / "lying.xlsx")
    headers, frame = read_partner_file(path)
    assert headers == make.NRM_HEADER
    assert len(frame) == 101 and frame["_row"].tolist() == list(range(2, 103))


def test_a_lying_dimension_tag_cannot_hide_a_column(tmp_path):
    path = corpus_file(make.xlsx_dimension_hides_a_column, tmp_path / "lying.xlsx")
    with pytest.raises(ForbiddenFieldError) as caught:
        read_partner_file(path)
    assert caught.value.columns == ["Nationality"]


def test_a_valid_workbook_with_a_lying_dimension_stores_every_row(tmp_path, store):
    rows = [make.NRM_HEADER] + make._nrm_rows(1001, 40)
    path = tmp_path / "valid.xlsx"
    path.write_bytes(make._repack(make._workbook(rows), patch=make._lying_dimension))
    report = ingest_file(path, "nrm", store=store)
    assert (report.rows_read, report.added) == (40, 40)


def test_every_sheet_header_is_checked_and_hidden_sheets_are_not_read(tmp_path):
    path = corpus_file(make.xlsx_hidden_first_sheet, tmp_path / "hidden_first.xlsx")
    with pytest.raises(ForbiddenFieldError) as caught:
        read_partner_file(path)
    assert caught.value.columns == ["Name", "Nationality", "Passport"]
    with pytest.raises(ForbiddenFieldError):  # naming the clean sheet does not help
        read_partner_file(path, sheet="Export")


def test_several_data_sheets_need_sheet_and_sheet_reads_that_one(tmp_path):
    path = corpus_file(make.xlsx_two_data_sheets, tmp_path / "two.xlsx")
    with pytest.raises(FileFormatError, match="--sheet NAME"):
        read_partner_file(path)
    _, april = read_partner_file(path, sheet="April")
    assert april["record_id"].tolist() == ["WY-NRM-24-0961", "WY-NRM-24-0962"]
    assert april["referral_date"].tolist() == ["2024-04-02", "2024-04-03"]
    with pytest.raises(FileFormatError, match="no such sheet"):
        read_partner_file(path, sheet="May")


def test_a_hidden_sheet_with_data_is_refused_and_cannot_be_named(tmp_path):
    path = corpus_file(make.xlsx_hidden_sheet_with_data, tmp_path / "hidden.xlsx")
    with pytest.raises(FileFormatError, match="hidden sheet"):
        read_partner_file(path)
    with pytest.raises(FileFormatError, match="is hidden"):
        read_partner_file(path, sheet="Old")
    _, frame = read_partner_file(path, sheet="Referrals")  # the visible one, named
    assert len(frame) == 2


def test_hidden_rows_and_columns_are_refused(tmp_path):
    rows_path = corpus_file(make.xlsx_hidden_rows, tmp_path / "rows.xlsx")
    cols_path = corpus_file(make.xlsx_hidden_column, tmp_path / "cols.xlsx")
    with pytest.raises(FileFormatError, match="hidden rows holding data: 3"):
        read_partner_file(rows_path)
    with pytest.raises(FileFormatError) as caught:
        read_partner_file(cols_path)
    assert [p.column for p in caught.value.problems] == ["'gender'"]


def test_a_hidden_empty_row_is_harmless(tmp_path):
    rows = [make.NRM_HEADER] + make._nrm_rows(1101, 2) + [[None] * 8, [None] * 8]
    path = tmp_path / "empty_hidden.xlsx"
    path.write_bytes(make._workbook(rows, hidden_rows=(5,)))
    _, frame = read_partner_file(path)
    assert len(frame) == 2


def test_data_beyond_the_header_is_read_as_a_column_without_a_name(tmp_path):
    rows = [make.NRM_HEADER, make._nrm_rows(1201, 1)[0] + [None, "smuggled"]]
    path = tmp_path / "wide.xlsx"
    path.write_bytes(make._workbook(rows))
    headers, frame = read_partner_file(path)
    assert headers == make.NRM_HEADER + ["", ""] and frame.iloc[0, 9] == "smuggled"


def test_sheet_is_refused_for_a_csv(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="--sheet is for XLSX"):
        read_partner_file(path, sheet="Sheet1")


def test_the_cli_takes_sheet(tmp_path):
    import subprocess
    import sys

    path = corpus_file(make.xlsx_two_data_sheets, tmp_path / "two.xlsx")
    project = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-m", "data.ingest", str(path), "--feed", "nrm",
                             "--store", str(tmp_path / "store"), "--sheet", "March"],
                            cwd=project, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "stored 2 new nrm records" in result.stdout


def test_dates_in_cells_stay_dates(tmp_path):
    rows = [make.NRM_HEADER] + make._nrm_rows(1301, 1, dt.datetime(2024, 5, 6, 14, 30))
    path = tmp_path / "dates.xlsx"
    path.write_bytes(make._workbook(rows))
    _, frame = read_partner_file(path)
    assert frame["referral_date"].tolist() == ["2024-05-06 14:30:00"]
