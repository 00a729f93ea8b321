"""Write ``docs/data-protection.md``, the record a DPIA can use, from the code that enforces it.

    python tools/data_protection.py            # rewrite docs/data-protection.md
    python tools/data_protection.py --check    # exit 1 if the committed file differs

The tables are generated, so they cannot drift from what the code does: the fields of each feed
(``core.schema``), what no feed may hold (``data.forbidden``), the role policy (``core.roles``)
and the pages each role opens (``ui.registry``), the suppression thresholds
(``safeguards.disclosure``), the geomask (``geo.geomask``) and the retention defaults
(``storage.lifecycle``). The prose between them is in this file. ``tests/test_lifecycle_docs.py``
checks that the committed file equals the generated text.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the project's packages are beside tools/
    sys.path.insert(0, str(ROOT))

from core import roles  # noqa: E402
from core.schema import EVENT_DATE_FIELD, FEED_TITLES, FEEDS  # noqa: E402
from data.forbidden import FORBIDDEN_FIELDS  # noqa: E402
from geo.geomask import DEFAULT_CELL_M, MIN_CELL_M  # noqa: E402
from safeguards.disclosure import DEFAULT_THRESHOLDS, must_suppress  # noqa: E402
from storage.lifecycle import (  # noqa: E402
    DEFAULT_AUDIT_RETENTION_YEARS,
    DEFAULT_RETENTION_YEARS,
    QUARANTINE_WINDOW,
)
from ui.registry import PAGES, ROLE_PAGES  # noqa: E402

TARGET = ROOT / "docs" / "data-protection.md"
ACTION_TEXT = {
    "view_points": "see geomasked point-level records",
    "run_models": "run the hotspot models",
    "export_aggregates": "export aggregate tables and maps",
    "view_hotspots": "see hotspots",
    "tasking": "create and update tasking records",
    "ingest": "ingest partner files, withdraw batches and records, run retention purges",
    "manage_users": "manage local accounts",
    "view_audit": "read the audit log",
}


def _feeds() -> list[str]:
    out = []
    for feed, fields in FEEDS.items():
        out += [f"### {FEED_TITLES[feed]} (`{feed}`)", "",
                f"Placed in time by `{EVENT_DATE_FIELD[feed]}`; kept "
                f"{DEFAULT_RETENTION_YEARS[feed]} years by default "
                f"(`RETENTION_YEARS_{feed.upper()}`).", "",
                "| field | kind | what it holds |", "|---|---|---|"]
        for spec in fields:
            out.append(f"| `{spec.name}` | {spec.kind} | {spec.help} |")
        out.append("")
    return out


def _roles() -> list[str]:
    out = ["| role | area levels it may see | small numbers | it may also | pages |",
           "|---|---|---|---|---|"]
    for role in roles.ROLES:
        levels = ", ".join(roles.LEVELS[role])
        small = "suppressed" if must_suppress(role) else "shown (unsuppressed)"
        actions = "; ".join(ACTION_TEXT.get(a, a) for a in sorted(roles.ACTIONS[role]))
        pages = ", ".join(PAGES[key].title for key in ROLE_PAGES[role])
        out.append(f"| {roles.ROLE_TITLES[role]} (`{role}`) | {levels} | {small} | {actions} "
                   f"| {pages} |")
    return out


#: The exposure layer (``data.exposure``, ``safeguards.exposure``): not a feed, so written out
#: here; its fields and rules are tested in tests/test_exposure.py.
EXPOSURE_SECTION = (
    '### Exposure layer: asylum accommodation sites (`_exposure/accommodation.json`)\n'
    '\n'
    'Not a feed: the denominator of Rosewood (`core.denominators`), loaded with `python -m '
    'data.exposure FILE` (`data.exposure`) and **replaced whole** by each load (a partner '
    'sends its current list). Per site it holds only:\n'
    '\n'
    '| field | what it holds |\n'
    '|---|---|\n'
    '| `bed_capacity` | beds (1-2000) |\n'
    '| `opened_on`, `closed_on` | when the site housed people (`closed_on` empty while open) '
    '|\n'
    '| `easting`, `northing` | the geomasked 100 m cell centre, exactly as for events (no raw'
    ' point; none for a site given by area) |\n'
    '| `lsoa_code`, `ward_code`, `district_code`, `has_point`, `geomask_m` | its areas, as '
    'for events |\n'
    '\n'
    'No address, postcode, site name or provider is held: those columns are forbidden and '
    "refuse the file (`data.forbidden`), and the partner's `site_ref` is read and "
    "**dropped**, never stored (the layer is replaced whole, so nothing needs a site's "
    "identity). The file's row order is not kept either.\n"
    '\n'
    "**Why it is guarded more tightly than the events.** A site's location and size say where"
    ' asylum seekers live. That is what someone looking to recruit, exploit or harass them '
    'wants to know, and it is the one fact a list of missing episodes does not spell out. So '
    '(`safeguards.exposure`, enforced where the layer is read):\n'
    '\n'
    "- no role receives a site's row, point or 100 m cell, in any page, export or cached "
    'object;\n'
    '- analysts may read the layer aggregated to LSOA, ward or district (sites open, beds, '
    'bed-nights), each read audited as `view-exposure`: LSOA is their finest level here '
    'because a point or hexagon is a single site;\n'
    '- chairs, executives and administrators (every protected role) are refused at every '
    'level, audited as `access-denied`: one site in a ward would show its bed count, and the '
    'small-number protection of the published copy (`safeguards.publication`) protects counts'
    " of people, not a building's capacity. They may learn only whether a layer is loaded and"
    ' on which day, so a page can say what Rosewood is measured against;\n'
    '- the hotspot model uses the sites inside the data layer (`views.hotspots.fit_hotspots`,'
    " as it uses event points for a chair) and returns nothing of them: a chair's Rosewood "
    'hotspots are areas with ward-based published figures, as before. A Rosewood hotspot is '
    'still a place where episodes concentrate beyond what beds explain, which is disclosive '
    'in the way every hotspot is; it is no longer every large site.\n'
    '\n'
    'The layer travels with a store copy (`storage.base.DOCUMENTS`). It follows the events\' '
    'lifecycle (`storage.lifecycle`, audited by `safeguards.lifecycle`; tests/'
    'test_exposure_lifecycle.py): each load is a batch (`python -m data.store batches` lists '
    'it with feed `exposure:accommodation`, its rows the sites) that the administrator can '
    'withdraw whole, on the command line or the Data lifecycle page; the retention purge '
    'removes the sites that **closed** longer ago than the retention period of the feed it is '
    'the denominator of (`RETENTION_YEARS_ROSEWOOD`), since every bed-night they gave is '
    'older than every Rosewood record still kept, and keeps open sites. Both are audited with '
    'counts of sites (per closing year for the purge), never a site. A withdrawn layer, or '
    'one whose every site was purged, is replaced by a marker holding no site (the Parquet '
    'file renamed over; on PostGIS the `documents` table vacuumed), and Rosewood is then '
    'measured against residents, which the Hotspots page says.\n'
    ''
)


def render() -> str:
    """The whole of docs/data-protection.md."""
    forbidden = ", ".join(sorted(FORBIDDEN_FIELDS))
    thresholds = ", ".join(f"{feed} k = {k}" for feed, k in DEFAULT_THRESHOLDS.items())
    retention = ", ".join(f"`RETENTION_YEARS_{f.upper()}` = {y}"
                          for f, y in DEFAULT_RETENTION_YEARS.items())
    window = int(QUARANTINE_WINDOW.total_seconds() // 60)
    lines = [
        "# Data protection: what the dashboard holds, for how long, and who sees it",
        "",
        "<!-- Generated by `python tools/data_protection.py` from the code that enforces it; "
        "edit that file, not this one (tests/test_lifecycle_docs.py checks they agree). -->",
        "",
        "A record for the partnership's data-protection officer and its DPIA. The tables below "
        "are generated from the code, so they say what the system does, not what it was meant "
        "to do.",
        "",
        "## What each feed holds",
        "",
        "Partner files are validated against the data contract (docs/data-contract.md) and "
        "stored only as these fields, plus the areas the location falls in (LSOA, ward, "
        "district) and the geomasked cell centre. Nothing else of a file is kept.",
        "",
        *_feeds(),
        *EXPOSURE_SECTION.split("\n"),
        "## What no feed holds",
        "",
        "A file with a column of any of these kinds is refused whole, before a row is read "
        f"(`data.forbidden`): {forbidden}. `person_ref` (Rosewood) is a pseudonym, never the "
        "partner's own reference. Raw coordinates are never stored.",
        "",
        "## Where it lives",
        "",
        "- `STORE_URL` a folder: the embedded store, Parquet files on the server's disk "
        "(`<store>/<feed>/*.parquet`, `_manifest.json`, `_audit/`, `quarantine/`, `_tasking/`).",
        "- `STORE_URL=postgresql://...`: PostgreSQL + PostGIS (`events_<feed>`, `batches`, "
        "`audit_log`, `documents`). Quarantine files stay on the ingesting machine "
        "(`QUARANTINE_DIR`).",
        "- Tasking records (`_tasking/tasks.json` or the `documents` row) hold hotspot "
        "summaries (polygon, place names, counts, filters), never record ids or records.",
        "",
        "## Who can see what",
        "",
        "Enforced where data is read (`safeguards.access.RoleScopedQuery`), not only by hiding "
        "pages:",
        "",
        *_roles(),
        "",
        "## Geomasking and small-number suppression",
        "",
        f"- Every location is snapped to the centre of a {DEFAULT_CELL_M} m British National "
        f"Grid cell at ingest (never below {MIN_CELL_M} m); the raw point is never written.",
        f"- Counts shown to roles under disclosure control are suppressed below k ({thresholds}; "
        "`DISCLOSURE_THRESHOLD_<FEED>`), with secondary suppression so hidden cells cannot be "
        "worked out from totals (docs/disclosure-control.md).",
        "",
        "## Retention",
        "",
        f"Defaults: {retention}; the audit trail {DEFAULT_AUDIT_RETENTION_YEARS} years "
        "(`AUDIT_RETENTION_YEARS`). Set in `storage.lifecycle`, overridden by those environment "
        "variables.",
        "",
        "- `python -m data.store purge` lists, per feed and event year, the records whose event "
        "date is older than the feed's period (a dry run); `--apply` removes them and records "
        "the counts in the audit trail. Run it on a schedule (e.g. monthly cron).",
        "- The Overview page says when the oldest data will be purged; the administrator's Data "
        "lifecycle page shows each feed's cut-off and what is due.",
        "- Accommodation sites (the exposure layer) are purged by the same command once they "
        "closed longer ago than Rosewood's period; open sites are kept.",
        "- `python -m safeguards.audit purge [--before DATE] --apply` removes audit entries "
        "older than the audit period and appends a checkpoint entry recording the seq and hash "
        "of the last one removed, so `python -m safeguards.audit verify` still checks the "
        "chain (docs/audit.md). A later `--before` is refused; a broken chain is never purged.",
        "",
        "## Withdrawal of data sent in error",
        "",
        "- `python -m data.store batches` lists every batch: id, feed, records, source, the "
        "partner's file name and when it was ingested.",
        "- `python -m data.store withdraw --batch BATCH_ID --reason TEXT` removes every record "
        "of the batch, and the quarantine files its ingest wrote (those of that file name "
        f"written within {window} minutes of it, before the file was next ingested).",
        "- `python -m data.store withdraw --records ids.csv --reason TEXT` removes listed "
        "records (a `record_id` column, or one id a line) wherever they are stored; `--feed` "
        "limits it to a feed.",
        "- The administrator can withdraw a batch on the Data lifecycle page, typing its id to "
        "confirm.",
        "- The accommodation sites list is a batch too (feed `exposure:accommodation`): "
        "withdrawn whole the same way, after which Rosewood is measured against residents.",
        "- The audit trail records who, when, which batch (id, feed, file name) or how many ids "
        "were listed (and a SHA-256 of the list, never the ids), the records removed per feed "
        "and event year, and the reason. Never a record's contents.",
        "- Every dashboard cache is keyed on the store's batches and their record counts "
        "(`storage.base.store_fingerprint`), so the next page view recomputes without the "
        "withdrawn records.",
        "",
        "## Nothing left behind, and what the deployment must add",
        "",
        "- Embedded store: the batch files holding removed records are rewritten without them "
        "under the writer lock, the manifest is swapped atomically, and the old files are "
        "deleted. A crash leaves the old store or the new one; stray files are deleted by the "
        "next write.",
        "- PostGIS: one transaction deletes the rows, then `VACUUM (FULL, ANALYZE)` rewrites "
        "each table touched (and its indexes) into new files; a vacuum interrupted by a crash "
        "is redone by the next removal.",
        "- Deleted files and rewritten tables free their disk blocks but do not overwrite them; "
        "PostgreSQL's write-ahead log keeps changes until its segments are recycled after "
        "checkpoints (longer with WAL archiving or replicas). Use encrypted disks for the store "
        "and the database (the deployment must provide encryption at rest: LUKS, cloud-volume "
        "or database-host encryption), so freed blocks are unreadable.",
        "- Backups: `python -m storage copy --from STORE --to NEW` makes a checked copy of a "
        "store, audit log included; copies and database backups hold withdrawn or purged "
        "records until they expire. Keep backups no longer than the shortest retention period "
        "plus the withdrawal window agreed in the data-sharing agreement, and encrypt them.",
        "",
        "## Encryption in transit",
        "",
        "- To PostGIS: every libpq parameter in the query string of `STORE_URL` reaches the "
        "connection, so `postgresql://wy@db/wy?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem`"
        " requires TLS and checks the server's certificate; use `verify-full` whenever the "
        "database is on another host. Without `sslmode`, libpq's default (`prefer`) may fall "
        "back to plain text.",
        "- To browsers: the dashboard listens on 127.0.0.1 behind the deployment's TLS reverse "
        "proxy (README, Deployment).",
        "",
        "## Audit",
        "",
        "Sign-ins, page views, point-level reads, exports, ingests, withdrawals, purges, user "
        "changes and refusals are recorded in a hash-chained log (docs/audit.md); `python -m "
        "safeguards.audit verify` shows whether it was changed.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run python tools/data_protection.py",
                  file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
