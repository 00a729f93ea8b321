"""Several seeds of the rolling-origin evaluation, and PAI ratios against KDE with intervals.

A sparse test month holds a handful of events, so one evaluation of one synthetic draw decides
a small-coverage PAI ratio by one or two events. Here every candidate is evaluated on several
draws (seeds) of each family, and each ratio against the baseline comes with a paired,
two-level bootstrap interval:

- the unit is one test period of one seed; every candidate is scored on the same units;
- ratio = mean PAI of the candidate / mean PAI of the baseline over the units (equal area, so
  a ratio of events caught per unit of area);
- interval: resample seeds with replacement, then test periods within each resampled seed (the
  periods of one draw share its hotspots, so they are not independent), recompute the ratio,
  and take the 2.5th and 97.5th percentiles of 2,000 resamples;
- also the units where the candidate catches more / fewer events than the baseline, and the
  two-sided Wilcoxon signed-rank p-value of the paired PAI differences.

With a single seed (a store, or police.uk files) the bootstrap is over the test periods alone.
``python -m models.evaluate --family F ... --seeds 1 2 3`` runs it (``models.evaluate``'s
``evaluate_seeds`` makes the rows).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

BOOTSTRAP = 2000
LEVEL = 0.95


def ratio_table(folds: pd.DataFrame, baseline: str = "kde250", *, n_boot: int = BOOTSTRAP,
                level: float = LEVEL, random_state: int = 0) -> pd.DataFrame:
    """Each candidate's mean PAI ratio to ``baseline`` per family and coverage, with intervals.

    Parameters
    ----------
    folds : DataFrame
        ``evaluate`` rows (``period``, ``method``, ``pai@<coverage>``), with ``family`` and
        ``seed`` when there are several (absent: one family, one seed).

    Returns
    -------
    DataFrame
        One row per family, method (other than ``baseline``) and coverage: ``pai``,
        ``baseline_pai`` (means over the units), ``ratio``, ``low`` and ``high`` (the
        ``level`` bootstrap interval of the ratio), ``better``, ``worse`` (units where the
        candidate's PAI is higher / lower), ``units`` and ``p_value`` (Wilcoxon; NaN with
        fewer than five unequal units).
    """
    folds = folds.assign(family=folds.get("family", "data"), seed=folds.get("seed", 0))
    coverages = [c for c in folds.columns if c.startswith("pai@")]
    rng = np.random.default_rng(random_state)
    rows = []
    for family, data in folds.groupby("family", sort=False):
        seeds, periods = sorted(data["seed"].unique()), sorted(data["period"].unique())
        # One bootstrap draw for every candidate and coverage of the family: paired throughout.
        seed_draw = rng.integers(0, len(seeds), (n_boot, len(seeds)))
        period_draw = rng.integers(0, len(periods), (n_boot, len(seeds), len(periods)))
        for method in [m for m in data["method"].unique() if m != baseline]:
            for column in coverages:
                ours = _units(data, method, column, seeds, periods)
                theirs = _units(data, baseline, column, seeds, periods)
                rows.append({"family": family, "method": method,
                             "coverage": column.split("@")[1],
                             **_compare(ours, theirs, seed_draw, period_draw, level)})
    return pd.DataFrame(rows)


def _units(data: pd.DataFrame, method: str, column: str, seeds, periods) -> np.ndarray:
    """PAI per (seed, period) of one method, NaN where there was nothing to score."""
    rows = data[data["method"] == method]
    wide = rows.pivot(index="seed", columns="period", values=column)
    return wide.reindex(index=seeds, columns=periods).to_numpy(float)


def _compare(ours: np.ndarray, theirs: np.ndarray, seed_draw, period_draw, level) -> dict:
    from scipy.stats import wilcoxon

    scored = ~(np.isnan(ours) | np.isnan(theirs))
    a, b = np.where(scored, ours, 0.0), np.where(scored, theirs, 0.0)
    ratio = _ratio(a.sum(), b.sum())
    pick = (seed_draw[:, :, None], period_draw)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = a[pick].sum(axis=(1, 2)) / b[pick].sum(axis=(1, 2))
    boot = boot[np.isfinite(boot)]
    tail = 100 * (1 - level) / 2
    low, high = (np.percentile(boot, [tail, 100 - tail]) if len(boot)
                 else (float("nan"), float("nan")))
    diff = (a - b)[scored]
    nonzero = diff[diff != 0]
    p_value = float(wilcoxon(nonzero).pvalue) if len(nonzero) >= 5 else float("nan")
    n = max(int(scored.sum()), 1)
    return {"pai": a.sum() / n, "baseline_pai": b.sum() / n, "ratio": ratio,
            "low": float(low), "high": float(high), "better": int((diff > 0).sum()),
            "worse": int((diff < 0).sum()), "units": int(scored.sum()), "p_value": p_value}


def _ratio(ours: float, theirs: float) -> float:
    if theirs > 0:
        return float(ours / theirs)
    return float("nan") if ours == 0 else float("inf")


def verdict(row) -> str:
    """How a ratio reads: above or below 1 beyond its interval, or within noise."""
    if not np.isfinite(row["low"]):
        return "n/a"
    if row["low"] > 1:
        return "beats"
    if row["high"] < 1:
        return "loses"
    return "within noise"


def ratio_markdown(table: pd.DataFrame, baseline: str = "kde250", heading: str = "###") -> list[str]:
    """Markdown lines: per method, a family x coverage table of ``ratio [low, high]``."""
    if table.empty:
        return []
    coverages = list(dict.fromkeys(table["coverage"]))
    lines = []
    for method, rows in table.groupby("method", sort=False):
        lines += [(f"{heading} {method} ÷ {baseline}: mean PAI ratio [{LEVEL:.0%} paired "
                   "bootstrap interval]"), "",
                  "| family | " + " | ".join(coverages) + " |",
                  "| --- |" + " --- |" * len(coverages)]
        for family, by_family in rows.groupby("family", sort=False):
            cells = [_cell(r) for _, r in by_family.set_index("coverage").loc[coverages]
                     .reset_index().iterrows()]
            lines.append(f"| {family} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [("Bold: the interval lies wholly below 1 (loses beyond noise); a ✓ marks an "
               "interval wholly above 1 (beats beyond noise); the rest are within noise."), ""]
    return lines


def _cell(row) -> str:
    if not np.isfinite(row["ratio"]):
        return "n/a (both 0)" if np.isnan(row["ratio"]) else "∞ (KDE 0)"
    text = f"{row['ratio']:.2f}× [{row['low']:.2f}, {row['high']:.2f}]"
    mark = verdict(row)
    return f"**{text}**" if mark == "loses" else f"{text} ✓" if mark == "beats" else text


def seeds_markdown(folds: pd.DataFrame, table: pd.DataFrame, meta: dict,
                   baseline: str = "kde250") -> str:
    """The several-seed report: what was run, mean PAI per family, then the ratio tables."""
    coverages = [c for c in folds.columns if c.startswith("pai@")]
    tags = [c.split("@")[1] for c in coverages]
    lines = ["# Hotspot rankings on several seeds: PAI against KDE with intervals", "",
             f"Generated by `{meta['command']}` on {meta['when']}.", "",
             f"- Data: {meta['data']}.",
             (f"- Each test {meta['test_period']} is predicted from the "
              f"{meta['train_months']} months before it; a unit is one test period of one "
              "seed."),
             ("- Ratio = mean PAI of the method / mean PAI of the baseline over the units; the "
              "interval resamples seeds, then periods within them (see `models.seeds`)."), "",
             "## Mean PAI over the units", "",
             "| family | method | " + " | ".join(tags) + " | fit (s) |",
             "| --- | --- |" + " --- |" * (len(tags) + 1)]
    means = folds.groupby(["family", "method"], sort=False)[[*coverages, "fit_s"]].mean()
    for (family, method), row in means.iterrows():
        lines.append(f"| {family} | {method} | "
                     + " | ".join(f"{row[c]:.1f}" for c in coverages)
                     + f" | {row['fit_s']:.2f} |")
    lines += ["", *ratio_markdown(table, baseline, "##")]
    if meta.get("against"):  # (name, ratio_table against it): the candidates against the default
        against, against_table = meta["against"]
        lines += ratio_markdown(against_table, against, "##")
    lines += [f"## Units better / worse than {baseline}, and Wilcoxon p", "",
              "| family | method | coverage | better | worse | units | p |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for _, row in table.iterrows():
        lines.append(f"| {row['family']} | {row['method']} | {row['coverage']} | "
                     f"{row['better']} | {row['worse']} | {row['units']} | "
                     f"{row['p_value']:.2g} |")
    return "\n".join(lines + ["", *meta.get("notes", [])]).rstrip() + "\n"


def paired(folds: pd.DataFrame, reference: str = "scan") -> pd.DataFrame:
    """PAI of ``reference`` minus each other method's, period by period, at each coverage (one
    draw: ``models.evaluate``'s single-store report).

    Columns: ``coverage``, ``method``, ``mean_diff``, ``se`` (standard error of the mean
    difference), ``wins`` (share of periods where ``reference`` is at least as good) and
    ``p_value`` (two-sided Wilcoxon signed-rank test).
    """
    from scipy.stats import wilcoxon

    rows = []
    wide = folds.pivot(index="period", columns="method")
    for column in [c for c in folds.columns if c.startswith("pai@")]:
        if reference not in wide[column]:
            continue
        for method in [m for m in folds["method"].unique() if m != reference]:
            diff = (wide[column][reference] - wide[column][method]).dropna()
            nonzero = diff[diff != 0]
            p = float(wilcoxon(nonzero).pvalue) if len(nonzero) >= 5 else float("nan")
            rows.append({"coverage": column.split("@")[1], "method": method,
                         "mean_diff": diff.mean(), "se": diff.std(ddof=1) / np.sqrt(len(diff)),
                         "wins": (diff >= 0).mean(), "p_value": p})
    return pd.DataFrame(rows)
