"""Hotspots of exploitation events: a scikit-learn estimator over BNG grid cells.

``HotspotModel(method="scan")`` (the default) is Kulldorff's Poisson scan statistic against the
resident population (``models.scan``): a hotspot is a disc of cells, or an LSOA's cells (alone
or with its neighbours' cells: ``models.scan_areas``), holding significantly more events than
its population predicts, with a Monte-Carlo p-value. The other methods are there to
compare (``models.evaluate``): ``"kde"`` (kernel density, top ``coverage`` of the area),
``"gistar"`` (Getis-Ord Gi* with a false-discovery-rate cut), ``"dbscan"`` and ``"hdbscan"``
(density clustering of the occupied cells). ``docs/hotspots.md`` says why the scan is the default.

Two outputs, two questions. *Which places are significant?* ``hotspots_``: the method's
hotspots, ranked by the statistic named in their ``ranked_by`` column (the scan's
log-likelihood ratio), each with its p-value, and bounded: at most ``max_area`` of the region
and ``max_hotspots`` of them, the strongest kept. *Where should a patrol or an outreach team go
first?* ``top_area(share)``: 100 m cells ranked by expected events per km² next month
(``models.forecast``, chosen on rolling-origin evidence: ``docs/hotspot-evaluation.md``).

Labels are hotspot ids (0, 1, ...) with -1 for "in no hotspot", as in scikit-learn's clusterers.
"""
from __future__ import annotations

import warnings
from dataclasses import replace
from numbers import Integral, Real
from typing import ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from geo.crs import BNG
from models import baselines
from models._events import Events, event_arrays, gridded_events
from models._exposure import expected_weights, exposure_surface
from models._grid import Grid
from models.forecast import KINDS, ForecastRanker
from models.hotspot_budget import RULES, bounded
from models.hotspot_frame import describe_hotspots, relative_risk
from models.metrics import pai
from models.scan import OVERLAPS, poisson_scan
from models.scan_areas import area_windows
from models.scan_areas_fine import FOOTPRINTS, fine_areas_for, fine_scan
from models.scan_iterative import iterative_scan

METHODS = ("scan", "kde", "gistar", "dbscan", "hdbscan")
WINDOWS = ("discs+areas", "discs")
SECONDARY = ("conservative", "iterative")


class OutsideAreaWarning(UserWarning):
    """Some events fall outside West Yorkshire's populated cells and were left out."""


class NoExposureWarning(UserWarning):
    """A feed's exposure layer has no open site in the fitted window: residents were used."""


