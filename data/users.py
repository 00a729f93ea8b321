"""Old name of ``python -m safeguards.users``, kept for partners' and operators' scripts.

Deprecated: use ``python -m safeguards.users``. This forwarder stays until the deprecation noted in
docs/deprecations.md; it imports nothing until it is run.
"""
import sys

if __name__ == "__main__":
    from safeguards.users import main

    sys.exit(main())
