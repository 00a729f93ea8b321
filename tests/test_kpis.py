"""Trends figures (views.kpis, views.feed_tables, views.trend_series, views.trend_flags,
core.periods, RoleScopedQuery's period methods) and the Trends page.

Hand-checked figures use ``tests.sample_store``: one record a week from Monday 2 Jan 2023,
districts in turn, so the counts per month are known by construction (NRM, 36 rows: Jan 5,
Feb 4, Mar 4, Apr 4, May 5, Jun 4, Jul 5, Aug 4, Sep 1). The data run from 2 Jan to 4 Sep 2023,
so only February to August and the second quarter are whole periods they cover: January
(from the 2nd) and September are part-recorded and never shown. Suppression checks also use a
store from the project's synthetic generator, where most figures are large enough to show.
"""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.errors import AccessDenied, PeriodError
from core.filters import EventFilter
from core.periods import (
    complete_periods,
    last_year,
    parse_period,
    period_label,
    period_text,
    trend_table,
    whole_periods,
)
from data.synthetic import build_store as build_synthetic
from safeguards.access import Principal, RoleScopedQuery
from safeguards.disclosure import TOTAL, threshold_for
from tests.apptest import ROOT, open_page, serve_store, texts
from tests.sample_store import build_store, person_ref, scoped_query
from views import feed_tables, kpis, trend_flags, trend_series
from views.exports import safe_csv
from views.trend_charts import area_chart, chart_png

TRENDS = str(ROOT / "pages" / "trends.py")
N_ROWS = {"nrm": 36, "rosewood": 30, "mandevilla": 24}
NRM_PER_MONTH = {"2023-01": 5, "2023-02": 4, "2023-03": 4, "2023-04": 4, "2023-05": 5,
                 "2023-06": 4, "2023-07": 5, "2023-08": 4, "2023-09": 1}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("kpis") / "store", N_ROWS)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("kpis_synthetic") / "store"
    build_synthetic(str(root), years=2, seed=5, end="2026-10-31")
    from storage.parquet import ParquetStore
    return ParquetStore(root)


# -- periods ----------------------------------------------------------------------------------
def test_periods_are_whole_months_or_quarters():
    assert period_text(parse_period("2026-10")) == "2026-10"
    assert period_text(parse_period(" 2026-Q3 ")) == "2026-Q3"
    assert period_label(parse_period("2026-Q3")) == "Q3 2026 (Jul–Sep)"
    assert period_label(parse_period("2026-02")) == "February 2026"
    assert period_text(last_year(parse_period("2026-Q1"))) == "2025-Q1"
    assert period_text(parse_period("2026-01") - 1) == "2025-12"
    for bad in ("2026-13", "2026-Q5", "2026-10-01", "2026-10..2026-11", "Oct 2026", ""):
        with pytest.raises(PeriodError, match="YYYY-MM"):
            parse_period(bad)
    with pytest.raises(PeriodError, match="consecutive"):
        whole_periods(["2026-01", "2026-03"])
    with pytest.raises(PeriodError, match="mixed"):
        whole_periods(["2026-Q1", "2026-04"])
    # The month still being recorded is not offered, nor one the data start after the 1st of.
    months = complete_periods(pd.Timestamp("2023-01-02"), pd.Timestamp("2023-09-04"), "M")
    assert period_text(months[-1]) == "2023-08" and period_text(months[0]) == "2023-02"
    months = complete_periods(pd.Timestamp("2023-01-01"), pd.Timestamp("2023-08-31"), "M")
    assert (period_text(months[0]), period_text(months[-1])) == ("2023-01", "2023-08")
    # A store from 1 Dec 2024 to 30 Nov 2026: neither the fourth quarter of 2024 (December
    # only) nor that of 2026 (October and November) is a whole quarter.
    quarters = complete_periods("2024-12-01", "2026-11-30", "Q")
    assert [period_text(quarters[0]), period_text(quarters[-1])] == ["2025-Q1", "2026-Q3"]
    assert len(complete_periods("2026-11-03", "2026-11-29", "M")) == 0
    assert kpis.last_month("2026-Q3") == "2026-09" and kpis.last_month("2026-10") == "2026-10"


