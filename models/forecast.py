"""The tasking ranking: places ranked by expected events per km² over the next month.

``ForecastRanker`` works on the 100 m geomask grid (``models._grid.centre_grid``). It builds a
few intensity surfaces from the training events, each a probability over land cells:

- ``kde<h>``: Gaussian kernel density of every training event, bandwidth ``h`` metres
  (``BANDWIDTHS``): the long-term background at several scales;
- ``recent<h>/<tau>d``: the same with each event weighted by ``exp(-age / tau)``: the
  near-repeat, self-exciting part of Mohler et al. (2011)'s point process (Gaussian in space,
  exponential decay in time; integrated over the next month a recent event adds
  ``∝ exp(-age / tau)`` at its place);
- ``decayed<h>/<tau>d`` (``recent_backgrounds``: 500 m, 14 and 30 days by default): a
  recency-weighted background (Bowers, Johnson & Pease 2004's prospective hotspotting), the same weighting at
  background scales and memories, for hotspots that appear, drift and fade;
- ``population``: residents' share of each cell (the expectation a sparse feed shrinks to);
- ``uniform``: every land cell alike (keeps every log-likelihood finite).

``kind`` says which are mixed, and the mixture weights are learned by rolling-origin
validation inside the training data: the origin steps back ``validation_folds`` times by
``horizon_days``; each time the surfaces are rebuilt from the events before the origin and
scored on the events of the following ``horizon_days``. Six folds by default; a sparse feed
steps back further, up to ``max_validation_folds`` (every month of a year's training but the
first), while fewer than ``min_held_out`` events are held out: a dense feed keeps its recent
months (where hotspots drift, older folds cost it: dense ``moving`` lost a fifth of its
catch at 5% with 11 folds), a sparse one gets held-out events enough to learn from. The weights maximise that held-out log-likelihood (EM for
mixture weights, MAP with ``prior`` pseudo-events per surface), and the bandwidth of
``"kde-cv"`` is the one with the best held-out log-likelihood.

Where the pseudo-events sit is ``prior_toward``. For ``"mixture"`` the default, ``"kde"``,
puts them all on the 200 and 300 m backgrounds (the two either side of plain KDE's 250 m), so
a sparse feed whose few held-out events cannot tell the surfaces apart ranks like plain KDE,
and the residents, near-repeat and other scales take weight only as far as the held-out
events support them; ``"even"`` spreads them evenly over the surfaces (the ranking before
December 2026, which let an even blend with residents decide a sparse feed's top 0.5%).
Without held-out events the weights are the pseudo-events' shares.

``kind="kde"`` is the plain baseline: one KDE of ``bandwidth_m`` (250 m), nothing learned.
``docs/hotspot-evaluation.md`` compares the kinds; ``"mixture"`` is the default ranking of
``HotspotModel``.
"""
from __future__ import annotations

import weakref
from numbers import Integral, Real

import geopandas as gpd
import numpy as np
import shapely
from scipy import ndimage
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from geo.crs import BNG, WGS84
from models._events import Events, event_arrays
from models._grid import Grid, centre_grid
from models._surface_names import decayed_name, kernel_of
from models._top_band import (
    band_cells,
    blend,
    candidate_weights,
    choose,
    fold_hits,
    fold_surfaces,
)
from models.metrics import cells_for_coverage, top_cells

KINDS = ("mixture", "kde", "kde-cv", "sepp", "population")
OBJECTIVES = ("likelihood", "top-hits")
BANDWIDTHS = (100, 200, 300, 500, 800)  # metres: background scales
TRIGGER_BANDWIDTHS = (100, 250)  # metres: near-repeat spread
DECAYS_DAYS = (14, 60)  # near-repeat memory
# Recency-weighted backgrounds of the default mixture (bandwidth m, memory days): drifting
# hotspots outrun the 250 m near-repeat kernel (docs/hotspot-evaluation.md, 2026-12-03 night).
RECENT_BACKGROUNDS = ((500, 14), (500, 30))
DAYS_PER_MONTH = 365.25 / 12
EM_ITERATIONS = 200
SHRINK_TO = ("kde200", "kde300")
TRUNCATE = 4.0  # kernels reach 4 bandwidths (scipy's default)
MAX_PAIRS = 20_000_000  # held-out cells x event sites summed directly; beyond, smooth the grid


