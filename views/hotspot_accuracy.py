"""How well the hotspots did on the store's own recent past: a rolling-origin backtest.

For each of the last ``TEST_MONTHS`` whole months of the chosen period (:func:`backtest_months`),
:func:`score_month` fits the page's model (``models.hotspots.HotspotModel``, the default scan
with the default forecast ranking) on the ``TRAIN_MONTHS`` months before it, with the page's
feeds and filters, and counts the month's records that fall

- inside the model's hotspots (whatever area they cover that month),
- inside the top cells of the default forecast ranking (``HotspotModel.top_area``'s ranking)
  given the same area,
- inside the top cells of a plain kernel-density heat map (``ForecastRanker("kde")``, 250 m
  bandwidth: the usual analyst's baseline) given the same area.

:func:`summarise` pools the months: hit rate = records caught / records of the test months,
area share = the hotspots' mean share of West Yorkshire's land, PAI = hit rate / area share
(``models.metrics``), and says it in one plain sentence.

Disclosure control (protected roles: chairs, executives, admins, meeting mode). The figures are
model outputs computed from records, not counts of a publication cell, and ``hits = hit rate ×
records`` is a count inside the model's cells. So a protected role sees them only when the test
months hold at least ``MIN_RECORDS_PER_K × k`` records, with every hit rate rounded to the
nearest ``PROTECTED_STEP`` (5 points) and the PAIs and the ratio worked out from the rounded
rates; the number of test records is never shown. With at least 20k records, one rounding step
spans at least k records, so neither one figure nor the difference of two (other filters, the
next month's backtest) narrows a count below what ``<k`` says. Below the floor the page says
the check is not shown for the filters. ``docs/hotspots.md`` ("Accuracy on the store's own
recent past") records the decision.

No per-event row and no fitted model leave this module; each backtest is audited
(``view-hotspots``, detail "accuracy backtest"). No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.filters import EventFilter
from core.schema import check_feed
from safeguards.access import RoleScopedQuery
from safeguards.audit import AuditEvent, record
from safeguards.disclosure import threshold_for
from views.readable import percent_text

TEST_MONTHS = 6
TRAIN_MONTHS = 12
#: A protected role sees the backtest only when its test months hold at least this many times
#: k records (module docstring).
MIN_RECORDS_PER_K = 20
#: A protected role's hit rates are rounded to this step.
PROTECTED_STEP = 0.05
RANDOM_STATE = 0
METHOD = ("For each of the last {n} whole months, the model was fitted on the {train} months "
          "before it only, as if that month had not happened yet, and its hotspots were "
          "compared with where that month's records actually were. Hit rate: the share of the "
          "month's records inside the hotspots. Area: the hotspots' share of West Yorkshire's "
          "land. PAI (Predictive Accuracy Index): hit rate ÷ area share; 1 is what a random "
          "area of the same size catches. The comparison is a plain heat map (kernel density, "
          "250 m) and the tasking ranking, each given exactly the same area as the hotspots "
          "that month. Months pooled: records caught ÷ records.")
#: The method as the page's help icon gives it (the default backtest).
METHOD_TEXT = METHOD.format(n=TEST_MONTHS, train=TRAIN_MONTHS)


@dataclass(frozen=True)
class MonthScore:
    """One test month: its records, the hotspots' area and what each ranking caught."""

    month: str                # "2026-09"
    records: int              # test records on West Yorkshire's land grid
    area_share: float         # hotspots' share of the land area
    hotspots: int
    model_hits: int
    ranking_hits: int
    kde_hits: int


