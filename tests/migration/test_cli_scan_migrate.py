"""``compat-reg scan`` / ``compat-reg migrate`` through the real CLI: output, exit codes, safety."""

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from migration.cli import main

TF1_SOURCE = textwrap.dedent("""\
    import tf_slim as slim


    def arg_scope(weight_decay=0.0005):
        return slim.arg_scope([slim.conv2d], weights_regularizer=slim.l2_regularizer(weight_decay))
    """)
REWRITTEN = TF1_SOURCE.replace("import tf_slim as slim\n", "import tf_slim as slim\nimport tensorflow as tf\n") \
    .replace("slim.l2_regularizer(weight_decay)", "tf.keras.regularizers.L2(weight_decay / 2)")
BROKEN_SOURCE = "import tf_slim as slim\nx = slim.l2_regularizer(0.1\n"


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _git(cwd, *args):
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                   cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    """A git repository with one committed TF1 file."""
    _git(tmp_path, "init", "-q")
    (tmp_path / "model.py").write_text(TF1_SOURCE)
    _git(tmp_path, "add", "model.py")
    _git(tmp_path, "commit", "-q", "-m", "tf1")
    return tmp_path


def test_scan_table_and_summary(capsys, repo):
    code, out, _ = _run(capsys, "scan", str(repo))
    assert code == 0
    assert f"{repo / 'model.py'}:5:62" in out
    assert "1 regularization site(s) in 1 file(s):" in out
    assert "tf1_regularizer" in out.split("file(s):")[1]


def test_scan_json_has_the_schema_version_and_the_sites(capsys, repo):
    code, out, _ = _run(capsys, "scan", "--format", "json", str(repo))
    assert code == 0
    report = json.loads(out)
    assert (report["schema_version"], report["files"], report["errors"]) == (1, 1, [])
    [site] = report["sites"]
    assert (site["line"], site["col"], site["kind"], site["code"]) == (
        5, 62, "tf1_regularizer", "slim.l2_regularizer(weight_decay)")
    assert site["path"] == str(repo / "model.py") and site["suggestion"].startswith("Keras: L2(scale / 2)")


def test_scan_skips_unparseable_file_and_exits_1(capsys, repo):
    (repo / "broken.py").write_text(BROKEN_SOURCE)
    code, out, err = _run(capsys, "scan", "--format", "json", str(repo))
    assert code == 1
    assert [s["path"] for s in json.loads(out)["sites"]] == [str(repo / "model.py")]
    assert f"skipped {repo / 'broken.py'}:2: cannot parse" in err


def test_scan_reports_progress_on_large_trees(capsys, tmp_path):
    for i in range(200):
        (tmp_path / f"m{i:03d}.py").write_text("x = 1\n")
    code, _, err = _run(capsys, "scan", str(tmp_path))
    assert code == 0
    assert "compat-reg: scanned 0/200 files" in err and "compat-reg: scanned 200/200 files" in err
    code, _, err = _run(capsys, "scan", "-q", str(tmp_path))
    assert "scanned" not in err


def test_migrate_prints_a_diff_and_changes_nothing(capsys, repo):
    code, out, err = _run(capsys, "migrate", "--to", "keras", str(repo))
    assert code == 0
    assert out.startswith(f"--- a/{repo / 'model.py'}\n+++ b/{repo / 'model.py'}\n")
    assert "+import tensorflow as tf\n" in out and "+        return slim.arg_scope" not in out
    assert "-    return slim.arg_scope([slim.conv2d], weights_regularizer=slim.l2_regularizer(weight_decay))" in out
    assert (repo / "model.py").read_text() == TF1_SOURCE
    assert "1 rewritten, 0 left unchanged and reported" in err and "(diff only; --write to apply)" in err


def test_migrate_write_on_clean_file_is_atomic_and_keeps_mode(capsys, repo):
    os.chmod(repo / "model.py", 0o640)
    code, _, err = _run(capsys, "migrate", "--to", "keras", "--write", str(repo / "model.py"))
    assert code == 0
    assert (repo / "model.py").read_text() == REWRITTEN
    assert stat.S_IMODE(os.stat(repo / "model.py").st_mode) == 0o640
    assert sorted(os.listdir(repo)) == [".git", "model.py"]  # no temp file, no .orig
    assert f"wrote {repo / 'model.py'}" in err


def test_migrate_write_refuses_uncommitted_changes(capsys, repo):
    dirty = TF1_SOURCE + "# local edit\n"
    (repo / "model.py").write_text(dirty)
    code, _, err = _run(capsys, "migrate", "--to", "keras", "--write", str(repo))
    assert code == 1
    assert (repo / "model.py").read_text() == dirty
    assert f"refused: {repo / 'model.py'} has uncommitted changes in git; refusing to overwrite it" in err
    assert "pass --force (the original is then kept as" in err


