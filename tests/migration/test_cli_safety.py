"""``compat-reg scan`` / ``migrate --write`` through the CLI on hostile trees (issue 11, cases 1 and 3)."""

import json
import os
import subprocess
import sys

import pytest

from migration.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TF1 = "import tf_slim as slim\nreg = slim.l2_regularizer(0.1)\n"


def _git(cwd, *args):
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd, check=True,
                   capture_output=True)


def _cli_in_child(*argv):
    """The CLI in a child process with a timeout and a 1 GiB memory limit: a hang fails, never blocks the suite."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    try:
        return subprocess.run([sys.executable, "-m", "migration.cli", *argv], cwd=ROOT, capture_output=True,
                              text=True, timeout=60, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"compat-reg {' '.join(argv)} did not return within 60 s")


@pytest.mark.parametrize("verb", ["scan", "migrate"])
def test_fifo_and_dev_zero_link_are_skipped_with_the_reason(tmp_path, verb):
    (tmp_path / "model.py").write_text(TF1)
    os.mkfifo(tmp_path / "pipe.py")
    os.symlink("/dev/zero", tmp_path / "zero.py")
    argv = [verb, "-q", str(tmp_path)] + (["--to", "keras", "--format", "json"] if verb == "migrate" else
                                          ["--format", "json", "--with-errors"])
    proc = _cli_in_child(*argv)
    assert proc.returncode == 1, proc.stderr
    errors = {e["path"]: e["message"] for e in json.loads(proc.stdout)["errors"]}
    assert errors == {str(tmp_path / "pipe.py"): "is a FIFO (named pipe), not a regular file",
                      str(tmp_path / "zero.py"): "is a character device (a symlink to /dev/zero), not a regular file"}
    assert f"skipped {tmp_path / 'pipe.py'}:0: is a FIFO (named pipe), not a regular file" in proc.stderr


def test_max_file_size_flag(capsys, tmp_path):
    (tmp_path / "model.py").write_text(TF1)
    assert main(["scan", "-q", "--max-file-size", "40", str(tmp_path)]) == 1
    assert "model.py:0: is over the size cap of 40 bytes (54 bytes); raise the cap with --max-file-size" in \
        capsys.readouterr().err
    assert main(["scan", "-q", "--max-file-size", "1K", str(tmp_path)]) == 0


def test_bad_max_file_size_is_a_usage_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["scan", "--max-file-size", "lots", str(tmp_path)])
    assert info.value.code == 2
    assert "Invalid value for argument `--max-file-size`." in capsys.readouterr().err


def test_migrate_write_follows_symlinks_and_rewrites_the_target_once(capsys, tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "real.py").write_text(TF1)
    os.symlink("real.py", tmp_path / "a.py")
    os.symlink("real.py", tmp_path / "b.py")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "tf1")
    assert main(["migrate", "--to", "keras", "--write", "-q", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert [os.path.islink(tmp_path / n) for n in ("a.py", "b.py", "real.py")] == [True, True, False]
    assert "tf.keras.regularizers.L2(0.05)" in (tmp_path / "real.py").read_text()
    assert f"wrote {tmp_path / 'a.py'}\n" in err
    assert f"{tmp_path / 'b.py'} is the same file as {tmp_path / 'a.py'} (through a symlink): rewritten once" in err
    assert f"{tmp_path / 'real.py'} is the same file as {tmp_path / 'a.py'}" in err


def test_migrate_write_refused_target_is_not_claimed_rewritten_through_its_link(capsys, tmp_path):
    (tmp_path / "real.py").write_text(TF1)  # outside git: refused without --force
    os.symlink("real.py", tmp_path / "a.py")
    assert main(["migrate", "--to", "keras", "--write", "-q", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert (tmp_path / "real.py").read_text() == TF1 and os.path.islink(tmp_path / "a.py")
    assert f"{tmp_path / 'real.py'} is the same file as {tmp_path / 'a.py'} (through a symlink): not written " \
           f"(see {tmp_path / 'a.py'} below)" in err
    assert f"refused: {tmp_path / 'a.py'} (a symlink to {tmp_path / 'real.py'}) is not in a git repository" in err
    assert "rewritten once" not in err
