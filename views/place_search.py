"""Find a place on the explorer's map: a ward, LSOA or district by name (or code).

The places are the shipped boundaries' (``geo.boundaries``): public ONS names and outlines, no
data. What a role may *go to* follows what it may see (``core.roles.may_see_level``):

- an analyst may find any district, ward or LSOA;
- a role without LSOA access (a chair) is offered districts and wards only. An LSOA name or
  code it types (or a link carries) is **not** refused outright: it goes to the ward that LSOA
  best fits (``geo.boundaries``' LSOA-to-ward lookup, also public) and says so. The map stays
  at the role's own levels, so nothing finer than a ward is drawn or counted; the outline is
  the ward's. Decided so because the ward is what the chair could have found by looking, and
  an LSOA's ward is published geography, not a figure.

Finding a place changes only where the map looks (its bounds) and draws the place's outline:
the figures, the level and the class breaks stay as the filters make them.

No Streamlit here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.roles import may_see_level

LEVEL_WORDS = {"district": "district", "ward": "ward", "lsoa": "LSOA"}
#: Longest typed text looked at; longer input is no place name of ours.
MAX_QUERY_CHARS = 80
_CODE = re.compile(r"^E0[0-9]\d{6}$")


@dataclass(frozen=True)
class Place:
    """A place the map can go to: its ``level``, ONS ``code``, ``name`` and district."""

    level: str
    code: str
    name: str
    district: str

    @property
    def label(self) -> str:
        """E.g. "Kirkstall (ward, Leeds)"; a district: "Leeds (district)"."""
        if self.level == "district":
            return f"{self.name} (district)"
        return f"{self.name} ({LEVEL_WORDS[self.level]}, {self.district})"


@dataclass(frozen=True)
class Found:
    """What a search found: the ``place`` to go to (None: nothing) and a ``message`` to show
    (why nothing was found, or that an LSOA was taken to its ward); "" when nothing to say."""

    place: Place | None
    message: str = ""


def searchable_levels(role: str) -> tuple[str, ...]:
    """The levels whose names ``role`` may search, coarse to fine."""
    return tuple(level for level in ("district", "ward", "lsoa") if may_see_level(role, level))


def places(role: str) -> tuple[Place, ...]:
    """Every place ``role`` may go to, districts first, then wards and LSOAs by name."""
    return tuple(p for level in searchable_levels(role) for p in _places(level))


def place_labels(role: str) -> dict[str, str]:
    """code -> label of :func:`places` (the search box's options, in that order)."""
    return {p.code: p.label for p in places(role)}


def find_place(text: str | None, role: str) -> Found:
    """The place ``text`` names (a code, a label, or a name, any case), for ``role``.

    An exact name (or label or code) wins; else the one place whose name starts with the text;
    else the one whose name contains it (partial matches among the places ``role`` may go
    to). Several matches, or none, find nothing and say so.
    An LSOA for a role that may not see LSOAs finds its best-fit ward (module docstring).
    """
    query = " ".join(str(text or "").split())[:MAX_QUERY_CHARS]
    if not query:
        return Found(None)
    key = query.casefold()
    # An exact LSOA name or code is looked up for every role (a chair goes to its ward);
    # partial matches only among the places the role may go to.
    everything = [p for level in ("district", "ward", "lsoa") for p in _places(level)]
    exact = [p for p in everything
             if key in (p.code.casefold(), p.name.casefold(), p.label.casefold())]
    matches = exact or _unique(places(role), key)
    if len(matches) == 1:
        return _for_role(matches[0], role)
    if len(matches) > 1:
        shown = ", ".join(p.label for p in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        return Found(None, f"Several places match: {shown}{more}. Pick one from the list.")
    words = [LEVEL_WORDS[lvl] for lvl in searchable_levels(role)]
    levels = " or ".join(filter(None, (", ".join(words[:-1]), words[-1])))
    return Found(None, f"No {levels} is called “{safe_text(query)}”. Check the spelling, or "
                       "pick a place from the list.")


def place_by_code(code: str | None, role: str) -> Found:
    """The place of an area ``code`` (a link's ``place=``), for ``role``; nothing for a code
    that is no area of the shipped boundaries."""
    if not code or not _CODE.match(str(code).upper()):
        return Found(None, "ignored a place in the link that is not an area code" if code
                     else "")
    for level in ("district", "ward", "lsoa"):
        for place in _places(level):
            if place.code == str(code).upper():
                return _for_role(place, role)
    return Found(None, "ignored a place in the link that is not an area of West Yorkshire")


def place_bounds(place: Place) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of ``place``, for ``fit_bounds``."""
    from geo.boundaries import load_boundaries

    areas = load_boundaries(place.level)
    west, south, east, north = areas[areas["code"] == place.code].total_bounds
    return [[float(south), float(west)], [float(north), float(east)]]


def safe_text(value: str) -> str:
    """Typed text made harmless to echo in a message (Markdown or HTML): letters, digits,
    spaces and ``'-.,()&`` only, at most 40 characters."""
    kept = re.sub(r"[^\w '\-.,()&]", "", str(value), flags=re.UNICODE)
    return kept[:40]


# -- helpers -------------------------------------------------------------------------------
def _unique(candidates, key: str) -> list[Place]:
    starts = [p for p in candidates if p.name.casefold().startswith(key)]
    if starts:
        return starts
    return [p for p in candidates if key in p.name.casefold()]


def _for_role(place: Place, role: str) -> Found:
    if may_see_level(role, place.level):
        return Found(place)
    if place.level == "lsoa" and may_see_level(role, "ward"):
        ward = _ward_of_lsoa(place.code)
        return Found(ward, f"LSOAs are shown to analysts only: showing {ward.name} ward, "
                           f"which holds {place.name}.")
    return Found(None, f"Your role may not see {LEVEL_WORDS[place.level]}s.")


@lru_cache(maxsize=3)
def _places(level: str) -> tuple[Place, ...]:
    from geo.boundaries import load_boundaries

    areas = load_boundaries(level).sort_values("name", kind="stable")
    return tuple(Place(level, str(code), str(name), str(district))
                 for code, name, district in zip(areas["code"], areas["name"],
                                                 areas["district_name"]))


def _ward_of_lsoa(code: str) -> Place:
    from geo.boundaries import load_boundaries

    lsoas = load_boundaries("lsoa")
    ward_code = str(lsoas.loc[lsoas["code"] == code, "ward_code"].iloc[0])
    return next(p for p in _places("ward") if p.code == ward_code)