def test_period_reads_take_whole_periods_only(sample):
    q = scoped_query(sample, "executive")
    months = whole_periods(["2023-01", "2023-02"])
    with pytest.raises(ValueError, match="whole periods, not dates"):
        q.period_counts("nrm", "district", months, EventFilter(start=pd.Timestamp("2023-01-05")
                                                               .date()))
    with pytest.raises(AccessDenied):
        q.period_counts("nrm", "ward", months)
    with pytest.raises(AccessDenied):
        scoped_query(sample, "executive").period_trends("nrm", "ward", months)
    with pytest.raises(ValueError, match="does not split"):
        q.period_counts("nrm", "repeat", months)


# -- KPIs, hand-checked -----------------------------------------------------------------------
def test_kpi_table_for_an_analyst_month(sample):
    table = kpis.kpi_table(scoped_query(sample), "2023-06").set_index("feed")
    nrm = table.loc["nrm"]
    assert (nrm["count"], nrm["previous_count"]) == (4, 5)
    assert nrm["display"] == "4" and nrm["previous_display"] == "5"
    assert nrm["change_previous"] == "-1 (-20%)" and nrm["direction_previous"] == "down"
    # Exact conditional test: 4 of 9 records in June (30 days) against May (31 days).
    share = 30 / 61
    expected = sum(math.comb(9, x) * share ** x * (1 - share) ** (9 - x) for x in range(10)
                   if math.comb(9, x) * share ** x * (1 - share) ** (9 - x)
                   <= math.comb(9, 4) * share ** 4 * (1 - share) ** 5 * (1 + 1e-7))
    assert nrm["p_previous"] == pytest.approx(expected)
    assert nrm["beyond_previous"] is False
    # June 2022 is before the data: no data, no change, no test.
    assert nrm["last_year_display"] == "no data" and pd.isna(nrm["last_year_count"])
    assert nrm["change_last_year"] is None and nrm["beyond_last_year"] is None
    assert not nrm["suppressed"] and nrm["threshold"] == 1


def test_kpi_table_for_a_quarter(tmp_path):
    # 70 weekly referrals, 2 Jan 2023 to 29 Apr 2024: whole quarters Q2 2023 to Q1 2024.
    store = build_store(tmp_path / "store", {"nrm": 70})
    assert feed_tables.data_periods(scoped_query(store), "Q") == ["2024-Q1", "2023-Q4", "2023-Q3",
                                                            "2023-Q2"]
    nrm = kpis.kpi_table(scoped_query(store), "2023-Q3").set_index("feed").loc["nrm"]
    assert nrm["count"] == 5 + 4 + 4 and nrm["previous_count"] == 4 + 5 + 4
    assert nrm["change_previous"] == "+0 (+0%)" and nrm["direction_previous"] == "same"
    assert nrm["period_label"] == "Q3 2023 (Jul–Sep)"
    assert nrm["previous_period_label"] == "Q2 2023 (Apr–Jun)"
    # The first quarter of 2023 is recorded from the 2nd of January only: not compared.
    q2 = kpis.kpi_table(scoped_query(store), "2023-Q2").set_index("feed").loc["nrm"]
    assert q2["previous_display"] == "incomplete" and pd.isna(q2["previous_count"])
    assert q2["change_previous"] is None and q2["beyond_previous"] is None
    assert "not complete in the data" in kpis.kpi_notes(q2.to_frame().T)[0]


def test_part_recorded_periods_are_neither_offered_nor_charted(tmp_path):
    """A store ending on 30 November: its fourth quarter holds two months, and would read as
    a fall of a third against the third quarter's three."""
    root = tmp_path / "store"
    build_synthetic(str(root), years=1, seed=2, end="2026-11-30", events=1500)
    from storage.parquet import ParquetStore
    store = ParquetStore(root)
    first, last = store.period()
    assert (str(first), str(last)) == ("2025-12-01", "2026-11-30")
    q = scoped_query(store, "executive")
    assert feed_tables.data_periods(q, "Q") == ["2026-Q3", "2026-Q2", "2026-Q1"]
    assert feed_tables.data_periods(q, "M")[0] == "2026-11" and \
        feed_tables.data_periods(q, "M")[-1] == "2025-12"
    with pytest.raises(PeriodError, match="Q4 2026 .* is not complete: the data cover 1 Dec "
                                          "2025 to 30 Nov 2026"):
        kpis.kpi_table(q, "2026-Q4")
    with pytest.raises(PeriodError, match="not complete"):
        trend_series.measures_table(q, "2026-Q4")
    # Every quarterly series holds whole quarters only: no partial 2025-Q4 (December) at the
    # start, no 2026-Q4 (October and November) at the end.
    whole = {"2026-Q1", "2026-Q2", "2026-Q3"}
    assert set(trend_series.monthly_series(q, "nrm", freq="Q")["period"]) == whole
    assert set(trend_series.measure_series(q, "Q")["period"]) == whole
    assert set(trend_series.breakdown_series(q, "nrm", "exploitation_type", "Q")["period"]) == whole
    assert list(feed_tables.feed_tables(q, "nrm", "Q").periods.astype(str)) == [
        "2026Q1", "2026Q2", "2026Q3"]
    # The first quarter's previous one is part-recorded: shown as such, not compared.
    q1 = kpis.kpi_table(q, "2026-Q1").set_index("feed").loc["nrm"]
    assert q1["previous_display"] == "incomplete" and q1["change_previous"] is None
    # The trend window ends at the last whole month.
    flags = trend_flags.trend_flags(q, ["nrm"], windows=(12,))
    assert set(flags["last"]) == {"2026-11"} and set(flags["first"]) == {"2025-12"}


