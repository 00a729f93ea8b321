"""The protective marking of everything the dashboard lets people take away: printed pages (the
briefing pack, the tasking sheet) and every CSV download (``views.exports.labelled_csv``)."""
from __future__ import annotations

MARKING = "OFFICIAL-SENSITIVE"
