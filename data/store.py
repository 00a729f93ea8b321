"""Old name of ``python -m storage``, kept for partners' and operators' scripts, and the name of
the audited lifecycle commands: ``batches``, ``withdraw`` and ``purge`` run
``safeguards.lifecycle`` (docs/data-protection.md), everything else ``storage.cli``.

Deprecated for copy, migrate and checksum: use ``python -m storage``. This forwarder stays until
the deprecation noted in docs/deprecations.md; it imports nothing until it is run.
"""
import sys

if __name__ == "__main__":
    if sys.argv[1:2] and sys.argv[1] in ("batches", "withdraw", "purge"):
        from safeguards.lifecycle import main
    else:
        from storage.cli import main

    sys.exit(main())
