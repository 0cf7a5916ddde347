"""``compat-reg check`` exit codes 0 / 1 / 2, reports, weight maps, JSON, mirrored; one real subprocess."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from compat_reg import _flavor
from migration.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OLD = "examples.demo_tf1_model:model"
GOOD = "examples.demo_keras_port:build"
NAIVE = "examples.demo_keras_naive_port:build"
DEMO_ARGS = ["--input-shape", "4,8,8,2", "--loss", "xent", "--steps", "2"]


@pytest.mark.keras
def test_equivalent_port_exits_0_with_table_and_progress(capsys):
    assert main(["check", OLD, GOOD, *DEMO_ARGS]) == 0
    cap = capsys.readouterr()
    assert "EQUIVALENT" in cap.out and "NOT EQUIVALENT" not in cap.out
    assert "regularization per variable" in cap.out
    for stage in ("build", "variables", "regularization", "forward", "gradients", "steps"):
        assert f"[compat-reg check] {stage}" in cap.err


@pytest.mark.keras
def test_naive_port_exits_1_with_diagnosis_and_report(tmp_path, capsys):
    assert main(["check", OLD, NAIVE, *DEMO_ARGS, "--report", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "new/fc1/kernel: Keras L2(0.0001) is 2.0x the TF1 l2_regularizer(0.0001); use L2(5e-05) or compat_reg.to_keras" in out
    assert f"plot:   {tmp_path}/loss_curves.png" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["equivalent"] is False and report["failed_stage"] == "regularization"
    codes = [d["code"] for d in report["stages"][2]["diagnoses"]]
    assert codes.count("l2-twice") == 4 and "bias-one-side" in codes
    png = (tmp_path / "loss_curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # the curves recorded after the failure show the doubled penalty on the new side
    traj = report["trajectories"]
    assert traj["new"]["regularization"][0] > traj["old"]["regularization"][0]


@pytest.mark.keras
def test_json_output_and_inputs_file(tmp_path, capsys):
    x = np.random.default_rng(3).standard_normal((4, 8, 8, 2)).astype(np.float32)
    y = np.array([0, 1, 2, 1], np.int32)
    np.savez(tmp_path / "data.npz", inputs=x, targets=y)
    assert main(["check", OLD, GOOD, "--inputs", str(tmp_path / "data.npz"), "--loss", "xent", "--steps", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["equivalent"] is True and data["info"]["inputs_shape"] == [4, 8, 8, 2]


@pytest.mark.keras
def test_weight_map_yaml(tmp_path, capsys):
    wm = os.path.join(ROOT, "examples", "demo_weight_map.yaml")
    assert main(["check", OLD, GOOD, *DEMO_ARGS, "--weight-map", wm, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    how = {v["old"]: v["how"] for v in data["variables"]}
    assert how["logits/weights"] == "map" and how["conv1/weights"] == "rule '/weights$'"
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - ['(unclosed', 'x']\n")
    assert main(["check", OLD, GOOD, *DEMO_ARGS, "--weight-map", str(bad)]) == 2
    assert "rule 0 pattern '(unclosed' is not a regular expression" in capsys.readouterr().err


USAGE_ERRORS = [
    ("missing-module", ["no_such_module:fn", GOOD, "--input-shape", "4,8,8,2"],
     "OLD 'no_such_module:fn': cannot import module 'no_such_module'"),
    ("missing-attribute", ["examples.demo_tf1_model:nope", GOOD, "--input-shape", "4,8,8,2"],
     "OLD 'examples.demo_tf1_model:nope': module 'examples.demo_tf1_model' has no attribute 'nope'"),
    ("no-colon", ["examples.demo_tf1_model", GOOD, "--input-shape", "4,8,8,2"], "must be module:callable"),
    ("old-not-callable", ["examples.demo_tf1_model:INPUT_SHAPE", GOOD, "--input-shape", "4,8,8,2"],
     "OLD 'examples.demo_tf1_model:INPUT_SHAPE' is a tuple, not a TF1 model function"),
    ("new-wrong-kind", [OLD, "examples.demo_tf1_model:INPUT_SHAPE", "--input-shape", "4,8,8,2"],
     "NEW must be a"),
    ("new-returns-non-model", [OLD, "examples.demo_tf1_model:model", "--input-shape", "4,8,8,2"],
     "NEW 'model' must be callable with no arguments"),
    ("shape-does-not-fit", [OLD, GOOD, "--input-shape", "4,8,8,3"], "failed on inputs of shape (4, 8, 8, 3)"),
    ("bad-shape", [OLD, GOOD, "--input-shape", "4,x"], "--input-shape '4,x' must be positive integers"),
    ("no-inputs", [OLD, GOOD], "pass --input-shape B,D1,... (batch first) or --inputs FILE.npz"),
    ("bad-loss", [OLD, GOOD, "--input-shape", "4,8,8,2", "--loss", "hinge"], "Invalid value for argument `loss`"),
]


@pytest.mark.keras
@pytest.mark.parametrize("argv,message", [c[1:] for c in USAGE_ERRORS], ids=[c[0] for c in USAGE_ERRORS])
def test_usage_errors_exit_2_with_the_fix(argv, message, capsys):
    assert main(["check", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err


@pytest.mark.keras
def test_mirrored_strategy_in_process(capsys):
    # tests/conftest.py configured two logical CPUs at import.
    exact = _flavor.multi_replica_training_exact()
    assert main(["check", OLD, GOOD, *DEMO_ARGS, "--strategy", "mirrored", "--json"]) == (0 if exact else 1)
    data = json.loads(capsys.readouterr().out)
    assert data["info"]["strategy"] == "MirroredStrategy" and data["info"]["replicas"] == 2
    if not exact:  # Keras 3 < 3.8, upstream: its multi-replica step is not the one-device step
        assert data["failed_stage"] == "steps"
        assert data["stages"][-1]["diagnoses"][0]["code"] == "keras-replica-steps"


@pytest.mark.keras
def test_console_script_subprocess_exit_codes(tmp_path):
    """A real process: `python -m migration.cli` (what the compat-reg console script runs)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [sys.executable, "-m", "migration.cli", "check", OLD, NAIVE, *DEMO_ARGS, "--strategy", "mirrored",
           "--report", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "[l2-twice] new/conv1/kernel" in proc.stdout
    assert "[compat-reg check] regularization FAIL" in proc.stderr
    assert (tmp_path / "report.json").exists() and (tmp_path / "loss_curves.png").exists()


def test_plot_without_trajectories_says_how_to_get_them(tmp_path):
    from migration.equivalence import CheckResult
    from migration.equivalence import Stage
    from migration.equivalence.plots import plot_loss_curves

    empty = CheckResult(stages=[Stage("build", "fail", "output shapes differ")], tolerances={})
    with pytest.raises(ValueError, match="recorded no loss trajectories .* rerun with steps >= 1 and record_trajectories=True"):
        plot_loss_curves(empty, str(tmp_path / "x.png"))


# ---------------------------------------------------------------- the CLI contract (issue 11, section 4)

USER_MODULE = '''
import numpy as np
import tensorflow as tf


def old_raises(x):
    raise RuntimeError("boom in the old model")


def new_raises():
    return {}["no such layer"]


def old_dense(x):
    w = tf.compat.v1.get_variable("dense/weights", [3, 2])
    return tf.matmul(x, w)


def new_raises_in_a_later_stage():
    from compat_reg import _flavor

    keras = _flavor.keras()

    class Flaky(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = keras.layers.Dense(2, use_bias=False, name="dense")
            self.calls = 0

        def call(self, x, training=None):
            self.calls += 1
            if self.calls > 6:
                raise RuntimeError("flaky call")
            return self.d(x)

    return Flaky()
'''


@pytest.fixture
def user_modules(tmp_path, monkeypatch):
    (tmp_path / "cr_user_code.py").write_text(USER_MODULE)
    (tmp_path / "cr_user_import_raises.py").write_text("raise RuntimeError('boom at import')\n")
    (tmp_path / "cr_user_syntax.py").write_text("def f(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


BAD_NUMBERS = [
    ("rtol-negative", ["--rtol", "-1"], "--rtol must be a finite number >= 0, received -1.0"),
    ("rtol-nan", ["--rtol", "nan"], "--rtol must be a finite number >= 0, received nan"),
    ("atol-inf", ["--atol", "inf"], "--atol must be a finite number >= 0, received inf"),
    ("learning-rate-zero", ["--learning-rate", "0"], "--learning-rate must be a finite number > 0, received 0.0"),
    ("steps-negative", ["--steps", "-1"], "--steps must be >= 0, received -1"),
    ("shape-zero", ["--input-shape", "0,3"], "--input-shape '0,3' must be positive integers"),
    ("inputs-missing-file", ["--inputs", "/nonexistent/x.npz"], "--inputs '/nonexistent/x.npz': no such file"),
]


@pytest.mark.parametrize("extra,message", [c[1:] for c in BAD_NUMBERS], ids=[c[0] for c in BAD_NUMBERS])
def test_bad_arguments_exit_2_before_any_user_code_is_imported(extra, message, user_modules, capsys):
    """The OLD module would raise at import (exit 3): exit 2 proves the arguments were checked first."""
    argv = ["check", "cr_user_import_raises:f", GOOD]
    if not any(a in ("--input-shape", "--inputs") for a in extra):
        argv += ["--input-shape", "4,3"]
    assert main(argv + extra) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "boom at import" not in err


def test_report_into_an_unwritable_place_exits_2_up_front(user_modules, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    argv = ["check", "cr_user_import_raises:f", GOOD, "--input-shape", "4,3"]
    assert main(argv + ["--report", str(blocker)]) == 2
    assert f"--report {str(blocker)!r} is a file" in capsys.readouterr().err
    assert main(argv + ["--report", str(blocker / "sub")]) == 2
    assert f"--report {str(blocker / 'sub')!r} is not writable" in capsys.readouterr().err


USER_CODE_ERRORS = [
    ("old-raises", ["cr_user_code:old_raises", GOOD], "RuntimeError: boom in the old model",
     "error in your code: OLD 'old_raises' raised RuntimeError: boom in the old model"),
    ("new-raises", ["cr_user_code:old_dense", "cr_user_code:new_raises"], "KeyError: 'no such layer'",
     "error in your code: NEW 'new_raises' raised KeyError"),
    ("new-raises-in-a-later-stage", ["cr_user_code:old_dense", "cr_user_code:new_raises_in_a_later_stage"],
     "RuntimeError: flaky call", "error in your code: NEW 'new_raises_in_a_later_stage' raised RuntimeError: "),
    ("import-raises", ["cr_user_import_raises:f", GOOD], "RuntimeError: boom at import",
     "error in your code: OLD 'cr_user_import_raises:f': importing it raised RuntimeError: boom at import"),
    ("import-syntax-error", ["cr_user_syntax:f", GOOD], "SyntaxError",
     "error in your code: OLD 'cr_user_syntax:f': importing it raised SyntaxError"),
]


@pytest.mark.keras
@pytest.mark.parametrize("argv,last_error,summary", [c[1:] for c in USER_CODE_ERRORS],
                         ids=[c[0] for c in USER_CODE_ERRORS])
def test_user_code_that_raises_exits_3_with_its_traceback_and_a_summary(argv, last_error, summary, user_modules, capsys):
    assert main(["check", *argv, "--input-shape", "4,3", "-q"]) == 3
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "cr_user_" in err  # the user's own file is in the traceback
    # the user's exception closes the traceback (tf_keras decorates its message over several lines)
    # (Keras 3 colours it with ANSI codes): its type and its message, after the last frame
    tail = err.rsplit("compat-reg check:", 1)[0].split("\n  File ")[-1]
    assert all(part in tail for part in last_error.split(": ")), tail
    assert lines[-1].startswith(f"compat-reg check: {summary}") and lines[-1].endswith("(exit 3)")
    assert last_error.split(": ")[-1] in lines[-1] and "\x1b[" not in lines[-1]


@pytest.mark.keras
def test_quiet_prints_no_progress(capsys):
    assert main(["check", OLD, GOOD, *DEMO_ARGS, "-q"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and "EQUIVALENT" in cap.out


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "exit codes: 0 equivalent, 1 not equivalent, 2 usage error (nothing was run), 3 your OLD/NEW code" in out
