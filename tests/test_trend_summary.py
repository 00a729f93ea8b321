"""The Trends page's plain-English summary (views.trend_summary) and its small multiples
(views.trend_multiples).

The summary is checked two ways: on hand-made protected tables, where which districts are beyond
normal variation is known by construction, and on the project's synthetic store (the one
``tests/test_kpis.py`` uses), for an analyst and an executive, against the KPI table's own test
(``views.kpis``), so the sentence's direction matches the numbers and the districts it names are
exactly those whose change is beyond normal variation.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.periods import parse_period
from data.synthetic import build_store as build_synthetic
from safeguards.disclosure import TOTAL, threshold_for
from tests.sample_store import scoped_query
from views import feed_tables, kpis, trend_multiples, trend_series, trend_summary
from views.feed_tables import WEST_YORKSHIRE, FeedTables
from views.trend_summary import Change, feed_summary, movement, window_test

CODES = {"Bradford": "E08000032", "Calderdale": "E08000033", "Kirklees": "E08000034",
         "Leeds": "E08000035", "Wakefield": "E08000036"}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("summary_synthetic") / "store"
    build_synthetic(str(root), years=2, seed=5, end="2026-10-31")
    from storage.parquet import ParquetStore
    return ParquetStore(root)


def hand_tables(last: dict[str, int | None], history: dict[str, int], feed: str = "nrm",
                quarters: int = 10) -> FeedTables:
    """Quarterly protected tables of one feed: each district at its ``history`` count every
    quarter but the last, then ``last`` (None: hidden); West Yorkshire their sum (hidden when
    one is)."""
    periods = pd.period_range("2024-Q2", periods=quarters, freq="Q")
    rows = {CODES[name]: [history[name]] * (quarters - 1) + [last[name]] for name in CODES}
    counts = pd.DataFrame(rows, index=periods).T.astype("Int64")
    total = counts.sum(axis=0, skipna=False)
    counts.loc[TOTAL] = total
    display = counts.astype(object).where(counts.notna(), "<5").astype(str)
    area = SimpleNamespace(counts=counts, display=display)
    return FeedTables(feed, "Q", "district", periods, area, threshold=5,
                      bounds=(periods[0].start_time.date(), periods[-1].end_time.date()))


# -- the sentence, on hand-made tables ------------------------------------------------------------
def test_a_rise_driven_by_two_districts_names_them_largest_first():
    history = {"Bradford": 100, "Calderdale": 40, "Kirklees": 80, "Leeds": 150, "Wakefield": 60}
    last = {"Bradford": 150, "Calderdale": 42, "Kirklees": 78, "Leeds": 230, "Wakefield": 30}
    tables = hand_tables(last, history)
    q = tables.periods
    summary = feed_summary(tables, [q[-1]], [q[-2]])
    assert summary.total.now == 530 and summary.total.before == 430
    assert summary.verdict == "worse" and summary.total.beyond
    # Leeds (+80) and Bradford (+50) rose beyond normal variation; Wakefield fell (-30).
    assert summary.drivers == ("Leeds", "Bradford") and summary.against == ("Wakefield",)
    assert summary.sentence == ("NRM referrals: up 23% on the previous quarter (530 against 430), "
                                "beyond normal variation; driven by Leeds and Bradford "
                                "(Wakefield went the other way).")
    for district in summary.districts:
        expected = kpis.change_test(tables.area.counts.loc[district.code], q, q[-1], q[-2])
        assert district.beyond is expected[1], district


def test_a_fall_is_better_and_no_change_is_said_plainly():
    history = {"Bradford": 100, "Calderdale": 40, "Kirklees": 80, "Leeds": 150, "Wakefield": 60}
    fall = hand_tables({**history, "Leeds": 90, "Kirklees": 50}, history)
    summary = feed_summary(fall, [fall.periods[-1]], [fall.periods[-2]])
    assert summary.verdict == "better" and summary.drivers == ("Leeds", "Kirklees")
    assert summary.sentence.startswith("NRM referrals: down 21% on the previous quarter")
    flat = hand_tables({**history, "Leeds": 156}, history)
    summary = feed_summary(flat, [flat.periods[-1]], [flat.periods[-2]])
    assert summary.verdict == "no real change" and summary.drivers == ()
    assert summary.sentence == ("NRM referrals: up 1% on the previous quarter (436 against "
                                "430), within normal variation; no district stands out.")
    # No real change overall, but one district moved beyond normal variation: said, by name.
    mixed = hand_tables({**history, "Leeds": 200, "Bradford": 55}, history)
    summary = feed_summary(mixed, [mixed.periods[-1]], [mixed.periods[-2]])
    assert summary.verdict == "no real change"
    assert set(summary.against) == {"Leeds", "Bradford"}
    assert "; but Leeds up 33% and Bradford down 45%, beyond normal variation." in \
        summary.sentence


def test_a_hidden_count_is_not_compared_and_names_no_district():
    history = {"Bradford": 100, "Calderdale": 40, "Kirklees": 80, "Leeds": 150, "Wakefield": 60}
    tables = hand_tables({**history, "Wakefield": None, "Leeds": 300}, history)
    summary = feed_summary(tables, [tables.periods[-1]], [tables.periods[-2]])
    assert summary.verdict == "not compared" and summary.total.now is None
    assert summary.sentence == ("NRM referrals: not compared with the previous quarter: a "
                                "figure is hidden to protect the people counted.")
    wakefield = next(d for d in summary.districts if d.name == "Wakefield")
    assert wakefield.beyond is None and np.isnan(wakefield.p_value)


def test_movement_words():
    assert movement(Change("x", "X", 118, 100)) == "up 18%"
    assert movement(Change("x", "X", 93, 100)) == "down 7%"
    assert movement(Change("x", "X", 12, 2)) == "up from 2 to 12"  # a share of 2 says little
    assert movement(Change("x", "X", 50, 50)) == "unchanged"
    assert movement(Change("x", "X", 1001, 1000)) == "up less than 1%"


def test_a_window_of_one_period_is_the_kpi_test_and_two_months_test_their_sums():
    months = pd.period_range("2025-01", periods=20, freq="M")
    counts = pd.Series([40, 44, 38, 41, 39, 45, 37, 42, 40, 43, 39, 41, 44, 38, 40, 42, 41, 39,
                        60, 66], index=months, dtype="Int64")
    p_value, beyond = window_test(counts, months, [months[-1]], [months[-4]])
    assert (p_value, beyond) == kpis.change_test(counts, months, months[-1], months[-4])[:2]
    p_value, beyond = window_test(counts, months, list(months[-2:]), list(months[-5:-3]))
    phi = kpis.dispersion(counts[:-2].tolist(), [kpis.days(p) for p in months[:-2]])
    assert p_value == pytest.approx(kpis.change_p_value(
        60 + 66, 42 + 41, kpis.days(months[-2]) + kpis.days(months[-1]),
        kpis.days(months[-5]) + kpis.days(months[-4]), dispersion=phi))
    assert beyond is True
    hidden = counts.copy()
    hidden[months[-1]] = pd.NA
    assert window_test(hidden, months, list(months[-2:]), list(months[-5:-3]))[1] is None


# -- on the synthetic store ------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["analyst", "executive"])
def test_summary_agrees_with_the_kpi_test_on_the_synthetic_store(synthetic, role):
    q = scoped_query(synthetic, role)
    blocks = trend_summary.trend_summary(q)
    assert [b.key for b in blocks] == ["quarter", "to_date"]
    quarter, to_date = blocks
    assert quarter.heading == "Last whole quarter: Q3 2026 (Jul–Sep), against Q2 2026 (Apr–Jun)"
    assert (quarter.now, quarter.before) == (("2026-Q3",), ("2026-Q2",))
    assert to_date.heading == "Quarter to date: October 2026, against July 2026"
    kpi = kpis.kpi_table(q, "2026-Q3").set_index("feed")
    for summary in quarter.feeds:
        row = kpi.loc[summary.feed]
        # The same figures as the KPI tiles of the quarter (published sums for an executive).
        assert (summary.total.now, summary.total.before) == (row["count"], row["previous_count"])
        assert summary.total.beyond is row["beyond_previous"]
        check_sentence(summary, feed_tables.feed_tables(q, summary.feed, "Q"),
                       [parse_period("2026-Q3")], [parse_period("2026-Q2")])
    for summary in to_date.feeds:
        check_sentence(summary, feed_tables.feed_tables(q, summary.feed, "M"),
                       [parse_period("2026-10")], [parse_period("2026-07")])
    if role == "executive":
        text = " ".join(s.sentence for b in blocks for s in b.feeds)
        for number in re.findall(r"\b\d[\d,]*\b(?!%)", text.replace("2026", "")):
            value = int(number.replace(",", ""))
            assert value == 0 or value >= min(threshold_for(f) for f in kpis.FEEDS), text


def check_sentence(summary, tables, now, before):
    """The sentence's direction matches the numbers; the districts it names are exactly those
    beyond normal variation (by the KPI test), in the same direction, largest first."""
    total = summary.total
    expected = {}
    for code in tables.area.cells.index:
        row = tables.area.counts.loc[code]
        _, beyond, _ = kpis.change_test(row, tables.periods, now[0], before[0])
        expected[code] = beyond
        district = next(d for d in summary.districts if d.code == code)
        assert district.beyond is beyond, (summary.feed, district)
        shown = [None if pd.isna(row[p]) else int(row[p]) for p in (now[0], before[0])]
        assert [district.now, district.before] == shown
    beyond = [d for d in summary.districts if expected[d.code]]
    if total.beyond is None:
        assert summary.verdict == "not compared" and summary.drivers == ()
        assert "not compared" in summary.sentence
        return
    if total.beyond and total.now != total.before:
        word, verdict = ("up", "worse") if total.now > total.before else ("down", "better")
        assert summary.verdict == verdict
        assert f": {word} " in summary.sentence and "beyond normal variation" in summary.sentence
        same = [d for d in beyond if d.direction == total.direction]
        names = [d.name for d in sorted(same, key=lambda d: (-abs(d.diff), d.name))][:3]
        assert list(summary.drivers) == names
        if names:
            assert f"driven by {trend_summary._and(names)}" in summary.sentence
    else:
        assert summary.verdict == "no real change"
        assert "within normal variation" in summary.sentence and summary.drivers == ()
        assert set(summary.against) == {d.name for d in beyond[:3]} or len(beyond) > 3
    if total.before and total.before >= 10 and total.now != total.before:
        share = abs(total.now - total.before) / total.before
        assert f"{'up' if total.now > total.before else 'down'} {share:.0%}" in summary.sentence
    for name in summary.drivers + summary.against:
        assert expected[CODES[name]] is True


def test_no_whole_quarter_gives_no_summary(tmp_path):
    from tests.sample_store import build_store
    store = build_store(tmp_path / "store", {"nrm": 12})  # 2 Jan to 20 Mar 2023
    assert trend_summary.trend_summary(scoped_query(store)) == []


# -- the small multiples --------------------------------------------------------------------------
def contrast(a: str, b: str) -> float:
    def luminance(colour):
        rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        rgb = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    low, high = sorted([luminance(a), luminance(b)])
    return (high + 0.05) / (low + 0.05)


def test_palette_is_colour_blind_safe_with_3_to_1_contrast_and_shapes():
    districts = [n for n in trend_multiples.AREA_STYLE if n != WEST_YORKSHIRE]
    colours = [trend_multiples.AREA_STYLE[n][0] for n in districts]
    shapes = [trend_multiples.AREA_STYLE[n][1] for n in districts]
    assert len(set(shapes)) == len(shapes)  # never colour alone
    for colour in [*colours, trend_multiples.AREA_STYLE[WEST_YORKSHIRE][0]]:
        assert contrast(colour, "#FFFFFF") >= 3, colour
        assert contrast(colour, trend_multiples.HIDDEN_BAND) >= 3, colour
    assert contrast(trend_multiples.HIDDEN_TEXT, trend_multiples.HIDDEN_BAND) >= 4.5
    # Neighbours: side by side and one above the other, three to a row (the page) and five
    # (one row).
    for per_row in (trend_multiples.PER_ROW, 5):
        for i in range(len(colours)):
            for j in (i + 1, i + per_row):
                if j < len(colours) and (j == i + per_row or j // per_row == i // per_row):
                    assert contrast(colours[i], colours[j]) >= 3, (districts[i], districts[j])


def layers(chart) -> list[dict]:
    spec = chart.to_dict()
    return spec["layer"], spec.get("datasets", {})


def test_a_panel_draws_hidden_periods_as_labelled_bands_not_gaps(synthetic):
    series = trend_series.monthly_series(scoped_query(synthetic, "executive"), "mandevilla")
    names = trend_multiples.panel_order(series)
    assert names == ["Bradford", "Calderdale", "Kirklees", "Leeds", "Wakefield"]
    top = trend_multiples.shared_top(series)
    hidden_any = False
    for position, name in enumerate(names):
        rows = series[series["name"] == name]
        chart = trend_multiples.panel_chart(series, name, top=top, position=position)
        spec = chart.to_dict()
        band, label, line, points = spec["layer"]
        datasets = spec["datasets"]
        assert band["mark"]["type"] == "rect" and label["mark"]["text"] == "hidden"
        runs = datasets[band["data"]["name"]]
        hidden = rows[rows["suppressed"]]
        # Every hidden month is inside one band, and its tooltip says what is shown.
        assert sum(r["What"].count(":") for r in runs) == len(hidden)
        for r in runs:
            assert set(re.findall(r": ([^,]+)", r["What"])) <= {f"<{threshold_for('mandevilla')}",
                                                             "[c]"}
        hidden_any |= len(hidden) > 0
        # The line and its points hold shown figures only, each run of them its own line.
        drawn = datasets[line["data"]["name"]]
        assert len(drawn) == (~rows["suppressed"]).sum()
        assert all(d["Value"] is not None and not np.isnan(d["Value"]) for d in drawn)
        assert line["encoding"]["detail"]["field"] == "Run"
        colour, shape = trend_multiples.AREA_STYLE[name]
        assert line["mark"]["color"] == colour
        assert points["mark"]["shape"] == shape and points["mark"]["filled"]
        assert spec["title"]["text"] == name  # a direct label, not a legend
        assert line["encoding"]["y"]["scale"]["domain"] == [0, top]  # one shared scale
    assert hidden_any  # an executive's monthly Mandevilla districts have hidden months
    whole = trend_multiples.panel_chart(series, WEST_YORKSHIRE).to_dict()
    assert "domain" not in whole["layer"][2]["encoding"]["y"]["scale"]


def test_small_multiples_render_with_the_hidden_label(synthetic):
    import vl_convert

    series = trend_series.monthly_series(scoped_query(synthetic, "executive"), "mandevilla")
    chart = trend_multiples.small_multiples(series, title="Mandevilla flags", synthetic=True)
    spec = chart.to_dict()
    assert len(spec["vconcat"]) == 1 + 2  # West Yorkshire, then two rows of districts
    assert [len(row["hconcat"]) for row in spec["vconcat"][1:]] == [3, 2]
    svg = vl_convert.vegalite_to_svg(spec)
    assert ">hidden<" in svg and ">Leeds<" in svg and ">West Yorkshire<" in svg
    assert "SYNTHETIC DATA" in svg
    png = trend_multiples.chart_png(chart, scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
