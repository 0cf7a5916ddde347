"""``compat-reg check`` and ``compat-reg selftest``.

``compat-reg check OLD NEW``: OLD and NEW are ``module:callable`` (imported from
the current directory too). OLD is a TF1 model function ``fn(inputs) ->
outputs``; NEW a Keras model, or a zero-argument callable returning one.
Every argument is validated before any work (numbers, shapes, files, the
``--report`` directory's writability), then the modules are imported and the
stages run. Progress goes to stderr (one line per stage; ``-q`` silences it), the
table (or ``--json``) to stdout; ``--report DIR`` writes ``report.json`` and
``loss_curves.png``.

Exit codes (``migration.exit_codes``): 0 equivalent, 1 not equivalent, 2 usage
error (nothing was run; the message says what to fix), 3 the user's own code
raised — OLD, NEW, a ``--loss`` callable or the import of their module: their
traceback, then a one-line summary.
"""

import importlib
import json
import math
import os
import sys
import tempfile
import traceback

from ..exit_codes import EXIT_NEGATIVE
from ..exit_codes import EXIT_OK
from ..exit_codes import EXIT_USAGE
from ..exit_codes import EXIT_USER_CODE

REPORT_JSON, REPORT_PNG = "report.json", "loss_curves.png"
# As in optimizers.NAMES (not imported here: that module imports TensorFlow, and `--help` must stay fast).
OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad", "adadelta")
EXIT_CODES_HELP = (
    "exit codes: 0 equivalent, 1 not equivalent, 2 usage error (nothing was run), "
    "3 your OLD/NEW code (or its module import) raised: its traceback, then a one-line summary"
)


class CommandUsageError(Exception):
    """A usage error of the command line (exit code 2)."""


class UserImportError(Exception):
    """Importing the user's module raised (exit code 3); ``__cause__`` is their error."""

    def __init__(self, what, spec, error):
        super().__init__(f"{what} {spec!r}: importing it raised {type(error).__name__}: {' '.join(str(error).split())}")
        self.error = error


