"""The Trends page's series: West Yorkshire measures per whole period, partitions of a feed,
records per area and period, and how the page lays them out and exports them.

Every frame is cut from the feed's protected tables (``views.feed_tables``: one protection per
feed, whole periods only), so a figure hidden in one series is hidden in every other; rates and
shares are hidden wherever a count they are made from is hidden, medians over fewer than k
records hidden. No Streamlit here; the Trends page (``pages/trends.py``) uses these functions.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.errors import PeriodError
from core.periods import (
    PARTITIONS,
    freq_of,
    last_year,
    parse_period,
    period_label,
    period_text,
)
from core.schema import FEEDS
from safeguards.access import RoleScopedQuery
from safeguards.disclosure import TOTAL, threshold_for
from views.feed_tables import (
    FEED_SHORT_TITLES,
    WEST_YORKSHIRE,
    FeedTables,
    area_names,
    as_float,
    check_in_data,
    feed_tables,
    gap_display,
    store_bounds,
    total_row,
)
from views.readable import thousands

PER = 100_000
HIDDEN = "hidden"
MEASURES = ("count", "rate")
CATEGORY_TITLES = {
    "adult_or_unknown": "Adult or age unknown", "child": "Child", "unknown": "Unknown",
    "labour": "Labour", "sexual": "Sexual", "criminal": "Criminal",
    "domestic_servitude": "Domestic servitude", "organ_harvesting": "Organ harvesting",
    "several": "Several types", "found": "Found", "missing": "Still missing",
    "first": "First episode", "repeat": "Repeat episode",
    "referred": "Referred to police", "not_referred": "Not referred",
}


# -- the other measures -----------------------------------------------------------------------
def measure_series(query: RoleScopedQuery, freq: str = "M") -> pd.DataFrame:
    """West Yorkshire measures per whole period, long format, as the role may see them.

    Measures (``measure``, with ``feed`` and for type shares a ``category``):
    ``count`` and ``rate`` (records per 100,000 residents, Census 2021) of each feed;
    ``child_share`` of each feed (children among all records, age unknown included in the
    total); ``type_share`` of NRM referrals per exploitation type ("several": more than one);
    ``repeat_share`` (Rosewood episodes of a person reported missing before),
    ``still_missing`` (Rosewood episodes of the period not yet found) and ``median_hours``
    (median hours to found, found episodes only); ``referred_share`` and ``referred`` (Mandevilla
    flags referred to police).

    Returns
    -------
    DataFrame
        ``measure``, ``feed``, ``category``, ``title``, ``unit`` ("records", "per 100,000",
        "share", "hours"), ``period`` (text), ``date`` (first day), ``value`` (float, NaN where
        hidden) and ``display`` (text), for the periods the data cover completely. Empty for
        an empty store or one that covers no whole period.
    """
    parts = []
    population = _population("district").sum()
    for feed in FEEDS:
        tables = feed_tables(query, feed, freq)
        if tables is None or not len(tables.periods):
            continue
        count, shown = total_row(tables.area)
        short = FEED_SHORT_TITLES[feed]
        parts.append(_measure(tables, "count", feed, short, "records", count,
                              shown.map(thousands)))
        rate = count / population * PER
        parts.append(_measure(tables, "rate", feed, f"{short} per 100,000 residents",
                              "per 100,000", rate, rate.map(_rate_text)))
        parts.append(_share_measure(tables, "child_share", "age_group", "child",
                                    f"{short}: share children"))
        if feed == "nrm":
            for category in PARTITIONS["exploitation_type"].categories:
                parts.append(_share_measure(
                    tables, "type_share", "exploitation_type", category,
                    f"NRM referrals: {CATEGORY_TITLES[category].lower()}"))
        if feed == "rosewood":
            parts.append(_share_measure(tables, "repeat_share", "repeat", "repeat",
                                        "Rosewood: share repeat episodes"))
            status = tables.parts["status"]
            parts.append(_measure(tables, "still_missing", feed,
                                  "Rosewood: episodes still missing", "records",
                                  as_float(status.counts.loc["missing"]),
                                  status.display.loc["missing"].map(thousands)))
            medians = query.median_hours_to_found(tables.periods)
            value = pd.Series(medians["median_hours"].to_numpy(float), index=tables.periods)
            k = threshold_for("rosewood")
            display = pd.Series(
                [f"hidden (fewer than {k} found)" if hidden else "none found" if np.isnan(v)
                 else _hours_text(v) for v, hidden in zip(value, medians["suppressed"])],
                index=tables.periods)
            parts.append(_measure(tables, "median_hours", feed,
                                  "Rosewood: median time to found", "hours", value, display))
        if feed == "mandevilla":
            table = tables.parts["referred_to_police"]
            parts.append(_measure(tables, "referred", feed, "Mandevilla: referred to police",
                                  "records", as_float(table.counts.loc["referred"]),
                                  table.display.loc["referred"].map(thousands)))
            parts.append(_share_measure(tables, "referred_share", "referred_to_police",
                                        "referred", "Mandevilla: share referred to police"))
    if not parts:
        return pd.DataFrame(columns=["measure", "feed", "category", "title", "unit", "period",
                                     "date", "value", "display"])
    return pd.concat(parts, ignore_index=True)


def measures_table(query: RoleScopedQuery, period: str) -> pd.DataFrame:
    """The measures of :func:`measure_series` for ``period``, the previous one and last year's.

    Returns
    -------
    DataFrame
        One row per measure: ``measure``, ``feed``, ``category``, ``title``, ``unit``, then
        ``value``/``display``, ``previous_value``/``previous_display``,
        ``last_year_value``/``last_year_display`` ("no data" outside the store's periods,
        "incomplete" for one the data cover in part).

    Raises
    ------
    PeriodError
        ``period`` is malformed or not covered completely by the data.
    """
    target = parse_period(period)
    series = measure_series(query, freq_of(target))
    bounds = store_bounds(query)
    check_in_data(target, bounds, [parse_period(text) for text in series["period"].unique()])
    keys = ["measure", "feed", "category", "title", "unit"]
    out = series[keys].drop_duplicates().reset_index(drop=True)
    for prefix, when in (("", target), ("previous_", target - 1),
                         ("last_year_", last_year(target))):
        chosen = series[series["period"] == period_text(when)].set_index(keys)
        indexed = out.set_index(keys).index
        out[f"{prefix}value"] = chosen["value"].reindex(indexed).to_numpy()
        out[f"{prefix}display"] = (chosen["display"].reindex(indexed)
                                   .fillna(gap_display(when, bounds)).to_numpy())
    return out


def breakdown_series(query: RoleScopedQuery, feed: str, by: str,
                     freq: str = "M") -> pd.DataFrame:
    """One partition of a feed per period (e.g. NRM exploitation type mix), long format.

    Returns
    -------
    DataFrame
        ``category``, ``label``, ``period``, ``date``, ``count`` (Int64, <NA> where hidden),
        ``display``, ``suppressed``, ``share`` (of the period's total; NaN where the count or
        the total is hidden) and ``share_display``; the periods the data cover completely.
    """
    tables = feed_tables(query, feed, freq)
    if tables is None or not len(tables.periods):
        return pd.DataFrame(columns=["category", "label", "period", "date", "count", "display",
                                     "suppressed", "share", "share_display"])
    if by not in tables.parts:
        raise ValueError(f"{by!r} does not split {feed} records; use one of "
                         f"{', '.join(tables.parts)}")
    table = tables.parts[by]
    total, _ = total_row(table)
    rows = []
    for category in table.cells.index:
        count = table.counts.loc[category]
        share = as_float(count) / total.replace(0, np.nan)
        for p in tables.periods:
            rows.append({"category": category, "label": CATEGORY_TITLES.get(category, category),
                         "period": period_text(p), "date": p.start_time,
                         "count": count[p], "display": thousands(table.display.loc[category, p]),
                         "suppressed": bool(table.suppressed.loc[category, p]),
                         "share": share[p], "share_display": _share_text(share[p])})
    frame = pd.DataFrame(rows)
    frame["count"] = pd.array(frame["count"].tolist(), dtype="Int64")
    return frame


# -- series by area ---------------------------------------------------------------------------
def monthly_series(query: RoleScopedQuery, feeds: Sequence[str] | str = tuple(FEEDS),
                   level: str = "district", freq: str = "M", measure: str = "count", *,
                   last: int | None = None, end: str | None = None,
                   include_total: bool = True) -> pd.DataFrame:
    """Records (or rates) per area and whole period, per feed, long format.

    Parameters
    ----------
    query : RoleScopedQuery
    feeds : str or sequence of str
    level : {"district", "ward"}
        Ward needs a role with ward access (analyst, chair).
    freq : {"M", "Q"}
    measure : {"count", "rate"}
        ``value`` holds the count or the rate per 100,000 residents (Census 2021; ward
        populations are estimates).
    last : int, optional
        Only the last ``last`` periods up to ``end`` (default: every period the data cover
        completely; a part-recorded first or last period is never in a series).
    end : str, optional
        The last period (default: the last complete period).
    include_total : bool
        Add West Yorkshire (``code`` "Total") per feed and period.

    Returns
    -------
    DataFrame
        ``feed``, ``feed_title``, ``code``, ``name``, ``period`` (text), ``date`` (first day),
        ``count`` (Int64, <NA> where hidden), ``display``, ``suppressed``, ``rate`` (NaN where
        the count is hidden) and ``value`` (the chosen measure).
    """
    if measure not in MEASURES:
        raise ValueError(f"measure was {measure!r}; expected one of {MEASURES}")
    feeds = [feeds] if isinstance(feeds, str) else list(feeds)
    population = _population(level)
    names = area_names(level)
    frames = []
    for feed in feeds:
        tables = feed_tables(query, feed, freq, level)
        if tables is None or not len(tables.periods):
            continue
        periods = _window(tables.periods, last, end, freq)
        table = tables.area
        index = list(table.cells.index) + ([TOTAL] if include_total and TOTAL in
                                            table.counts.index else [])
        counts = table.counts.loc[index, periods]
        pops = np.array(population.reindex(index).fillna(0).to_numpy(float))
        pops[[i for i, code in enumerate(index) if code == TOTAL]] = population.sum()
        long = counts.stack(future_stack=True).rename("count").reset_index()
        long.columns = ["code", "period", "count"]
        long["display"] = table.display.loc[index, periods].stack(future_stack=True) \
            .map(thousands).to_numpy()
        long["suppressed"] = table.suppressed.loc[index, periods].stack(future_stack=True) \
            .to_numpy()
        long["rate"] = (long["count"].astype("Float64").to_numpy(float, na_value=np.nan)
                        / np.repeat(np.where(pops > 0, pops, np.nan), len(periods)) * PER)
        long.insert(0, "feed", feed)
        long.insert(1, "feed_title", FEED_SHORT_TITLES[feed])
        long.insert(3, "name", long["code"].map({**names, TOTAL: WEST_YORKSHIRE}))
        long["date"] = long["period"].map(lambda p: p.start_time)
        long["period"] = long["period"].map(period_text)
        frames.append(long)
    if not frames:
        return pd.DataFrame(columns=["feed", "feed_title", "code", "name", "period", "date",
                                     "count", "display", "suppressed", "rate", "value"])
    out = pd.concat(frames, ignore_index=True)
    out["value"] = out["rate"] if measure == "rate" else out["count"].astype("Float64") \
        .to_numpy(float, na_value=np.nan)
    columns = ["feed", "feed_title", "code", "name", "period", "date", "count", "display",
               "suppressed", "rate", "value"]
    return out[columns]


def series_export(series: pd.DataFrame, measure: str = "count") -> pd.DataFrame:
    """:func:`monthly_series` as people read it (for CSV): hidden figures as their label."""
    rate = [(_rate_text(r) if not np.isnan(r) else HIDDEN if s else "")
            for r, s in zip(series["rate"].astype(float), series["suppressed"])]
    out = pd.DataFrame({"Feed": series["feed_title"], "Area": series["name"],
                        "Area code": series["code"].replace({TOTAL: ""}),
                        "Period": series["period"], "Records": series["display"],
                        "Per 100,000 residents": rate})
    return out


# -- helpers ----------------------------------------------------------------------------------
def _measure(tables: FeedTables, measure: str, feed: str, title: str, unit: str,
             values: pd.Series, display: pd.Series, category: str = "") -> pd.DataFrame:
    periods = tables.periods
    return pd.DataFrame({
        "measure": measure, "feed": feed, "category": category, "title": title, "unit": unit,
        "period": [period_text(p) for p in periods],
        "date": [p.start_time for p in periods],
        "value": pd.Series(values).reindex(periods).to_numpy(float),
        "display": pd.Series(display).reindex(periods).to_numpy(object)})


def _share_measure(tables: FeedTables, measure: str, by: str, category: str,
                   title: str) -> pd.DataFrame:
    table = tables.parts[by]
    total, _ = total_row(table)
    part = as_float(table.counts.loc[category])
    share = part / total.replace(0, np.nan)
    display = pd.Series([_share_text(s, t) for s, t in zip(share, total)], index=share.index)
    category_key = category if measure == "type_share" else ""
    return _measure(tables, measure, tables.feed, title, "share", share, display,
                    category=category_key)


def _window(periods: pd.PeriodIndex, last: int | None, end: str | None,
            freq: str) -> pd.PeriodIndex:
    stop = parse_period(end) if end else periods[-1]
    if freq_of(stop) != freq:
        raise PeriodError(f"the series end {period_text(stop)} is not a "
                          f"{'month' if freq == 'M' else 'quarter'}")
    chosen = periods[periods <= stop]
    return chosen[-last:] if last else chosen


def _population(level: str) -> pd.Series:
    from geo.boundaries import load_boundaries

    areas = load_boundaries(level)
    return pd.Series(areas["population"].to_numpy(float), index=areas["code"])


def _rate_text(rate: float) -> str:
    return HIDDEN if np.isnan(rate) else f"{rate:,.2f}"


def _share_text(share: float, total: float = 1.0) -> str:
    if np.isnan(share):
        return "no records" if total == 0 else HIDDEN
    return f"{share:.0%}"


def _hours_text(hours: float) -> str:
    return f"{hours:,.0f} h" if hours < 72 else f"{hours / 24:,.1f} days"


# -- what the page lays out -------------------------------------------------------------------
#: Charts of the other measures: key, title, measures of :func:`measure_series`, unit.
MEASURE_GROUPS = (
    ("rates", "Records per 100,000 residents", ("rate",), "per 100,000"),
    ("children", "Share of records about children", ("child_share",), "share"),
    ("repeat", "Rosewood: share of episodes that are repeats", ("repeat_share",), "share"),
    ("missing", "Rosewood: episodes still missing", ("still_missing",), "records"),
    ("found", "Rosewood: median time to found", ("median_hours",), "hours"),
    ("police", "Mandevilla: share of flags referred to police", ("referred_share",), "share"),
)
#: The measures shown as tiles for the chosen period (the counts are the KPI tiles), and their
#: tile labels (the tiles stand under their feed's name).
TILE_MEASURES = ("rate", "child_share", "repeat_share", "still_missing", "median_hours",
                 "referred_share")
TILE_TITLES = {"rate": "Per 100,000 residents", "child_share": "Share about children",
               "repeat_share": "Share repeat episodes", "still_missing": "Still missing",
               "median_hours": "Median time to found", "referred_share": "Share referred to police"}


def tile_measures(measures: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`measures_table` shown as tiles, in :data:`TILE_MEASURES` order."""
    chosen = measures[measures["measure"].isin(TILE_MEASURES)].copy()
    chosen["order"] = chosen["measure"].map(TILE_MEASURES.index)
    chosen["tile_title"] = chosen["measure"].map(TILE_TITLES)
    return chosen.sort_values(["order"], kind="stable").drop(columns="order") \
        .reset_index(drop=True)


