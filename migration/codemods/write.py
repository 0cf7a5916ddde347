"""Writing rewritten files so that no byte of a user's file is ever lost.

The guarantees (docs/migrate.md, "Write guarantees"; each clause has a test in
tests/migration/test_write_safety.py):

1. **Only files git holds a copy of are written.** A file is written without
   ``force`` only if git tracks it and it is clean: no staged or unstaged change,
   no merge conflict, not marked assume-unchanged or skip-worktree (git does not
   look at such files, so "clean" would mean nothing). Ignored and untracked
   files, and files outside any git repository (or in one git cannot read), are
   refused unless ``force``.
2. **With ``force``, a file git holds no clean copy of is first backed up** next to
   it under a fresh name: ``x.py.orig``, else ``x.py.orig.1``, ``x.py.orig.2``...
   The name is created with ``O_CREAT | O_EXCL``, so a backup never overwrites
   anything (a user's own ``x.py.orig``, the backup of an earlier run). The backup
   has the original's bytes, mode and times, and is on disk (fsync) before the
   original is replaced.
3. **Symlinks are followed**: the file written is the link's target, which must
   itself pass (1) in its own repository; the link stays a link. Several paths to
   the same file (links, or a link and its target) are rewritten once per plan.
4. **A file without write permission** (no write bit in its mode, or not writable
   by this process; the bits are checked too because ``os.access`` is always true
   for root, and ``os.replace`` needs only the directory's permission) or with several
   hard links (replacing it would detach the other names) **is refused unless
   ``force``**. A path that is not a regular file, or that changed after it was
   checked, is always refused.
5. **The replace is atomic**: the new text goes to a temporary file in the target's
   directory (same file system), is fsynced, gets the original's mode (and owner,
   where permitted), and ``os.replace``s the original. Killing the process at any
   moment leaves either the old or the new file (and at worst a stray
   ``.compat-reg-*.tmp``).

**One batched git query per repository.** ``plan_writes(paths)`` finds each
path's repository by walking up to the nearest ``.git`` (cached per directory),
confirms it with one ``git rev-parse --show-toplevel`` per repository, then runs
``git ls-files -s -v`` and ``git status --porcelain=v1 --ignored`` once per
repository over all its paths (in chunks of ~100 KB of arguments). git runs with
every ``GIT_*`` variable of the environment removed (a ``GIT_DIR`` set by a hook
would point the query at another repository), literal pathspecs, and
``GIT_OPTIONAL_LOCKS=0`` (the user's index is not rewritten).
"""

import dataclasses
import errno
import os
import stat
import subprocess
import tempfile

_CHUNK_BYTES = 100_000
_REGULAR_MODES = (b"100644", b"100755")

# reason -> (what is wrong, what to do, may --force override it). The message lists
# every reason found, in this order.
REASONS = {
    "modified": ("has uncommitted changes in git", "commit or stash them first", True),
    "conflicted": ("has unresolved merge conflicts in git", "resolve and commit them first", True),
    "untracked": ("is not tracked by git, so git holds no copy of it", "commit it first", True),
    "ignored": ("is ignored by git (.gitignore), so git holds no copy of it",
                "commit it first (git add -f)", True),
    "assume-unchanged": ("is marked assume-unchanged in git, so git does not see its changes",
                         "clear the flag (git update-index --no-assume-unchanged) and commit it first", True),
    "skip-worktree": ("is marked skip-worktree in git (or outside a sparse checkout), so git does not see "
                      "its changes", "clear the flag (git update-index --no-skip-worktree) and commit it first",
                      True),
    "no-git": ("is not in a git repository, so git holds no copy of it", "commit it to a repository first", True),
    "git-error": ("is in a repository git cannot read", "fix the repository first", True),
    "read-only": ("has no write permission", "make it writable (chmod u+w)", True),
    "hard-links": ("has other hard links, which replacing it would leave with the old text",
                   "break the links (cp FILE tmp && mv tmp FILE)", True),
    "not-regular": ("is not a regular file", "check the path", False),
    "missing": ("cannot be read", "check the path", False),
    "changed": ("changed on disk after it was checked", "rerun on the current text", False),
}
_GIT_REASONS = frozenset(("modified", "conflicted", "untracked", "ignored", "assume-unchanged",
                          "skip-worktree", "no-git", "git-error"))


