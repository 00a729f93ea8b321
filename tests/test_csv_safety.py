"""core.csv_safety: the one spreadsheet escaping, and its exact inverse used when reading."""
import pandas as pd
import pytest

import views.exports
from core import csv_safety
from core.csv_safety import safe_cell, safe_csv, unescape_cell, write_safe_csv


@pytest.mark.parametrize("value", ["=1+1", "+44", "-3", "@SUM(A1)", "\tx", "\rx", "ok",
                                   "", "'", "'x"])
def test_unescape_undoes_safe_cell_exactly(value):
    assert unescape_cell(safe_cell(value)) == value


def test_downloads_and_system_files_share_one_escaping():
    assert views.exports.safe_csv is csv_safety.safe_csv
    assert views.exports.safe_cell is csv_safety.safe_cell


def test_write_safe_csv_is_escaped_and_atomic(tmp_path):
    frame = pd.DataFrame({"=name": ["=HYPERLINK(\"x\")", "ok"], "n": [-3, 4]})
    path = write_safe_csv(frame, tmp_path / "out.csv")
    assert path.read_bytes() == safe_csv(frame)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf'=name,n\r\n\"'=HYPERLINK")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temporary file left