class ForecastRanker(BaseEstimator):
    """Rank 100 m cells by expected events per km² over the next month.

    Parameters
    ----------
    kind : {"mixture", "kde", "kde-cv", "sepp", "population"}, default="mixture"
        Which surfaces are mixed (module docstring): ``"kde"`` one fixed bandwidth;
        ``"kde-cv"`` the validated bandwidth; ``"sepp"`` that background plus the near-repeat
        surfaces; ``"population"`` that background shrunk toward residents; ``"mixture"``
        every surface.
    bandwidth_m : float, default=250
        Bandwidth of ``kind="kde"``.
    cell_size_m : int, default=100
        Cell size (a multiple of the 100 m geomask cell).
    population : GeoDataFrame, Series or None, default=None
        LSOA populations, as ``HotspotModel``'s.
    validation_folds : int, default=6
        Validation origins, one ``horizon_days`` apart, ending at the last training day.
    max_validation_folds : int, default=11
        More origins, up to this many, while fewer than ``min_held_out`` events are held out.
    min_held_out : int, default=100
        Held-out events below which the origin keeps stepping back.
    horizon_days : int, default=30
        Length of each held-out period (the forecast horizon).
    prior : float, default=0.25
        Pseudo-events per surface in the mixture weights' EM (``prior`` times the number of
        surfaces in all: 2.75 for ``"mixture"``). 1.0 until 2026-12-03's second change:
        on the tuning draws (seeds 101-106) 0.25 caught more at 0.5-2% than 1.0 and 0.5
        (``docs/hotspot-evaluation.md``).
    prior_toward : {"kde", "even"}, default="kde"
        Where the pseudo-events sit (module docstring); ``kind="mixture"`` only, the other
        kinds spread them evenly.
    objective : {"likelihood", "top-hits"}, default="likelihood"
        ``"top-hits"`` (``kind="mixture"`` only): the top ``top_band`` of the area is ranked
        by the candidate weighting that caught the most held-out events there on the same
        folds, the rest by the likelihood weights (``models._top_band``). Not the default:
        on the tuning draws it caught no more (``docs/hotspot-evaluation.md``).
    top_band : tuple of float, default=(0.005, 0.01, 0.02)
        Shares of the area whose held-out hits ``"top-hits"`` sums; the largest is the band.
    min_gain : float, default=0.0
        Held-out events a fold by which a ``"top-hits"`` alternative must beat the likelihood
        weights to be taken.
    recent_backgrounds : tuple of (float, float), default=((500, 14), (500, 30))
        ``(bandwidth_m, decay_days)`` of recency-weighted backgrounds added to ``"mixture"``
        (``decayed<h>/<tau>d``: events weighted ``exp(-age / tau)``), weighted by the same
        EM. ``()`` until 2026-12-03 (night): on the report seeds they caught more on
        ``moving`` and no fewer beyond noise elsewhere (``docs/hotspot-evaluation.md``).

    Attributes
    ----------
    grid_ : Grid
        The fine grid.
    scores_ : ndarray of shape (ny * nx,)
        Expected events per km² per month in each cell (0 off land).
    weights_ : dict of str to float
        Mixture weight of each surface used.
    bandwidth_m_ : float
        Background bandwidth (``kde``, ``kde-cv``, ``sepp``, ``population``; the
        largest-weight one for ``mixture``).
    held_out_events_ : int
        Held-out events the weights were learned from.
    band_weights_ : dict of str to float
        The weighting that ranks the top band (``objective="top-hits"``; else ``weights_``).
    monthly_rate_ : float
        Events per month over the last year of training (or the whole span if shorter).
    """

    _parameter_constraints = {
        "kind": [StrOptions(set(KINDS))],
        "bandwidth_m": [Interval(Real, 0, None, closed="neither")],
        "cell_size_m": [Interval(Integral, 100, None, closed="left")],
        "population": "no_validation",
        "validation_folds": [Interval(Integral, 0, None, closed="left")],
        "max_validation_folds": [Interval(Integral, 0, None, closed="left")],
        "min_held_out": [Interval(Integral, 0, None, closed="left")],
        "horizon_days": [Interval(Integral, 1, None, closed="left")],
        "prior": [Interval(Real, 0, None, closed="neither")],
        "prior_toward": [StrOptions({"even", "kde"})],
        "objective": [StrOptions(set(OBJECTIVES))],
        "top_band": ["array-like"],
        "min_gain": [Interval(Real, 0, None, closed="left")],
        "recent_backgrounds": [tuple, list],
    }

    def __init__(self, kind="mixture", *, bandwidth_m=250, cell_size_m=100, population=None,
                 validation_folds=6, max_validation_folds=11, min_held_out=100,
                 horizon_days=30, prior=0.25, prior_toward="kde", objective="likelihood",
                 top_band=(0.005, 0.01, 0.02), min_gain=0.0,
                 recent_backgrounds=RECENT_BACKGROUNDS):
        self.kind = kind
        self.bandwidth_m = bandwidth_m
        self.cell_size_m = cell_size_m
        self.population = population
        self.validation_folds = validation_folds
        self.max_validation_folds = max_validation_folds
        self.min_held_out = min_held_out
        self.horizon_days = horizon_days
        self.prior = prior
        self.prior_toward = prior_toward
        self.objective = objective
        self.top_band = top_band
        self.min_gain = min_gain
        self.recent_backgrounds = recent_backgrounds

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the ranking from events ``X`` (GeoDataFrame: points with a CRS, ``date``)."""
        return self.fit_events(event_arrays(X))

    def fit_events(self, events: Events) -> "ForecastRanker":
        """``fit`` on event arrays already read (``models._events.Events``): the hotspot model
        hands over the events it has read instead of a second GeoDataFrame."""
        grid = centre_grid(self.cell_size_m, self.population)
        cell = grid.cell_index(events.x, events.y)
        keep = cell >= 0
        cell, day = cell[keep], events.date[keep].astype("datetime64[D]").astype(np.int64)
        origin = int(day.max()) + 1 if len(day) else 0
        names = self._surface_names()
        held = self._held_out(grid, cell, day, origin, names)
        weights, bandwidth = self._weights(names, held, int(grid.land.sum()))
        band_weights = weights
        if self.objective == "top-hits" and self.kind == "mixture" and len(held):
            band_weights = self._band_weights(grid, cell, day, origin, names, weights)
        used = [n for n, w, b in zip(names, weights, band_weights) if w > 0 or b > 0]
        surfaces = _surfaces(grid, cell, day, origin, used)
        share = _mix(grid, surfaces, names, weights)
        if band_weights is not weights:
            land = np.flatnonzero(grid.land.ravel())
            n_band = band_cells(len(land), grid.area_km2, grid.cell_km2, self.top_band)[-1]
            share = blend(share, _mix(grid, surfaces, names, band_weights), land, n_band)
        span = max(min(365, origin - int(day.min()) if len(day) else 1), 1)
        recent = (day >= origin - span).sum()
        self.grid_ = grid
        self.monthly_rate_ = float(recent / span * DAYS_PER_MONTH)
        self.scores_ = share * self.monthly_rate_ / grid.cell_km2
        self.weights_ = {n: float(w) for n, w in zip(names, weights) if w > 0}
        self.band_weights_ = {n: float(w) for n, w in zip(names, band_weights) if w > 0}
        self.bandwidth_m_ = float(bandwidth)
        self.held_out_events_ = int(len(held))
        return self

    def _surface_names(self) -> list[str]:
        kdes = [f"kde{h}" for h in BANDWIDTHS]
        recent = [f"recent{h}/{t}d" for h in TRIGGER_BANDWIDTHS for t in DECAYS_DAYS]
        if self.kind == "kde":
            return [f"kde{float(self.bandwidth_m):g}"]
        if self.kind == "kde-cv":
            return kdes
        if self.kind == "sepp":
            return [*kdes, *recent, "uniform"]
        if self.kind == "population":
            return [*kdes, "population", "uniform"]
        decayed = [decayed_name(h, t) for h, t in self.recent_backgrounds]
        return [*kdes, *recent, *decayed, "population", "uniform"]

    def _folds(self, day, origin: int):
        """The validation folds: (origin, training mask, held-out mask), latest first."""
        held = 0
        most = max(self.validation_folds, self.max_validation_folds)
        for k in range(1, most + 1):
            if k > self.validation_folds and held >= self.min_held_out:
                break
            start = origin - k * self.horizon_days
            train, test = day < start, (day >= start) & (day < start + self.horizon_days)
            if train.sum() < 2 or not test.any():
                continue
            held += int(test.sum())
            yield start, train, test

    def _held_out(self, grid: Grid, cell, day, origin: int, names: list[str]) -> np.ndarray:
        """Each held-out event's probability under every surface: (n_held, n_surfaces)."""
        if self.kind == "kde" or not len(day):
            return np.empty((0, len(names)))
        rows = []
        for start, train, test in self._folds(day, origin):
            values = _surfaces_at(grid, cell[train], day[train], start, names, cell[test])
            rows.append(np.column_stack([values[n] for n in names]))
        return np.vstack(rows) if rows else np.empty((0, len(names)))

    def _band_weights(self, grid: Grid, cell, day, origin: int, names: list[str],
                      weights: np.ndarray) -> np.ndarray:
        """The weighting that catches the most held-out events in the top band on the same
        folds (``models._top_band``; the likelihood ``weights`` unless beaten)."""
        land = np.flatnonzero(grid.land.ravel())
        position = np.full(grid.nx * grid.ny, -1)
        position[land] = np.arange(len(land))
        n_cells = band_cells(len(land), grid.area_km2, grid.cell_km2, self.top_band)
        candidates = candidate_weights(names, weights)
        needed = np.flatnonzero(np.vstack(candidates).max(axis=0) > 0)
        used = [names[i] for i in needed]
        candidates_used = [w[needed].astype(np.float32) for w in candidates]
        hits, n_folds = np.zeros((len(candidates), len(n_cells))), 0
        for start, train, test in self._folds(day, origin):
            stack = fold_surfaces(grid, cell[train], day[train], start, used, land)
            hits += fold_hits(stack, position[cell[test]], candidates_used, n_cells)
            n_folds += 1
        return candidates[choose(hits, max(n_folds, 1), self.min_gain)]

    def _weights(self, names: list[str], held: np.ndarray, n_land: int
                 ) -> tuple[np.ndarray, float]:
        """Mixture weights (zero for unused surfaces) and the background bandwidth."""
        kde = [i for i, n in enumerate(names) if n.startswith("kde")]
        if self.kind == "kde":
            return np.ones(1), float(self.bandwidth_m)
        if len(held):  # best single background by held-out log-likelihood (uniform-guarded)
            guard = 0.99 * held[:, kde] + 0.01 / n_land
            best = kde[int(np.argmax(np.log(guard).sum(axis=0)))]
        else:
            best = names.index("kde300")
        bandwidth = float(names[best][3:])
        weights = np.zeros(len(names))
        if self.kind == "kde-cv":
            weights[best] = 1.0
            return weights, bandwidth
        # sepp and population mix the validated background with their own surfaces only.
        chosen = [i for i, n in enumerate(names)
                  if not n.startswith("kde") or i == best or self.kind == "mixture"]
        target = None  # even
        if self.prior_toward == "kde" and self.kind == "mixture":
            # The pseudo-events sit on the two backgrounds either side of KDE's 250 m: what
            # the held-out events cannot tell apart stays a plain KDE, not an even blend.
            target = np.array([float(names[i] in SHRINK_TO) for i in chosen])
        weights[chosen] = _em_weights(held[:, chosen], self.prior, target)
        if self.kind == "mixture":
            bandwidth = float(names[kde[int(np.argmax(weights[kde]))]][3:])
        return weights, bandwidth

    # -- the public ranking ---------------------------------------------------------------

    def top_cells(self, share: float, clip=None) -> np.ndarray:
        """Flat indices of the highest-ranked land cells covering ``share`` of the region (of
        ``clip``'s land when given), best first."""
        check_is_fitted(self)
        grid = self.grid_
        candidates = np.flatnonzero(grid.land.ravel())
        area = grid.area_km2
        if clip is not None:
            shape = _clip_shape(clip)
            shapely.prepare(shape)
            x, y = grid.centres(candidates)
            candidates = candidates[shapely.contains_xy(shape, x, y)]
            area = shape.area / 1e6
        n_cells = cells_for_coverage(share, area, grid.cell_km2)
        return top_cells(self.scores_, candidates, n_cells)

    def top_area(self, share: float, clip=None) -> gpd.GeoDataFrame:
        """The highest-ranked cells covering ``share`` of the region (or of ``clip``).

        Parameters
        ----------
        share : float
            Share of the area, in (0, 1].
        clip : shapely geometry, GeoSeries or GeoDataFrame, optional
            Rank only inside this polygon (a bare shapely geometry is taken as EPSG:4326
            longitude/latitude); ``share`` is then a share of its area.

        Returns
        -------
        GeoDataFrame
            One row per cell, best first (EPSG:4326 squares): ``rank`` (1 = best),
            ``expected_per_km2`` (events per km² over the next month), ``area_km2``.
        """
        cells = self.top_cells(share, clip)
        grid = self.grid_
        x, y = grid.centres(cells)
        half = grid.cell_m / 2
        frame = gpd.GeoDataFrame(
            {"rank": np.arange(1, len(cells) + 1), "expected_per_km2": self.scores_[cells],
             "area_km2": np.full(len(cells), grid.cell_km2)},
            geometry=shapely.box(x - half, y - half, x + half, y + half), crs=BNG)
        return frame.to_crs(WGS84)