class RefusedWrite(Exception):
    """A file ``write`` will not overwrite; ``reasons`` are keys of ``REASONS``.

    ``forceable`` is true if ``force=True`` (``--force``) would write it.
    """

    def __init__(self, message, path=None, reasons=()):
        super().__init__(message)
        self.path = path
        self.reasons = tuple(reasons)
        self.forceable = all(REASONS[r][2] for r in self.reasons)


@dataclasses.dataclass
class FileCheck:
    """What ``plan_writes`` found about one path; ``target`` is the real file written."""

    path: str
    target: str
    reasons: tuple = ()  # keys of REASONS, empty when the file may be written as is
    detail: str = ""  # e.g. git's error message
    st: os.stat_result = None  # os.stat of the target when checked
    alias_of: str = None  # an earlier path of the plan with the same target

    @property
    def needs_backup(self):
        """Git holds no clean copy: ``force`` keeps one as ``x.py.orig[.N]``."""
        return any(r in _GIT_REASONS for r in self.reasons)


def _git_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_LITERAL_PATHSPECS="1", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    return env


def _git(root, args, paths=None):
    """Run git in ``root``; ``(returncode, stdout bytes, stderr str)``; ``paths`` chunked."""
    chunks = [[]]
    if paths is not None:
        size = 0
        for rel in paths:
            if size + len(rel) > _CHUNK_BYTES and chunks[-1]:
                chunks.append([])
                size = 0
            chunks[-1].append(rel)
            size += len(rel) + 1
    out = b""
    for chunk in chunks:
        argv = [b"git", *[a.encode() for a in args]] + ([b"--", *chunk] if paths is not None else [])
        try:
            proc = subprocess.run(argv, cwd=root, env=_git_env(), capture_output=True, check=False)
        except OSError as exc:
            return 127, b"", str(exc)
        if proc.returncode != 0:
            return proc.returncode, b"", proc.stderr.decode(errors="replace").strip()
        out += proc.stdout
    return 0, out, ""


def _nearest_git_dir(directory, cache):
    """The nearest ancestor of ``directory`` (itself included) holding ``.git``, or None."""
    seen = []
    d = directory
    while d not in cache:
        seen.append(d)
        if os.path.lexists(os.path.join(d, ".git")):
            cache[d] = d
            break
        parent = os.path.dirname(d)
        if parent == d:
            cache[d] = None
            break
        d = parent
    for s in seen:
        cache[s] = cache[d]
    return cache[d]


def _repo_states(root, targets):
    """``{target: reasons}`` for ``targets`` (real paths) inside the work tree ``root``."""
    rels = {os.fsencode(os.path.relpath(t, root)): t for t in targets}
    code, listing, err = _git(root, ["ls-files", "-z", "-s", "-v"], list(rels))
    if code == 0:
        code, status, err = _git(root, ["status", "--porcelain=v1", "-z", "--ignored=matching",
                                        "--untracked-files=all", "--ignore-submodules=all"], list(rels))
    if code != 0:
        return {t: (("git-error",), err) for t in targets}
    tracked = {}  # rel -> set of reasons
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, rel = entry.split(b"\t", 1)
        tag, mode, _, stage = meta.split(b" ")
        reasons = tracked.setdefault(rel, set())
        if tag.islower():
            reasons.add("assume-unchanged")
        if tag.upper() == b"S":
            reasons.add("skip-worktree")
        if stage != b"0":
            reasons.add("conflicted")
        if mode not in _REGULAR_MODES:
            reasons.add("modified")  # tracked as a link/submodule, now a regular file
    modified, untracked, ignored, ignored_dirs = set(), set(), set(), []
    entries = iter(status.split(b"\0"))
    for entry in entries:
        if not entry:
            continue
        xy, rel = entry[:2], entry[3:]
        if xy == b"??":
            untracked.add(rel)
        elif xy == b"!!":
            (ignored_dirs.append(rel) if rel.endswith(b"/") else ignored.add(rel))
        else:
            modified.add(rel)
            if b"R" in xy or b"C" in xy:
                next(entries, None)  # the rename's source path
    result = {}
    for rel, target in rels.items():
        if rel in tracked:
            reasons = tracked[rel] | ({"modified"} if rel in modified and "conflicted" not in tracked[rel] else set())
        elif rel in ignored or any(rel.startswith(d) for d in ignored_dirs):
            reasons = {"ignored"}
        else:
            reasons = {"untracked"}  # also: not reported at all, e.g. inside a nested repository
        result[target] = (tuple(r for r in REASONS if r in reasons), "")
    return result