def test_kpi_table_for_an_executive_hides_small_counts_and_their_changes(sample):
    table = kpis.kpi_table(scoped_query(sample, "executive"), "2023-06").set_index("feed")
    nrm = table.loc["nrm"]
    assert nrm["display"] == "<5" and pd.isna(nrm["count"])
    # May is the sum of its published atoms (safeguards.publication): shown when 5 or more,
    # and no change against a hidden June.
    from safeguards.publication import build_publication
    atoms = build_publication(sample, "nrm").atoms
    may = atoms.loc[atoms["month"] == pd.Period("2023-05", "M"), "published"].sum()
    assert nrm["previous_display"] == (str(may) if may >= 5 else "<5")
    assert nrm["change_previous"] is None and nrm["direction_previous"] is None
    assert np.isnan(nrm["p_previous"]) and nrm["beyond_previous"] is None
    assert nrm["suppressed"] and nrm["threshold"] == 5
    mandevilla = table.loc["mandevilla"]
    assert mandevilla["display"] == "<10" and mandevilla["threshold"] == 10
    assert "nan" not in " ".join(kpis.kpi_notes(table.reset_index()))
    assert [t["delta"] for t in kpis.kpi_tiles(table.reset_index())] == [None, None, None]


def test_kpi_table_refuses_a_period_outside_the_data(sample):
    with pytest.raises(PeriodError, match="no data for March 2021"):
        kpis.kpi_table(scoped_query(sample), "2021-03")
    # January (from the 2nd) and September (to the 4th) are recorded in part.
    for part in ("2023-01", "2023-09", "2023-Q1", "2023-Q3"):
        with pytest.raises(PeriodError, match="is not complete: the data cover 2 Jan 2023 to "
                                              "4 Sep 2023"):
            kpis.kpi_table(scoped_query(sample), part)
    with pytest.raises(PeriodError, match="not understood"):
        kpis.kpi_table(scoped_query(sample), "2023-06-01")


def test_over_dispersed_history_widens_the_test():
    """Poisson counts vary by about their square root; real counts (repeat episodes, operations)
    vary more. The same change is beyond normal variation after a steady history, not after a
    history that swings by ±40 around 100."""
    steady = [100, 104, 95, 101, 98, 107, 93, 100, 102, 97, 99, 105, 96, 103, 100, 94]
    swinging = [60, 140] * 8
    assert kpis.dispersion(steady) == 1.0  # floored: no wider than Poisson
    assert kpis.dispersion(swinging) > 10
    # A steady rise is a trend, not noise.
    assert kpis.dispersion([50 + 5 * i for i in range(16)]) == 1.0
    assert kpis.dispersion(swinging[:kpis.MIN_HISTORY - 1]) == 1.0  # too little history
    months = pd.period_range("2024-01", periods=18, freq="M")
    for history, beyond in ((steady, True), (swinging, False)):
        counts = pd.Series([*history, 100, 140], index=months, dtype="Int64")
        p_value, verdict, phi = kpis.change_test(counts, months, months[-1], months[-2])
        assert verdict is beyond, (history, p_value, phi)
    # Poisson alone: 140 against 100 is beyond (p about 0.01); a hidden count is not tested.
    assert kpis.change_p_value(140, 100, 30, 31) < 0.02
    hidden = pd.Series([*swinging, pd.NA, 140], index=months, dtype="Int64")
    p_value, verdict, _ = kpis.change_test(hidden, months, months[-1], months[-2])
    assert np.isnan(p_value) and verdict is None
    # The history is the role's shown counts: a hidden month is left out, not read.
    gaps = pd.Series([*swinging[:-1], pd.NA, 100, 140], index=months, dtype="Int64")
    assert kpis.change_test(gaps, months, months[-1], months[-2])[2] == pytest.approx(
        kpis.dispersion([*swinging[:-1], float("nan"), 100],
                        [kpis.days(p) for p in months[:-1]]))
    assert "over-dispersion" in kpis.TEST_NOTE


