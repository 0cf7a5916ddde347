"""``compat-reg demo`` (being built)."""

import sys


def register(subparsers):
    p = subparsers.add_parser("demo", help="run the equivalence check on the bundled example")
    p.set_defaults(func=_not_ready)


def _not_ready(args):
    print("compat-reg: demo is being built", file=sys.stderr)
    return 2