def _file_reasons(target, st):
    reasons = []
    if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(target, os.W_OK):
        reasons.append("read-only")
    if st.st_nlink > 1:
        reasons.append("hard-links")
    return reasons


def _message(path, target, reasons, detail, backup_hint):
    whats = [REASONS[r][0] + (f" ({detail})" if r in ("git-error", "missing") and detail else "")
             for r in reasons]
    where = f"{path} (a symlink to {target})" if os.path.islink(path) else path
    fixes = " and ".join(dict.fromkeys(REASONS[r][1] for r in reasons))
    text = f"{where} {' and '.join(whats)}; refusing to overwrite it. {fixes[0].upper()}{fixes[1:]}"
    if not all(REASONS[r][2] for r in reasons):
        return text + "; nothing was written."
    return text + (", or pass --force" + (f" (the original is then kept as {backup_hint})" if backup_hint
                                          else " (its mode is kept)") + ".")


class WritePlan:
    """The checks of a set of paths, made with one batched git query per repository.

    ``refusal(path)`` is the ``RefusedWrite`` that ``write(path, ...)`` would raise
    (or None); ``write`` replaces the file, keeping a backup when ``force`` needs one.
    """

    def __init__(self, paths, force=False):
        self.force = force
        self.checks = {}
        self._written = {}  # target -> (path, bytes written, backup)
        self._by_target = {}
        self.add(paths)

    def add(self, paths):
        """Check more paths (one git query per repository among them)."""
        new = [p for p in dict.fromkeys(os.fspath(p) for p in paths) if p not in self.checks]
        by_root, dir_cache = {}, {}
        for path in new:
            target = os.path.realpath(path)
            check = FileCheck(path=path, target=target)
            self.checks[path] = check
            first = self._by_target.setdefault(target, path)
            check.alias_of = first if first != path else None
            try:
                check.st = os.stat(target)
            except OSError as exc:
                check.reasons, check.detail = ("missing",), exc.strerror or str(exc)
                continue
            if not stat.S_ISREG(check.st.st_mode):
                check.reasons = ("not-regular",)
                continue
            by_root.setdefault(_nearest_git_dir(os.path.dirname(target), dir_cache), []).append(check)
        for candidate, checks in by_root.items():
            states = self._query(candidate, [c.target for c in checks])
            for c in checks:
                git_reasons, c.detail = states[c.target]
                c.reasons = git_reasons + tuple(_file_reasons(c.target, c.st))

    @staticmethod
    def _query(candidate, targets):
        if candidate is None:
            return {t: (("no-git",), "") for t in targets}
        code, out, err = _git(candidate, ["rev-parse", "--show-toplevel"])
        if code != 0:
            return {t: (("git-error",), err) for t in targets}
        root = os.path.realpath(os.fsdecode(out.strip()))
        inside = [t for t in targets if os.path.commonpath([root, t]) == root]
        states = {t: (("no-git",), "") for t in targets if t not in inside}
        states.update(_repo_states(root, inside) if inside else {})
        return states

    def check(self, path):
        path = os.fspath(path)
        if path not in self.checks:
            self.add([path])
        return self.checks[path]

    def alias_of(self, path):
        """The earlier path of this plan that is the same file (through symlinks), or None."""
        return self.check(path).alias_of

    def refusal(self, path):
        """The ``RefusedWrite`` for ``path`` under this plan's ``force``, or None."""
        c = self.check(path)
        blocking = [r for r in c.reasons if not (self.force and REASONS[r][2])]
        if not blocking:
            return None
        hint = f"{c.target}.orig, or .orig.N if that name is taken" if c.needs_backup else None
        return RefusedWrite(_message(path, c.target, blocking, c.detail, hint), path, blocking)

    def write(self, path, text, encoding="utf-8", original=None):
        """Replace the file at ``path`` by ``text``; returns the backup path or None.

        ``original``: the text the new one was computed from; if the file no longer
        holds it, nothing is written (``RefusedWrite``, reason ``changed``). If the
        file already holds ``text``, nothing is written and nothing is refused.

        Raises:
          RefusedWrite: see ``refusal``; also when the file changed on disk since
            the plan checked it.
        """
        c = self.check(path)
        data = text.encode(encoding)
        if c.target in self._written:
            first, written, backup = self._written[c.target]
            if written == data:
                return None
            raise RefusedWrite(f"{path} is the same file as {first}, already rewritten in this run with "
                               f"other text; refusing to write it twice.", path, ("changed",))
        refused = self.refusal(path)
        if c.st is None or not stat.S_ISREG(c.st.st_mode):
            raise refused
        now, current = _read_regular(c.target)
        if current == data:
            return None
        if refused is not None:
            raise refused
        if current is None or _stat_key(now) != _stat_key(c.st) or (
                original is not None and current != original.encode(encoding)):
            raise RefusedWrite(_message(path, c.target, ["changed"], "", None), path, ("changed",))
        backup = _backup(c.target, current, now) if c.needs_backup else None
        _replace(c.target, data, now)
        self._written[c.target] = (path, data, backup)
        return backup