def _mix(grid: Grid, surfaces: dict[str, np.ndarray], names: list[str], weights: np.ndarray
         ) -> np.ndarray:
    """The weighted sum of the named surfaces (zero weights skipped)."""
    share = np.zeros(grid.nx * grid.ny)
    for name, w in zip(names, weights):
        if w > 0:
            share += w * surfaces[name]
    return share


def _clip_shape(clip):
    """``clip`` as one BNG geometry (a bare shapely geometry is EPSG:4326)."""
    if isinstance(clip, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if clip.crs is None:
            raise ValueError("clip has no CRS")
        return shapely.union_all(clip.to_crs(BNG).geometry.to_numpy())
    if isinstance(clip, shapely.Geometry):
        return gpd.GeoSeries([clip], crs=WGS84).to_crs(BNG).iloc[0]
    raise TypeError(f"clip was a {type(clip).__name__}; expected a shapely geometry, GeoSeries "
                    "or GeoDataFrame")


def _surfaces(grid: Grid, cell: np.ndarray, day: np.ndarray, origin: int,
              names: list[str]) -> dict[str, np.ndarray]:
    """Each named surface (flat, sums to 1 over land) from events before ``origin``."""
    land = grid.land.ravel()
    out = {}
    counts = grid.counts(cell)
    for name in names:
        kernel = kernel_of(name)
        if kernel is not None:
            spread, decay = kernel
            raw = _smooth(counts if decay is None
                          else grid.counts(cell, np.exp(-(origin - day) / decay)), spread, grid)
        elif name == "population":
            raw = grid.population.ravel().copy()
        else:
            raw = land.astype(float)
        raw = np.where(land, np.maximum(raw, 0.0), 0.0)
        total = raw.sum()
        out[name] = raw / total if total > 0 else land / land.sum()
    return out


def _surfaces_at(grid: Grid, cell: np.ndarray, day: np.ndarray, origin: int,
                 names: list[str], at: np.ndarray) -> dict[str, np.ndarray]:
    """``_surfaces(grid, cell, day, origin, names)[name][at]`` for every name, without
    smoothing the whole grid.

    A held-out fold needs the surfaces at its few held-out cells only, so each kernel surface
    is summed event site by event site with the very kernel ``scipy.ndimage.gaussian_filter``
    uses (``_kernel1d``), and normalised by each site's kernel mass on land (one smoothing of
    the land mask per bandwidth, cached). Pairs too many for memory fall back to ``_surfaces``.
    """
    land = grid.land.ravel()
    n_land = int(land.sum())
    sites, site_of = np.unique(cell, return_inverse=True)
    if len(sites) * len(at) > MAX_PAIRS:
        whole = _surfaces(grid, cell, day, origin, names)
        return {name: whole[name][at] for name in names}
    site_row, site_col = np.divmod(sites, grid.nx)
    row, col = np.divmod(np.asarray(at), grid.nx)
    d_row = np.abs(row[:, None] - site_row[None, :])
    d_col = np.abs(col[:, None] - site_col[None, :])
    kernels: dict[float, np.ndarray] = {}
    out = {}
    for name in names:
        kernel = kernel_of(name)
        if kernel is not None:
            spread, decay = kernel
            weights = None if decay is None else np.exp(-(origin - day) / decay)
            if spread not in kernels:
                k = _kernel1d(spread, grid.cell_m)
                reach = len(k) - 1
                kernels[spread] = k[np.minimum(d_row, reach)] * k[np.minimum(d_col, reach)]
            mass = np.bincount(site_of, weights=weights, minlength=len(sites)).astype(float)
            total = mass @ _land_mass(grid, spread)[sites]
            out[name] = (kernels[spread] @ mass / total if total > 0
                         else np.full(len(at), 1.0 / n_land))
        elif name == "population":
            people = np.where(land, grid.population.ravel(), 0.0)
            out[name] = people[at] / people.sum()
        else:
            out[name] = np.full(len(at), 1.0 / n_land)
    return out


def _kernel1d(bandwidth_m: float, cell_m: float) -> np.ndarray:
    """Half of ``gaussian_filter``'s sampled kernel (truncated at 4 sigma), by distance in
    cells, then a 0 for every distance beyond its reach."""
    sigma = bandwidth_m / cell_m
    reach = int(TRUNCATE * sigma + 0.5)
    k = np.exp(-0.5 * np.arange(reach + 1) ** 2 / sigma ** 2)
    return np.r_[k / (2 * k.sum() - k[0]), 0.0]


_LAND_MASS: weakref.WeakKeyDictionary[Grid, dict] = weakref.WeakKeyDictionary()


def _land_mass(grid: Grid, bandwidth_m: float) -> np.ndarray:
    """Per cell, the share of a kernel centred there that falls on land (cached per grid)."""
    cache = _LAND_MASS.setdefault(grid, {})
    if bandwidth_m not in cache:
        cache[bandwidth_m] = _smooth(grid.land.astype(float), bandwidth_m, grid)
    return cache[bandwidth_m]


def _smooth(counts: np.ndarray, bandwidth_m: float, grid: Grid) -> np.ndarray:
    return ndimage.gaussian_filter(counts, sigma=bandwidth_m / grid.cell_m, truncate=TRUNCATE,
                                   mode="constant").ravel()


def _em_weights(likelihood: np.ndarray, prior: float, target: np.ndarray | None = None
                ) -> np.ndarray:
    """Mixture weights maximising sum(log(likelihood @ w)) + sum(a * log w) (EM, MAP), with
    ``a = prior * k * target`` pseudo-events (``target`` even by default): without held-out
    events the weights are ``target``, and few held-out events move them little from it."""
    n, k = likelihood.shape
    target = np.full(k, 1.0 / k) if target is None else np.asarray(target, float)
    pseudo = prior * k * target / target.sum()
    weights = pseudo / pseudo.sum()
    if not n:
        return weights
    weights = np.where(weights > 0, weights, 1e-3 / k)  # a surface without pseudo-events may
    weights /= weights.sum()  # still earn weight from the held-out events
    for _ in range(EM_ITERATIONS):
        joint = likelihood * weights
        total = np.maximum(joint.sum(axis=1, keepdims=True), 1e-300)
        updated = ((joint / total).sum(axis=0) + pseudo) / (n + pseudo.sum())
        if np.abs(updated - weights).max() < 1e-6:
            return updated
        weights = updated
    return weights

