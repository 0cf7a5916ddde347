"""``migration.codemods.sources``: scan/migrate read regular files only, under a size cap (issue 11, case 3).

Every hostile path is read in a child process with a wall-clock timeout and a 1 GiB
address-space limit, so a regression (a FIFO that blocks, ``/dev/zero`` read to the
end) fails the test instead of hanging the suite or eating the machine's memory.
"""

import argparse
import json
import os
import resource
import socket
import subprocess
import sys

import pytest

from migration.codemods import sources

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHILD_TIMEOUT = 30
CHILD = """\
import json, sys
from migration.codemods import sources
path, max_bytes = sys.argv[1], int(sys.argv[2])
try:
    text, encoding = sources.read_source(path, max_bytes)
    print(json.dumps({"text": text, "encoding": encoding}))
except sources.SkippedFile as exc:
    print(json.dumps({"skipped": exc.reason, "path": exc.path}))
"""


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def read_in_child(path, max_bytes=sources.DEFAULT_MAX_BYTES):
    """``read_source(path, max_bytes)`` in a bounded child: its JSON result, or fail naming the hang."""
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(max_bytes)], cwd=ROOT,
                              capture_output=True, text=True, timeout=CHILD_TIMEOUT, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"read_source({path!r}) did not return within {CHILD_TIMEOUT} s")
    assert proc.returncode == 0, f"read_source({path!r}) crashed:\n{proc.stderr[-2000:]}"
    return json.loads(proc.stdout)


def _fifo(d):
    os.mkfifo(d / "pipe.py")
    return d / "pipe.py"


def _dev_zero_link(d):
    os.symlink("/dev/zero", d / "zero.py")
    return d / "zero.py"


def _dev_null(d):
    return "/dev/null"


def _directory(d):
    (d / "pkg.py").mkdir()
    return d / "pkg.py"


def _socket(d):
    path = d / "sock.py"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    return path


def _oversize(d):
    (d / "big.py").write_bytes(b"x = 1\n" * 200)  # 1,200 bytes against a 1,000-byte cap below
    return d / "big.py"


def _proc_size_zero(d):
    os.symlink("/proc/self/maps", d / "maps.py")  # reported as a 0-byte regular file, reads several KB
    return d / "maps.py"


def _undecodable(d):
    (d / "bin.py").write_bytes(b"x = 1\ny = 2\nz = '\xff\xfe'\n")
    return d / "bin.py"


def _undecodable_first_line(d):
    (d / "bin1.py").write_bytes(b"x = '\xff'\n")  # tokenize looks for a coding cookie on lines 1-2
    return d / "bin1.py"


def _bad_cookie(d):
    (d / "cookie.py").write_bytes(b"# -*- coding: no-such-codec -*-\nx = 1\n")
    return d / "cookie.py"


def _dangling_link(d):
    os.symlink(d / "nowhere.py", d / "dangling.py")
    return d / "dangling.py"


SKIPPED_CASES = [  # (id, make path, cap, expected reason: start, and a word it must contain)
    ("fifo", _fifo, None, "is a FIFO (named pipe), not a regular file"),
    ("symlink-to-dev-zero", _dev_zero_link, None, "is a character device (a symlink to /dev/zero), not a regular file"),
    ("device", _dev_null, None, "is a character device, not a regular file"),
    ("directory-named-py", _directory, None, "is a directory, not a regular file"),
    ("socket", _socket, None, "is a socket, not a regular file"),
    ("oversize", _oversize, 1000, "is over the size cap of 1000 bytes (1.2 KiB); raise the cap with --max-file-size"),
    ("size-0-in-stat-but-large", _proc_size_zero, 100,
     "is over the size cap of 100 bytes (more was read than the 0 bytes it reported)"),
    ("undecodable", _undecodable, None,
     "cannot be decoded as utf-8, its source encoding (invalid start byte at byte 17); add a PEP 263 coding line"),
    ("undecodable-first-line", _undecodable_first_line, None,
     "has no usable source encoding (invalid or missing encoding declaration"),
    ("unknown-coding-cookie", _bad_cookie, None, "has no usable source encoding (unknown encoding: no-such-codec)"),
    ("dangling-symlink", _dangling_link, None, "cannot be opened (No such file or directory)"),
]


