"""Issue 14 item 6, ninth round: the wall-clock critical path; each change against what it
replaces.

* the location chunks (``data.locating.location_chunks``): as many as the parse's chunks, the
  last two of equal size, every row once and in order; the records stored with them equal the
  records stored with the parse's chunks (the old location chunks), threaded, many chunks,
  with and without location problems (``--accept-valid``).
"""
from __future__ import annotations

import pandas as pd
import pytest

from data import ingest as ingest_module
from data import locating, location
from data.ingest import _chunks, ingest_file
from data.locating import location_chunks
from data.synthetic import generate
from storage.parquet import ParquetStore


@pytest.mark.parametrize("rows", [0, 1, 9, 10, 11, 19, 20, 21, 29, 30, 31, 47, 1000])
def test_location_chunks_cover_every_row_once_in_order_the_last_two_equal(monkeypatch, rows):
    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 10)
    frame = pd.DataFrame({"_row": range(2, rows + 2)}, index=range(100, 100 + rows))
    parts, old = location_chunks(frame, 10), _chunks(frame)
    assert len(parts) == len(old)  # the same fixed work per chunk as before
    pd.testing.assert_frame_equal(pd.concat(parts), frame)
    sizes = [len(p) for p in parts]
    assert all(size == 10 for size in sizes[:-2])
    if len(parts) >= 2:
        assert 0 <= sizes[-2] - sizes[-1] <= 1 and sizes[-1] >= 1
        assert sizes[-2] + sizes[-1] == rows - 10 * (len(parts) - 2)


def test_nrm_sized_file_gets_a_balanced_tail():
    frame = pd.DataFrame({"_row": range(539_764)})
    assert [len(p) for p in location_chunks(frame, 250_000)] == [250_000, 144_882, 144_882]
    assert [len(p) for p in _chunks(frame)] == [250_000, 250_000, 39_764]


def _stored_records(tmp_path, monkeypatch, name, *, balanced: bool, bad_rows: bool):
    if not balanced:  # the old location chunks: the parse's
        monkeypatch.setattr(locating, "location_chunks", lambda frame, rows: _chunks(frame))
    appended = []
    real_append = ParquetStore.append
    monkeypatch.setattr(ParquetStore, "append", lambda self, feed, frame, **kw: (
        appended.append(frame.copy()), real_append(self, feed, frame, **kw))[1])
    out = {}
    for feed, frame in generate(seed=11, events=6_000).items():
        if bad_rows and "longitude" in frame.columns:
            frame = frame.astype("string")
            frame.loc[frame.index[::97], "longitude"] = "-9.5"  # outside West Yorkshire
        path = tmp_path / f"{name}-{feed}.csv"
        frame.to_csv(path, index=False)
        report = ingest_file(path, feed, store=ParquetStore(tmp_path / name / feed),
                             accept_valid=bad_rows)
        out[feed] = (appended[-1].reset_index(drop=True), report.added, report.quarantined)
    return out


@pytest.mark.parametrize("bad_rows", [False, True])
def test_balanced_location_chunks_store_the_same_records(tmp_path, monkeypatch, bad_rows):
    monkeypatch.setattr(ingest_module, "THREAD_MIN_ROWS", 0)  # the second thread
    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 997)     # many chunks, an uneven tail
    monkeypatch.setattr(location, "MIN_POINTS", 0)
    new = _stored_records(tmp_path, monkeypatch, "new", balanced=True, bad_rows=bad_rows)
    old = _stored_records(tmp_path, monkeypatch, "old", balanced=False, bad_rows=bad_rows)
    for feed in old:
        frame, added, quarantined = new[feed]
        old_frame, old_added, old_quarantined = old[feed]
        assert (added, quarantined) == (old_added, old_quarantined)
        pd.testing.assert_frame_equal(frame, old_frame, obj=feed)
    if bad_rows:
        assert any(q for _, _, q in new.values())