def plan_writes(paths, force=False):
    """A ``WritePlan`` for ``paths``: one batched git query per repository among them."""
    return WritePlan(paths, force=force)


def write_file(path, text, encoding="utf-8", force=False):
    """Replace ``path`` by ``text`` under the guarantees above; returns the backup path or None.

    A one-file ``plan_writes``; for many files build one plan and call ``plan.write``.

    Raises:
      RefusedWrite: if ``path`` is not a tracked, clean, writable file and ``force``
        is false, or is not a regular file at all.
    """
    return WritePlan([path], force=force).write(path, text, encoding)


def _stat_key(st):
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _read_regular(path):
    """``(stat, bytes)`` of ``path`` if it is (still) a regular file, else ``(stat or None, None)``.

    Opened with ``O_NONBLOCK`` and checked with ``fstat`` on the same descriptor, so a
    path swapped for a FIFO or a device after the plan cannot block the write.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None, None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        return (st, handle.read()) if stat.S_ISREG(st.st_mode) else (st, None)


def _backup(target, data, st):
    """Write ``data`` to the first free name of ``target.orig``, ``.orig.1``, ...; return it."""
    for n in range(10_000):
        name = target + ".orig" + (f".{n}" if n else "")
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(name, stat.S_IMODE(st.st_mode))
            os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns))
        except BaseException:
            os.unlink(name)
            raise
        return name
    raise FileExistsError(errno.EEXIST, f"no free backup name for {target} (.orig to .orig.9999 exist)")


def _replace(target, data, st):
    """Atomically replace ``target`` by ``data``, keeping mode (and owner where permitted)."""
    fd, tmp = tempfile.mkstemp(prefix=".compat-reg-", suffix=".tmp", dir=os.path.dirname(target))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                try:
                    os.fchown(handle.fileno(), st.st_uid, st.st_gid)
                except OSError:
                    pass  # not permitted: the owner becomes the writing user
            os.fchmod(handle.fileno(), stat.S_IMODE(st.st_mode))
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
