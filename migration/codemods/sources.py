"""Reading Python sources for ``scan`` and ``migrate``: regular files only, with a size cap.

``iter_python_files(paths)`` selects files (every ``*.py`` under the directories
given, files given explicitly kept as given). ``read_source(path)`` returns
``(text, encoding)`` as Python reads the file (PEP 263 / BOM, via
``tokenize.detect_encoding``) and never blocks or grows without bound: the path is
opened with ``O_NONBLOCK | O_NOCTTY`` (opening a FIFO or a terminal does not wait),
checked with ``fstat`` on that descriptor (so what is checked is what is read), and
at most ``max_bytes + 1`` bytes are read. Anything else is a ``SkippedFile`` with the
reason: a FIFO, a device (also through a ``*.py`` symlink to ``/dev/zero``), a
directory, a socket, a file over the cap, bytes that do not decode, a file that
cannot be opened.
"""

import argparse
import io
import os
import re
import stat
import tokenize

DEFAULT_MAX_BYTES = 4 * 1024 * 1024  # 3x the largest .py of TF, torch and Keras installed (1.4 MB)
_CHUNK = 1 << 16
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", "node_modules", "build", "dist"})
_KINDS = (  # (test, name) of the file types that are not regular files
    (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
)
_SIZE_RE = re.compile(r"(?P<n>\d+)(?P<unit>[KMG]?)(?:i?B)?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


class SkippedFile(Exception):
    """A path that is not read: ``reason`` says why (e.g. ``"is a FIFO (named pipe), not a regular file"``)."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def iter_python_files(paths):
    """Every ``.py`` file under ``paths`` (files given explicitly are kept as given), sorted.

    Directories named in ``_SKIP_DIRS`` or starting with ``.`` are not entered;
    symlinks to directories are not followed (``os.walk``'s default).
    """
    for path in paths:
        if os.path.isdir(path):
            found = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
                found.extend(os.path.join(root, f) for f in files if f.endswith(".py"))
            yield from sorted(found)
        else:
            yield path


def _kind(mode):
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _size(n):
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n} bytes"


def _via(path):
    """`` (a symlink to /dev/zero)`` for a symlink, else ``""``."""
    return f" (a symlink to {os.path.realpath(path)})" if os.path.islink(path) else ""


def read_bytes(path, max_bytes=DEFAULT_MAX_BYTES):
    """The bytes of the regular file ``path`` (at most ``max_bytes``), else ``SkippedFile``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = stat.S_IFREG
        if not stat.S_ISREG(mode):  # a socket cannot be opened at all (ENXIO)
            raise SkippedFile(path, f"is {_kind(mode)}{_via(path)}, not a regular file") from None
        raise SkippedFile(path, f"cannot be opened ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SkippedFile(path, f"is {_kind(st.st_mode)}{_via(path)}, not a regular file")
        too_big = (f"is over the size cap of {_size(max_bytes)} ({{}}); raise the cap with "
                   f"--max-file-size if it really is Python source")
        if st.st_size > max_bytes:
            raise SkippedFile(path, too_big.format(_size(st.st_size)))
        chunks, total = [], 0
        while total <= max_bytes:  # st_size may be stale (a growing file) or 0 (/proc): bound the read
            try:
                chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - total))
            except BlockingIOError:
                raise SkippedFile(path, "would block on read (not a regular file's behaviour)") from None
            except OSError as exc:
                raise SkippedFile(path, f"cannot be read ({exc.strerror or exc})") from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise SkippedFile(path, too_big.format(f"more was read than the {_size(st.st_size)} it reported"))
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_source(path, max_bytes=DEFAULT_MAX_BYTES):
    """``(text, encoding)`` of ``path`` as Python reads it (PEP 263 coding cookie, BOM).

    Raises:
      SkippedFile: ``path`` is not a regular file, is larger than ``max_bytes``,
        cannot be opened or read, or its bytes do not decode in its encoding.
    """
    data = read_bytes(path, max_bytes)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # unknown or inconsistent coding cookie, bad UTF-8 after a BOM
        raise SkippedFile(path, f"has no usable source encoding ({exc})") from None
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        raise SkippedFile(path, f"cannot be decoded as {encoding}, its source encoding ({exc.reason} at "
                                f"byte {exc.start}); add a PEP 263 coding line or convert it to UTF-8") from None


def parse_size(text):
    """A ``--max-file-size`` value: bytes, or with a K/M/G suffix (powers of 1024): ``4M``, ``512K``.

    Raises ``argparse.ArgumentTypeError`` (argparse prints it and exits 2).
    """
    match = _SIZE_RE.fullmatch(str(text).strip())
    if match is None or int(match["n"]) == 0:
        raise argparse.ArgumentTypeError(
            f"Invalid value for argument `--max-file-size`. Expected a positive size in bytes, optionally "
            f"with K, M or G (powers of 1024), e.g. 4194304, 512K or 8M. Received: --max-file-size={text!r}")
    return int(match["n"]) * _UNITS[match["unit"].upper()]