class HotspotModel(ClusterMixin, BaseEstimator):
    """Find hotspots of events against the resident population.

    Parameters
    ----------
    method : {"scan", "kde", "gistar", "dbscan", "hdbscan"}, default="scan"
        How hotspots are found (see the module docstring).
    min_events : int, default=10
        Fewest events a hotspot may hold (DBSCAN's ``min_samples``, HDBSCAN's
        ``min_cluster_size``).
    alpha : float, default=0.05
        Significance level (scan, Gi*, monthly trend tests). The scan reports windows with
        Monte-Carlo ``p < alpha`` (strictly), so on data with no hotspot it reports one with
        probability at most ``alpha - 1 / (n_simulations + 1)``: 4% by default.
    population : GeoDataFrame or Series, default=None
        LSOA populations (GeoDataFrame with ``population`` and polygons, or a Series by 2021
        LSOA code); ``None`` uses the shipped Census 2021 populations.
    exposure : dict of str to DataFrame, DataFrame or None, default=None
        An exposure layer per feed (``core.denominators``: Rosewood's is accommodation sites,
        ``data.exposure``), the denominator of that feed's expected count instead of residents:
        bed capacity x days open over the fitted months, spread over the cells each geomasked
        site covers, with a small share of residents (``models._exposure``). A DataFrame alone
        applies to every event. Columns: ``bed_capacity``, ``opened_on``, ``closed_on``,
        ``easting``, ``northing`` (geomasked, or missing) and ``lsoa_code``, ``ward_code``.
        Feeds not named are measured against residents.
    cell_size_m : int, default=300
        Analysis cell size in metres (a multiple of the 100 m geomask cell).
    max_radius_m : float, default=1500
        Largest scan window radius; radii go from one cell (a cell and its 4 neighbours) up
        in steps of one cell.
    windows : {"discs+areas", "discs"}, default="discs+areas"
        The scan's candidate windows. ``"discs"``: discs of cells (every centre and radius).
        ``"discs+areas"``: those and, in the same Monte-Carlo maximum, areal windows: the cells
        of each 2021 LSOA (a cell belongs to the LSOA its centre lies in), and of each LSOA
        with the LSOAs touching it (``models.scan_areas``), up to the largest disc's number of
        cells, which fit rates raised over whole LSOAs better than discs do (docs/hotspots.md,
        3c). With a GeoDataFrame ``population`` its own areas are the units.
    area_cell_m : {None, 100}, default=None
        ``None``: areal windows are sets of analysis cells. ``100``: sets of 100 m geomask
        cells, counted exactly, with the discs' residents summed from the same 100 m cells and
        one null for both (``models.scan_areas_fine``; docs/hotspots.md, 3g: an option, not
        adopted). An areal hotspot's ``events``, ``expected`` and ``relative_risk`` are then its
        100 m cells'; its cells (``labels_``, the budget, the polygon) by ``area_footprint``.
    area_footprint : {"any", "centres"}, default="any"
        With ``area_cell_m=100``: ``"any"``, the 300 m cells holding any of its 100 m cells;
        ``"centres"``, those whose centre lies in its LSOAs (docs/hotspots.md, 3i).
    bandwidth_m : float, default=500
        KDE Gaussian bandwidth, Gi* distance band, DBSCAN ``eps``.
    coverage : float, default=0.05
        Share of the area KDE hotspots cover.
    n_simulations : int, default=99
        Monte-Carlo data sets (scan) or permutations (Gi*). The smallest p-value is
        ``1 / (n_simulations + 1)``.
    cross_feed : bool, default=True
        With two or more feeds in ``X``, also fit each feed alone and flag hotspots that
        overlap the hotspots of two or more feeds.
    random_state : int, RandomState instance or None, default=None
        Seeds the simulations; the same value gives the same hotspots.
    max_area : float or None, default=0.03
        Area budget of ``hotspots_``: hotspots are kept strongest first while their total area
        stays within this share of the region, one that does not fit being skipped
        (``budget_rule``; ``None``: no budget).
    max_hotspots : int or None, default=None
        Keep at most this many hotspots (the strongest).
    budget_rule : {"skip", "stop"}, default="skip"
        What the area budget does with a hotspot that does not fit: ``"skip"`` leaves it out
        and goes on with the weaker (smaller) ones; ``"stop"`` (the rule before 2026-12-04)
        keeps none after it. Adopted by a pre-registered rule (docs/hotspots.md, 3e).
    overlap : {"none", "centres"}, default="none"
        The scan's secondary hotspots. ``"none"``: no two share a cell. ``"centres"``
        (SaTScan's "no cluster centres in other clusters"): a window may overlap a stronger
        one when neither holds the other's centre; each keeps its whole window, ``overlaps``
        lists the stronger ones it shares cells with, a shared cell is the strongest's in
        ``labels_``, and the area budget counts shared cells once (3e).
    secondary : {"conservative", "iterative"}, default="conservative"
        How the scan tests secondary hotspots. ``"conservative"``: against the most likely
        cluster's simulated maxima. ``"iterative"`` (Zhang, Assunção & Kulldorff 2010;
        ``models.scan_iterative``): each found cluster's cells leave the data and the scan and
        its null run again on the rest, until the next is not significant, 30 are found or
        they fill ``max_area``; needs ``overlap="none"`` (docs/hotspots.md, 3f).
    ranking : {"mixture", "kde", "kde-cv", "sepp", "population"} or None, default="mixture"
        The ``models.forecast.ForecastRanker`` kind behind ``top_area``; ``None`` fits none.

    Attributes
    ----------
    hotspots_ : GeoDataFrame
        One row per hotspot (EPSG:4326 polygons), strongest first: ``hotspot_id``, ``rank``
        (1 = strongest), ``ranked_by`` (the column the order follows: ``llr`` for the scan,
        ``events`` for the other methods), ``events``, ``expected``
        (overall rate x resident population of the cells covered), ``relative_risk``
        (SaTScan's: inside rate / outside rate), ``p_value`` (NaN for untested methods),
        ``feed_mix`` (events per feed), ``feeds`` (feeds with a hotspot of their own here),
        ``cross_feed``, ``districts``, ``wards``, ``area_km2``, ``touches`` (ids of the hotspots
        whose cells touch this one's), ``overlaps`` (ranks of the stronger hotspots sharing
        cells with this one: always empty unless ``overlap="centres"``), ``trend`` (``models.trends``),
        ``trend_p``, ``first_month``, ``last_month``; the scan adds ``radius_m`` (NaN for an
        areal window), ``llr`` and ``window`` (``"disc"``, ``"lsoa"``, ``"lsoa+neighbours"``).
    labels_ : ndarray of shape (n_events,)
        Hotspot id of each training event, -1 for none.
    monthly_counts_ : DataFrame
        Events per month (rows) and hotspot (columns) in the training data.
    feed_hotspots_ : dict of str to GeoDataFrame
        Each feed's own hotspots (when ``cross_feed`` applied).
    cell_scores_ : ndarray
        Score of each grid cell by which the method ranks places (higher = more events
        expected there); the scan's is the fitted intensity per cell, an empirical Bayes blend
        of the cell's count with the hotspot rate (inside) or the population rate (outside).
    grid_ : Grid
        The analysis grid; its ``population`` is the expected share of events per cell (the
        residents, or with ``exposure`` the mix of each feed's denominator, weighted by the
        feed's events).
    denominators_ : dict of str to str
        What each fitted feed was measured against: ``"residents"`` or ``"exposure"``.
    n_events_ : int
        Training events inside the grid.
    n_candidates_ : int
        Hotspots the method found before the area budget and ``max_hotspots``.
    ranker_ : ForecastRanker or None
        The fitted tasking ranking (``top_area``).

    Examples
    --------
    >>> model = HotspotModel(random_state=0).fit(events)  # doctest: +SKIP
    >>> model.hotspots_[["events", "expected", "p_value"]]  # doctest: +SKIP
    """

    _parameter_constraints: ClassVar[dict] = {
        "method": [StrOptions(set(METHODS))],
        "min_events": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "population": "no_validation",
        "cell_size_m": [Interval(Integral, 100, None, closed="left")],
        "max_radius_m": [Interval(Real, 0, None, closed="neither")],
        "windows": [StrOptions(set(WINDOWS))],
        "bandwidth_m": [Interval(Real, 0, None, closed="neither")],
        "coverage": [Interval(Real, 0, 1, closed="right")],
        "n_simulations": [Interval(Integral, 19, None, closed="left")],
        "cross_feed": ["boolean"],
        "random_state": ["random_state"],
        "max_area": [Interval(Real, 0, 1, closed="right"), None],
        "max_hotspots": [Interval(Integral, 1, None, closed="left"), None],
        "budget_rule": [StrOptions(set(RULES))],
        "overlap": [StrOptions(set(OVERLAPS))],
        "secondary": [StrOptions(set(SECONDARY))],
        "ranking": [StrOptions(set(KINDS)), None],
        "exposure": [dict, pd.DataFrame, None],
        "area_cell_m": [Integral, None],
        "area_footprint": [StrOptions(set(FOOTPRINTS))],
    }

    def __init__(self, method="scan", *, min_events=10, alpha=0.05, population=None,
                 cell_size_m=300, max_radius_m=1500, windows="discs+areas", bandwidth_m=500,
                 coverage=0.05, n_simulations=99, cross_feed=True, random_state=None,
                 max_area=0.03, max_hotspots=None, budget_rule="skip", overlap="none",
                 ranking="mixture", exposure=None, secondary="conservative",
                 area_cell_m=None, area_footprint="any"):
        self.method = method
        self.min_events = min_events
        self.alpha = alpha
        self.population = population
        self.cell_size_m = cell_size_m
        self.max_radius_m = max_radius_m
        self.windows = windows
        self.bandwidth_m = bandwidth_m
        self.coverage = coverage
        self.n_simulations = n_simulations
        self.cross_feed = cross_feed
        self.random_state = random_state
        self.max_area = max_area
        self.max_hotspots = max_hotspots
        self.budget_rule = budget_rule
        self.overlap = overlap
        self.ranking = ranking
        self.exposure = exposure
        self.secondary = secondary
        self.area_cell_m = area_cell_m
        self.area_footprint = area_footprint

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Find the hotspots of the events ``X``.

        Parameters
        ----------
        X : GeoDataFrame
            Events: point geometry with a CRS, a ``date`` column, optionally ``feed``.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : HotspotModel
        """
        events, grid, cell = gridded_events(X, self.cell_size_m, self.population,
                                            OutsideAreaWarning)
        self._fit_scans(events, grid, cell)
        self.ranker_ = self._fit_ranker(events)
        return self

    def _fit_ranker(self, events: Events) -> ForecastRanker | None:
        if self.ranking is None:
            return None
        return ForecastRanker(self.ranking, population=self.population).fit_events(events)

    def _fit_scans(self, events: Events, grid: Grid, cell: np.ndarray) -> None:
        """Everything ``fit`` learns but the ranking."""
        rng = check_random_state(self.random_state)
        if (fine := self._fine_areas(grid)) is not None:  # discs' residents: 100 m summed (3g)
            grid = replace(grid, population=fine.coarse_residents)
        counts = grid.counts(cell)
        self.denominators_ = {str(f): ("exposure" if self._sites(f) is not None else "residents")
                              for f in sorted(set(events.feed))}
        # Each feed's exposure surface, worked out once per fit: the per-feed fits (cross-feed
        # flags) need the same surfaces again.
        surfaces: dict = {}
        residents, grid = grid, self._expected_grid(grid, events, cell, surfaces)
        candidates = self._search(counts, grid, _seed(rng), events)
        self.n_candidates_ = len(candidates.p_values)
        found = bounded(candidates, counts, grid, self.max_area, self.max_hotspots,
                        self.budget_rule)
        self.grid_ = grid
        self.cell_labels_ = found.labels
        self.cell_scores_ = found.scores
        self.labels_ = np.where(cell >= 0, found.labels[np.maximum(cell, 0)], -1)
        self.n_events_ = int(counts.sum())
        per_feed = self._per_feed(events, cell, residents, rng, surfaces)
        self.feed_hotspots_ = {feed: frame for feed, (frame, _) in per_feed.items()}
        feeds = {feed: labels for feed, (_, labels) in per_feed.items()}
        self.hotspots_, self.monthly_counts_ = describe_hotspots(
            found, counts, grid, events, cell, feeds, self.alpha)

    def top_area(self, share: float, clip=None) -> gpd.GeoDataFrame:
        """The highest-ranked 100 m cells covering ``share`` of the region, best first.

        Places are ranked by expected events per km² over the next month (``ranker_``).

        Parameters
        ----------
        share : float
            Share of West Yorkshire's land area, in (0, 1] (of ``clip``'s area when given).
        clip : shapely geometry (EPSG:4326), GeoSeries or GeoDataFrame, optional
            Rank only the cells whose centre lies inside it (e.g. one district).

        Returns
        -------
        GeoDataFrame
            EPSG:4326 squares with ``rank``, ``expected_per_km2`` and ``area_km2``.
        """
        check_is_fitted(self)
        if self.ranker_ is None:
            raise ValueError("this model was fitted with ranking=None: no tasking ranking")
        return self.ranker_.top_area(share, clip)

    def predict(self, X):
        """Hotspot id of each event in ``X`` (-1 when in no hotspot).

        Parameters
        ----------
        X : GeoDataFrame
            Event points with a CRS (``date`` not needed).

        Returns
        -------
        ndarray of shape (n_events,)
        """
        check_is_fitted(self)
        events = event_arrays(X, require_date=False)
        cell = self.grid_.cell_index(events.x, events.y)
        return np.where(cell >= 0, self.cell_labels_[np.maximum(cell, 0)], -1)

    def score(self, X, y=None):
        """Predictive Accuracy Index of the fitted hotspots on the events ``X``.

        Hit rate (share of ``X``'s events inside a hotspot) divided by the hotspots' share of
        West Yorkshire's land area; 0.0 when there is no hotspot.

        Parameters
        ----------
        X : GeoDataFrame
            Later events, point geometry with a CRS.
        y : Ignored

        Returns
        -------
        float
        """
        check_is_fitted(self)
        labels = self.predict(X)
        area = (self.cell_labels_ >= 0).sum() * self.grid_.cell_km2
        return pai((labels >= 0).sum(), len(labels), area, self.grid_.area_km2)

    def _find(self, counts, grid: Grid, seed: int, events=None) -> baselines.CellHotspots:
        """Run the chosen method on the counts per cell; keep the strongest within budget."""
        return bounded(self._search(counts, grid, seed, events), counts, grid, self.max_area,
                       self.max_hotspots, self.budget_rule)

    def _fine_areas(self, grid: Grid):
        """The areal windows on 100 m cells (``area_cell_m=100``, the scan), else None."""
        return fine_areas_for(grid, self.area_cell_m, self.method == "scan" and self.windows
                              == "discs+areas", self.population, _largest_disc(grid, self),
                              self.area_footprint)

    def _search(self, counts, grid: Grid, seed: int, events=None) -> baselines.CellHotspots:
        """``events``: the ones ``counts`` holds (the areal windows may count their 100 m cells)."""
        if self.method == "scan":
            fine = self._fine_areas(grid)
            units = None if fine is None else fine.unit_counts(events.x, events.y)
            return _scan(counts, grid, self, np.random.default_rng(seed), fine, units)
        if self.method == "kde":
            return baselines.kde(counts, grid, bandwidth_m=self.bandwidth_m,
                                  coverage=self.coverage, min_events=self.min_events)
        if self.method == "gistar":
            return baselines.gistar(counts, grid, bandwidth_m=self.bandwidth_m,
                                     alpha=self.alpha, permutations=self.n_simulations,
                                     min_events=self.min_events, seed=seed)
        if self.method == "dbscan":
            return baselines.dbscan(counts, grid, eps_m=self.bandwidth_m,
                                     min_events=self.min_events)
        return baselines.hdbscan(counts, grid, min_events=self.min_events)

    def _per_feed(self, events: Events, cell: np.ndarray, grid: Grid, rng,
                  surfaces: dict | None = None) -> dict:
        """Each feed's own hotspots (frame, cell labels), when cross-feed flags are wanted.
        ``surfaces``: the exposure surfaces the fit has worked out already, by feed."""
        names = sorted(set(events.feed))
        if not self.cross_feed or len(names) < 2:
            return {}
        out = {}
        for feed in names:
            mine = events.feed == feed
            counts = grid.counts(cell[mine])
            own = self._expected_grid(grid, events.subset(mine), cell[mine], surfaces)
            found = self._find(counts, own, _seed(rng), events.subset(mine))
            frame, _ = describe_hotspots(found, counts, own, events.subset(mine), cell[mine], {},
                                 self.alpha)
            out[feed] = (frame, found.labels)
        return out

    def _sites(self, feed: str) -> pd.DataFrame | None:
        """The exposure layer ``feed`` is measured against, or ``None`` (residents)."""
        if isinstance(self.exposure, pd.DataFrame):
            return self.exposure
        return (self.exposure or {}).get(feed)

    def _expected_grid(self, grid: Grid, events: Events, cell: np.ndarray,
                       surfaces: dict | None = None) -> Grid:
        """``grid`` with its population replaced by the expected events per cell when a feed
        has an exposure layer: the sum over feeds of the feed's events inside the grid x its
        expected share per cell (``models._exposure``: each fitted month's events shared by that
        month's bed-nights). Land cells stay land (residents keep a small share). ``surfaces``
        keeps each feed's surface (its fit alone has the same grid and events: the same one)."""
        feeds = sorted(set(events.feed))
        if not any(self._sites(f) is not None for f in feeds) or not (cell >= 0).any():
            return grid
        expected = np.zeros(grid.shape)
        for feed in feeds:
            mine = (events.feed == feed) & (cell >= 0)
            sites = self._sites(feed)
            surfaces = {} if surfaces is None else surfaces
            if sites is not None and feed not in surfaces:
                surfaces[feed] = exposure_surface(grid, sites, events.date[mine])
            surface = None if sites is None else surfaces[feed]
            if sites is not None and surface.sum() <= 0:
                warnings.warn(f"no exposure site of feed {feed!r} is open on the grid in the "
                              "fitted months: measured against residents", NoExposureWarning,
                              stacklevel=3)
            expected += mine.sum() * expected_weights(grid, surface)
        expected = np.where(grid.land, np.maximum(expected, 1e-12), 0.0)
        return replace(grid, population=expected)


def _seed(rng) -> int:
    return int(rng.randint(0, 2**31 - 1))


def _scan(counts, grid: Grid, model: HotspotModel, rng, fine=None,
          units=None) -> baselines.CellHotspots:
    """The Poisson scan as a ``CellHotspots``, scored by fitted intensity per cell; ``fine``:
    areal windows on 100 m cells (``area_cell_m``), ``units`` the events per 100 m cell."""
    radii = np.arange(grid.cell_m, max(model.max_radius_m, grid.cell_m) + 1e-6, grid.cell_m)
    if fine is not None:
        if model.secondary != "conservative":
            raise ValueError(f'area_cell_m=100 needs secondary="conservative", got '
                             f'{model.secondary!r}')
        result = fine_scan(counts, units, grid.population, fine, grid.cell_m, radii,
                           min_events=model.min_events, n_simulations=model.n_simulations,
                           alpha=model.alpha, rng=rng, overlap=model.overlap)
    elif model.secondary == "iterative":
        if model.overlap != "none":
            raise ValueError('secondary="iterative" reports no overlapping hotspots: it needs '
                             f'overlap="none", got overlap={model.overlap!r}')
        budget = np.inf if model.max_area is None else (
            model.max_area * grid.area_km2 / grid.cell_km2 + 1e-9)
        result = iterative_scan(counts, grid.population, grid.cell_m, radii,
                                min_events=model.min_events, n_simulations=model.n_simulations,
                                alpha=model.alpha, rng=rng, areas=_area_windows(grid, model),
                                budget_cells=budget)
    else:
        result = poisson_scan(counts, grid.population, grid.cell_m, radii,
                              min_events=model.min_events,
                              n_simulations=model.n_simulations, alpha=model.alpha, rng=rng,
                              areas=_area_windows(grid, model), overlap=model.overlap)
    labels = np.full(grid.nx * grid.ny, -1)
    for k in range(len(result.cells) - 1, -1, -1):  # a shared cell is the strongest's
        labels[result.cells[k]] = k
    events = result.events
    if model.overlap != "none":  # the intensity spreads each hotspot's own cells' events
        inside = labels >= 0
        events = np.bincount(labels[inside], weights=counts.ravel()[inside],
                             minlength=len(result.cells))
    scores = baselines.intensity(counts.ravel(), grid, labels, events)
    extra = pd.DataFrame({"radius_m": result.radius_m, "llr": result.llr,
                          "window": list(result.window)})
    if fine is not None:  # an areal window's events and expected are its 100 m cells' (3g)
        extra["events"], extra["expected"] = result.events.astype(int), result.expected
        extra["relative_risk"] = [relative_risk(c, e, counts.sum())
                                  for c, e in zip(result.events, result.expected)]
    return baselines.CellHotspots(labels, result.p_value, scores, extra, list(result.cells))


def _area_windows(grid: Grid, model: HotspotModel):
    """The scan's areal windows, or None (``windows="discs"``): over the shipped LSOAs, or over
    the caller's own population areas when ``population`` is a GeoDataFrame; at most as many
    cells as the largest disc."""
    if model.windows != "discs+areas":
        return None
    polygons = None
    if isinstance(model.population, gpd.GeoDataFrame):
        polygons = model.population.geometry.to_crs(BNG).to_numpy()
    # No areal window larger than the largest disc: a large rural LSOA (or an LSOA with its
    # neighbours) of 20+ km² would spend much of the area budget on one hotspot (3c).
    return area_windows(grid, polygons, max_cells=_largest_disc(grid, model))


def _largest_disc(grid: Grid, model: HotspotModel) -> int:
    """Cells in the scan's largest disc."""
    k = int(max(model.max_radius_m, grid.cell_m) // grid.cell_m)
    di, dj = np.mgrid[-k:k + 1, -k:k + 1]
    return int((np.hypot(di, dj) * grid.cell_m <= max(model.max_radius_m, grid.cell_m) + 1e-6).sum())
