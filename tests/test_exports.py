"""Explorer downloads: CSV cells a spreadsheet would run are neutralised; the map file is whole.

Spec (data/exports.py):
- Text cells and column names starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
  get a leading ``'``; numbers in numeric columns (negative ones included) are left as numbers;
  text that looks like a negative number is still prefixed. The file is UTF-8 with a BOM.
- The standalone map inlines every vendored script, style, image and font: no ``<script src>``,
  no stylesheet link, nothing fetched from anywhere; the overlay and title are added escaped.
"""
from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest

from geo.boundaries import load_boundaries
from maps.basemap import base_map
from views.exports import area_table, safe_cell, safe_csv, standalone_map_html


def rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+44 113", "'+44 113"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=cmd", "'\t=cmd"), ("\r=cmd", "'\r=cmd"), ('=HYPERLINK("http://x","y")',
                                                  '\'=HYPERLINK("http://x","y")'),
    ("-3", "'-3"),                  # text that looks like a negative number: still prefixed
    ("Leeds", "Leeds"), ("a=b", "a=b"), ("", ""), ("'=already", "'=already"),
    (" =1", " =1"),                 # a leading space is text to every spreadsheet
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_numbers_stay_numbers_and_text_is_neutralised():
    frame = pd.DataFrame({
        "Area": ["=cmd|' /C calc'!A0", "Leeds", "@x", None],
        "Change": [-3, 4, 0, -12],                                    # int64
        "Rate": [-1.5, 2.25, float("nan"), 0.0],                      # float
        "Records": pd.array([5, None, 7, 0], dtype="Int64"),          # nullable
        "Shown": ["-3", "<10", "[c]", "+1"],                          # text
        "=bad header": [1, 2, 3, 4],
    })
    before = frame.copy()
    table = rows(safe_csv(frame))
    assert table[0] == ["Area", "Change", "Rate", "Records", "Shown", "'=bad header"]
    assert table[1] == ["'=cmd|' /C calc'!A0", "-3", "-1.5", "5", "'-3", "1"]
    assert table[2] == ["Leeds", "4", "2.25", "", "<10", "2"]
    assert table[3] == ["'@x", "0", "", "7", "[c]", "3"]
    assert table[4] == ["", "-12", "0.0", "0", "'+1", "4"]
    pd.testing.assert_frame_equal(frame, before)  # not modified


def test_no_text_cell_of_the_file_starts_a_formula():
    nasty = ["=1", "+1", "-1", "@1", "\t1", "\r1", "ok", "-", "=", "@@"]
    data = safe_csv(pd.DataFrame({"v": nasty, "w": list(reversed(nasty))}))
    for row in rows(data)[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_area_table_names_areas_and_keeps_hidden_counts_hidden():
    counts = pd.DataFrame({"code": ["E08000035", "E08000032", "E08000033"],
                           "count": pd.array([120, None, 0], dtype="Int64"),
                           "display": ["120", "<10", "0"], "suppressed": [False, True, False]})
    areas = pd.DataFrame({"code": ["E08000032", "E08000033", "E08000035"],
                          "name": ["Bradford", "Calderdale", "Leeds"],
                          "district_name": ["Bradford", "Calderdale", "Leeds"],
                          "population": [546_400, 206_600, 800_000]})
    table = area_table(counts, "district", areas)
    assert list(table.columns) == ["District code", "District", "Residents (2021)", "Records",
                                   "Rate per 100,000"]
    assert list(table["District"]) == ["Bradford", "Calderdale", "Leeds"]
    assert list(table["Records"]) == ["<10", "0", "120"]
    assert pd.isna(table.loc[0, "Rate per 100,000"])           # hidden count, hidden rate
    assert table.loc[2, "Rate per 100,000"] == 15.0            # 120 / 800,000 * 100,000
    assert rows(safe_csv(table))[1] == ["E08000032", "Bradford", "546400", "<10", ""]


def test_ward_residents_and_rates_are_labelled_estimates_in_the_download():
    """Ward populations are best-fit estimates (geo.boundaries); district and LSOA
    populations are official Census 2021 figures and keep the plain titles."""
    wards = load_boundaries("ward").head(3)
    counts = pd.DataFrame({"code": wards["code"], "count": pd.array([12, 0, 30], dtype="Int64"),
                           "display": ["12", "0", "30"], "suppressed": [False] * 3})
    table = area_table(counts, "ward")
    assert list(table.columns) == ["Ward code", "Ward", "District",
                                   "Residents (2021, estimate)", "Records",
                                   "Rate per 100,000 (estimated residents)"]
    header = rows(safe_csv(table))[0]
    assert "Residents (2021, estimate)" in header and "Residents (2021)" not in header
    for level in ("district", "lsoa"):
        areas = load_boundaries(level).head(2)
        counts = pd.DataFrame({"code": areas["code"], "count": pd.array([5, 6], dtype="Int64"),
                               "display": ["5", "6"], "suppressed": [False, False]})
        columns = list(area_table(counts, level).columns)
        assert "Residents (2021)" in columns and "Rate per 100,000" in columns
        assert not any("estimate" in c for c in columns), columns


@pytest.fixture(scope="module")
def page_html() -> str:
    return base_map().get_root().render()


def test_standalone_map_inlines_every_asset_and_links_nothing(page_html):
    assert '<script src="/app/static/vendor/leaflet' in page_html  # what we start from
    out = standalone_map_html(page_html, overlay_html="<b>Legend</b>",
                              title="Map </title><script>alert(1)</script>").decode("utf-8")
    assert not re.search(r"<script[^>]+src=", out)
    assert not re.search(r"<link[^>]+stylesheet", out)
    assert "L.map(" in out or "L.map (" in out or "leaflet" in out.lower()
    assert "Leaflet 1.9.3" in out                                  # leaflet.js itself, inlined
    assert "sourceMappingURL" not in out
    # Styles' images and fonts are data URIs; no url() points anywhere else.
    for target in re.findall(r"""url\(\s*['"]?([^'")]+)""", out):
        assert target.startswith(("data:", "#")), target
    assert "font/woff2;base64," in out and "image/png;base64," in out
    assert "<title>Map &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>" in out
    assert "<b>Legend</b>" in out
    # The only mention of the asset server left is Leaflet's default marker image path.
    assert [line.strip() for line in out.splitlines() if "/app/static/vendor" in line] == [
        'L.Icon.Default.imagePath = "/app/static/vendor/leaflet@1.9.3/dist/images/";']


def test_standalone_map_refuses_a_link_to_elsewhere():
    page = '<html><head><script src="https://cdn.example/x.js"></script></head></html>'
    with pytest.raises(ValueError, match="not a vendored file"):
        standalone_map_html(page)


def test_standalone_map_needs_the_vendored_files(page_html, tmp_path):
    with pytest.raises(FileNotFoundError):
        standalone_map_html(page_html, vendor_dir=tmp_path)
