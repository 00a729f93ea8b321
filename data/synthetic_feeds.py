"""The demo feeds' records: who, when and where, drawn for each synthetic event (``data.synthetic``).

``data.synthetic`` decides how many events each feed has in each month and which belong to a
planted hotspot; the builders here turn those events into a feed's rows, as a partner would send
them: age, gender and exploitation-type mixes from public statistics (``docs/synthetic-data.md``),
locations in one of the three forms partners use, record ids numbered in time order, and for
Rosewood repeat episodes of one (pseudonymised) person at one accommodation site.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.pseudonymise import pseudonym
from data.synthetic_sites import Sites, bed_days, points_in_discs, points_in_lsoas
from geo.geomask import bng_to_lonlat

# How partners send locations: mostly WGS84, some BNG, some only an LSOA code (never a point).
LOCATION_FORM_SHARES = {"lonlat": 0.80, "bng": 0.12, "lsoa": 0.08}

NRM_AGE = {"adult": 0.55, "child": 0.41, "unknown": 0.04}
NRM_TYPES = {  # criminal exploitation dominates for children, labour for adults
    "child": {"criminal": 0.58, "sexual": 0.13, "criminal;sexual": 0.06, "labour": 0.06,
              "domestic_servitude": 0.02, "unknown": 0.15},
    "adult": {"labour": 0.42, "sexual": 0.17, "criminal": 0.16, "domestic_servitude": 0.07,
              "criminal;labour": 0.04, "unknown": 0.139, "organ_harvesting": 0.001},
}
NRM_FEMALE_SHARE = {"sexual": 0.78, "domestic_servitude": 0.55, "other": 0.08}
NRM_FIRST_RESPONDER = {"child": {"local_authority": 0.55, "police": 0.30, "home_office": 0.08,
                                  "ngo": 0.03, "health": 0.02, "other": 0.02},
                       "adult": {"home_office": 0.42, "police": 0.22, "ngo": 0.20,
                                 "local_authority": 0.09, "health": 0.02, "other": 0.05}}

ROSEWOOD_AGE = {"adult": 0.86, "child": 0.11, "unknown": 0.03}
ROSEWOOD_RISK = {"child": {"low": 0.10, "medium": 0.45, "high": 0.45},
                 "adult": {"low": 0.40, "medium": 0.45, "high": 0.15}}
ROSEWOOD_EPISODES_PER_PERSON = {1: 0.72, 2: 0.12, 3: 0.07, 4: 0.04, 5: 0.03, 6: 0.02}
ROSEWOOD_FOUND_MEDIAN_H = 20  # found delay ~ lognormal: most within a day or two
ROSEWOOD_FOUND_SIGMA = 1.4
ROSEWOOD_NEVER_FOUND = 0.04  # still missing however long ago
ROSEWOOD_HOUR_WEIGHTS = np.repeat([1.2, 0.6, 1.0, 1.8], 6)  # more reports in the evening and night

MANDEVILLA_AGE = {"adult": 0.79, "child": 0.18, "unknown": 0.03}
MANDEVILLA_INDICATORS = {"accompanied_by_controlling_person": 0.45, "unable_to_speak_freely": 0.35,
                         "repeat_procedure": 0.20, "other": 0.12}  # under_18 iff child
MANDEVILLA_POLICE = {"child": 0.75, "adult": 0.30, "controlling_person_bonus": 0.20}

ID_PREFIX = {"nrm": "SYN-NRM", "rosewood": "SYN-RW", "mandevilla": "SYN-MV"}
#: person_ref = keyed pseudonym (data.pseudonymise) of a made-up reference RW-000123 under this key
SYNTHETIC_PERSON_KEY = b"data.synthetic: a made-up partner's key, for demo data only"
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default text dtype


@dataclass
class World:
    """What every feed draws from: LSOAs in BNG and the calendar of the span."""

    lsoas: pd.DataFrame  # code, district_code, ward_code, population, area_km2, density
    geoms: np.ndarray  # prepared BNG polygons
    bounds: np.ndarray
    month_first: np.ndarray  # first covered day of each month (datetime64[D])
    month_days: np.ndarray  # covered days of each month
    coverage: np.ndarray  # covered share of each month (the first and last may be partial)
    end: pd.Timestamp


def _dates(rng, world: World, month: np.ndarray) -> np.ndarray:
    return world.month_first[month] + (rng.random(len(month)) * world.month_days[month]).astype(int)


def _pick(rng, shares: dict, n: int) -> np.ndarray:
    p = np.array(list(shares.values()), float)
    return np.array(list(shares), dtype=object)[rng.choice(len(p), size=n, p=p / p.sum())]


def _by_age(rng, age: np.ndarray, tables: dict) -> np.ndarray:
    """Draw from the child table for children, else from the adult table (unknown age too)."""
    return np.where(age == "child", _pick(rng, tables["child"], len(age)),
                    _pick(rng, tables["adult"], len(age)))


def _locations(rng, e, n, lsoa, point_only: np.ndarray, lsoa_only=None) -> dict:
    """Spread rows over the three location forms; hotspot rows always keep their point, and
    ``lsoa_only`` rows give only their LSOA."""
    form = rng.choice(3, size=len(e), p=list(LOCATION_FORM_SHARES.values()))
    form[point_only & (form == 2)] = 0
    if lsoa_only is not None:
        form[lsoa_only & ~point_only] = 2
    lon, lat = bng_to_lonlat(e, n)
    return {"longitude": np.where(form == 0, np.round(lon, 6), np.nan),
            "latitude": np.where(form == 0, np.round(lat, 6), np.nan),
            "easting": np.where(form == 1, np.round(e), np.nan),
            "northing": np.where(form == 1, np.round(n), np.nan),
            "lsoa_code": np.where(form == 2, lsoa, None)}


def _frame(feed: str, when: np.ndarray, columns: dict) -> pd.DataFrame:
    """The feed's frame in time order, record ids numbered in that order (as partners do)."""
    order = np.argsort(when, kind="stable")
    out = {"record_id": _numbered(ID_PREFIX[feed] + "-", np.arange(1, len(when) + 1), 7)}
    for name, values in columns.items():
        if isinstance(values, pa.Array):
            out[name] = values.take(order)
        else:
            out[name] = pa.array(values[order]) if values.dtype.kind in "OU" else values[order]
    # Text via Arrow, never millions of Python str objects: keeps a 1M-row build's memory low.
    return pd.DataFrame({k: pd.array(v, dtype=_TEXT) if isinstance(v, pa.Array) else v
                         for k, v in out.items()})


