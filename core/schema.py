"""The data contract: what each partner feed may contain, as data plus one pandera schema per feed.

The field tables below are the single source of truth: ingestion parses by them, the pandera
schemas are built from them, and ``docs/data-contract.md`` documents them (a test checks the doc
names every field and choice). Values are validated *after* parsing (``data.parse``), so the
schemas see typed columns: dates as datetimes, categories lower-cased, multi-valued fields as a
canonical ``a;b`` string.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from core import clock

if TYPE_CHECKING:  # pandera is imported where a schema is made (it takes 0.1-0.4 s)
    import pandera.pandas as pa

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$"
MULTI_SEPARATOR = ";"
EARLIEST_DATE = pd.Timestamp("2000-01-01")


@dataclass(frozen=True)
class Field:
    """One contract field.

    kind is one of: ``id`` (record identifier), ``ref`` (pseudonymous reference), ``date``,
    ``datetime``, ``category`` (one of ``choices``), ``multi`` (one or more of ``choices``),
    ``bool`` (yes/no). ``nullable`` fields may be left empty.
    """

    name: str
    kind: str
    help: str
    choices: tuple[str, ...] = ()
    nullable: bool = False


AGE_GROUPS = ("adult", "child", "unknown")

FEEDS: dict[str, tuple[Field, ...]] = {
    "nrm": (
        Field("record_id", "id", "The partner's unique, non-identifying id of the referral."),
        Field("referral_date", "date", "Date the referral was made to the National Referral Mechanism."),
        Field("exploitation_type", "multi", "Type(s) of exploitation; several separated by ';'.",
              ("labour", "sexual", "criminal", "domestic_servitude", "organ_harvesting", "unknown")),
        Field("age_group", "category", "Age group when exploited.", AGE_GROUPS),
        Field("gender", "category", "Gender.", ("female", "male", "other", "unknown")),
        Field("first_responder", "category", "Type of first responder organisation.",
              ("police", "local_authority", "ngo", "home_office", "health", "other")),
    ),
    "rosewood": (
        Field("record_id", "id", "Unique id of the missing episode."),
        Field("person_ref", "ref", "Pseudonymous reference of the person, to count repeat episodes. "
              "Never a name, Home Office reference, phone number or email."),
        Field("reported_missing_at", "datetime", "When the person was reported missing."),
        Field("found_at", "datetime", "When the person was found; empty while still missing.",
              nullable=True),
        Field("age_group", "category", "Age group.", AGE_GROUPS),
        Field("risk_level", "category", "Risk level assessed at report.", ("low", "medium", "high")),
    ),
    "mandevilla": (
        Field("record_id", "id", "Unique id of the flag."),
        Field("flag_date", "date", "Date the provider raised the flag."),
        Field("age_group", "category", "Age group of the patient.", AGE_GROUPS),
        Field("indicators", "multi", "Exploitation indicator(s) seen; several separated by ';'.",
              ("accompanied_by_controlling_person", "under_18", "repeat_procedure",
               "unable_to_speak_freely", "other")),
        Field("referred_to_police", "bool", "Whether the flag was referred to police (yes/no)."),
    ),
}

FEED_TITLES = {
    "nrm": "Modern slavery referrals (NRM)",
    "rosewood": "Operation Rosewood: missing from asylum accommodation",
    "mandevilla": "Operation Mandevilla: abortion-provider exploitation flags",
}

# The field whose date places a record in time, per feed.
EVENT_DATE_FIELD = {"nrm": "referral_date", "rosewood": "reported_missing_at", "mandevilla": "flag_date"}

# Location: each row needs one complete form. A row with only an LSOA code counts for its areas
# but never appears as a point. 2011 LSOA codes are accepted and mapped to 2021 codes.
LOCATION_FIELDS: tuple[Field, ...] = (
    Field("longitude", "float", "WGS84 longitude (with latitude).", nullable=True),
    Field("latitude", "float", "WGS84 latitude (with longitude).", nullable=True),
    Field("easting", "float", "British National Grid easting in metres (with northing).", nullable=True),
    Field("northing", "float", "British National Grid northing in metres (with easting).", nullable=True),
    Field("lsoa_code", "lsoa", "LSOA code (2021, or 2011) when no point is known.", nullable=True),
)
LOCATION_FORMS = (("longitude", "latitude"), ("easting", "northing"), ("lsoa_code",))


def feed_fields(feed: str) -> tuple[Field, ...]:
    """The contract fields of one feed, location fields excluded."""
    check_feed(feed)
    return FEEDS[feed]


def allowed_columns(feed: str) -> list[str]:
    """Every column a partner file of this feed may carry."""
    return [f.name for f in feed_fields(feed)] + [f.name for f in LOCATION_FIELDS]


def check_feed(feed: str) -> None:
    if feed not in FEEDS:
        raise ValueError(f"feed was {feed!r}; expected one of {', '.join(FEEDS)}")


def check_feeds(feeds) -> list[str]:
    """``feeds`` (one name or several) as a list without repeats, each checked; at least one."""
    feeds = [feeds] if isinstance(feeds, str) else list(dict.fromkeys(feeds))
    if not feeds:
        raise ValueError("choose at least one feed")
    for feed in feeds:
        check_feed(feed)
    return feeds


def _multi_in(choices):
    def check(series: pd.Series) -> pd.Series:
        tokens = series.str.split(MULTI_SEPARATOR).explode()
        return tokens.isin(choices).groupby(level=0).all()
    return check


def _column(field: Field, now: pd.Timestamp) -> pa.Column:
    import pandera.pandas as pa

    nullable = field.nullable or field.kind in ("date", "datetime")  # parse step reports empties
    if field.kind == "id":
        return pa.Column(str, [pa.Check.str_matches(ID_PATTERN, error=(
            "must be 1-64 letters, digits or . _ : / - (no spaces)"))], unique=True,
            report_duplicates="all", nullable=False)
    if field.kind == "ref":
        return pa.Column(str, [
            pa.Check.str_matches(ID_PATTERN, error="must be 1-64 letters, digits or . _ : / -"),
            pa.Check(lambda s: ~s.str.contains(r"@|\d{9,}", regex=True),
                     error="looks like an email or phone number; use a pseudonymous reference"),
        ], nullable=False)
    if field.kind in ("date", "datetime"):
        return pa.Column("datetime64[ns]", [
            pa.Check.le(now, error="is in the future"),
            pa.Check.ge(EARLIEST_DATE, error="is before 2000, which is not plausible"),
        ], nullable=True, coerce=True)
    if field.kind == "category":
        return pa.Column(str, pa.Check.isin(field.choices, error=(
            "is not one of: " + ", ".join(field.choices))), nullable=nullable)
    if field.kind == "multi":
        return pa.Column(str, pa.Check(_multi_in(field.choices), error=(
            "has a value that is not one of: " + ", ".join(field.choices))), nullable=nullable)
    if field.kind == "bool":
        return pa.Column("boolean", nullable=False, coerce=True)
    raise ValueError(f"unknown field kind {field.kind!r}")


def feed_schema(feed: str, now: pd.Timestamp | None = None) -> pa.DataFrameSchema:
    """The pandera schema that a parsed frame of ``feed`` must pass.

    Parameters
    ----------
    feed : {"nrm", "rosewood", "mandevilla"}
    now : Timestamp, optional
        The moment after which dates count as "in the future" (default: now, plus one day of
        slack for partners in other time zones).
    """
    import pandera.pandas as pa

    now = (pd.Timestamp(clock.local_now()) + pd.Timedelta(days=1)) if now is None else now
    columns = {f.name: _column(f, now) for f in feed_fields(feed)}
    checks = []
    if feed == "rosewood":
        checks.append(pa.Check(
            lambda df: df["found_at"].isna() | df["reported_missing_at"].isna()
            | (df["found_at"] >= df["reported_missing_at"]),
            error="found_at is before reported_missing_at: a person cannot be found before going "
                  "missing"))
    return pa.DataFrameSchema(columns, checks=checks, strict=False, name=feed)