def test_migrate_write_force_keeps_orig(capsys, repo):
    dirty = TF1_SOURCE + "# local edit\n"
    (repo / "model.py").write_text(dirty)
    code, _, err = _run(capsys, "migrate", "--to", "keras", "--write", "--force", str(repo))
    assert code == 0
    assert (repo / "model.py.orig").read_text() == dirty
    assert (repo / "model.py").read_text() == REWRITTEN + "# local edit\n"
    assert f"(original kept as {repo / 'model.py'}.orig)" in err


def test_migrate_outside_git_needs_force(capsys, tmp_path):
    (tmp_path / "model.py").write_text(TF1_SOURCE)
    code, _, err = _run(capsys, "migrate", "--to", "keras", "--write", str(tmp_path))
    assert code == 1 and "is not in a git repository" in err
    assert (tmp_path / "model.py").read_text() == TF1_SOURCE


def test_migrate_skips_unparseable_and_processes_the_rest(capsys, repo):
    (repo / "broken.py").write_text(BROKEN_SOURCE)
    code, out, err = _run(capsys, "migrate", "--to", "compat", "--format", "json", str(repo))
    assert code == 1
    report = json.loads(out)
    assert report["errors"][0]["path"] == str(repo / "broken.py")
    assert report["target"] == "compat" and report["changed_files"] == []
    assert [f["action"] for f in report["findings"]] == ["ok"]  # tf_slim runs as-is on TF 2.21
    assert "1 skipped" in err


def test_migrate_reports_unsafe_sites_on_stderr(capsys, tmp_path):
    (tmp_path / "t.py").write_text("import tensorflow as tf\nloss = tf.losses.get_regularization_loss()\n")
    code, out, err = _run(capsys, "migrate", "--to", "keras", str(tmp_path))
    assert code == 0 and out == ""
    assert f"{tmp_path / 't.py'}:2:8: regularization_loss: left unchanged: the collection is graph-wide" in err
    assert "suggestion: Keras: tf.add_n(model.losses)" in err


def test_force_without_write_is_a_usage_error(capsys, repo):
    code, _, err = _run(capsys, "migrate", "--to", "keras", "--force", str(repo))
    assert code == 2
    assert "--force only applies with --write (received --force without --write)" in err


@pytest.mark.parametrize("verb,needles", [
    ("scan", ["--format {table,json}", "site kinds:", "manual_l2_penalty", "by qualified name"]),
    ("migrate", ["--to {keras,compat}", "l2_regularizer(s)       -> tf.keras.regularizers.L2(s / 2)",
                 "--write", ".orig", "Exit code 1"]),
], ids=["scan", "migrate"])
def test_help(capsys, verb, needles):
    with pytest.raises(SystemExit) as exit_info:
        main([verb, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for needle in needles:
        assert needle in out


def test_missing_to_is_a_usage_error(capsys, repo):
    with pytest.raises(SystemExit) as exit_info:
        main(["migrate", str(repo)])
    assert exit_info.value.code == 2
    assert "the following arguments are required: --to" in capsys.readouterr().err


def test_console_script_entry_point(repo):
    script = os.path.join(os.path.dirname(sys.executable), "compat-reg")
    proc = subprocess.run([script, "scan", "--format", "json", str(repo)], capture_output=True, text=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 0, proc.stderr
    sites = json.loads(proc.stdout)["sites"]  # {schema_version, sites, errors, files}
    assert [(os.path.basename(s["path"]), s["line"], s["kind"]) for s in sites] == [("model.py", 5, "tf1_regularizer")]


@pytest.mark.parametrize("quiet", [False, True], ids=["progress", "quiet"])
def test_migrate_write_reports_progress_over_many_files(capsys, tmp_path, quiet):
    _git(tmp_path, "init", "-q")
    for i in range(201):
        (tmp_path / f"m{i:03d}.py").write_text(TF1_SOURCE)
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "tf1")
    code, _, err = _run(capsys, "migrate", "--to", "keras", "--write", *(["-q"] if quiet else []), str(tmp_path))
    assert code == 0
    progress = [line for line in err.splitlines() if line.startswith("compat-reg: wrote ")]
    assert progress == ([] if quiet else ["compat-reg: wrote 0/201 files", "compat-reg: wrote 200/201 files",
                                          "compat-reg: wrote 201/201 files"])
    assert (tmp_path / "m200.py").read_text() == REWRITTEN


def test_migrate_write_never_aborts_the_tree_for_one_file(capsys, tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "broken.py").write_text(BROKEN_SOURCE)
    (tmp_path / "net.py").write_text("import tensorflow as tf\nslim = tf.contrib.slim\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "tf1")
    code, _, err = _run(capsys, "migrate", "--to", "compat", "--write", str(tmp_path))
    assert code == 1 and f"skipped {tmp_path / 'broken.py'}:2: cannot parse" in err
    assert (tmp_path / "net.py").read_text() == "import tensorflow.compat.v1 as tf\nimport tf_slim\nslim = tf_slim\n"
    assert (tmp_path / "broken.py").read_text() == BROKEN_SOURCE