def test_change_p_value_is_the_exact_conditional_test():
    tail = sum(math.comb(40, x) for x in range(30, 41)) / 2 ** 40
    assert kpis.change_p_value(30, 10) == pytest.approx(2 * tail)
    assert kpis.change_p_value(10, 30) == pytest.approx(2 * tail)
    assert kpis.change_p_value(20, 20) == pytest.approx(1.0)
    assert np.isnan(kpis.change_p_value(0, 0)) and np.isnan(kpis.change_p_value(None, 3))
    assert kpis.change_text(46, 40) == "+6 (+15%)" and kpis.direction(3, 3) == "same"
    # Widened by a dispersion factor: the exact test of the counts divided by it.
    assert kpis.change_p_value(30, 10, dispersion=2.0) == pytest.approx(
        kpis.change_p_value(15, 5))
    assert kpis.change_p_value(30, 10, dispersion=0.5) == kpis.change_p_value(30, 10)


# -- the other measures, hand-checked ---------------------------------------------------------
def measure(series, name, feed, period, category=""):
    row = series[(series["measure"] == name) & (series["feed"] == feed)
                 & (series["period"] == period) & (series["category"] == category)]
    assert len(row) == 1, (name, feed, period)
    return row.iloc[0]


def test_measures_for_an_analyst(sample):
    series = trend_series.measure_series(scoped_query(sample), "M")
    # Whole months only: January (from the 2nd) and September (to the 4th) are not shown.
    assert sorted(set(series["period"])) == [f"2023-{m:02d}" for m in range(2, 9)]
    # February 2023: NRM rows 5-8; children are the odd rows; types cycle labour,
    # sexual;criminal (several), criminal: rows 5 and 8 criminal, 6 labour, 7 several.
    assert measure(series, "count", "nrm", "2023-02")["value"] == 4
    assert measure(series, "child_share", "nrm", "2023-02")["display"] == "50%"
    assert measure(series, "type_share", "nrm", "2023-02", "several")["value"] == 1 / 4
    assert measure(series, "type_share", "nrm", "2023-02", "criminal")["value"] == 2 / 4
    # Rosewood: persons person_ref(0)..person_ref(6) in turn, so episodes 0-6 are first episodes (February:
    # rows 5-8, of which 7 and 8 are repeats); every fourth is still missing (row 8); the
    # others were found 30 hours after being reported.
    assert measure(series, "repeat_share", "rosewood", "2023-02")["display"] == "50%"
    assert measure(series, "repeat_share", "rosewood", "2023-03")["value"] == 1
    assert measure(series, "still_missing", "rosewood", "2023-02")["value"] == 1
    assert measure(series, "median_hours", "rosewood", "2023-02")["display"] == "30 h"
    # Mandevilla: even rows referred to police (February: rows 6 and 8 of 5-8).
    assert measure(series, "referred", "mandevilla", "2023-02")["value"] == 2
    assert measure(series, "referred_share", "mandevilla", "2023-02")["display"] == "50%"
    rate = measure(series, "rate", "nrm", "2023-02")["value"]
    population = trend_series._population("district").sum()
    assert rate == pytest.approx(4 / population * 100_000)
    table = trend_series.measures_table(scoped_query(sample), "2023-03")
    row = table[table["measure"] == "repeat_share"].iloc[0]
    assert (row["display"], row["previous_display"], row["last_year_display"]) == \
        ("100%", "50%", "no data")
    table = trend_series.measures_table(scoped_query(sample), "2023-02")
    assert set(table["previous_display"]) == {"incomplete"}  # January: from the 2nd only


