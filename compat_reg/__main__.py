"""``python -m compat_reg``: the ``compat-reg`` command line."""

import sys

from compat_reg.migration.cli import main

if __name__ == "__main__":
    sys.exit(main())
