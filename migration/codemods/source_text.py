"""Source text and its parse: ``ast`` positions (UTF-8 byte columns) to character offsets.

``parse(text, path)`` gives ``(tree, SourceText)``; every rewrite is an edit of the
character span ``SourceText.span(node)`` reports, so the rest of the file stays
byte for byte (line endings included: only Python's ``\n``, ``\r\n``, ``\r`` end a line).
"""

import ast
import io
import re
import tokenize
import warnings

_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


class SourceText:
    """Source text with conversions from ``ast`` positions (UTF-8 byte columns) to offsets."""

    def __init__(self, text):
        self.text = text
        # Python's line ends only (str.splitlines also splits on \x0c, \x1c, ...).
        self.lines = _LINE_RE.findall(text)
        self.line_starts = [0]
        for line in self.lines:
            self.line_starts.append(self.line_starts[-1] + len(line))

    def char_col(self, lineno, byte_col):
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        if line.isascii():
            return byte_col
        return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="replace"))

    def offset(self, lineno, byte_col):
        return self.line_starts[lineno - 1] + self.char_col(lineno, byte_col)

    def span(self, node):
        """``(start, end)`` character offsets of ``node`` in ``text``."""
        return (self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset))

    def segment(self, node):
        start, end = self.span(node)
        return self.text[start:end]

    def comment_offsets(self):
        """Offsets of every ``#`` comment (computed once, for the rewriter)."""
        if not hasattr(self, "_comments"):
            found = []
            try:
                for tok in tokenize.generate_tokens(io.StringIO(self.text).readline):
                    if tok.type == tokenize.COMMENT:
                        found.append(self.offset(tok.start[0], len(self.lines[tok.start[0] - 1][: tok.start[1]].encode("utf-8"))))
            except (tokenize.TokenError, IndentationError, SyntaxError):
                pass
            self._comments = found
        return self._comments


def parse(text, path):
    """``(tree, SourceText)`` or raise ``SyntaxError``/``ValueError``.

    Warnings of the file itself (invalid escape sequences, ...) are not ours to print.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(text, filename=path)
    return tree, SourceText(text)