def test_measures_for_an_executive_hide_medians_rates_and_shares_of_small_counts(sample):
    series = trend_series.measure_series(scoped_query(sample, "executive"), "M")
    assert measure(series, "median_hours", "rosewood", "2023-02")["display"] == \
        "hidden (fewer than 5 found)"
    assert measure(series, "still_missing", "rosewood", "2023-02")["display"] == "<5"
    for name in ("rate", "child_share"):
        row = measure(series, name, "nrm", "2023-06")  # June: 4 referrals, hidden
        assert np.isnan(row["value"]) and row["display"] == "hidden"


def test_repeat_episodes_never_show_the_person_reference(sample):
    q = scoped_query(sample)
    months = whole_periods(["2023-01", "2023-02", "2023-03"])
    table = q.period_counts("rosewood", "repeat", months)
    assert list(table.cells.index) == ["first", "repeat"]
    assert table.cells.loc["first"].tolist() == [5, 2, 0]
    frames = [trend_series.measure_series(q, "M"),
              trend_series.breakdown_series(q, "rosewood", "repeat"),
              trend_series.monthly_series(q, "rosewood"), trend_flags.trend_flags(q, ["rosewood"])]
    for frame in frames:
        assert "person_ref" not in frame.columns and "record_id" not in frame.columns
        text = safe_csv(frame).decode("utf-8-sig")
        assert "PR-" not in text and not any(person_ref(k) in text for k in range(7))


# -- suppression on the synthetic store -------------------------------------------------------
def small(label: str, k: int) -> bool:
    value = label.replace(",", "")
    return value.isdigit() and 0 < int(value) < k


def test_no_small_number_is_visible_to_an_executive(synthetic):
    q = scoped_query(synthetic, "executive")
    k = {feed: threshold_for(feed) for feed in kpis.FEEDS}
    table = kpis.kpi_table(q, "2026-10")
    for row in table.to_dict("records"):
        for column in ("display", "previous_display", "last_year_display"):
            assert not small(row[column], k[row["feed"]]), row
    hidden = 0
    for feed in kpis.FEEDS:
        series = trend_series.monthly_series(q, feed)
        assert not any(small(label, k[feed]) for label in series["display"])
        # A rate is shown exactly where its count is.
        assert (series["rate"].isna() == series["suppressed"]).all()
        assert series["count"].isna().equals(series["suppressed"])
        hidden += int(series["suppressed"].sum())
        tables = feed_tables.feed_tables(q, feed, "M")
        for name, part in tables.parts.items():
            assert not any(small(label, k[feed]) for label in part.display.to_numpy().ravel())
            series = trend_series.breakdown_series(q, feed, name)
            assert series.loc[series["count"].isna(), "share"].isna().all()
    assert hidden > 0  # the check above saw suppressed cells, not an all-large store
    measures = trend_series.measure_series(q, "M")
    counts = measures[measures["unit"] == "records"]
    assert not any(small(label, 5) for label in counts["display"])
    with pytest.raises(AccessDenied):
        trend_series.monthly_series(q, "nrm", level="ward")


def test_period_totals_are_hidden_alike_in_every_table_of_a_feed(synthetic):
    for role in ("executive", "chair"):
        for freq in ("M", "Q"):
            tables = feed_tables.feed_tables(scoped_query(synthetic, role), "mandevilla", freq)
            hidden = tables.area.suppressed.loc[TOTAL]
            for part in tables.parts.values():
                assert part.suppressed.loc[TOTAL].equals(hidden)
                # A breakdown column whose total is hidden is hidden whole (or 0): its parts
                # are published sums no larger than the total's.
                columns = hidden[hidden].index
                assert (part.suppressed.loc[:, columns]
                        | (part.display.loc[:, columns] == "0")).all().all()
            shown = ~hidden
            totals = tables.area.counts.loc[TOTAL, shown[shown].index]
            for part in tables.parts.values():
                assert part.counts.loc[TOTAL, shown[shown].index].equals(totals)


def test_analyst_sees_every_count_and_the_tables_agree(synthetic):
    q = scoped_query(synthetic)
    series = trend_series.monthly_series(q, "nrm")
    assert not series["suppressed"].any()
    october = series[series["period"] == "2026-10"].set_index("code")["count"]
    assert october.drop(TOTAL).sum() == october[TOTAL]
    kpi = kpis.kpi_table(q, "2026-10").set_index("feed")
    assert kpi.loc["nrm", "count"] == october[TOTAL]