def register(subparsers):
    p = subparsers.add_parser(
        "check",
        help="check a Keras port against a TF1 model function, stage by stage",
        description=(
            "Build OLD (a TF1 model function fn(inputs) -> outputs) in a tf.Graph and NEW (a Keras "
            "model, or a zero-argument callable returning one), match their variables, copy the "
            "weights and compare regularization, forward pass, gradients and N training steps."
        ),
        epilog=EXIT_CODES_HELP,
    )
    p.add_argument("old", metavar="OLD", help="module:callable, a TF1 model function fn(inputs) -> outputs")
    p.add_argument("new", metavar="NEW", help="module:attr, a Keras model or a zero-argument callable returning one")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--input-shape", action="append",
                     help="comma-separated, batch first, e.g. 4,8,8,2 (seeded normal data); repeat it once per "
                          "input, in order, for a model with several inputs")
    src.add_argument("--inputs", metavar="FILE.npz",
                     help="key 'inputs' (one input; .npy too), or arr_0, arr_1... (several, in order), or the "
                          "model's input names; targets under 'targets' or 'targets.HEAD'")
    p.add_argument("--targets", metavar="FILE",
                   help="targets array (.npy, or .npz key 'targets' or 'targets.HEAD' per head); default seeded")
    p.add_argument("--loss", default="mse",
                   help="mse (default), sparse_softmax_cross_entropy (alias xent), or module:callable; for several "
                        "heads one loss for all or HEAD=LOSS,HEAD=LOSS")
    p.add_argument("--loss-weights", metavar="W", help="several heads: HEAD=W,HEAD=W or W,W by position (default 1 each)")
    p.add_argument("--steps", type=int, default=3, help="optimizer steps compared (default 3)")
    p.add_argument("--optimizer", default="sgd", choices=OPTIMIZER_NAMES,
                   help="tf.compat.v1.train optimizer of the old side; the new side uses the port's compiled "
                        "optimizer or the Keras one that reproduces it (default sgd)")
    p.add_argument("--optimizer-param", action="append", default=[], metavar="NAME=VALUE",
                   help="a TF1 hyper-parameter of --optimizer by its TF1 name, repeatable: momentum, beta1, beta2, "
                        "epsilon, decay, centered, initial_accumulator_value, rho")
    p.add_argument("--learning-rate", type=float, default=0.1, help="default 0.1")
    p.add_argument("--weight-map", metavar="FILE", help="JSON/YAML: {old: new} or {rules: [[pattern, repl], ...]}")
    p.add_argument("--strategy", choices=("mirrored",), help="run NEW under tf.distribute.MirroredStrategy (2 logical CPUs)")
    p.add_argument("--backend", metavar="NAME", help="Keras 3 backend of NEW: tensorflow, jax or torch "
                   "(another than this process' runs NEW in a child process with KERAS_BACKEND set)")
    p.add_argument("--training", action="store_true", help="call NEW with training=True (TF1 built with is_training=True)")
    p.add_argument("--rtol", type=float, help="override every stage's rtol")
    p.add_argument("--atol", type=float, help="override every stage's atol")
    p.add_argument("--report", metavar="DIR", help=f"write DIR/{REPORT_JSON} and DIR/{REPORT_PNG}")
    p.add_argument("--json", action="store_true", help="print the JSON report on stdout instead of the table")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run_check)

    s = subparsers.add_parser(
        "selftest",
        help="which TF1/Keras conventions hold on this install (runs the project's equivalence cases)",
        description=(
            "Run the project's equivalence cases against the installed TensorFlow / Keras / tf_slim and "
            "print which conventions hold (L2 factor, activity losses divided by the batch, frozen "
            "weights counted, callable add_loss, the TF1 / Keras optimizer conventions ...)."
        ),
        epilog="exit codes: 0 every convention and case behaves as documented, 1 some do not, 2 usage error",
    )
    s.add_argument("--json", action="store_true", help="print JSON instead of the table")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    s.add_argument("--quick", action="store_true", help="conventions only, skip the full case table")
    s.set_defaults(func=run_selftest)

    from .checkpoint_command import register as register_convert

    register_convert(subparsers)


def _quiet_tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def configure_logical_cpus(n=2):
    """Split the CPU into ``n`` logical devices if TensorFlow has not initialized yet.

    Returns the logical CPU device names. Must run before the first op.
    """
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError:
        pass  # already initialized (e.g. in-process from tests that configured devices)
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def load_object(spec, what):
    """Import ``module:attr`` (the current directory is importable).

    Raises:
      CommandUsageError: no such module or attribute (exit 2, with the fix).
      UserImportError: the module exists but importing it raised (exit 3).
    """
    if ":" not in spec:
        raise CommandUsageError(f"{what} {spec!r} must be module:callable, e.g. examples.demo_tf1_model:model")
    module_name, attr = spec.split(":", 1)
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise CommandUsageError(
                f"{what} {spec!r}: cannot import module {module_name!r} ({e}). Run from the directory that "
                "contains it, or put it on PYTHONPATH."
            ) from e
        raise UserImportError(what, spec, e) from e
    except Exception as e:  # noqa: BLE001 - the user's module raised at import (SyntaxError too)
        raise UserImportError(what, spec, e) from e
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = sorted(n for n in dir(module) if not n.startswith("_"))
            raise CommandUsageError(
                f"{what} {spec!r}: module {module_name!r} has no attribute {attr!r}; it has: {', '.join(names[:20])}"
            )
        obj = getattr(obj, part)
    return obj


def _parse_shape(text):
    try:
        shape = tuple(int(p) for p in text.split(","))
    except ValueError:
        shape = ()
    if not shape or any(d <= 0 for d in shape):
        raise CommandUsageError(
            f"--input-shape {text!r} must be positive integers separated by commas, batch first, e.g. 4,8,8,2"
        )
    return shape


