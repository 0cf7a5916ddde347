"""``compat-reg`` starts without TensorFlow, quietly, with one logging setup on every verb.

Start-up is checked by what a fresh process imports (never by timing: the
figures are in ``benchmarks/bench_cli_startup.py``).
"""

import json
import logging
import os
import subprocess
import sys

import pytest

from migration import cli
from migration.exit_codes import EXIT_USAGE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One child imports the CLI as ``compat-reg`` does, then forks one grandchild per argv: each
# starts from that state (``sys`` and ``migration.cli`` imported, TensorFlow not), runs
# ``cli.main(argv)`` with its own fds 1 and 2, and reports what a fresh process would.
_FORK_PER_ARGV = """
import sys
from migration import cli

import json, os, tempfile

results = []
for argv in json.loads(sys.argv[1]):
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    sys.stdout.flush(), sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.dup2(out.fileno(), 1), os.dup2(err.fileno(), 2)
            try:
                cli.main(argv)
            except SystemExit as e:
                print("exit", e.code)
            print("tensorflow imported:", "tensorflow" in sys.modules)
            sys.stdout.flush(), sys.stderr.flush()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    texts = []
    for f in (out, err):
        f.seek(0)
        texts.append(f.read().decode())
    results.append({"returncode": os.waitstatus_to_exitcode(status), "stdout": texts[0], "stderr": texts[1]})
print("JSON" + json.dumps(results))
"""

_STARTUP_CASES = [([], "--help"), ([], "--version")] + [
    ([verb], flag) for verb in cli.VERBS for flag in ("--help", "--version")
]
_STARTUP_ARGVS = [[*verb, flag] for verb, flag in _STARTUP_CASES]


@pytest.fixture(scope="module")
def started():
    """``{" ".join(argv): {"returncode", "stdout", "stderr"}}`` of every start-up case (one child)."""
    proc = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", _FORK_PER_ARGV, json.dumps(_STARTUP_ARGVS)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    last = proc.stdout.splitlines()[-1] if proc.stdout else ""
    assert proc.returncode == 0 and last.startswith("JSON"), proc.stderr[-2000:]
    assert proc.stderr == ""  # importing the CLI is silent too (each case's own stderr is checked below)
    results = json.loads(last[len("JSON"):])
    return {" ".join(argv): result for argv, result in zip(_STARTUP_ARGVS, results)}


@pytest.mark.parametrize("argv", _STARTUP_ARGVS, ids=[" ".join(a) for a in _STARTUP_ARGVS])
def test_help_and_version_of_every_verb_do_not_import_tensorflow(started, argv):
    proc = started[" ".join(argv)]
    assert proc["returncode"] == 0, proc["stderr"][-2000:]
    assert proc["stdout"].splitlines()[-2:] == ["exit 0", "tensorflow imported: False"], proc["stdout"][-500:]
    assert proc["stderr"] == ""


@pytest.mark.parametrize("verb", list(cli.VERBS))
def test_listed_summary_is_the_help_the_verb_registers(verb):
    """``compat-reg --help`` lists ``VERBS`` summaries without importing the verbs: they must agree."""
    assert cli.build_parser(verb).format_help() == cli.build_parser(None).format_help()


_REQUIRED = {  # the arguments each verb needs to parse at all
    "check": ["OLD", "NEW"],
    "convert-checkpoint": ["ckpt", "m:build", "--out", "w.h5", "--old", "m:fn", "--input-shape", "1,2"],
    "scan": ["src"],
    "migrate": ["src", "--to", "keras"],
}


def _registered_by_its_module(verb):
    import argparse
    import importlib

    actions = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(cli.VERBS[verb].module, "migration").register(actions)
    return verb in actions.choices


@pytest.mark.parametrize("verb", list(cli.VERBS))
@pytest.mark.parametrize(
    "before, after, verbose, quiet",
    [([], ["-v"], 1, 0), ([], ["-vv"], 2, 0), ([], ["-q"], 0, 1), (["-v"], [], 1, 0), (["-q"], [], 0, 1),
     (["-v"], ["-v"], 2, 0), ([], [], 0, 0)],
    ids=["verb -v", "verb -vv", "verb -q", "-v verb", "-q verb", "-v verb -v", "neither"],
)
def test_every_verb_takes_verbose_and_quiet_before_or_after_it(verb, before, after, verbose, quiet):
    if not _registered_by_its_module(verb):
        pytest.skip(f"`{verb}` is listed in cli.VERBS but {cli.VERBS[verb].module} does not register it here")
    required = _REQUIRED.get(verb, [])
    _, args = cli.parse_args([*before, verb, *after, *required])
    assert (int(args.verbose), int(args.quiet)) == (verbose, quiet)


@pytest.mark.parametrize(
    "verbose, quiet, level",
    [(0, 0, logging.INFO), (1, 0, logging.DEBUG), (0, 1, logging.WARNING), (0, 2, logging.ERROR), (3, 0, logging.DEBUG)],
    ids=["default-info", "v-debug", "q-warning", "qq-error", "vvv-clamped"],
)
def test_one_logging_setup_levels(verbose, quiet, level):
    root = logging.getLogger()
    saved = root.level, list(root.handlers)
    try:
        assert cli.configure_logging(verbose, quiet) == level
        assert root.level == level
        assert sum(getattr(h, "_compat_reg", False) for h in root.handlers) == 1
        cli.configure_logging(verbose, quiet)  # again: still one handler
        assert sum(getattr(h, "_compat_reg", False) for h in root.handlers) == 1
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]


@pytest.mark.parametrize("text", ["-1", "two", "1.5"], ids=["negative", "word", "float"])
def test_demo_steps_is_validated_before_any_work(text, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "--steps", text, "--out", os.devnull])
    assert exc.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert (
        f"argument --steps: Invalid value for argument `steps`. Expected a non-negative integer. "
        f"Received: steps={text}"
    ) in err


def test_no_verb_prints_help_and_is_a_usage_error(capsys):
    assert cli.main([]) == EXIT_USAGE
    assert "VERB" in capsys.readouterr().err


_QUIET_IMPORT = """
import sys
from migration import cli
captured = cli.import_tensorflow_quietly(verbose={verbose})
sys.stdout.write(repr(captured))
"""


@pytest.mark.parametrize("verbose", [0, 1], ids=["quiet", "verbose"])
def test_tensorflow_start_up_lines_only_under_verbose(verbose):
    """TensorFlow writes start-up lines to fd 2 on import (absl before InitializeLog, CUDA probing)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", _QUIET_IMPORT.format(verbose=verbose)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    captured = eval(proc.stdout)  # noqa: S307 - our own repr() above
    assert captured.strip(), "TensorFlow printed nothing at start-up on this stack; the capture is untested here"
    assert proc.stderr == (captured if verbose else "")
