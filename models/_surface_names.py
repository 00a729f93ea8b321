"""What a ``ForecastRanker`` surface name says: which kernel, and how events are weighted in time.

Names, as ``ForecastRanker.weights_`` shows them:

- ``kde<h>``: every training event alike, Gaussian kernel of ``h`` metres;
- ``recent<h>/<tau>d``: near-repeat, each event weighted ``exp(-age / tau)`` (short ``tau``);
- ``decayed<h>/<tau>d``: a recency-weighted background (prospective hotspotting, Bowers,
  Johnson & Pease 2004): the same time weighting at background scales and memories, a
  separate prefix so that what is near-repeat and what is background stay apart
  (``models._top_band`` drops the near-repeat surfaces as one candidate);
- ``population``, ``uniform``: no kernel.

One parser for ``models.forecast`` and ``models._top_band``, which both rebuild surfaces from
names.
"""
from __future__ import annotations

DECAYED_PREFIXES = ("recent", "decayed")


def kernel_of(name: str) -> tuple[float, float | None] | None:
    """``(bandwidth_m, decay_days)`` of a kernel surface (``decay_days`` None for a plain KDE),
    None for ``population`` and ``uniform``."""
    if name.startswith("kde"):
        return float(name[3:]), None
    for prefix in DECAYED_PREFIXES:
        if name.startswith(prefix):
            spread, decay = name[len(prefix):].rstrip("d").split("/")
            return float(spread), float(decay)
    return None


def decayed_name(bandwidth_m: float, decay_days: float) -> str:
    """The name of a recency-weighted background surface."""
    return f"decayed{float(bandwidth_m):g}/{float(decay_days):g}d"
