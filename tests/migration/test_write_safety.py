"""The write guarantees of ``migration.codemods.write`` (issue 11, cases 1 and 6): no byte of a user's file is lost.

Each clause of write.py's docstring (docs/migrate.md, "Write guarantees") has a test here, on real
git repositories in temporary directories.
"""

import os
import stat
import subprocess
import sys
import textwrap

import pytest

from migration.cli import main
from migration.codemods import write
from migration.codemods.write import RefusedWrite, write_file

OLD = "x = 1\n"
NEW = "x = 2\n"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _git(cwd, *args):
    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout


def _repo(d, files, commit=True):
    """A git repository in ``d`` with ``files`` ({relative path: text}) committed."""
    d.mkdir(parents=True, exist_ok=True)
    _git(d, "init", "-q")
    for rel, text in files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(text)
    if commit:
        _git(d, "add", "-A")
        _git(d, "commit", "-q", "-m", "init")
    return d


def _listing(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*") if ".git" not in p.parts)


@pytest.fixture
def repo(tmp_path):
    return _repo(tmp_path / "repo", {".gitignore": "*.gen.py\nbuild/\n", "m.py": OLD})


# --- 1. only tracked, clean files are written without force -------------------------------------------------------

def _ignored(repo):
    (repo / "m.gen.py").write_text(OLD)
    return repo / "m.gen.py"


def _ignored_dir(repo):
    (repo / "build").mkdir()
    (repo / "build" / "m.py").write_text(OLD)
    return repo / "build" / "m.py"


def _untracked(repo):
    (repo / "new.py").write_text(OLD)
    return repo / "new.py"


def _assume_unchanged(repo):
    _git(repo, "update-index", "--assume-unchanged", "m.py")
    (repo / "m.py").write_text("x = 1  # local edit git does not see\n")
    return repo / "m.py"


def _skip_worktree(repo):
    _git(repo, "update-index", "--skip-worktree", "m.py")
    (repo / "m.py").write_text("x = 1  # local edit git does not see\n")
    return repo / "m.py"


def _modified(repo):
    (repo / "m.py").write_text("x = 1  # local edit\n")
    return repo / "m.py"


def _staged(repo):
    (repo / "m.py").write_text("x = 1  # staged edit\n")
    _git(repo, "add", "m.py")
    return repo / "m.py"


def _conflicted(repo):
    _git(repo, "checkout", "-q", "-b", "other")
    (repo / "m.py").write_text("x = 'other'\n")
    _git(repo, "commit", "-q", "-am", "other")
    _git(repo, "checkout", "-q", "-")
    (repo / "m.py").write_text("x = 'main'\n")
    _git(repo, "commit", "-q", "-am", "main")
    subprocess.run(["git", "merge", "-q", "other"], cwd=repo, capture_output=True)  # exits 1: the conflict
    return repo / "m.py"


def _outside_git(repo):
    outside = repo.parent / "outside"
    outside.mkdir()
    (outside / "m.py").write_text(OLD)
    return outside / "m.py"


def _git_dir_elsewhere(repo):
    """A ``GIT_DIR`` in the environment names another repository that tracks ``new.py``."""
    other = _repo(repo.parent / "other", {"new.py": OLD})
    os.environ["GIT_DIR"] = str(other / ".git")
    return _untracked(repo)


GIT_CASES = [  # (id, make the file, reason)
    ("ignored", _ignored, "ignored"),
    ("in-ignored-dir", _ignored_dir, "ignored"),
    ("untracked", _untracked, "untracked"),
    ("assume-unchanged", _assume_unchanged, "assume-unchanged"),
    ("skip-worktree", _skip_worktree, "skip-worktree"),
    ("modified", _modified, "modified"),
    ("staged", _staged, "modified"),
    ("conflicted", _conflicted, "conflicted"),
    ("outside-git", _outside_git, "no-git"),
    ("GIT_DIR-of-another-repo", _git_dir_elsewhere, "untracked"),
]


@pytest.fixture
def restore_git_dir():
    saved = os.environ.pop("GIT_DIR", None)
    yield
    os.environ.pop("GIT_DIR", None)
    if saved is not None:
        os.environ["GIT_DIR"] = saved


@pytest.mark.parametrize("make,reason", [c[1:] for c in GIT_CASES], ids=[c[0] for c in GIT_CASES])
def test_refused_without_force_and_nothing_changes(repo, make, reason, restore_git_dir):
    path = make(repo)
    before, listing = path.read_bytes(), _listing(path.parent)
    with pytest.raises(RefusedWrite) as info:
        write_file(str(path), NEW)
    assert info.value.reasons == (reason,)
    assert str(info.value).startswith(f"{path} {write.REASONS[reason][0]}; refusing to overwrite it.")
    assert str(info.value).endswith(f", or pass --force (the original is then kept as {path}.orig, "
                                    "or .orig.N if that name is taken).")
    assert path.read_bytes() == before and _listing(path.parent) == listing


@pytest.mark.parametrize("make,reason", [c[1:] for c in GIT_CASES], ids=[c[0] for c in GIT_CASES])
def test_force_writes_and_keeps_the_original_bytes(repo, make, reason, restore_git_dir):
    path = make(repo)
    before = path.read_bytes()
    assert write_file(str(path), NEW, force=True) == f"{path}.orig"
    assert path.read_text() == NEW
    assert open(f"{path}.orig", "rb").read() == before


def test_tracked_clean_file_is_written_without_backup(repo):
    assert write_file(str(repo / "m.py"), NEW) is None
    assert (repo / "m.py").read_text() == NEW
    assert _listing(repo) == [".gitignore", "m.py"]  # no backup, no temporary file


@pytest.mark.parametrize("name", ["x[ab].py", "*.py", "modèle.py", "a b.py"], ids=["brackets", "star", "utf8", "space"])
def test_file_names_are_literal_pathspecs(tmp_path, name):
    repo = _repo(tmp_path / "repo", {name: OLD})
    (repo / "xa.py").write_text(OLD)  # untracked, matched by the glob x[ab].py
    (repo / "other.py").write_text(OLD)  # untracked, matched by the glob *.py
    assert write_file(str(repo / name), NEW) is None
    assert (repo / name).read_text() == NEW


def test_nested_repository_is_asked_about_its_own_files(tmp_path):
    outer = _repo(tmp_path / "outer", {"a.py": OLD})
    inner = _repo(outer / "inner", {"b.py": OLD})
    plan = write.plan_writes([str(outer / "a.py"), str(inner / "b.py")])
    assert plan.refusal(str(outer / "a.py")) is None and plan.refusal(str(inner / "b.py")) is None


# --- 2. a backup never overwrites anything --------------------------------------------------------------------------

def test_existing_user_orig_file_is_never_clobbered(repo):
    path = _untracked(repo)
    (repo / "new.py.orig").write_text("my own notes\n")
    assert write_file(str(path), NEW, force=True) == f"{path}.orig.1"
    assert (repo / "new.py.orig").read_text() == "my own notes\n"
    assert (repo / "new.py.orig.1").read_text() == OLD


def test_second_forced_run_keeps_the_first_backup(repo):
    path = _untracked(repo)
    assert write_file(str(path), NEW, force=True) == f"{path}.orig"
    assert write_file(str(path), "x = 3\n", force=True) == f"{path}.orig.1"
    assert [(repo / n).read_text() for n in ("new.py.orig", "new.py.orig.1", "new.py")] == [OLD, NEW, "x = 3\n"]


def test_backup_name_taken_by_a_dangling_symlink_is_skipped(repo):
    path = _untracked(repo)
    os.symlink(repo / "nowhere", repo / "new.py.orig")
    assert write_file(str(path), NEW, force=True) == f"{path}.orig.1"
    assert os.readlink(repo / "new.py.orig") == str(repo / "nowhere") and not (repo / "nowhere").exists()


def test_backup_keeps_mode_and_mtime(repo):
    path = _untracked(repo)
    os.chmod(path, 0o751)
    os.utime(path, ns=(1_000_000_000, 2_000_000_000))
    backup = write_file(str(path), NEW, force=True)
    st = os.stat(backup)
    assert (stat.S_IMODE(st.st_mode), st.st_mtime_ns) == (0o751, 2_000_000_000)


# --- 3. symlinks are followed: the target is rewritten once, the link stays a link ------------------------------------

@pytest.fixture
def linked(tmp_path):
    repo = _repo(tmp_path / "repo", {"real.py": OLD})
    os.symlink("real.py", repo / "a.py")
    os.symlink("real.py", repo / "b.py")
    _git(repo, "add", "a.py", "b.py")
    _git(repo, "commit", "-q", "-m", "links")
    return repo


def test_tracked_symlink_stays_a_symlink_and_its_target_is_rewritten(linked):
    assert write_file(str(linked / "a.py"), NEW) is None
    assert os.path.islink(linked / "a.py") and os.readlink(linked / "a.py") == "real.py"
    assert (linked / "real.py").read_text() == NEW
    assert _git(linked, "status", "--porcelain") == " M real.py\n"


def test_paths_sharing_a_target_are_rewritten_once(linked):
    paths = [str(linked / n) for n in ("a.py", "b.py", "real.py")]
    plan = write.plan_writes(paths)
    assert [plan.alias_of(p) for p in paths] == [None, paths[0], paths[0]]
    assert plan.write(paths[0], NEW, original=OLD) is None
    inode = os.stat(linked / "real.py").st_ino
    assert plan.write(paths[1], NEW, original=OLD) is None and plan.write(paths[2], NEW, original=OLD) is None
    assert os.stat(linked / "real.py").st_ino == inode  # not replaced a second time
    with pytest.raises(RefusedWrite, match=r"is the same file as .*a\.py, already rewritten in this run with other"):
        plan.write(paths[1], "x = 3\n")
    assert (linked / "real.py").read_text() == NEW and [os.path.islink(p) for p in paths] == [True, True, False]


def test_symlink_is_judged_by_its_target(tmp_path):
    repo = _repo(tmp_path / "repo", {"keep.py": OLD})
    (tmp_path / "loose.py").write_text(OLD)  # outside any repository
    os.symlink(tmp_path / "loose.py", repo / "link.py")
    _git(repo, "add", "link.py")
    _git(repo, "commit", "-q", "-m", "link")
    with pytest.raises(RefusedWrite) as info:
        write_file(str(repo / "link.py"), NEW)
    assert info.value.reasons == ("no-git",)
    assert str(info.value).startswith(f"{repo / 'link.py'} (a symlink to {tmp_path / 'loose.py'}) is not in a git")
    assert write_file(str(repo / "link.py"), NEW, force=True) == f"{tmp_path / 'loose.py'}.orig"
    assert os.path.islink(repo / "link.py") and (tmp_path / "loose.py").read_text() == NEW


# --- 4. permissions, hard links, non-regular files ----------------------------------------------------------------

def test_read_only_file_is_refused_unless_force_and_stays_read_only(repo):
    os.chmod(repo / "m.py", 0o444)
    with pytest.raises(RefusedWrite) as info:
        write_file(str(repo / "m.py"), NEW)
    assert info.value.reasons == ("read-only",)
    assert str(info.value) == (f"{repo / 'm.py'} has no write permission; refusing to overwrite it. Make it "
                               "writable (chmod u+w), or pass --force (its mode is kept).")
    assert (repo / "m.py").read_text() == OLD
    assert write_file(str(repo / "m.py"), NEW, force=True) is None  # git holds the original: no backup
    assert (repo / "m.py").read_text() == NEW and stat.S_IMODE(os.stat(repo / "m.py").st_mode) == 0o444


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755, 0o4755], ids=["600", "640", "755", "setuid-755"])
def test_mode_is_kept(repo, mode):
    os.chmod(repo / "m.py", mode)
    _git(repo, "config", "core.fileMode", "false")  # else git calls a mode change a modification
    write_file(str(repo / "m.py"), NEW)
    assert stat.S_IMODE(os.stat(repo / "m.py").st_mode) == mode