@dataclass(frozen=True)
class HotspotAccuracy:
    """What the page shows of the backtest (hit rates and PAIs NaN when ``shown`` is False).

    ``months`` are the test months (``"2026-04"``...); ``records`` is None for a protected role.
    """

    months: tuple[str, ...]
    shown: bool
    sentence: str
    area_share: float = float("nan")
    model_hit_rate: float = float("nan")
    ranking_hit_rate: float = float("nan")
    kde_hit_rate: float = float("nan")
    records: int | None = None
    protected: bool = False
    method: str = ""

    @property
    def model_pai(self) -> float:
        return _pai(self.model_hit_rate, self.area_share)

    @property
    def ranking_pai(self) -> float:
        return _pai(self.ranking_hit_rate, self.area_share)

    @property
    def kde_pai(self) -> float:
        return _pai(self.kde_hit_rate, self.area_share)

    @property
    def ratio(self) -> float:
        """The hotspots' hit rate as a multiple of the heat map's on the same area."""
        return self.model_hit_rate / self.kde_hit_rate if self.kde_hit_rate > 0 else float("nan")

    def table(self) -> pd.DataFrame:
        """The three rankings side by side, as the page shows them: hit rates in the
        sentence's words (``views.readable.percent_text``), so the table above reads "44%"
        where the sentence does, not "43.55%"."""
        return pd.DataFrame({
            "Places picked by": ["This model's hotspots", "Tasking ranking, same area",
                                 "Plain heat map (KDE), same area"],
            "Hit rate": [percent_text(r) for r in (self.model_hit_rate, self.ranking_hit_rate,
                                                   self.kde_hit_rate)],
            "PAI": [self.model_pai, self.ranking_pai, self.kde_pai]})


def backtest_months(end: dt.date, n: int = TEST_MONTHS) -> list[pd.Period]:
    """The last ``n`` whole months up to ``end``: ``end``'s month if ``end`` is its last day."""
    last = pd.Period(end, "M")
    if pd.Timestamp(end) < last.end_time.normalize():
        last -= 1
    return [last - i for i in range(n - 1, -1, -1)]


def score_month(query: RoleScopedQuery, feeds: Sequence[str], filters: EventFilter | None,
                month: pd.Period, *, train_months: int = TRAIN_MONTHS,
                random_state: int = RANDOM_STATE) -> MonthScore:
    """Fit on the ``train_months`` before ``month`` and count ``month``'s records caught.

    ``filters``' dates are replaced by the training months and ``month``; its other filters
    (districts, age groups, ...) apply. Needs the ``view_hotspots`` action.
    """
    from views.hotspot_fits import content_key, kept

    feeds = _checked(feeds)
    query.require("view_hotspots")
    undated = EventFilter(**{**vars(filters or EventFilter()), "start": None, "end": None})
    # The score does not depend on the role (the points are read inside the data layer and the
    # fits are seeded): kept per process, so every role's page shares one (~2 s of CPU a
    # month at 1M records).
    return kept(("backtest", *content_key(query.store), tuple(feeds), undated, str(month),
                 train_months, random_state),
                lambda: _score(query, feeds, undated, month, train_months, random_state))


def _score(query: RoleScopedQuery, feeds: list[str], filters: EventFilter, month: pd.Period,
           train_months: int, random_state: int) -> MonthScore:
    from models.forecast import ForecastRanker
    from models.hotspots import HotspotModel, OutsideAreaWarning

    start = (month - train_months).start_time.date()
    events = _window_events(query, feeds, filters, start, month.end_time.date())
    when = pd.to_datetime(events["date"])
    train = events[when < month.start_time]
    test = events[when >= month.start_time]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        model = HotspotModel(random_state=random_state, cross_feed=False).fit(train) \
            if len(train) else None
        kde = ForecastRanker("kde").fit(train) if len(train) else None
    fine = _fine_grid()
    x, y = test.geometry.x.to_numpy(), test.geometry.y.to_numpy()
    test_fine = fine.cell_index(x, y)
    on_land = test_fine >= 0   # the denominator: the month's records on the land grid
    test_fine = test_fine[on_land]
    if model is None or not len(model.hotspots_):
        return MonthScore(str(month), len(test_fine), 0.0, 0, 0, 0, 0)
    coarse = model.grid_
    own = model.cell_labels_ >= 0
    area_km2 = own.sum() * coarse.cell_km2
    test_coarse = coarse.cell_index(x[on_land], y[on_land])
    model_hits = int(own[test_coarse[test_coarse >= 0]].sum())
    n_cells = int(np.rint(area_km2 / fine.cell_km2))
    return MonthScore(
        str(month), len(test_fine), float(area_km2 / coarse.area_km2), len(model.hotspots_),
        model_hits, _caught(model.ranker_.scores_, fine, test_fine, n_cells),
        _caught(kde.scores_, fine, test_fine, n_cells))