def _numbered(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers, e.g. RW-000123, built in Arrow (fast at 1M rows)."""
    text = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, text, "")


def nrm_frame(rng, world: World, month: np.ndarray, kind: np.ndarray,
              spots: list[dict]) -> pd.DataFrame:
    n = len(month)
    age = _pick(rng, NRM_AGE, n)
    types = _by_age(rng, age, NRM_TYPES)
    text = pd.Series(types, dtype=str).str
    female = np.select([text.contains("sexual").to_numpy(), text.contains("domestic").to_numpy()],
                       [NRM_FEMALE_SHARE["sexual"], NRM_FEMALE_SHARE["domestic_servitude"]],
                       NRM_FEMALE_SHARE["other"])
    u = rng.random(n)
    gender = np.select([u < female, u < female + 0.004, u < female + 0.012],
                       ["female", "other", "unknown"], "male")
    date = _dates(rng, world, month)
    columns = {"referral_date": date.astype(str), "exploitation_type": types, "age_group": age,
               "gender": gender, "first_responder": _by_age(rng, age, NRM_FIRST_RESPONDER)}
    return _frame("nrm", date, {**columns, **_disc_or_population(rng, world, kind, spots)})


def mandevilla_frame(rng, world: World, month: np.ndarray, kind: np.ndarray,
                     spots: list[dict]) -> pd.DataFrame:
    n = len(month)
    age = _pick(rng, MANDEVILLA_AGE, n)
    names = [*MANDEVILLA_INDICATORS, "under_18"]
    seen = np.column_stack([rng.random(n) < p for p in MANDEVILLA_INDICATORS.values()]
                           + [age == "child"])
    seen[:, names.index("other")] |= ~seen.any(axis=1)  # every flag gives at least one reason
    table = np.array([";".join(t for k, t in enumerate(names) if b >> k & 1)
                      for b in range(1 << len(names))], dtype=object)  # bit pattern -> text
    police = np.where(age == "child", MANDEVILLA_POLICE["child"], MANDEVILLA_POLICE["adult"]
                      + MANDEVILLA_POLICE["controlling_person_bonus"] * seen[:, 0])
    date = _dates(rng, world, month)
    columns = {"flag_date": date.astype(str), "age_group": age,
               "indicators": table[seen.astype(int) @ (1 << np.arange(len(names)))],
               "referred_to_police": np.where(rng.random(n) < police, "yes", "no")}
    return _frame("mandevilla", date, {**columns, **_disc_or_population(rng, world, kind, spots)})


def _disc_or_population(rng, world: World, kind: np.ndarray, spots: list[dict]) -> dict:
    """Background rows in LSOAs drawn by population; hotspot rows uniform in their disc."""
    weight = world.lsoas["population"].to_numpy()
    index = rng.choice(len(weight), size=len(kind), p=weight / weight.sum())
    e, n = points_in_lsoas(rng, world, index)
    hot = kind > 0
    e[hot], n[hot] = points_in_discs(rng, spots, kind[hot] - 1)
    return _locations(rng, e, n, world.lsoas["code"].to_numpy()[index], hot)


def rosewood_frame(rng, world: World, month: np.ndarray, kind: np.ndarray,
                   sites: Sites) -> pd.DataFrame:
    n = len(month)
    site = np.empty(n, np.int64)
    hot = kind > 0  # a planted hotspot's excess episodes come from its own small sites
    for m in np.unique(month[~hot]):  # the others by open beds in their month
        here = ~hot & (month == m)
        nights = bed_days(sites, world.month_first[m], world.month_days[m])
        site[here] = rng.choice(len(nights), size=here.sum(), p=nights / nights.sum())
    planted = [np.flatnonzero(sites.planted == k) for k in range(1, sites.planted.max() + 1)]
    for k, own in enumerate(planted, start=1):
        site[kind == k] = rng.choice(own, size=(kind == k).sum())
    minute = (_dates(rng, world, month).astype("datetime64[m]").astype(np.int64)
              + rng.choice(24, size=n, p=ROSEWOOD_HOUR_WEIGHTS / ROSEWOOD_HOUR_WEIGHTS.sum()) * 60
              + rng.integers(0, 60, n))
    # A person is a run of consecutive episodes at one site, so repeats share place and period.
    order = np.lexsort((minute, site))
    ends = np.cumsum(_pick(rng, ROSEWOOD_EPISODES_PER_PERSON, n).astype(int))
    starts = np.zeros(n, bool)
    starts[ends[ends < n]] = True
    starts[1:] |= site[order][1:] != site[order][:-1]  # a run never spans two sites
    person = np.empty(n, int)
    person[order] = np.cumsum(starts)
    age = _pick(rng, ROSEWOOD_AGE, person.max(initial=-1) + 1)[person]
    found = _found_minutes(rng, world, minute, person, order)
    first = pd.Series(minute).groupby(person).min().to_numpy()  # persons are 0..P-1
    number = np.argsort(np.argsort(first, kind="stable")) + 1  # in order of first episode
    refs = pa.array([pseudonym(SYNTHETIC_PERSON_KEY, ref)
                     for ref in _numbered("RW-", number, 6).to_pylist()])
    columns = {"person_ref": refs.take(person),
               "reported_missing_at": minute.astype("datetime64[m]").astype(str),
               "found_at": np.where(found < 0, "", found.astype("datetime64[m]").astype(str)),
               "age_group": age, "risk_level": _by_age(rng, age, ROSEWOOD_RISK)}
    # A partner that gives a site only by area gives its episodes by area too.
    location = _locations(rng, sites.e[site], sites.n[site], sites.lsoa[site], hot,
                          lsoa_only=sites.form[site] != "point")
    return _frame("rosewood", minute, {**columns, **location})


def _found_minutes(rng, world: World, minute, person, order) -> np.ndarray:
    """When each episode ended (minutes since 1970), or -1 while still missing.

    ``order`` sorts episodes so that each person's are consecutive and in time order.
    """
    found = minute + np.ceil(rng.lognormal(np.log(ROSEWOOD_FOUND_MEDIAN_H * 60),
                                           ROSEWOOD_FOUND_SIGMA, len(minute))).astype(np.int64)
    as_of = (world.end + pd.Timedelta(hours=23, minutes=59)).to_datetime64().astype(
        "datetime64[m]").astype(np.int64)  # recent episodes are more often still open
    found[(rng.random(len(minute)) < ROSEWOOD_NEVER_FOUND) | (found > as_of)] = -1
    # Someone reported missing again was found before: end the earlier episode part-way.
    repeat = np.zeros(len(minute), bool)  # the next episode in ``order`` is the same person's
    repeat[:-1] = person[order][1:] == person[order][:-1]
    nxt = np.full(len(minute), -1, np.int64)
    nxt[order[repeat]] = minute[order][1:][repeat[:-1]]
    fix = (nxt >= minute) & ((found < 0) | (found > nxt))
    share = rng.uniform(0.2, 0.8, len(minute))
    found[fix] = minute[fix] + np.floor((nxt[fix] - minute[fix]) * share[fix]).astype(np.int64)
    return found


FEED_FRAMES = {"nrm": nrm_frame, "mandevilla": mandevilla_frame}  # rosewood_frame takes the sites
