"""Issue 14 item 6, fourth round: the locations' second thread starts before the identifier
check and hashes its own columns (``data.locating``); each change against what it replaces.

* the location columns' hashes made per chunk on the second thread, joined, against
  ``text_hashes`` of the whole resolved column, and the stored content hash against the
  reference hash of the stored records (threaded, many chunks);
* the quick validation's distinct values (``Series.unique``; ``is_unique`` for a unique
  column) against the rows ``duplicated()`` kept, and its verdict against the old check's, on
  generated feeds with and without missing cells, repeats and bad values;
* a file refused for an identifier, or for a bad geomask cell size, is refused as before
  (same error, the identifier check first) though its locations were already being resolved,
  and nothing reaches the store.
"""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pandera.errors
import pytest

from core.errors import ConfigError, IdentifierError
from core.schema import feed_schema
from data import ingest as ingest_module
from data import location, validation
from data.content_hash import text_hashes
from data.ingest import ingest_file
from data.locating import Inline, joined, locate_chunk
from data.synthetic import generate
from storage.parquet import ParquetStore
from tests.conftest import VALID_ROWS, store_snapshot, write_csv


def _text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A generated feed as the ingest sees it after reading: text cells and file rows."""
    text = frame.astype("string").fillna("").reset_index(drop=True)
    text["_row"] = range(2, len(text) + 2)
    return text


@pytest.mark.parametrize("chunk_rows", [997, 10**9])
def test_location_hashes_joined_over_chunks_are_the_whole_columns_hashes(chunk_rows):
    for feed, frame in generate(seed=5, events=6_000).items():
        text = _text_frame(frame)
        chunks = [text.iloc[s:s + chunk_rows] for s in range(0, len(text), chunk_rows)]
        pool = Inline()
        futures = [pool.submit(locate_chunk, location.resolve_locations, c, 100)
                   for c in chunks]
        located, problems, hashes = joined(futures, lambda rows: None)
        whole, whole_problems = location.resolve_locations(text, 100)
        pd.testing.assert_frame_equal(located, whole, obj=feed)
        assert problems == whole_problems == []
        assert set(hashes) == set(whole.columns)
        for column in whole.columns:
            np.testing.assert_array_equal(hashes[column], text_hashes(whole[column]),
                                          err_msg=f"{feed}.{column}")


def test_a_chunk_with_a_location_problem_gives_no_hashes():
    rows = [dict(r) for r in VALID_ROWS["nrm"]]
    text = _text_frame(pd.DataFrame(rows))
    text.loc[0, "longitude"] = "-9.5"  # outside West Yorkshire
    text.loc[0, "latitude"] = "40.0"
    futures = [Inline().submit(locate_chunk, location.resolve_locations, text, 100)]
    _, problems, hashes = joined(futures, lambda rows: None)
    assert problems and hashes is None


def test_the_stored_hash_with_hashes_from_the_threaded_chunks_is_the_reference_hash(
        tmp_path, monkeypatch):
    from tests.test_ingest_fast_paths import _reference_hash

    monkeypatch.setattr(ingest_module, "THREAD_MIN_ROWS", 0)   # the second thread
    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 997)      # many chunks
    monkeypatch.setattr(location, "MIN_POINTS", 0)
    whole_frame = []  # the hash of the assembled records: only when rows were dropped
    monkeypatch.setattr(ingest_module, "content_hash",
                        lambda records: whole_frame.append(1) or _reference_hash(records))
    appended = []
    real_append = ParquetStore.append
    monkeypatch.setattr(ParquetStore, "append", lambda self, feed, frame, **kw: (
        appended.append(frame.copy()), real_append(self, feed, frame, **kw))[1])
    for feed, frame in generate(seed=9, events=5_000).items():
        path = tmp_path / f"{feed}.csv"
        frame.to_csv(path, index=False)
        ingest_file(path, feed, store=ParquetStore(tmp_path / feed))
        records = appended[-1]
        assert len(records) == len(frame)
        pd.testing.assert_series_equal(records["content_hash"],
                                       _reference_hash(records.drop(columns="content_hash")),
                                       check_names=False, obj=feed)
    assert whole_frame == []  # every hash came from the per-column hashes


@pytest.mark.parametrize("thread_min_rows", [0, 10**9])
def test_a_file_with_an_identifier_is_refused_while_its_locations_resolve(
        tmp_path, monkeypatch, thread_min_rows):
    monkeypatch.setattr(ingest_module, "THREAD_MIN_ROWS", thread_min_rows)
    rows = [dict(r) for r in VALID_ROWS["nrm"]]
    rows[1]["record_id"] = "NHS-485-777-3456"
    path = write_csv(tmp_path / "nrm.csv", rows)
    store = ParquetStore(tmp_path / "s")
    with pytest.raises(IdentifierError) as caught:
        ingest_file(path, "nrm", store=store, geomask_m=20)  # identifiers before the cell size
    assert [(p.row, p.column) for p in caught.value.problems] == [(3, "record_id")]
    stored_bytes = b"".join(store_snapshot(store.root).values())
    assert b"-1.5491" not in stored_bytes and not (store.root / "quarantine").exists()
    with pytest.raises(ConfigError, match="below the minimum of 50 m"):
        ingest_file(write_csv(tmp_path / "ok.csv", VALID_ROWS["nrm"]), "nrm", store=store,
                    geomask_m=20)
    for thread in threading.enumerate():  # a refused file leaves no location work behind
        if thread.name.startswith("ingest-locations"):
            thread.join(timeout=30)
            assert not thread.is_alive()


def _old_passes_on_distinct_values(typed: pd.DataFrame, schema) -> bool:
    """``validation.passes_on_distinct_values`` as it was (commit 7b2c6bf): ``duplicated()``."""
    if any(name not in typed.columns for name in schema.columns):
        return False
    unique = [name for name, column in schema.columns.items() if column.unique]
    try:
        for name, column in schema.columns.items():
            values = typed[name]
            duplicated = values.duplicated()
            if column.unique and duplicated.any():
                return False
            distinct = values[~duplicated.to_numpy()]
            type(schema)({name: column}, strict=False).validate(distinct.to_frame(), lazy=False)
        if schema.checks:
            rest = [c for c in schema.columns if c not in unique]
            type(schema)(checks=schema.checks, strict=False).validate(
                typed[rest].drop_duplicates(), lazy=False)
    except (pandera.errors.SchemaError, pandera.errors.SchemaErrors):
        return False
    return True


def _variants(typed: pd.DataFrame, feed: str):
    yield "as generated", typed
    schema = feed_schema(feed)
    for name in schema.columns:
        missing = typed.copy()
        missing.loc[missing.index[::5], name] = None  # missing cells (pandas' missing marker)
        yield f"{name} missing", missing
        repeated = typed.copy()
        repeated.loc[repeated.index[1], name] = repeated.loc[repeated.index[0], name]
        yield f"{name} repeated", repeated
        if typed[name].dtype == "string":
            bad = typed.copy()
            bad.loc[bad.index[3], name] = "not a value ; x"
            yield f"{name} bad", bad


def test_distinct_values_and_the_verdict_are_the_old_checks():
    from data.ingest import _parse

    for feed, frame in generate(seed=11, events=2_000).items():
        typed, _ = _parse(_text_frame(frame), feed)
        schema = feed_schema(feed)
        verdicts = []
        for label, variant in _variants(typed, feed):
            for name in schema.columns:
                values = variant[name]
                kept = values[~values.duplicated().to_numpy()].reset_index(drop=True)
                pd.testing.assert_series_equal(pd.Series(values.unique(), name=name), kept,
                                               obj=f"{feed} {label} {name}")
            new = validation.passes_on_distinct_values(variant, schema)
            assert new == _old_passes_on_distinct_values(variant, schema), f"{feed} {label}"
            verdicts.append(new)
        assert verdicts[0] and not all(verdicts), feed  # both verdicts were exercised