def test_owner_and_group_are_kept_where_permitted(repo):
    if os.geteuid() != 0:
        pytest.skip("only root can give a file another owner to set the case up")
    os.chown(repo / "m.py", 12345, 23456)
    write_file(str(repo / "m.py"), NEW)
    st = os.stat(repo / "m.py")
    assert (st.st_uid, st.st_gid, (repo / "m.py").read_text()) == (12345, 23456, NEW)


def test_hard_linked_file_is_refused_unless_force(repo):
    os.link(repo / "m.py", repo.parent / "other-name.py")
    with pytest.raises(RefusedWrite) as info:
        write_file(str(repo / "m.py"), NEW)
    assert info.value.reasons == ("hard-links",)
    write_file(str(repo / "m.py"), NEW, force=True)
    assert (repo / "m.py").read_text() == NEW and (repo.parent / "other-name.py").read_text() == OLD


def _write_in_child(path, force):
    code = f"from migration.codemods.write import *\ntry:\n    write_file({str(path)!r}, 'x', force={force})\n" \
           "except RefusedWrite as exc:\n    print(exc.reasons[0], exc.forceable)\n"
    try:
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"write_file({path!r}) did not return within 30 s")
    return proc.stdout.strip()


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_fifo_is_refused_even_with_force_and_never_opened(repo, force):
    os.mkfifo(repo / "pipe.py")
    assert _write_in_child(repo / "pipe.py", force) == "not-regular False"
    assert stat.S_ISFIFO(os.stat(repo / "pipe.py").st_mode)


