"""Old name of ``python -m storage``, kept for partners' and operators' scripts.

Deprecated: use ``python -m storage``. This forwarder stays until the deprecation noted in
docs/deprecations.md; it imports nothing until it is run.
"""
import sys

if __name__ == "__main__":
    from storage.cli import main

    sys.exit(main())