def _read_as(cell_type, monkeypatch, path):
    from data import readers
    monkeypatch.setattr(readers, "CELL_TYPE", cell_type)
    try:
        headers, frame = readers.read_partner_file(path)
    except Exception as exc:  # noqa: BLE001 - the refusal is compared too
        return type(exc).__name__, str(exc)
    columns = [frame.iloc[:, i] for i in range(frame.shape[1])]  # names may repeat
    types = [str(c.array._pa_array.type) if hasattr(c.array, "_pa_array") else str(c.dtype)
             for c in columns]
    return headers, frame, types


def test_cells_read_as_large_string_give_the_frames_read_as_string(tmp_path, monkeypatch):
    import pyarrow as pa

    from tests.corpus import CORPUS
    from tests.test_ingest_seventh_round import _crafted_files

    generated = tmp_path / "generated.csv"
    generate(seed=5, events=3_000)["nrm"].to_csv(generated, index=False)
    paths = sorted(CORPUS.glob("*.csv")) + list(_crafted_files(tmp_path)) + [generated]
    fast = 0
    for path in paths:
        new, old = (_read_as(t, monkeypatch, path) for t in (pa.large_string(), pa.string()))
        if isinstance(old[0], str):  # refused: the same refusal
            assert new == old, path.name
            continue
        assert new[0] == old[0] and new[2] == old[2], path.name
        pd.testing.assert_frame_equal(new[1], old[1], obj=path.name)
        fast += "large_string" in new[2]
    assert len(paths) > 60 and fast > 30  # most went Arrow's way


def _cells_files(folder):
    header = "record_id,referral_date,exploitation_type,age_group"
    cases = {
        "apostrophes_inside": ["NRM-1,2024-03-01,o'clock,adult", "NRM-2,2024-03-02,x',adult"],
        "escaped_cells": ["NRM-1,2024-03-01,'-1.5,adult", "'NRM-2,2024-03-02,labour,'=adult"],
        "multibyte_long": ["NRM-1,2024-03-01," + "\u00e9" * 15 + ",adult"],  # 30 bytes
        "ascii_long": ["NRM-1,2024-03-01," + "x" * 25 + ",adult"],
        "ascii_at_limit": ["NRM-1,2024-03-01," + "x" * 20 + ",adult"],
        "no_apostrophe": ["NRM-1,2024-03-01,labour,adult", "NRM-2,2024-03-02,sexual,minor"],
    }
    for name, rows in cases.items():
        path = folder / f"{name}.csv"
        path.write_bytes(("\n".join([header, *rows]) + "\n").encode("utf-8"))
        yield path


@pytest.mark.parametrize("limit", [20, 1_000_000])
def test_fast_reader_checks_give_what_the_row_by_row_reader_gives(tmp_path, monkeypatch, limit):
    import csv

    from data import readers
    from tests.corpus import CORPUS
    from tests.test_ingest_seventh_round import _crafted_files, _outcome

    real_limit = csv.field_size_limit
    monkeypatch.setattr(readers.csv, "field_size_limit",
                        lambda *new: real_limit(limit) if new else real_limit())
    paths = list(_cells_files(tmp_path))
    if limit == 1_000_000:  # (a limit of 20 would refuse the corpus's long headers and titles)
        paths += list(_crafted_files(tmp_path)) + sorted(CORPUS.glob("*.csv"))
    try:
        fast_taken = {}
        for path in paths:
            taken = []
            real_fast = readers._fast_csv_body
            monkeypatch.setattr(readers, "_fast_csv_body", lambda raw, headers: (
                lambda body: taken.append(body is not None) or body)(real_fast(raw, headers)))
            new = _outcome(readers._read_csv, path)
            monkeypatch.setattr(readers, "_fast_csv_body", lambda raw, headers: None)
            slow = _outcome(readers._read_csv, path)
            monkeypatch.setattr(readers, "_fast_csv_body", real_fast)
            assert new == slow, path.name
            fast_taken[path.stem] = any(taken)
    finally:
        real_limit(1_000_000)
    # Arrow's way for cells within the limit in characters, whatever their bytes; the
    # row-by-row reader's (which says what is wrong) for a cell over it.
    assert fast_taken["multibyte_long"] and fast_taken["ascii_at_limit"]
    assert fast_taken["escaped_cells"] and fast_taken["apostrophes_inside"]
    assert fast_taken["ascii_long"] == (limit > 25)