def test_missing_file_is_refused(repo):
    with pytest.raises(RefusedWrite) as info:
        write_file(str(repo / "gone.py"), NEW, force=True)
    assert info.value.reasons == ("missing",) and not info.value.forceable
    assert not (repo / "gone.py").exists()


# --- 5. atomic replace, and no write from stale checks --------------------------------------------------------------

def test_file_changed_after_the_plan_is_not_overwritten(repo):
    plan = write.plan_writes([str(repo / "m.py")])
    (repo / "m.py").write_text("x = 1  # edited meanwhile, longer\n")
    with pytest.raises(RefusedWrite) as info:
        plan.write(str(repo / "m.py"), NEW)
    assert info.value.reasons == ("changed",)
    assert (repo / "m.py").read_text() == "x = 1  # edited meanwhile, longer\n"


def test_text_computed_from_other_contents_is_not_written(repo):
    plan = write.plan_writes([str(repo / "m.py")])
    with pytest.raises(RefusedWrite, match="changed on disk after it was checked"):
        plan.write(str(repo / "m.py"), NEW, original="x = 0\n")
    assert (repo / "m.py").read_text() == OLD


def test_unencodable_text_leaves_the_file_and_directory_untouched(repo):
    with pytest.raises(UnicodeEncodeError):
        write_file(str(repo / "m.py"), "x = '€'\n", encoding="latin-1")
    assert (repo / "m.py").read_text() == OLD and _listing(repo) == [".gitignore", "m.py"]


