"""Store maintenance from the command line.

    python -m storage copy --from URL --to URL   move a store between backends (checked)
    python -m storage migrate [--store URL]      create or upgrade a PostGIS store's schema
    python -m storage checksum [--store URL]     records per feed and a content checksum
    python -m storage batches [--store URL]      every batch: id, feed, rows, file name, time

Withdrawals and retention purges change what is stored and are audited, which this layer cannot
do (the audit trail is above it): they are ``python -m data.store withdraw|purge``
(``safeguards.lifecycle``), and ``python -m storage withdraw|purge`` says so and does nothing.
``python -m data.store`` runs every other command here too (docs/deprecations.md).
"""
from __future__ import annotations

import argparse
import sys

from core.errors import ConfigError, StoreError
from core.schema import FEEDS
from storage.copy import copy_store
from storage.lifecycle import batch_table
from storage.open import open_store

AUDITED = "python -m data.store {command} ..."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storage",
                                     description="Store maintenance: copy, migrate, checksum, batches.")
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser("copy", help="copy a whole store into a new, empty one")
    copy.add_argument("--from", dest="source", required=True, help="source folder or URL")
    copy.add_argument("--to", dest="target", required=True, help="target folder or URL (empty)")
    for name, text in (("migrate", "create or upgrade the schema of a postgresql:// store"),
                       ("checksum", "records per feed and a content checksum"),
                       ("batches", "list every batch: id, feed, rows, file name, time")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--store", help="store URL or folder (default: STORE_URL, else ./store)")
    for name in ("withdraw", "purge"):
        commands.add_parser(name, help=f"audited: use {AUDITED.format(command=name)}",
                            add_help=False, prefix_chars="\0").add_argument("rest", nargs="*")
    args = parser.parse_args(argv)
    if args.command in ("withdraw", "purge"):
        print(f"{args.command} is an audited administrator action: run "
              f"{AUDITED.format(command=args.command)} (docs/data-protection.md)",
              file=sys.stderr)
        return 2
    try:
        if args.command == "copy":
            try:
                print(copy_store(args.source, args.target))
            except StoreError as exc:
                if str(exc).startswith("copy check failed"):
                    raise StoreError(f"{exc}. The target holds a copy that differs from the "
                                     "source: do not use it; empty it and copy again") from exc
                raise
        elif args.command == "migrate":
            store = open_store(args.store)
            if not hasattr(store, "engine"):
                print(f"{store.url}: an embedded store has no schema to migrate")
                return 0
            from storage.postgis import current_revision  # noqa: PLC0415

            print(f"{store.url}: schema at revision {current_revision(store.url)}")
        elif args.command == "batches":
            table = batch_table(open_store(args.store))
            print(table.to_string(index=False) if len(table) else "no batches")
        else:
            store = open_store(args.store)
            for feed in FEEDS:
                n, digest = store.checksum(feed)
                print(f"{feed:<10} {n:>10,} records  sha256 {digest}")
    except (ConfigError, StoreError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
