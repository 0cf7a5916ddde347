"""``compat-reg check`` and ``compat-reg selftest`` (being built)."""

import sys


def register(subparsers):
    p = subparsers.add_parser("check", help="check a Keras port against a TF1 model function")
    p.set_defaults(func=_not_ready)
    p = subparsers.add_parser("selftest", help="which TF1/Keras conventions hold on this install")
    p.set_defaults(func=_not_ready)


def _not_ready(args):
    print("compat-reg: this verb is being built", file=sys.stderr)
    return 2
