"""``compat-reg``: the command line (also ``python -m compat_reg``).

Verbs live in their own modules; each exposes ``register(subparsers)`` that adds
its sub-parser(s) with ``set_defaults(func=run)``, where ``run(args) -> int`` is
the exit code (``exit_codes``: 0 success, 1 a negative result, 2 usage error,
3 the user's code raised).

Start-up is kept instant: ``VERBS`` is data, so ``compat-reg --help`` and
``--version`` import no verb module, and ``compat-reg VERB ...`` imports only
that verb's module. TensorFlow is imported here only for the verbs that run it
(``needs_tf``), once, with its C++ start-up lines (absl's "All log messages
before absl::InitializeLog() ...", oneDNN, CUDA probing; TF 2.21 writes them to
fd 2 whatever ``TF_CPP_MIN_LOG_LEVEL`` says) captured and shown only under
``--verbose``.

Every verb takes ``-v/--verbose`` and ``-q/--quiet``; they set one ``logging``
configuration (progress is logged at INFO, shown by default; ``-q`` keeps
warnings and errors; ``-v`` adds DEBUG and TensorFlow's own start-up output).
"""

import argparse
import collections
import logging
import os
import sys

from .exit_codes import EXIT_USAGE

VERSION = "0.1.0"

Verb = collections.namedtuple("Verb", "module summary needs_tf")

# Verb -> the module that registers it, the one-line summary `compat-reg --help`
# lists, and whether running it imports TensorFlow. A test checks each summary
# against the help its module registers.
VERBS = {
    "check": Verb(".equivalence.command", "check a Keras port against a TF1 model function, stage by stage", True),
    "selftest": Verb(
        ".equivalence.command",
        "which TF1/Keras conventions hold on this install (runs the project's equivalence cases)", True,
    ),
    "convert-checkpoint": Verb(
        ".equivalence.command", "write a Keras port's weights from a TF1 checkpoint, matched as `check` matches them",
        True,
    ),
    "scan": Verb(".codemods.command", "find every TF1 regularization site in a tree (by qualified name)", False),
    "migrate": Verb(
        ".codemods.command", "rewrite TF1 regularization idioms exactly (--to keras|compat); diff by default", False,
    ),
    "demo": Verb(".demo", "check the bundled TF1 example against a correct and a naive Keras port", True),
}

LOG_FORMAT = "%(message)s"


def non_negative_int(argument):
    """An argparse ``type`` for a count: ``non_negative_int("steps")("-1")`` is a usage error (exit 2)."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < 0:
            raise argparse.ArgumentTypeError(
                f"Invalid value for argument `{argument}`. Expected a non-negative integer. "
                f"Received: {argument}={text}"
            )
        return value

    return parse


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 on usage errors already; keep it explicit.
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


# -v/-q/--version: on the top-level parser and on every verb's parser.
COMMON_OPTIONS = (
    (("--version",), {"action": "version", "version": f"compat-reg {VERSION}"}),
    (("-v", "--verbose"), {"action": "count", "help": "more output: debug logging and TensorFlow's own start-up lines"}),
    (("-q", "--quiet"), {"action": "count", "help": "only warnings and errors"}),
)


def add_common_options(parser):
    """Add ``COMMON_OPTIONS`` to ``parser``, except an option the verb already defines itself."""
    for flags, kwargs in COMMON_OPTIONS:
        extra = {} if kwargs["action"] == "version" else {"default": 0}
        try:
            parser.add_argument(*flags, **kwargs, **extra)
        except argparse.ArgumentError:  # the verb's own -q (e.g. a store_true) is kept
            pass


class _Subparsers:
    """The ``add_subparsers`` object handed to verb modules; remembers the parsers they add."""

    def __init__(self, actions):
        self._actions, self.added = actions, []

    def add_parser(self, name, **kwargs):
        parser = self._actions.add_parser(name, **kwargs)
        self.added.append(parser)
        return parser


def build_parser(verb=None):
    """The parser with ``verb``'s real sub-parser (its module imported); other verbs listed only."""
    import importlib

    parser = _Parser(
        prog="compat-reg",
        description=(
            "Port TF1 regularization to TF2/Keras and prove it is the same: check old vs new "
            "number by number, scan and rewrite TF1 idioms, run the self-test."
        ),
    )
    add_common_options(parser)
    actions = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    subparsers = _Subparsers(actions)
    wanted = VERBS[verb].module if verb in VERBS else None
    for name, spec in VERBS.items():  # in VERBS order, whichever verb is wanted
        if name in actions.choices:
            continue
        if spec.module == wanted:  # registers every verb of that module, once
            importlib.import_module(spec.module, __package__).register(subparsers)
            wanted = None
        if name not in actions.choices:  # listed for `compat-reg --help` without importing its module
            subparsers.add_parser(name, help=spec.summary)
    for sub in subparsers.added:
        add_common_options(sub)
    return parser


def configure_logging(verbose=0, quiet=0):
    """One logging setup for every verb: INFO by default, ``-v`` DEBUG, ``-q`` WARNING."""
    level = logging.INFO + 10 * (quiet - verbose)
    level = min(max(level, logging.DEBUG), logging.ERROR)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_compat_reg", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler._compat_reg = True
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("tensorflow").setLevel(logging.DEBUG if verbose else logging.ERROR)
    return level


def import_tensorflow_quietly(verbose=0):
    """Import TensorFlow (and let it probe its devices) with fd 2 captured; replay it if ``verbose``.

    TF 2.21 logs through absl before ``absl::InitializeLog()``, which writes to
    stderr at every level, so ``TF_CPP_MIN_LOG_LEVEL`` (still set to 2 here unless
    ``verbose``, for the warnings of later ops) cannot silence the start-up lines.
    Capturing the file descriptor is what does. If the import fails, the captured
    text is replayed before the error propagates. Returns the captured text.
    """
    if "tensorflow" in sys.modules:
        return ""
    import tempfile

    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # CUDA probing logs here, not at the first op
        except BaseException:
            verbose = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
            if verbose and text:
                sys.stderr.write(text)
                sys.stderr.flush()
    return text


def _verb_of(argv):
    """The first positional argument, if it names a verb (options come before or after it)."""
    return next((a for a in argv if not a.startswith("-")), None)


def parse_args(argv):
    """``(parser, args)``; ``-v``/``-q`` count wherever they stand, before or after the verb.

    argparse copies a verb parser's values over the top-level ones (so
    ``compat-reg -v check`` would read 0); the options before the verb are
    counted on their own and added.
    """
    verb = _verb_of(argv)
    parser = build_parser(verb)
    args = parser.parse_args(argv)
    if verb in VERBS:
        lead = argparse.ArgumentParser(add_help=False)
        add_common_options(lead)
        before, _ = lead.parse_known_args(argv[: argv.index(verb)])
        args.verbose = int(args.verbose) + before.verbose
        args.quiet = int(args.quiet) + before.quiet
    return parser, args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, args = parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    configure_logging(args.verbose, args.quiet)
    if VERBS[args.verb].needs_tf:
        import_tensorflow_quietly(args.verbose)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
