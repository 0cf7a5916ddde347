"""``compat-reg scan`` and ``compat-reg migrate`` (placeholder while the codemods land)."""

import sys

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE = 0, 1, 2


def _not_yet(args):
    print(f"compat-reg {args.verb}: not implemented yet (issue 5 in progress).", file=sys.stderr)
    return EXIT_USAGE


def register(subparsers):
    scan = subparsers.add_parser("scan", help="find TF1 regularization sites in a tree")
    scan.add_argument("paths", nargs="+", metavar="PATH")
    scan.set_defaults(func=_not_yet)
    migrate = subparsers.add_parser("migrate", help="rewrite TF1 regularization idioms exactly")
    migrate.add_argument("paths", nargs="+", metavar="PATH")
    migrate.set_defaults(func=_not_yet)
