"""Every CSV download carries its context (issue 15): a label block first, then the table.

Spec (``views.exports.labelled_csv``):
- The file starts with lines of one cell each, ``# <name>: <value>``: the protective marking
  (first), "SYNTHETIC DATA" where the data are synthetic, the contents, period, feeds, filters
  (readable: codes by name), the role it was made for and when (``core.clock``); an empty line
  ends the block and the table's header follows.
- The table keeps the CSV-injection escaping of ``core.csv_safety``; the block's cells go through
  it too. UTF-8 with one BOM, CRLF line ends.
- Every CSV button of the Explore and Trends pages downloads such a file (AppTest).
"""
from __future__ import annotations

import csv
import io

import pandas as pd

from core.marking import MARKING
from tests.apptest import open_page, served_store
from tests.sample_store import built_store
from views.exports import (
    ExportLabel,
    explorer_label,
    labelled_csv,
    read_labelled_csv,
    tasks_label,
    trends_label,
)
from views.viewstate import ExplorerState

ROWS = {"nrm": 24, "rosewood": 24, "mandevilla": 24}
LABEL = ExportLabel(contents="Ward table", period="1 Jan 2026 to 31 Mar 2026",
                    feeds=("nrm", "rosewood"), role="chair", synthetic=True,
                    filters={"districts": ["E08000035", "E08000032"], "age_groups": ["child"],
                             "indicators": []})


def test_the_label_block_comes_first_then_the_escaped_table():
    frame = pd.DataFrame({"Area": ["=cmd|' /C calc'!A0", "Leeds"], "Change": [-3, 4],
                          "@head": ["-3", "x"]})
    data = labelled_csv(frame, LABEL)
    assert data.startswith(b"\xef\xbb\xbf# Protective marking: OFFICIAL-SENSITIVE\r\n")
    assert data.count(b"\xef\xbb\xbf") == 1
    text = data.decode("utf-8-sig")
    head, _, table = text.partition("\r\n\r\n")
    assert head.split("\r\n") == [
        f"# Protective marking: {MARKING}",
        "# SYNTHETIC DATA: not real cases",
        "# Contents: Ward table",
        "# Period: 1 Jan 2026 to 31 Mar 2026",
        '"# Feeds: NRM, Rosewood"',                    # one cell: the comma is quoted
        '"# Filters: districts: Leeds, Bradford · age group: child"',
        "# Role: Partnership chair",
        "# Made: 15 Dec 2026 10:00:00 UTC by the West Yorkshire exploitation dashboard",
    ]
    rows = list(csv.reader(io.StringIO(table)))
    assert rows == [["Area", "Change", "'@head"], ["'=cmd|' /C calc'!A0", "-3", "'-3"],
                    ["Leeds", "4", "x"]]
    label, back = read_labelled_csv(data)
    assert label["Feeds"] == "NRM, Rosewood" and label["Role"] == "Partnership chair"
    assert list(back.columns) == ["Area", "Change", "'@head"] and len(back) == 2


def test_real_data_have_no_synthetic_line_and_no_filters_say_none():
    label = ExportLabel(contents="KPI table", period="Q3 2026 (Jul–Sep)", feeds=("mandevilla",),
                        role="executive", synthetic=False)
    names = list(read_labelled_csv(labelled_csv(pd.DataFrame({"a": [1]}), label))[0].items())
    assert names[0] == ("Protective marking", MARKING)
    assert "SYNTHETIC DATA" not in dict(names)
    assert dict(names)["Filters"] == "none" and dict(names)["Role"] == "Deputy Mayor's office"


def test_every_cell_of_the_block_is_escaped_and_one_cell_long():
    label = ExportLabel(contents="=HYPERLINK(\"http://x\",\"y\")", period="x", feeds=(),
                        role="analyst", synthetic=False, filters={"file": "=1+1, @x"})
    head = labelled_csv(pd.DataFrame({"a": [1]}), label).decode("utf-8-sig").partition(
        "\r\n\r\n")[0]
    for row in csv.reader(io.StringIO(head)):
        assert len(row) == 1 and row[0].startswith("# ")


def test_labels_of_the_pages():
    state = ExplorerState(start=pd.Timestamp("2023-01-02").date(),
                          end=pd.Timestamp("2023-06-12").date(), feeds=("nrm",),
                          districts=("E08000035",), level="ward")
    label = explorer_label(state, role="analyst", synthetic=True, contents="Ward table")
    assert (label.period, label.feeds) == ("2 Jan 2023 to 12 Jun 2023", ("nrm",))
    assert dict(label.lines())["Filters"] == "district: Leeds · level: ward"
    assert trends_label("chair", False, "KPI", period="2026-Q3").period == "Q3 2026 (Jul–Sep)"
    assert trends_label("chair", False, "S", freq="Q").period == "every whole quarter in the data"
    tasks = tasks_label("chair", True)
    assert tasks.period == "every task to 15 Dec 2026" and len(tasks.feeds) == 3


# -- through the pages ---------------------------------------------------------------------------
built = built_store(ROWS, "csv_labels")
env = served_store()


def csv_buttons(at):
    return [b for b in at.download_button if "(CSV)" in b.label]


def test_the_explorer_table_is_labelled(env, deferred_files):
    at = open_page("pages/explore.py", "chair")
    at.multiselect(key="explore_districts").set_value(["E08000035"])
    at = at.run()
    (button,) = csv_buttons(at)
    label, table = read_labelled_csv(deferred_files.make(button))
    assert label["Protective marking"] == MARKING and label["SYNTHETIC DATA"] == "not real cases"
    assert label["Role"] == "Partnership chair"
    assert label["Feeds"] == "NRM, Rosewood, Mandevilla"
    assert "district: Leeds" in label["Filters"] and label["Contents"].endswith("table")
    assert label["Period"].endswith("2023") and " to " in label["Period"]
    assert len(table) > 0


def test_every_trends_csv_is_labelled(env, deferred_files):
    at = open_page("pages/trends.py", "executive", period="2023-04")
    # One picker of every file of the page and one button, for the file picked.
    picker = at.selectbox(key="trends_download")
    files = [(i, f) for i, f in enumerate(picker.options) if f.endswith("(CSV)")]
    assert len(files) >= 5
    for index, name in files:
        at = at.selectbox(key="trends_download").select_index(index).run()
        assert not at.exception
        (button,) = csv_buttons(at)
        assert button.label == f"Download {name}"
        label, table = read_labelled_csv(deferred_files.make(button))
        assert list(label)[:3] == ["Protective marking", "SYNTHETIC DATA", "Contents"], name
        assert label["Role"] == "Deputy Mayor's office"
        assert label["Period"] and label["Feeds"] and label["Made"].startswith("15 Dec 2026")
        assert len(table.columns) > 1
        if name == "Records per feed: KPI table (CSV)":
            assert label["Period"] == "April 2023"
            assert label["Feeds"] == "NRM, Rosewood, Mandevilla"
