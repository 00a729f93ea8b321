"""The bad-input corpus (``tests/bad_inputs``, made by its ``make_corpus.py``), read as the
ingest reads it: shared by the tests that compare a fast path with the one it replaces."""
from __future__ import annotations

from pathlib import Path

from core.errors import DashboardError
from data.readers import read_partner_file

CORPUS = Path(__file__).resolve().parent / "bad_inputs"


def readable_corpus_frames():
    """``(file name, frame)`` of each corpus CSV the reader accepts (the rest are refused
    before any column is parsed, so they have nothing to compare)."""
    for path in sorted(CORPUS.glob("*.csv")):
        try:
            _, frame = read_partner_file(path)
        except DashboardError:
            continue
        yield path.name, frame