def _load_array(path, key, flag):
    import numpy as np

    if not os.path.exists(path):
        raise CommandUsageError(f"{flag} {path!r}: no such file")
    try:
        data = np.load(path)
    except Exception as e:  # noqa: BLE001
        raise CommandUsageError(f"{flag} {path!r}: not a .npy/.npz file ({e})") from e
    if isinstance(data, np.ndarray):
        return data, None
    names = list(data.files)
    if not names:
        raise CommandUsageError(f"{flag} {path!r}: the archive holds no arrays")
    arr = data[key] if key in names else data[names[0]]
    extra = data["targets"] if key == "inputs" and "targets" in names else None
    return arr, extra


def _finite(value, flag, minimum=0.0, strict=False):
    if value is None:
        return None
    bad = not math.isfinite(value) or (value <= minimum if strict else value < minimum)
    if bad:
        relation = ">" if strict else ">="
        raise CommandUsageError(f"{flag} must be a finite number {relation} {minimum:g}, received {value!r}")
    return value


def check_report_dir(directory):
    """Create ``directory`` if needed and prove a file can be written there, before any work."""
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise CommandUsageError(f"--report {directory!r} is a file; pass a directory for report.json and loss_curves.png")
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".compat-reg-write-test-"):
            pass
    except OSError as e:
        raise CommandUsageError(
            f"--report {directory!r} is not writable ({e.strerror or e}); pass a directory you can write to"
        ) from e