# -- trend flags ------------------------------------------------------------------------------
def test_mann_kendall_flags_on_constructed_series():
    months = pd.period_range("2025-01", periods=12, freq="M")
    table = pd.DataFrame([np.arange(1, 13), np.arange(12, 0, -1),
                          [5, 4, 6, 5, 4, 6, 5, 4, 6, 5, 4, 6], [0] * 11 + [2]],
                         index=["up", "down", "flat", "tiny"], columns=months)
    flags = trend_table(table, min_total=5).set_index("row")
    assert flags.loc["up", "trend"] == "increasing" and flags.loc["up", "slope"] == 1
    assert flags.loc["down", "trend"] == "decreasing" and flags.loc["down", "slope"] == -1
    assert flags.loc["up", "p_value"] < 0.001
    assert flags.loc["flat", "trend"] == "no trend"
    assert flags.loc["tiny", "trend"] == "too few records"
    assert np.isnan(flags.loc["tiny", "p_value"])
    assert trend_table(table.loc[["tiny"]]).iloc[0]["trend"] == "no trend"


def test_trend_flags_per_district_and_window(sample):
    flags = trend_flags.trend_flags(scoped_query(sample, "executive"), windows=(6, 12), end="2023-08")
    assert set(flags["window"]) == {6, 12}
    six = flags[flags["window"] == 6]
    assert len(six) == 3 * 6  # three feeds, five districts and West Yorkshire
    assert set(six["name"]) >= {"Leeds", "West Yorkshire"}
    assert (flags.loc[flags["window"] == 12, "trend"] == "not enough data").all()
    assert six["first"].iloc[0] == "2023-03" and six["last"].iloc[0] == "2023-08"
    # Mandevilla districts have fewer than k = 10 flags in six months: not tested.
    mv = six[(six["feed"] == "mandevilla") & (six["name"] != "West Yorkshire")]
    assert (mv["trend"] == "too few records").all()
    wide = trend_flags.trend_flags_wide(flags)
    assert list(wide.columns) == ["Feed", "Area", "Last 6 months", "Last 12 months"]


def test_suppressed_roles_get_the_trend_flag_without_p_value_or_slope(synthetic):
    """The Mann-Kendall test runs on the true counts, hidden cells included: a chair or
    executive sees the flag, never the precise p-value or Sen's slope it came with."""
    analyst = trend_flags.trend_flags(scoped_query(synthetic), windows=(24,))
    flagged = analyst[analyst["trend"].isin(["increasing", "decreasing"])]
    assert len(flagged) and flagged["p_value"].notna().all()
    assert flagged["slope_per_year"].notna().all()
    assert flagged["flag"].str.contains(r"\(24 months to Oct 2026\), p = 0\.\d{3}, [+-]\d",
                                        regex=True).all()
    for role in ("executive", "chair"):
        flags = trend_flags.trend_flags(scoped_query(synthetic, role), windows=(24,))
        assert flags["p_value"].isna().all() and flags["slope_per_year"].isna().all()
        words = r"(▲ Rising|▼ Falling|No significant trend|Too few records to test)"
        run = r"(; (up|down) \d+ months running)?"
        assert flags["flag"].str.fullmatch(words + r" \(24 months to Oct 2026\)" + run).all()
        exported = trend_flags.trends_export(flags)
        assert set(exported["p-value"]) == {""} and set(exported["Change per year (Sen)"]) == {""}
        raw = RoleScopedQuery(synthetic, Principal("t", role)).period_trends(
            "nrm", "district", pd.period_range("2025-01", "2026-10", freq="M"))
        assert raw["p_value"].isna().all() and raw["slope"].isna().all()
        assert set(raw["trend"]) <= {"increasing", "decreasing", "no trend", "too few records"}
    # The flags are the Mann-Kendall test of the published sums (safeguards.publication), like
    # every other figure of a protected role: a flag on the true counts would say something of
    # the small ones.
    from core.periods import trend_table
    from geo.boundaries import load_boundaries
    from safeguards.publication import build_publication, period_grid

    months = pd.period_range("2025-01", "2026-10", freq="M")
    atoms = build_publication(synthetic, "nrm").atoms
    atoms = atoms[atoms["month"].isin(months)]
    table = period_grid(atoms, atoms["district_code"].astype(object),
                        load_boundaries("district")["code"].tolist(), months)[0]
    table.loc[TOTAL] = table.sum(axis=0)
    expected = trend_table(table, min_total=5).set_index("row")["trend"]
    assert raw.set_index("code")["trend"].to_dict() == expected.to_dict()


