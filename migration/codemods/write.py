"""Writing rewritten files safely: git-clean check, atomic replace, ``.orig`` backups.

``write_file`` never leaves a half-written file: it writes a temporary file in the
same directory (same file system), copies the original's permission bits, flushes
it to disk and ``os.replace``s it over the original, which is atomic on POSIX.
"""

import os
import shutil
import subprocess
import tempfile


class RefusedWrite(Exception):
    """The file has uncommitted changes (or is not tracked) and ``--force`` was not given."""


def git_state(path):
    """``"clean"``, ``"dirty"`` (uncommitted or untracked), or ``"no-git"``.

    Uses ``git status --porcelain`` in the file's directory, so it works for trees
    that are not the current directory and for several repositories at once.
    """
    directory = os.path.dirname(os.path.abspath(path)) or "."
    try:
        proc = subprocess.run(
            ["git", "status", "--porcelain", "--ignored=no", "--untracked-files=all", "--", os.path.basename(path)],
            cwd=directory, capture_output=True, text=True, check=False)
    except OSError:
        return "no-git"
    if proc.returncode != 0:
        return "no-git"
    return "dirty" if proc.stdout.strip() else "clean"


def write_file(path, text, encoding="utf-8", force=False):
    """Replace ``path`` by ``text`` atomically; returns the backup path or ``None``.

    Raises:
      RefusedWrite: if ``path`` has uncommitted git changes, is untracked, or is
        outside any git repository, and ``force`` is false. With ``force`` the
        original is first copied to ``path + ".orig"`` (its only other copy).
    """
    state = git_state(path)
    backup = None
    if state != "clean":
        if not force:
            why = {"dirty": "has uncommitted changes (or is untracked) in git",
                   "no-git": "is not in a git repository, so git holds no copy of it"}[state]
            raise RefusedWrite(
                f"{path} {why}; refusing to overwrite it. Commit or stash it first, or pass --force "
                f"(the original is then kept as {path}.orig).")
        backup = path + ".orig"
        shutil.copy2(path, backup)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".compat-reg-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return backup
