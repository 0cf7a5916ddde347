"""``compat-reg convert-checkpoint OLD_CKPT NEW --old MODULE:FN --out weights.weights.h5``.

Registered by ``command.register`` (the module the CLI's verb table names for the
equivalence verbs). Arguments are validated before any work, as for ``check``; exit 0
written and verified, 1 cannot convert exactly (nothing written), 2 usage error, 3 the
user's code raised.
"""

import os
import sys

from ..exit_codes import EXIT_NEGATIVE
from ..exit_codes import EXIT_OK
from ..exit_codes import EXIT_USAGE
from .command import CommandUsageError
from .command import UserImportError
from .command import _finite
from .command import _load_array
from .command import _parse_shape
from .command import _quiet_tf
from .command import _user_code_failed
from .command import check_report_dir
from .command import load_object


def register(subparsers):
    c = subparsers.add_parser(
        "convert-checkpoint",
        help="write a Keras port's weights from a TF1 checkpoint, matched as `check` matches them",
        description=(
            "Read OLD_CKPT (written by tf.compat.v1.train.Saver for the TF1 model function --old), match its "
            "variables to NEW's weights (--weight-map, or creation order + shape + kind; partitioned "
            "variables joined), verify the forward pass equal on one batch, then write --out and reload it."
        ),
        epilog=("exit codes: 0 written and verified, 1 cannot convert exactly (unmatched / ambiguous variables "
                "listed, or outputs differ; nothing written), 2 usage error, 3 your code raised"),
    )
    c.add_argument("checkpoint", metavar="OLD_CKPT", help="TF1 checkpoint prefix (or its directory)")
    c.add_argument("new", metavar="NEW", help="module:attr, a Keras model or a zero-argument callable returning one")
    c.add_argument("--out", required=True, help="weights file: *.weights.h5 (Keras 3) or *.h5 (tf_keras)")
    c.add_argument("--old", required=True, metavar="MODULE:FN", help="the TF1 model function that wrote OLD_CKPT")
    csrc = c.add_mutually_exclusive_group(required=True)
    csrc.add_argument("--input-shape", help="comma-separated, batch first (seeded normal data) for the forward check")
    csrc.add_argument("--inputs", metavar="FILE.npz", help="one batch for the forward check (key 'inputs')")
    c.add_argument("--weight-map", metavar="FILE", help="JSON/YAML: {old: new} or {rules: [[pattern, repl], ...]}")
    c.add_argument("--rtol", type=float, default=1e-6, help="forward comparison (default 1e-6)")
    c.add_argument("--atol", type=float, default=1e-6, help="forward comparison (default 1e-6)")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    c.set_defaults(func=run_convert_checkpoint)


def run_convert_checkpoint(args):
    _quiet_tf()
    try:
        return _run_convert(args)
    except CommandUsageError as e:
        print(f"compat-reg convert-checkpoint: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except UserImportError as e:
        return _user_code_failed(e.error, str(e))


def _run_convert(args):
    from compat_reg import _flavor

    _finite(args.rtol, "--rtol")
    _finite(args.atol, "--atol")
    suffix = ".weights.h5" if _flavor.is_keras3() else ".h5"
    if not args.out.endswith(suffix):
        raise CommandUsageError(f"--out {args.out!r} must end with {suffix} under {_flavor.name()} (save_weights' format)")
    if not (os.path.isdir(args.checkpoint) or os.path.isfile(args.checkpoint + ".index")):
        raise CommandUsageError(f"OLD_CKPT {args.checkpoint!r}: no checkpoint there (expected {args.checkpoint}.index "
                                "or a directory with a 'checkpoint' file)")
    check_report_dir(os.path.dirname(os.path.abspath(args.out)))
    shape = _parse_shape(args.input_shape) if args.input_shape else None
    for flag, path in (("--inputs", args.inputs), ("--weight-map", args.weight_map)):
        if path and not os.path.isfile(path):
            raise CommandUsageError(f"{flag} {path!r}: no such file")
    from . import _losses
    from . import _matching
    from .checkpoint import ConversionError
    from .checkpoint import convert_checkpoint
    from .sides import UsageError
    from .sides import UserCodeError

    weight_map = None
    if args.weight_map:
        try:
            weight_map = _matching.load_weight_map(args.weight_map)
        except ValueError as e:
            raise CommandUsageError(str(e)) from e
    inputs = _load_array(args.inputs, "inputs", "--inputs")[0] if args.inputs else _losses.seeded_inputs(shape)
    old = load_object(args.old, "--old")
    new = load_object(args.new, "NEW")
    try:
        done = convert_checkpoint(args.checkpoint, old, new, inputs, args.out, weight_map=weight_map,
                                  rtol=args.rtol, atol=args.atol)
    except UsageError as e:
        raise CommandUsageError(str(e)) from e
    except UserCodeError as e:
        return _user_code_failed(e.error, str(e))
    except ConversionError as e:
        print(f"compat-reg convert-checkpoint: {e}", file=sys.stderr)
        return EXIT_NEGATIVE
    if not args.quiet:
        for o, n, how in done.pairs:
            print(f"[compat-reg convert-checkpoint] {o} -> {n} ({how})", file=sys.stderr)
        if done.ignored:
            print(f"[compat-reg convert-checkpoint] not model variables, left out: {', '.join(done.ignored)}",
                  file=sys.stderr)
    print(f"wrote {done.path}: {len(done.pairs)} weights; forward pass equal to the TF1 graph on one batch "
          f"(max |diff| {done.max_output_diff:.3g}; reloaded {done.reloaded_max_diff:.3g})")
    return EXIT_OK
