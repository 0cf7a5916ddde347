"""``compat-reg``: the command line.

Verbs live in their own modules; each exposes ``register(subparsers)`` that adds
its sub-parser(s) with ``set_defaults(func=run)``, where ``run(args) -> int`` is
the exit code (0 success, 1 a negative result such as "not equivalent" or
"files skipped", 2 usage errors).
"""

import argparse
import importlib
import sys

# Module that registers each verb; kept as data so `--help` lists every verb.
VERB_MODULES = (
    "migration.equivalence.command",  # check, selftest
    "migration.codemods.command",  # scan, migrate
    "migration.demo",  # demo
)

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 on usage errors already; keep it explicit.
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser():
    parser = _Parser(
        prog="compat-reg",
        description=(
            "Port TF1 regularization to TF2/Keras and prove it is the same: check old vs new "
            "number by number, scan and rewrite TF1 idioms, run the self-test."
        ),
    )
    parser.add_argument("--version", action="version", version="compat-reg 0.1.0")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for module_name in VERB_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