def summarise(scores: Sequence[MonthScore], *, protected: bool = False, k: int = 1,
              train_months: int = TRAIN_MONTHS) -> HotspotAccuracy:
    """Pool the months (module docstring) and say it in a sentence, for the role."""
    months = tuple(s.month for s in scores)
    method = METHOD.format(n=len(scores), train=train_months)
    records = sum(s.records for s in scores)
    span = _span(months)
    if not scores or records == 0:
        return HotspotAccuracy(months, False, f"No records in {span or 'the test months'} to "
                               "check the model against.", protected=protected, method=method)
    if protected and records < MIN_RECORDS_PER_K * k:
        return HotspotAccuracy(
            months, False, f"The accuracy check is not shown for these filters: {span} hold "
            "too few records for it to be shown to your role without risk of giving a small "
            "number away. Widen the filters (more feeds, districts or age groups).",
            protected=True, method=method)
    rates = [sum(getattr(s, f"{name}_hits") for s in scores) / records
             for name in ("model", "ranking", "kde")]
    if protected:
        rates = [round(r / PROTECTED_STEP) * PROTECTED_STEP for r in rates]
    area = float(np.mean([s.area_share for s in scores]))
    # No hotspot in any month before a test month: nothing was picked, so there is no rate to
    # show (a table of 0% and blank PAIs would read as a model that failed).
    accuracy = HotspotAccuracy(months, area > 0, "", area, *rates,
                               records=None if protected else records, protected=protected,
                               method=method)
    return HotspotAccuracy(**{**vars(accuracy), "sentence": _sentence(accuracy, span)})


def hotspot_accuracy(query: RoleScopedQuery, feeds: str | Sequence[str],
                     filters: EventFilter | None = None, *, end: dt.date | None = None,
                     n_months: int = TEST_MONTHS, train_months: int = TRAIN_MONTHS,
                     progress: Callable[[int, int, str], None] | None = None,
                     scorer: Callable[[pd.Period], MonthScore] | None = None
                     ) -> HotspotAccuracy:
    """The whole backtest for ``query``'s role, audited once.

    ``end`` (default ``filters.end``) closes the last test month; ``progress(i, n, month)`` is
    called before each month is fitted; ``scorer(month)`` replaces :func:`score_month` (the
    page's loader passes a cached one).
    """
    feeds = _checked([feeds] if isinstance(feeds, str) else feeds)
    query.require("view_hotspots")
    filters = filters or EventFilter()
    end = end or filters.end
    if end is None:
        raise ValueError("give the end of the period the backtest closes with (filters.end)")
    months = backtest_months(end, n_months)
    scores = []
    for i, month in enumerate(months):
        if progress is not None:
            progress(i, len(months), str(month))
        scores.append(scorer(month) if scorer is not None else
                      score_month(query, feeds, filters, month, train_months=train_months))
    k = max(threshold_for(f) for f in feeds) if query.suppressed else 1
    accuracy = summarise(scores, protected=query.suppressed, k=k, train_months=train_months)
    audit_backtest(query, feeds, filters, months, sum(s.records for s in scores))
    return accuracy


def audit_backtest(query: RoleScopedQuery, feeds: Sequence[str], filters: EventFilter,
                   months: Sequence, records: int) -> None:
    """Record that ``query``'s principal ran the backtest (test records read, not shown)."""
    audited = {"feeds": list(feeds), **{k: (v.isoformat() if hasattr(v, "isoformat") else v)
                                       for k, v in vars(filters).items()
                                       if v not in (None, ())}}
    record(query.store, AuditEvent(
        action="view-hotspots", actor=query.principal.user, role=query.role, filters=audited,
        records=int(records),
        detail=f"accuracy backtest: {len(months)} months to {months[-1] if months else '-'}"))


# -- helpers -------------------------------------------------------------------------------
def _checked(feeds: Sequence[str]) -> list[str]:
    feeds = list(dict.fromkeys(feeds))
    if not feeds:
        raise ValueError("choose at least one feed")
    for feed in feeds:
        check_feed(feed)
    return feeds