def test_unwritable_directory_leaves_no_trace(repo):
    os.mkdir(repo / "ro")
    (repo / "ro" / "m.py").write_text(OLD)
    _git(repo, "add", "ro/m.py")
    _git(repo, "commit", "-q", "-m", "ro")
    os.chmod(repo / "ro", 0o555)
    try:
        if os.access(repo / "ro", os.W_OK):  # root ignores directory permissions: write must then succeed
            assert write_file(str(repo / "ro" / "m.py"), NEW) is None and (repo / "ro" / "m.py").read_text() == NEW
        else:
            with pytest.raises(PermissionError):
                write_file(str(repo / "ro" / "m.py"), NEW)
            assert (repo / "ro" / "m.py").read_text() == OLD
        assert os.listdir(repo / "ro") == ["m.py"]
    finally:
        os.chmod(repo / "ro", 0o755)


def test_identical_text_writes_nothing_and_refuses_nothing(repo):
    path = _untracked(repo)
    inode = os.stat(path).st_ino
    assert write_file(str(path), OLD) is None
    assert os.stat(path).st_ino == inode and _listing(repo) == [".gitignore", "m.py", "new.py"]


# --- 6. one batched git query per repository --------------------------------------------------------------------------

@pytest.fixture
def git_log(tmp_path, monkeypatch):
    """Every git command run, logged by a wrapper in front of the real git on PATH."""
    bin_dir, log = tmp_path / "bin", tmp_path / "git.log"
    bin_dir.mkdir()
    real = subprocess.run(["which", "git"], capture_output=True, text=True, check=True).stdout.strip()
    (bin_dir / "git").write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo "$1" >> {log}
        exec {real} "$@"
        """))
    os.chmod(bin_dir / "git", 0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_one_batched_query_per_repository(tmp_path, git_log):
    repos = [_repo(tmp_path / name, {f"pkg{d}/m{i}.py": OLD for d in range(3) for i in range(20)})
             for name in ("r1", "r2")]
    git_log.write_text("")
    paths = [str(r / f"pkg{d}/m{i}.py") for r in repos for d in range(3) for i in range(20)]
    plan = write.plan_writes(paths)
    assert sorted(git_log.read_text().split()) == ["ls-files"] * 2 + ["rev-parse"] * 2 + ["status"] * 2
    for path in paths:
        plan.write(path, NEW)
    assert git_log.read_text().count("\n") == 6  # writing asks git nothing more
    assert all(open(p).read() == NEW for p in paths)


def test_paths_beyond_one_command_line_are_chunked(tmp_path):
    repo = _repo(tmp_path / "repo", {f"{'d' * 200}/m{i:04d}.py": OLD for i in range(600)})  # ~125 KB of paths
    (repo / "untracked.py").write_text(OLD)
    paths = sorted(str(p) for p in repo.rglob("*.py"))
    plan = write.plan_writes(paths)
    refused = [p for p in paths if plan.refusal(p) is not None]
    assert refused == [str(repo / "untracked.py")]


# --- through the CLI: migrate --write ---------------------------------------------------------------------------------

TF1 = "import tf_slim as slim\nreg = slim.l2_regularizer(0.1)\n"


def test_cli_never_overwrites_an_ignored_file(capsys, repo):
    (repo / "model.gen.py").write_text(TF1)
    assert main(["migrate", "--to", "keras", "--write", "-q", str(repo)]) == 1
    assert f"refused: {repo / 'model.gen.py'} is ignored by git (.gitignore)" in capsys.readouterr().err
    assert (repo / "model.gen.py").read_text() == TF1 and not (repo / "model.gen.py.orig").exists()


def test_cli_second_forced_run_keeps_the_true_original(capsys, repo):
    (repo / "model.gen.py").write_text(TF1)
    assert main(["migrate", "--to", "keras", "--write", "--force", "-q", str(repo)]) == 0
    (repo / "model.gen.py").write_text(TF1 + "other = slim.l1_regularizer(0.5)\n")
    assert main(["migrate", "--to", "keras", "--write", "--force", "-q", str(repo)]) == 0
    assert (repo / "model.gen.py.orig").read_text() == TF1
    assert (repo / "model.gen.py.orig.1").read_text() == TF1 + "other = slim.l1_regularizer(0.5)\n"
    assert "tf.keras.regularizers.L1(0.5)" in (repo / "model.gen.py").read_text()
