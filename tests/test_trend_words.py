"""One trend language (issue 13 item 6): the hotspot classes and feed trend words of
``core.trend_words``, each reachable on constructed series, each label naming its window, and no
other module keeping its own titles."""
from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from core import trend_words as words
from core.trends import CATEGORIES, MIN_MONTHS, TOO_SHORT, classify

ROOT = Path(__file__).resolve().parent.parent
LOW = [0.2] * 24          # a quiet place: 2 or more events in a month is hot
BUSY = [10.0] * 24        # a busy baseline: a month can also be significantly quiet (cold)
NOV = pd.Period("2026-11", "M")
Q3 = pd.Period("2026Q3", "Q")

#: One constructed 24-month series per class (oldest first) and its baseline.
SERIES = {
    "new": ([0] * 21 + [5, 6, 7], LOW),
    "consecutive": ([0] * 14 + [4] * 10, LOW),
    "intensifying": ([0] * 8 + [2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 10], LOW),
    "persistent": ([3] * 24, LOW),
    "diminishing": ([9, 9, 8, 8, 7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1] + [0] * 6, LOW),
    "sporadic": ([0, 4, 0, 0, 0, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4], LOW),
    "oscillating": ([10, 10, 2] + [10] * 10 + [22] + [10] * 9 + [22], BUSY),
    "historical": ([0] * 6 + [0, 0, 3, 0, 0, 3, 0, 3, 0, 0, 0, 0] + [0] * 6, LOW),
    "no pattern": ([1] * 24, LOW),
}


def test_the_nine_classes_are_arcgis_eight_and_no_pattern():
    assert set(CATEGORIES) == {"new", "consecutive", "intensifying", "persistent",
                               "diminishing", "sporadic", "oscillating", "historical",
                               "no pattern"}
    assert set(SERIES) == set(CATEGORIES)


@pytest.mark.parametrize("category", list(SERIES))
def test_every_class_is_reachable_and_its_label_names_the_window(category):
    counts, expected = SERIES[category]
    assert classify(counts, expected).category == category
    label = words.hotspot_label(category, len(counts), NOV)
    assert label == f"{words.HOTSPOT_TITLES[category]} (24 months to Nov 2026)"
    assert words.HOTSPOT_DEFINITIONS[category].endswith(".")


def test_the_class_boundaries_that_tell_classes_apart():
    # The same run, begun within the last 6 months, is new; begun before, consecutive.
    assert classify([0] * 19 + [4] * 5, LOW).category == "new"
    assert classify([0] * 17 + [4] * 7, LOW).category == "consecutive"
    # A run with a gap is not consecutive: it is a significant rise (intensifying).
    assert classify([0] * 14 + [4, 4, 4, 0, 4, 4, 4, 4, 4, 4], LOW).category == "intensifying"
    # Without the earlier quiet (cold) month, the oscillating series is sporadic.
    counts = list(SERIES["oscillating"][0])
    counts[2] = 10
    assert classify(counts, BUSY).category == "sporadic"


def test_a_window_too_short_is_not_classified_not_new():
    """The meeting used to fit one quarter: three months, so every hotspot read "New"."""
    result = classify([0, 5, 6], [0.2] * 3)
    assert result.category == TOO_SHORT
    assert classify([0] * (MIN_MONTHS - 3) + [5, 6, 7], [0.2] * MIN_MONTHS).category == "new"
    assert words.hotspot_label(TOO_SHORT, 3, pd.Period("2026-09", "M")) == \
        "Not classified (3 months to Sep 2026)"


def test_window_text_for_months_and_quarters():
    assert words.window_text(24, NOV) == "24 months to Nov 2026"
    assert words.window_text(8, Q3) == "8 quarters to Q3 2026"
    assert words.window_text(1, Q3) == "1 quarter to Q3 2026"


def test_feed_labels_name_the_window_and_a_run_the_test_does_not_call_a_trend():
    assert words.feed_label("increasing", 8, Q3) == "Rising (8 quarters to Q3 2026)"
    assert words.feed_label("decreasing", 24, NOV, symbol=True) == \
        "▼ Falling (24 months to Nov 2026)"
    # The chart rises three quarters running; the 8-quarter test is not significant.
    rising_end = [30, 41, 35, 38, 33, 36, 40, 44]
    assert words.last_run(rising_end) == 3
    assert words.feed_label("no trend", 8, Q3, rising_end) == \
        "No significant trend (8 quarters to Q3 2026); up 3 quarters running"
    assert words.feed_label("no trend", 8, Q3, [5, 9, 7, 6]) == \
        "No significant trend (8 quarters to Q3 2026); down 2 quarters running"
    # One step is not a run; a hidden period (NaN) ends it: the label says what the chart shows.
    assert words.feed_label("no trend", 8, Q3, [5, 4, 3, 4]) == \
        "No significant trend (8 quarters to Q3 2026)"
    assert words.last_run([1, 2, float("nan"), 3, 4]) == 1
    assert words.last_run([1, 2, 3, 3]) == 0
    assert words.feed_label("too few records", 8, Q3) == \
        "Too few records to test (8 quarters to Q3 2026)"


# -- one vocabulary ------------------------------------------------------------------------
TREND_KEYS = {"intensifying", "persistent", "diminishing", "sporadic", "oscillating",
              "historical", "consecutive", "increasing", "decreasing", "no trend"}
SOURCE_DIRS = ("core", "models", "views", "reports", "ui", "pages", "maps", "safeguards",
               "geo", "storage", "tools", "data")


def trend_title_dicts(path: Path) -> list[int]:
    """Lines of dict literals in ``path`` that map a trend key to a text (a title table)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            pairs = [(k.value, v) for k, v in zip(node.keys, node.values)
                     if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            if any(key in TREND_KEYS and isinstance(value, (ast.Constant, ast.JoinedStr))
                   for key, value in pairs):
                found.append(node.lineno)
    return found


def test_no_module_but_the_vocabulary_keeps_trend_titles():
    files = [p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py")]
    files += [ROOT / "dashboard.py"]
    offenders = {str(p.relative_to(ROOT)): lines for p in files
                 if p.name != "trend_words.py" and (lines := trend_title_dicts(p))}
    assert offenders == {}
    # The check can fail: it finds the vocabulary's own tables.
    assert trend_title_dicts(ROOT / "core" / "trend_words.py")


def test_every_class_and_feed_word_has_a_definition():
    assert set(words.HOTSPOT_TITLES) == set(words.HOTSPOT_DEFINITIONS) == {*CATEGORIES,
                                                                           TOO_SHORT}
    assert set(words.FEED_TITLES) == set(words.FEED_DEFINITIONS)
    for title in words.HOTSPOT_TITLES.values():
        assert f"{title}:" in words.HOTSPOT_CLASS_NOTE