# -- the link and the charts ------------------------------------------------------------------
def test_trends_view_reads_and_repairs_the_link():
    choices = {"M": ["2026-10", "2026-09"], "Q": ["2026-Q3"]}
    assert kpis.trends_view({}, choices) == kpis.TrendsView("2026-10")
    view = kpis.trends_view({"period": ["2026-Q3"], "measure": ["rate"]}, choices)
    assert (view.period, view.freq, view.measure, view.warnings) == ("2026-Q3", "Q", "rate", ())
    assert kpis.trends_params(view) == {"period": "2026-Q3", "measure": "rate"}
    view = kpis.trends_view({"period": "2019-01", "measure": "<b>"}, choices)
    assert view.period == "2026-10" and view.measure == "count"
    assert any("do not cover 2019-01" in w for w in view.warnings)
    assert any("measure" in w for w in view.warnings)
    view = kpis.trends_view({"period": "2026-10-01"}, choices)
    assert view.period == "2026-10" and "not a month" in view.warnings[0]
    assert kpis.trends_view({}, {"M": [], "Q": []}) is None


def test_a_chart_downloads_as_png(sample):
    series = trend_series.monthly_series(scoped_query(sample, "executive"), "nrm")
    chart = area_chart(series, title="NRM", synthetic=True)
    spec = chart.to_dict()
    assert "SYNTHETIC DATA — not real cases" in str(spec["title"])
    # Tooltips carry the shown text, never a hidden value.
    assert {"field": "Shown", "type": "nominal", "title": "Records"} in spec["encoding"]["tooltip"]
    png = chart_png(chart, width=300, height=150, scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


def test_quarterly_charts_label_each_quarter(synthetic):
    """The x axis of a quarterly series reads "Q1 2025, Q2 2025, ...", not the year over and
    over, with a tick at each quarter's first day (where its point is)."""
    import vl_convert

    from views.trend_charts import QUARTER_LABEL, measure_chart, mix_chart

    q = scoped_query(synthetic, "executive")
    series = trend_series.monthly_series(q, "nrm", freq="Q")
    charts = [area_chart(series, freq="Q"),
              measure_chart(trend_series.measure_group(trend_series.measure_series(q, "Q"),
                                                       "rates"),
                            title="Rates", unit="per 100,000", freq="Q"),
              mix_chart(trend_series.breakdown_series(q, "nrm", "exploitation_type", "Q"),
                        title="Mix", freq="Q")]
    for chart in charts:
        axis = chart.to_dict()["encoding"]["x"]["axis"]
        assert "quarter(datum.value)" in axis["labelExpr"]
        assert "year(datum.value)" in axis["labelExpr"]
        assert axis["tickCount"] == {"interval": "month", "step": 3}
        assert "format" not in axis
    spec = charts[0].properties(width=900, height=300).to_dict()
    labels = re.findall(r">(Q[1-4] \d{4})<", vl_convert.vegalite_to_svg(spec))
    # Whole quarters only: the data run from 1 Nov 2024 to 31 Oct 2026.
    assert labels == ["Q1 2025", "Q2 2025", "Q3 2025", "Q4 2025", "Q1 2026", "Q2 2026",
                      "Q3 2026"]
    assert QUARTER_LABEL.startswith("'Q' + quarter(")
    months = area_chart(trend_series.monthly_series(q, "nrm"), freq="M").to_dict()
    assert months["encoding"]["x"]["axis"]["format"] == "%b %Y"


def test_measure_and_type_mix_series_export_as_shown(synthetic):
    q = scoped_query(synthetic, "executive")
    group = trend_series.measure_group(trend_series.measure_series(q, "M"), "police")
    export = trend_series.measure_series_export(group)
    assert list(export.columns) == ["Measure", "Period", "Value"]
    assert list(export["Value"]) == list(group["display"])
    mix = trend_series.breakdown_series(q, "nrm", "exploitation_type", "M")
    export = trend_series.breakdown_export(mix)
    assert list(export.columns) == ["Category", "Period", "Records",
                                    "Share of the period's records"]
    k = threshold_for("nrm")
    assert not any(small(label, k) for label in export["Records"])
    assert (export.loc[mix["count"].isna().to_numpy(), "Share of the period's records"]
            == "hidden").all()
    text = safe_csv(export).decode("utf-8-sig")
    assert "Several types" in text and "nan" not in text


# -- the page (AppTest) -----------------------------------------------------------------------
@pytest.fixture
def env(monkeypatch, sample, tmp_path):
    return serve_store(monkeypatch, sample, tmp_path)


def trends_page(role: str, **params) -> AppTest:
    at = open_page(TRENDS, role, timeout=90, **params)
    assert at.title[0].value == "Trends"
    return at


def test_page_for_an_executive_shows_suppressed_tiles_and_keeps_the_period(env):
    at = trends_page("executive")
    assert "SYNTHETIC DATA" in texts(at.error)
    assert at.query_params["period"] == "2023-08"
    tiles = {m.label: m.value for m in at.metric}
    # August 2023: 4 NRM referrals, hidden for an executive; the 24 Mandevilla flags ended in
    # June, and a zero is shown.
    assert tiles["NRM referrals"] == "<5" and tiles["Mandevilla flags"] == "0"
    for label, value in tiles.items():
        assert not re.fullmatch(r"[1-4]", value), (label, value)
    assert "<5: fewer than 5" in texts(at.caption) or "<10: fewer than 10" in texts(at.caption)
    # Two charts: the first feed's district series (small multiples: West Yorkshire and the
    # five districts in one chart), and the first of the other measures; the rest are picked.
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2
    multiples = json.loads(charts[0].proto.spec)
    assert len(multiples["vconcat"]) == 3        # West Yorkshire, then two rows of districts
    assert at.segmented_control(key="trends_feed").value == "nrm"
    assert at.segmented_control(key="trends_chart").value == "rates"
    assert "August 2023: records per feed" in texts(at.subheader)
    # Every chart has its table as CSV and its picture as PNG, besides the KPI, measures and
    # trend-flag tables: all in one picker, with one button.
    files = at.selectbox(key="trends_download").options
    assert sum(f.endswith("(CSV)") for f in files) == 3 + 3 + len(trend_series.MEASURE_GROUPS) + 1
    assert sum(f.endswith("(PNG)") for f in files) == 3 + len(trend_series.MEASURE_GROUPS) + 1
    assert len(at.get("download_button")) == 1
    # The method is behind a help icon; the page's own words are plain ones.
    assert "over-dispersion" in " ".join(c.proto.help for c in at.caption)
    shown = texts(at.caption) + texts(at.markdown) + texts(at.subheader) + texts(at.header)
    for jargon in ("conditional binomial", "Pearson chi-square", "Mann-Kendall", "Sen's", "[c]"):
        assert jargon not in shown, jargon
    # The summary opens the page: the second quarter against a part-recorded first, and the
    # quarter to date (July and August) against April and May.
    assert "Better or worse, and where" in texts(at.header)
    summary = texts(at.markdown)
    assert "Last whole quarter: Q2 2023 (Apr–Jun), against Q1 2023 (Jan–Mar)" in summary
    assert "NRM referrals: not compared with the previous quarter: the earlier period is " \
        "not complete in the data." in summary
    assert "Quarter to date: July and August 2023, against April and May 2023" in summary
    # The trend flags of an executive carry no p-value or slope.
    flags = at.dataframe[0].value
    assert not flags.astype(str).apply(lambda c: c.str.contains("p = ")).any().any()


def test_page_for_an_analyst_follows_a_quarter_link(env):
    at = trends_page("analyst", period="2023-Q2")
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["NRM referrals"] == "13"
    assert at.radio(key="trends_freq").value == "Q"
    assert "Q2 2023 (Apr–Jun): records per feed" in texts(at.subheader)


def test_page_says_when_the_link_cannot_be_used(env):
    at = trends_page("chair", period="2019-13")
    assert "Part of the link was not used" in texts(at.warning)
    assert at.query_params["period"] == "2023-08"


def test_a_type_outside_the_contract_counts_as_unknown_and_is_never_shown():
    """A damaged or tampered store (a writer that bypassed ingestion) must not break the tables."""
    from core.periods import partition_labels
    frame = pd.DataFrame({"exploitation_type": ["labour", "sexual;labour", "<img src=x>", None]})
    assert list(partition_labels(frame, "exploitation_type")) == [
        "labour", "several", "unknown", "unknown"]
