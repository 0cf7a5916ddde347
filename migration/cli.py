"""``compat-reg``: the command line.

Verbs live in their own modules; each exposes ``register(subparsers)`` that adds
its sub-parser(s) with ``set_defaults(func=run)``, where ``run(args) -> int`` is
the exit code (0 success, 1 a negative result such as "not equivalent" or
"files skipped", 2 usage errors).
"""

import argparse
import importlib
import os
import sys

# A command-line tool should not open with TensorFlow's C++ start-up chatter.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The module that registers each verb, kept as data. Running one verb imports only
# its module: `scan`/`migrate` never pay for importing TensorFlow, which the
# `check`/`selftest`/`demo` modules need. `compat-reg --help` imports them all.
VERB_MODULES = {
    "check": ".equivalence.command",
    "selftest": ".equivalence.command",
    "scan": ".codemods.command",
    "migrate": ".codemods.command",
    "demo": ".demo",
}

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 on usage errors already; keep it explicit.
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(verb=None):
    """The parser for ``verb`` only (fast start), or for every verb when ``verb`` is unknown."""
    parser = _Parser(
        prog="compat-reg",
        description=(
            "Port TF1 regularization to TF2/Keras and prove it is the same: check old vs new "
            "number by number, scan and rewrite TF1 idioms, run the self-test."
        ),
    )
    parser.add_argument("--version", action="version", version="compat-reg 0.1.0")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    owners = [VERB_MODULES[verb]] if verb in VERB_MODULES else VERB_MODULES.values()
    for module_name in dict.fromkeys(owners):
        importlib.import_module(module_name, __package__).register(subparsers)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    verb = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(verb)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