@pytest.mark.parametrize("make,cap,reason", [c[1:] for c in SKIPPED_CASES], ids=[c[0] for c in SKIPPED_CASES])
def test_non_sources_are_skipped_with_the_reason(tmp_path, make, cap, reason):
    path = make(tmp_path)
    result = read_in_child(path, cap or sources.DEFAULT_MAX_BYTES)
    assert result == {"skipped": result.get("skipped"), "path": str(path)}, result
    assert result["skipped"].startswith(reason), result["skipped"]


@pytest.mark.parametrize("data,text,encoding", [
    (b"x = 1\r\ny = 'caf\xc3\xa9'\n", "x = 1\r\ny = 'café'\n", "utf-8"),
    (b"\xef\xbb\xbfx = 1\n", "x = 1\n", "utf-8-sig"),
    (b"# -*- coding: latin-1 -*-\ns = '\xe9'\n", "# -*- coding: latin-1 -*-\ns = 'é'\n", "iso-8859-1"),
    (b"", "", "utf-8"),
], ids=["utf8-crlf", "bom", "pep263-latin1", "empty"])
def test_regular_files_read_as_python_reads_them(tmp_path, data, text, encoding):
    (tmp_path / "m.py").write_bytes(data)
    assert sources.read_source(tmp_path / "m.py") == (text, encoding)


def test_file_exactly_at_the_cap_is_read(tmp_path):
    (tmp_path / "m.py").write_bytes(b"#" * 99 + b"\n")
    assert sources.read_source(tmp_path / "m.py", max_bytes=100) == ("#" * 99 + "\n", "utf-8")
    with pytest.raises(sources.SkippedFile, match=r"over the size cap of 99 bytes \(100 bytes\)"):
        sources.read_source(tmp_path / "m.py", max_bytes=99)


def test_symlink_to_a_regular_file_is_read(tmp_path):
    (tmp_path / "real.py").write_text("x = 1\n")
    os.symlink("real.py", tmp_path / "link.py")
    assert sources.read_source(tmp_path / "link.py") == ("x = 1\n", "utf-8")


def test_default_cap_is_a_few_megabytes():
    assert sources.DEFAULT_MAX_BYTES == 4 * 1024 * 1024


def _tree(d):
    for rel in ["a.py", "b.txt", "sub/c.py", "sub/d.pyc", ".hidden/e.py", "build/f.py", "node_modules/g.py",
                "__pycache__/h.py", "pkg.py/i.py", "z/y/x.py"]:
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text("x = 1\n")
    os.mkfifo(d / "pipe.py")
    os.symlink("/dev/zero", d / "zero.py")
    os.symlink(d / "sub", d / "linked_dir")  # a symlink to a directory: not followed


def test_iter_python_files_selects_as_today(tmp_path):
    _tree(tmp_path)
    expected = [str(tmp_path / rel) for rel in ["a.py", "pipe.py", "pkg.py/i.py", "sub/c.py", "z/y/x.py", "zero.py"]]
    given = [str(tmp_path), str(tmp_path / "b.txt"), str(tmp_path / "missing.py")]
    assert list(sources.iter_python_files(given)) == expected + given[1:]


@pytest.mark.parametrize("text,size", [
    ("4194304", 4194304), ("512K", 512 << 10), ("8M", 8 << 20), ("1g", 1 << 30), ("16MiB", 16 << 20), (" 2MB ", 2 << 20),
], ids=["bytes", "K", "M", "g-lower", "MiB", "MB-spaces"])
def test_parse_size(text, size):
    assert sources.parse_size(text) == size


@pytest.mark.parametrize("text", ["0", "-1", "4X", "", "1.5M"], ids=["zero", "negative", "unit", "empty", "fraction"])
def test_parse_size_rejects_with_the_argument_named(text):
    with pytest.raises(argparse.ArgumentTypeError) as info:
        sources.parse_size(text)
    assert str(info.value) == (
        "Invalid value for argument `--max-file-size`. Expected a positive size in bytes, optionally with K, M or "
        f"G (powers of 1024), e.g. 4194304, 512K or 8M. Received: --max-file-size={text!r}")
