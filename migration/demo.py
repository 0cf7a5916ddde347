"""``compat-reg demo`` (``make demo``): the equivalence check on the bundled example.

The TF1 model ``demo_models/tf1_model.py`` (tf_slim ``arg_scope`` weight decay,
a ``variable_scope`` regularizer, an activity penalty and
``apply_regularization``) is checked against

1. ``demo_models/keras_port.py``, the correct Keras port — it passes;
2. ``demo_models/keras_naive_port.py``, which copies TF1's coefficients
   literally — it fails at the regularization stage with the diagnosis.

The models ship inside the package, so an installed ``compat-reg demo`` runs from
any directory (in a checkout ``examples/demo_*.py`` re-export them).

Both reports (``report.json``) and loss-curve plots (``loss_curves.png``) are
written under ``--out`` (default ``reports/demo/``). Exit 0 when the demo shows
what it should (the port passes, the naive port is caught), 1 otherwise.
"""

import importlib
import logging
import os
import time

from .cli import non_negative_int
from .exit_codes import EXIT_NEGATIVE
from .exit_codes import EXIT_OK

DEFAULT_OUT = os.path.join("reports", "demo")
_MODELS = "compat_reg.migration.demo_models"
OLD = f"{_MODELS}.tf1_model:model"
PORTS = (
    ("correct", f"{_MODELS}.keras_port:build", "the hand-written Keras port"),
    ("naive", f"{_MODELS}.keras_naive_port:build", "the naive port (TF1 coefficients copied literally)"),
)

log = logging.getLogger(__name__)


def register(subparsers):
    p = subparsers.add_parser(
        "demo",
        help="check the bundled TF1 example against a correct and a naive Keras port",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("--out", default=DEFAULT_OUT, help=f"where reports and plots go (default {DEFAULT_OUT})")
    p.add_argument("--steps", type=non_negative_int("steps"), default=5, help="optimizer steps compared (default 5)")
    p.set_defaults(func=run)


def run(args):
    from compat_reg import _flavor
    from .equivalence import _losses
    from .equivalence import diagnoses as dg
    from .equivalence.checker import check_equivalence
    from .equivalence.command import load_object
    from .equivalence.command import write_report

    old = load_object(OLD, "OLD")
    demo = importlib.import_module(OLD.split(":")[0])
    inputs = _losses.seeded_inputs(demo.INPUT_SHAPE)
    start = time.perf_counter()
    outcome = {}
    for key, spec, what in PORTS:
        print(f"\n=== compat-reg check {OLD} {spec}   ({what}) ===", flush=True)
        result = check_equivalence(
            old, load_object(spec, "NEW"), inputs=inputs, loss="sparse_softmax_cross_entropy",
            steps=args.steps, progress=lambda s, st, summ: log.info("  [%s] %s: %s", s, st.upper(), summ),
            names={"old": OLD, "new": spec}, record_trajectories=True,
        )
        print(result.format_table())
        paths = write_report(result, os.path.join(args.out, key))
        outcome[key] = (result, paths)
    elapsed = time.perf_counter() - start
    correct, naive = outcome["correct"][0], outcome["naive"][0]
    caught = [d for d in naive.diagnoses if d.code == dg.L2_TWICE]
    print("\n=== demo summary ===")
    print(f"keras flavor: {_flavor.name()} {_flavor.version()}   time: {elapsed:.1f}s")
    print(f"correct port: {'EQUIVALENT' if correct.equivalent else 'NOT EQUIVALENT — ' + correct.reason}")
    print(f"naive port:   {'NOT EQUIVALENT' if not naive.equivalent else 'EQUIVALENT (unexpected)'}"
          + (f" at stage '{naive.failed_stage}'" if naive.failed_stage else ""))
    for d in naive.diagnoses[:3]:
        print(f"  caught: [{d.code}] {d.message}")
    for key, (_, paths) in outcome.items():
        print(f"{key:<8} report: {paths['json']}")
        if "png" in paths:
            print(f"{key:<8} plot:   {paths['png']}")
    ok = correct.equivalent and not naive.equivalent and bool(caught)
    return EXIT_OK if ok else EXIT_NEGATIVE