def run_check(args):
    _quiet_tf()
    try:
        return _run_check(args)
    except CommandUsageError as e:
        print(f"compat-reg check: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except UserImportError as e:
        return _user_code_failed(e.error, str(e))


def _user_code_failed(error, summary):
    """Print the user's traceback (from their first frame on), then one summary line; exit 3."""
    frames = traceback.extract_tb(error.__traceback__)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    first = next((i for i, f in enumerate(frames) if not os.path.abspath(f.filename).startswith(here)), 0)
    print("Traceback (most recent call last):", file=sys.stderr)
    print("".join(traceback.format_list(frames[first:])), end="", file=sys.stderr)
    print("".join(traceback.format_exception_only(type(error), error)), end="", file=sys.stderr)
    print(f"compat-reg check: error in your code: {summary} (exit {EXIT_USER_CODE})", file=sys.stderr)
    return EXIT_USER_CODE


def _validate_args(args):
    """Everything that needs no import of the user's code: numbers, shapes, files, the report directory."""
    if args.steps < 0:
        raise CommandUsageError(f"--steps must be >= 0, received {args.steps}")
    _finite(args.rtol, "--rtol")
    _finite(args.atol, "--atol")
    _finite(args.learning_rate, "--learning-rate", strict=True)
    if not args.inputs and not args.input_shape:
        raise CommandUsageError("pass --input-shape B,D1,... (batch first) or --inputs FILE.npz")
    from . import _cli_inputs

    shape = [_parse_shape(s) for s in args.input_shape] if args.input_shape else None
    args.loss = _cli_inputs.parse_loss(args.loss)
    args.loss_weights = _cli_inputs.parse_loss_weights(args.loss_weights)
    for flag, path in (("--inputs", args.inputs), ("--targets", args.targets), ("--weight-map", args.weight_map)):
        if path and not os.path.isfile(path):
            raise CommandUsageError(f"{flag} {path!r}: no such file")
    params = _parse_optimizer_params(args.optimizer, args.optimizer_param, args.learning_rate)
    if args.report:
        check_report_dir(args.report)
    from .backends import command_line_problem

    if command_line_problem(args.backend, args.strategy):
        raise CommandUsageError(command_line_problem(args.backend, args.strategy))
    return shape, params


def _parse_optimizer_params(optimizer, items, learning_rate):
    """``NAME=VALUE`` items to ``{name: value}``, validated against the optimizer's row."""
    from . import optimizers

    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CommandUsageError(f"--optimizer-param {item!r} must be NAME=VALUE, e.g. epsilon=1e-8")
        lowered = value.strip().lower()
        params[name.strip()] = lowered == "true" if lowered in ("true", "false") else value.strip()
    try:
        return optimizers.choose(optimizer, learning_rate, params).params
    except ValueError as e:
        raise CommandUsageError(str(e)) from e


def _run_check(args):
    shape, optimizer_params = _validate_args(args)
    from . import _cli_inputs
    from . import _matching

    _cli_inputs.check_loss_names(args.loss)
    weight_map = None
    if args.weight_map:
        try:
            weight_map = _matching.load_weight_map(args.weight_map)
        except ValueError as e:
            raise CommandUsageError(str(e)) from e
    targets = None
    if args.inputs:
        inputs, targets = _cli_inputs.load_inputs(args.inputs)
    else:
        inputs = _cli_inputs.seeded_inputs(shape)
    if args.targets:
        targets = _cli_inputs.load_targets(args.targets)
    if args.strategy == "mirrored":
        devices = configure_logical_cpus(2)
        if len(devices) < 2:
            raise CommandUsageError(
                f"--strategy mirrored needs 2 devices but TensorFlow already initialized with {devices}; "
                "run compat-reg in a fresh process"
            )
    from .checker import check_equivalence
    from .sides import UsageError
    from .sides import UserCodeError

    old = load_object(args.old, "OLD")
    new = load_object(args.new, "NEW")
    loss = _cli_inputs.load_losses(args.loss, load_object)
    if not callable(old):
        raise CommandUsageError(f"OLD {args.old!r} is a {type(old).__name__}, not a TF1 model function fn(inputs) -> outputs")

    def progress(stage, status, summary):
        if not args.quiet:
            print(f"[compat-reg check] {stage:<14} {status.upper():<7} {summary}", file=sys.stderr, flush=True)

    if not args.quiet:
        print(f"[compat-reg check] {args.old} vs {args.new}, inputs {_cli_inputs.describe(inputs)}", file=sys.stderr, flush=True)
    try:
        result = check_equivalence(
            old, new, inputs=inputs, targets=targets, loss=loss, loss_weights=args.loss_weights, steps=args.steps,
            optimizer=args.optimizer, learning_rate=args.learning_rate, optimizer_params=optimizer_params,
            weight_map=weight_map,
            rtol=args.rtol, atol=args.atol, strategy=args.strategy, training=args.training,
            progress=progress, names={"old": args.old, "new": args.new},
            record_trajectories=bool(args.report), backend=args.backend,
        )
    except UsageError as e:
        raise CommandUsageError(str(e)) from e
    except UserCodeError as e:
        return _user_code_failed(e.error, str(e))
    if args.report:
        write_report(result, args.report)
    if args.json:
        print(result.to_json())
    else:
        print(result.format_table())
        if args.report:
            print(f"report: {os.path.join(args.report, REPORT_JSON)}")
            if result.trajectories:
                print(f"plot:   {os.path.join(args.report, REPORT_PNG)}")
    return EXIT_OK if result.equivalent else EXIT_NEGATIVE


def write_report(result, directory):
    """Write ``report.json`` and, if there are trajectories, ``loss_curves.png`` into ``directory``."""
    from .plots import plot_loss_curves

    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, REPORT_JSON), "w", encoding="utf-8") as f:
        f.write(result.to_json())
    paths = {"json": os.path.join(directory, REPORT_JSON)}
    if result.trajectories:
        paths["png"] = plot_loss_curves(result, os.path.join(directory, REPORT_PNG))
    return paths


def run_selftest(args):
    _quiet_tf()
    configure_logical_cpus(2)  # the mirrored cases need two devices
    from . import selftest

    def progress(line):
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    report = selftest.run(quick=args.quick, progress=progress)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.format_table())
    return EXIT_OK if report.ok else EXIT_NEGATIVE
