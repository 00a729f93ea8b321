"""Synthetic demo data for the three feeds, written through the real ingestion path.

    python -m data.synthetic --store URL [--years 5] [--seed 1] [--events N] [--end YYYY-MM-DD]

Every record is made up, but its shape follows public statistics for West Yorkshire (volumes,
age, gender and exploitation-type mixes, seasonality, a rising trend; ``docs/synthetic-data.md``
gives the figures and their sources). Points fall inside real LSOAs, weighted by Census 2021
population; Rosewood episodes come from tens of accommodation sites (the exposure layer, with bed
capacity and open/close dates, stored by ``data.exposure``), in proportion to their open beds.
A few hotspots per feed are planted with a known centre, radius, start month and intensity, and
written to ``<store>/_synthetic_truth.json`` so that hotspot models can be tested against them.
This module decides how many events each feed has in each month and where the hotspots are;
``data.synthetic_feeds`` draws the rows themselves (ages, types, locations, ids).

The frames go through ``data.ingest.ingest_frame`` like a partner file, so the demo exercises
validation and geomasking, and every batch is labelled ``source == "synthetic"``. The same
arguments give the same stored content.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from tqdm import tqdm

from core import clock
from core.errors import DashboardError, StoreError
from core.schema import EARLIEST_DATE, FEEDS
from data.exposure import ingest_sites_frame
from data.ingest import ingest_frame
from data.synthetic_feeds import FEED_FRAMES, World, rosewood_frame
from data.synthetic_sites import (
    accommodation_sites,
    points_in_lsoas,
    site_frame,
)
from geo.boundaries import DISTRICT_CODES, load_boundaries, west_yorkshire_bng
from geo.crs import BNG
from geo.geomask import bng_to_lonlat, geomask_cell_m
from storage.open import open_store

TRUTH_FILE = "_synthetic_truth.json"  # a leading "_": the store ignores the file
TRUTH_FORMAT = 1
CHUNK_ROWS = 200_000  # rows per ingest_frame call (one stored batch): bounds memory at 1M rows

# Records in the last 12 months of the span at the default scale (hotspots come on top), and the
# range any full calendar year must fall in. Approximations: see docs/synthetic-data.md.
YEARLY_VOLUME = {"nrm": 700, "rosewood": 420, "mandevilla": 150}
YEARLY_RANGE = {"nrm": (350, 1100), "rosewood": (200, 800), "mandevilla": (70, 300)}
TREND_PER_YEAR = {"nrm": 0.08, "rosewood": 0.10, "mandevilla": 0.05}
SEASONAL_AMPLITUDE = {"nrm": 0.15, "rosewood": 0.20, "mandevilla": 0.10}  # +- share of the mean
PEAK_MONTH = 7  # July: referrals and missing episodes peak in summer


@dataclass(frozen=True)
class HotspotSpec:
    """Extra events uniform in a disc of ``radius_m``: ``per_month`` (at the default scale) from
    the month ``start_fraction`` of the way through the span, so every span has months before."""

    radius_m: int
    start_fraction: float
    per_month: float


HOTSPOTS = {  # each in a different district, drawn by the seed
    "nrm": (HotspotSpec(700, 0.40, 3.0), HotspotSpec(900, 0.55, 2.5), HotspotSpec(600, 0.70, 2.0)),
    "rosewood": (HotspotSpec(500, .35, 3.0), HotspotSpec(700, .5, 2.5), HotspotSpec(600, .75, 2.0)),
    "mandevilla": (HotspotSpec(800, .3, 1.2), HotspotSpec(1000, .5, 1.0), HotspotSpec(700, .65, 1)),
}

def generate(years: int = 5, seed: int = 1, end=None, events: int | None = None
             ) -> dict[str, pd.DataFrame]:
    """Generate the three feeds as frames of contract columns (pure: touches no store).

    Parameters
    ----------
    years : int
        Length of the span, ending at ``end``.
    seed : int
        Seed of ``numpy.random.default_rng``; the same arguments give the same frames.
    end : date-like, optional
        Last day of the span; default the last day of the previous full month. Must be in the past.
    events : int, optional
        Total records over the three feeds; default the realistic volumes of ``YEARLY_VOLUME``.

    Returns
    -------
    dict of str to DataFrame
        One frame per feed: the feed's contract fields plus the location columns, as text.
    """
    return dict(_simulate(years, seed, end, events)[1])


def generate_sites(years: int = 5, seed: int = 1, end=None, events: int | None = None
                   ) -> pd.DataFrame:
    """The accommodation sites (the exposure layer) of the build with these arguments, as the
    text columns a partner would send (``data.exposure``); pure, like :func:`generate`."""
    return _simulate(years, seed, end, events)[2]


def build_store(store_url, years: int = 5, seed: int = 1, end=None, events: int | None = None,
                progress: bool = False) -> dict:
    """Generate the feeds, ingest them with ``ingest_frame`` and write the ground-truth file.

    Parameters are those of ``generate``, plus ``store_url`` (a store folder) and ``progress``
    (show a tqdm bar). A store holding other data is refused; one built with the same arguments
    is resumed (rows already stored are skipped).

    Returns
    -------
    dict
        ``store`` (URL), ``truth`` (path), ``records`` and ``added`` per feed, ``seconds``.
    """
    started = time.perf_counter()
    store = open_store(store_url)
    truth, frames, sites = _simulate(years, seed, end, events)
    # A file in a store folder; a row of the documents table in a PostGIS store.
    truth_path = (f"{store.url}/{TRUTH_FILE}" if "://" in store.url
                  else Path(store.url) / TRUTH_FILE)
    _check_target(store, truth)
    truth["geomask_m"] = geomask_cell_m()  # stored points are cell centres, up to 0.71 cell off
    # Written first (atomically), so an interrupted build can be resumed.
    store.write_document(TRUTH_FILE, json.dumps(truth, indent=1))
    # The exposure layer is replaced whole on every load, so a resumed build writes it again.
    ingest_sites_frame(sites, name="synthetic-accommodation", store=store, source="synthetic")
    added = dict.fromkeys(truth["records"], 0)
    with tqdm(total=sum(truth["records"].values()), unit="rows", desc="synthetic",
              disable=not progress) as bar:
        for feed, frame in frames:
            for part, lo in enumerate(range(0, len(frame), CHUNK_ROWS), start=1):
                bar.set_postfix_str(f"{feed} part {part}")
                # One batch per chunk; record_ids are numbered over the whole feed.
                added[feed] += ingest_frame(frame.iloc[lo:lo + CHUNK_ROWS], feed, store=store,
                                            name=f"synthetic-{feed}-{part:03d}",
                                            source="synthetic").added
                bar.update(min(CHUNK_ROWS, len(frame) - lo))
            del frame  # before the generator builds the next feed
    return {"store": store.url, "truth": str(truth_path), "records": truth["records"],
            "added": added, "seconds": time.perf_counter() - started}


def default_end(today=None) -> pd.Timestamp:
    """The last day of the month before ``today`` (default: now)."""
    first_of_month = pd.Timestamp(today or pd.Timestamp(clock.local_now())).normalize().replace(day=1)
    return first_of_month - pd.Timedelta(1, "D")


def _simulate(years, seed, end, events):
    """The ground truth, and a generator of (feed, frame) that builds one feed at a time."""
    if int(years) != years or years < 1:
        raise ValueError(f"years was {years!r}; expected a whole number >= 1")
    if events is not None and events < 1:
        raise ValueError(f"events was {events!r}; expected a positive number of records")
    end = default_end() if end is None else pd.Timestamp(end).normalize()
    if end >= pd.Timestamp(clock.local_now()).normalize():
        raise ValueError(f"end {end.date()} is not in the past: synthetic dates must not be in "
                         "the future")
    start = end - pd.DateOffset(years=int(years)) + pd.Timedelta(1, "D")
    if start < EARLIEST_DATE:
        raise ValueError(f"the span would start on {start.date()}, before 2000")
    world = _world(start, end)
    rng = np.random.default_rng(seed)
    hotspots = {feed: _place_hotspots(rng, world, feed) for feed in FEEDS}
    sites = accommodation_sites(rng, world, hotspots["rosewood"])
    rates = {feed: _monthly_rates(world, feed, hotspots[feed]) for feed in FEEDS}
    flat = np.concatenate([r.ravel() for r in rates.values()])
    scale = 1.0 if events is None else events / flat.sum()
    # Poisson noise at the natural scale; an exact total when a number of events is asked for.
    counts = rng.poisson(flat) if events is None else rng.multinomial(events, flat / flat.sum())
    cells = dict(zip(rates, np.split(counts, np.cumsum([r.size for r in rates.values()])[:-1])))
    for feed, spots in hotspots.items():
        cells[feed] = cells[feed].reshape(rates[feed].shape)
        for k, spot in enumerate(spots, start=1):
            spot["intensity_per_month"] = round(spot["intensity_per_month"] * scale, 6)
            spot["events"] = int(cells[feed][k].sum())
    truth = {"format": TRUTH_FORMAT, "generator": "data.synthetic", "seed": seed,
             "years": int(years), "start": str(start.date()), "end": str(end.date()),
             "events_requested": events, "scale": round(scale, 6),
             "records": {f: int(c.sum()) for f, c in cells.items()},
             "exposure": {"layer": "accommodation", "sites": len(sites.beds),
                          "beds": int(sites.beds.sum()),
                          "planted_sites": int((sites.planted > 0).sum())},
             "hotspots": {feed: [{k: v for k, v in spot.items() if not k.startswith("_")}
                                 for spot in spots] for feed, spots in hotspots.items()}}

    def frames():
        for feed, cell in cells.items():
            month = np.repeat(np.tile(np.arange(cell.shape[1]), cell.shape[0]), cell.ravel())
            kind = np.repeat(np.arange(cell.shape[0]), cell.sum(axis=1))  # 0 background, k spot k
            if feed == "rosewood":
                yield feed, rosewood_frame(rng, world, month, kind, sites)
            else:
                yield feed, FEED_FRAMES[feed](rng, world, month, kind, hotspots[feed])
    return truth, frames(), site_frame(sites)


def _world(start: pd.Timestamp, end: pd.Timestamp) -> World:
    gdf = load_boundaries("lsoa").to_crs(BNG)
    lsoas = pd.DataFrame({"code": gdf["code"], "district_code": gdf["district_code"],
                          "ward_code": gdf["ward_code"],
                          "population": gdf["population"].astype(float),
                          "area_km2": gdf["area_km2"].astype(float),
                          "density": gdf["population"] / gdf["area_km2"]}).reset_index(drop=True)
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    shapely.prepare(geoms)  # contains_xy on prepared polygons: ~1M points a second
    months = pd.period_range(start, end, freq="M")
    first = months.start_time.to_numpy().astype("datetime64[D]")
    last = months.end_time.to_numpy().astype("datetime64[D]")
    lo = np.maximum(first, start.to_datetime64().astype("datetime64[D]"))
    days = (np.minimum(last, end.to_datetime64().astype("datetime64[D]")) - lo).astype(int) + 1
    coverage = days / ((last - first).astype(int) + 1)
    return World(lsoas, geoms, shapely.bounds(geoms), lo, days, coverage, end)


def _monthly_rates(world: World, feed: str, hotspots: list[dict]) -> np.ndarray:
    """Expected counts per month: row 0 background (trend x season), row k hotspot k."""
    mid = world.month_first + world.month_days // 2
    years_back = (world.end.to_datetime64().astype("datetime64[D]") - mid).astype(float) / 365.25
    month_of_year = mid.astype("datetime64[M]").astype(int) % 12 + 1
    season = 1 + SEASONAL_AMPLITUDE[feed] * np.cos(2 * np.pi * (month_of_year - PEAK_MONTH) / 12)
    trend = (1 + TREND_PER_YEAR[feed]) ** -(years_back - 0.5)  # last 12 months ~ YEARLY_VOLUME
    after = np.arange(len(mid))[None, :] >= np.array([[s["_start_index"]] for s in hotspots])
    spots = np.array([[s["intensity_per_month"]] for s in hotspots]) * world.coverage * after
    return np.vstack([YEARLY_VOLUME[feed] / 12 * trend * season * world.coverage, spots])


def _place_hotspots(rng, world: World, feed: str) -> list[dict]:
    """One hotspot per spec, in distinct districts, centred in an urban (dense) LSOA."""
    districts = rng.choice(sorted(DISTRICT_CODES), size=len(HOTSPOTS[feed]), replace=False)
    edge, n_months, spots = west_yorkshire_bng().boundary, len(world.month_days), []
    for number, (spec, district) in enumerate(zip(HOTSPOTS[feed], districts), start=1):
        pool = np.flatnonzero(world.lsoas["district_code"].to_numpy() == district)
        weight = world.lsoas["density"].to_numpy()[pool]
        while True:  # the whole disc must lie inside West Yorkshire
            i = rng.choice(pool, p=weight / weight.sum())
            e, n = points_in_lsoas(rng, world, np.array([i]))
            if edge.distance(shapely.Point(e[0], n[0])) > spec.radius_m:
                break
        start = int(np.clip(round(spec.start_fraction * n_months), 1, n_months - 1))
        lon, lat = bng_to_lonlat(e, n)
        spots.append({
            "id": f"{feed}-{number}", "district_code": str(district),
            "district_name": DISTRICT_CODES[district], "lsoa_code": world.lsoas["code"][i],
            "longitude": round(float(lon[0]), 6), "latitude": round(float(lat[0]), 6),
            "easting": round(float(e[0]), 1), "northing": round(float(n[0]), 1),
            "radius_m": spec.radius_m, "start_month": str(world.month_first[start])[:7],
            "start_date": str(world.month_first[start]), "intensity_per_month": spec.per_month,
            "_start_index": start})
    return spots


def _check_target(store, truth: dict) -> None:
    """Refuse a store with other data; accept one this build (same arguments) started."""
    if not store.batches():
        return
    try:
        previous = json.loads(store.read_document(TRUTH_FILE) or "{}")
    except (OSError, ValueError):
        previous = {}
    same = all(previous.get(k) == truth[k] for k in ("seed", "years", "end", "events_requested"))
    if store.sources() != {"synthetic"} or not same:
        raise StoreError(f"store {store.url} already holds other data (real, or synthetic built "
                         "with other arguments): build the synthetic store in an empty folder")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.synthetic",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--store", help="store URL or folder (default: $STORE_URL or ./store)")
    parser.add_argument("--years", type=int, default=5, help="years of data, ending at --end")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--events", type=int, help="total records over the three feeds")
    parser.add_argument("--end", help="last day (yyyy-mm-dd); default: end of the previous month")
    args = parser.parse_args(argv)
    try:
        result = build_store(args.store, years=args.years, seed=args.seed, end=args.end,
                             events=args.events, progress=True)
    except (DashboardError, ValueError) as exc:
        print(f"python -m data.synthetic: {exc}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{feed} {n:,}" for feed, n in result["records"].items())
    print(f"synthetic store {result['store']}: {counts} records in {result['seconds']:.1f} s; "
          f"ground truth in {result['truth']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