def _events(query: RoleScopedQuery, feeds: list[str], filters: EventFilter):
    import geopandas as gpd

    from models._events import events_frame

    frames = [events_frame(query.store.query(feed, filters,
                                             columns=["event_date", "easting", "northing"]),
                           feed) for feed in feeds]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                            crs=frames[0].crs)


#: The points of the backtest's whole span, read once for its months (``_window_events``).
_held_span: dict = {}
_span_lock = threading.Lock()


def _window_events(query: RoleScopedQuery, feeds: list[str], filters: EventFilter,
                   start: dt.date, end: dt.date):
    """The points of ``feeds`` and ``filters`` from ``start`` to ``end``.

    The months of a backtest are scored oldest first, each on the ``TRAIN_MONTHS`` before it,
    so the first month reads the points of every month's window at once (to ``TEST_MONTHS - 1``
    months after its own) and the later ones take their window from that read, in the same
    order: one read of 17 months instead of six of 13 (at 1M records ~0.5 s of CPU a month,
    most of it making shapely points). The span is dropped when its last month is taken."""
    from storage.base import store_fingerprint

    key = (query.store.url, store_fingerprint(query.store), tuple(feeds), filters)
    with _span_lock:
        held = _held_span.get("held")
        if held is None or held[0] != key or not (held[1] <= start and end <= held[2]):
            last = (pd.Period(end, "M") + (TEST_MONTHS - 1)).end_time.date()
            span = EventFilter(**{**vars(filters), "start": start, "end": last})
            held = (key, start, last, _events(query, feeds, span))
            _held_span["held"] = held
        if end >= held[2]:
            _held_span.pop("held", None)
    events = held[3]
    when = events["date"].to_numpy()
    inside = (when >= np.datetime64(start)) & (when < np.datetime64(end + dt.timedelta(days=1)))
    return events[inside].reset_index(drop=True)


def _fine_grid():
    from models._grid import centre_grid

    return centre_grid(100)


def _caught(scores: np.ndarray, grid, test_cells: np.ndarray, n_cells: int) -> int:
    """Test records in the ``n_cells`` highest-scoring land cells."""
    from models.metrics import top_cells

    chosen = np.zeros(grid.nx * grid.ny, bool)
    chosen[top_cells(scores, np.flatnonzero(grid.land.ravel()), n_cells)] = True
    return int(chosen[test_cells].sum())


def _pai(rate: float, area_share: float) -> float:
    return rate / area_share if area_share > 0 else float("nan")


def _span(months: Sequence[str]) -> str:
    if not months:
        return ""
    first, last = (pd.Period(m, "M").strftime("%b %Y") for m in (months[0], months[-1]))
    return first if first == last else f"{first} – {last}"


def _sentence(a: HotspotAccuracy, span: str) -> str:
    n = len(a.months)
    head = f"Over the last {n} months ({span})" if n > 1 else f"In {span}"
    if a.area_share == 0:
        return (f"{head}, the model found no hotspot in the months before each one, so there is "
                "nothing to check yet.")
    text = (f"{head}, the places this model picked held {percent_text(a.model_hit_rate)} of "
            f"the next month's records on {percent_text(a.area_share)} of West Yorkshire's area")
    if np.isnan(a.ratio):
        text += "; a plain heat map given the same area caught none."
    else:
        verdict = "better than" if a.ratio > 1.05 else ("about as well as" if a.ratio >= 0.95
                                                        else "worse than")
        text += (f" — {a.ratio:.1f}× what a plain heat map picked on the same area "
                 f"({percent_text(a.kde_hit_rate)}): {verdict} the heat map.")
    text += (" The tasking ranking, given the same area, held "
             f"{percent_text(a.ranking_hit_rate)}.")
    if a.protected:
        # Rounded separately, 37% and 38% can show as 35% and 40%: say a step may be none.
        text += (" Rates rounded to the nearest 5% (protected figures), so two rates 5 points "
                 "apart may not differ at all.")
    return text