def tiles_by_feed(measures: pd.DataFrame) -> list[tuple[str, list[dict]]]:
    """:func:`tile_measures` grouped by feed (feed order), each a list of row dicts."""
    tiles = tile_measures(measures)
    return [(feed, tiles[tiles["feed"] == feed].to_dict("records")) for feed in FEEDS]


def measure_group(series: pd.DataFrame, key: str) -> pd.DataFrame:
    """The rows of :func:`measure_series` that chart ``key`` of :data:`MEASURE_GROUPS` draws."""
    measures = {k: m for k, _, m, _ in MEASURE_GROUPS}[key]
    return series[series["measure"].isin(measures)].reset_index(drop=True)


def measures_export(measures: pd.DataFrame, period: str) -> pd.DataFrame:
    """:func:`measures_table` as people read it (for CSV)."""
    target = parse_period(period)
    return pd.DataFrame({
        "Measure": measures["title"],
        period_label(target): measures["display"],
        period_label(target - 1): measures["previous_display"],
        period_label(last_year(target)): measures["last_year_display"]})


def measure_series_export(series: pd.DataFrame) -> pd.DataFrame:
    """Rows of :func:`measure_series` (e.g. one :func:`measure_group`) as people read them
    (for CSV): each figure as shown, "hidden" where it is."""
    return pd.DataFrame({"Measure": series["title"].to_numpy(),
                         "Period": series["period"].to_numpy(),
                         "Value": series["display"].to_numpy()})


def breakdown_export(breakdown: pd.DataFrame) -> pd.DataFrame:
    """:func:`breakdown_series` as people read it (for CSV): records and share as shown."""
    return pd.DataFrame({"Category": breakdown["label"].to_numpy(),
                         "Period": breakdown["period"].to_numpy(),
                         "Records": breakdown["display"].to_numpy(),
                         "Share of the period's records": breakdown["share_display"].to_numpy()})
