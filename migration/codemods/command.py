"""``compat-reg scan`` and ``compat-reg migrate``: the command-line verbs.

Exit codes (as every compat-reg verb): 0 success; 1 a negative result — some
file was not read (not a regular file, over ``--max-file-size``, undecodable) or
could not be parsed (it is reported and skipped, the rest is still processed) or
``--write`` refused a file; 2 usage error.
"""

import argparse
import collections
import json
import sys

from . import rules
from .resolve import package_of
from .driver import TARGETS, migrate_source
from .scan import SCHEMA_VERSION, iter_sources, might_contain_sites, parse_error, scan_paths, stderr_progress
from .exports import tree_exports
from .sources import DEFAULT_MAX_BYTES, parse_size
from .write import RefusedWrite, plan_writes
from ..exit_codes import EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE

_SCAN_EPILOG = """\
site kinds:
""" + "\n".join(f"  {kind:22s} {text}" for kind, text in rules.KINDS.items()) + """

Calls are matched by qualified name through imports (`import tf_slim as s`,
`from tf_slim.layers import regularizers`, `slim = tf.contrib.slim`, ...), never by text.
Lines and columns are 1-based. Only regular files of at most --max-file-size are read:
FIFOs, devices, directories or sockets named *.py, larger or undecodable files are
listed as skipped with the reason. Exit code 1 if a file was skipped or could not be
parsed (the rest of the tree is scanned).

examples:
  compat-reg scan src/
  compat-reg scan --format json src/ > sites.json
"""

def _action_lines(target):
    rows = [(r.kind, rules.action(r.kind, target)) for r in rules.RULES]
    done = [k for k, a in rows if a.tag in ("rewrite", "fix")]
    return "               rewritten where exact: " + ", ".join(done)


_MIGRATE_EPILOG = """\
--to keras   TF1 regularizers become Keras ones with the same values:
""" + "\n".join(f"               {f.call:23s} -> tf.keras.regularizers.{f.emitted}" for f in rules.FACTORIES.values()) \
    + "\n" + \
    _action_lines("keras") + """
--to compat  TF1 graph code on TF 2.21 with TF1 semantics: `import tensorflow as tf` ->
             `import tensorflow.compat.v1 as tf`; tf.contrib.* -> tf_slim / compat_reg /
             tf.compat.v1 (migration/codemods/contrib.py); tf.layers -> compat_reg.layers;
             tf.disable_v2_behavior() added to entry points
""" + _action_lines("compat") + """
both         tf.keras.regularizers.l2(l=x) -> l2(l2=x) (`l=` is tf_keras-only);
             tf.keras.regularizers.l1_l2() -> l1_l2(l1=0.01, l2=0.01) (tf_keras defaults)

Everything that cannot be proven equal is left unchanged and reported with the reason
and a suggested fix. Default: print a unified diff and change nothing. --write
replaces files atomically, keeping their mode, and writes only files git tracks and
that are clean: files with uncommitted changes, untracked, ignored, assume-unchanged
or skip-worktree files, files outside git, read-only and hard-linked files are refused
unless --force, which first keeps the original as FILE.orig (FILE.orig.1, .2, ... if
taken: a backup never overwrites anything). A symlink is followed: its target is
rewritten (once, however many links share it), the link stays a link. Files that are
not regular (FIFOs, devices) or larger than --max-file-size are skipped. Exit code 1
if a file was skipped (unreadable, unparseable) or refused. See docs/migrate.md,
"Write guarantees".

examples:
  compat-reg migrate --to keras src/ | less
  compat-reg migrate --to compat --write train.py
"""

# ``--to compat`` moves whole APIs: a file can need it without any regularization token.
COMPAT_TOKENS = ("tensorflow", "contrib", "layers")


def _progress(args):
    return stderr_progress() if not args.quiet else None


def _table(rows, headers):
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def _one_line(code, limit=70):
    code = " ".join(code.split())
    return code if len(code) <= limit else code[: limit - 3] + "..."


def run_scan(args):
    result = scan_paths(args.paths, progress=_progress(args), max_bytes=args.max_file_size)
    if args.format == "json":
        json.dump({  # docs/schemas/scan.schema.json
            "schema_version": SCHEMA_VERSION,
            "sites": [s.to_json() for s in result.sites],
            "errors": [e.to_json() for e in result.errors],
            "files": result.files_total,
        }, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        if result.sites:
            rows = [(f"{s.path}:{s.line}:{s.col}", s.kind, _one_line(s.code), _one_line(s.suggestion, 60))
                    for s in result.sites]
            print(_table(rows, ("location", "kind", "code", "suggestion")))
            print()
        counts = collections.Counter(s.kind for s in result.sites)
        print(f"{len(result.sites)} regularization site(s) in {result.files_total} file(s):")
        for kind, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {count:6d}  {kind:22s} {rules.KINDS[kind]}")
    for error in result.errors:
        print(f"compat-reg scan: skipped {error.path}:{error.line}: {error.message}", file=sys.stderr)
    return EXIT_NEGATIVE if result.errors else EXIT_OK


def run_migrate(args):
    if args.force and not args.write:
        print("compat-reg migrate: error: --force only applies with --write (received --force without "
              "--write); add --write, or drop --force to see the diff", file=sys.stderr)
        return EXIT_USAGE
    errors, refused, results = [], [], []
    sources = [(p, t, e) for p, t, e in iter_sources(args.paths, errors, _progress(args), args.max_file_size)]
    wanted = [p for p, t, _ in sources if might_contain_sites(t) or (
        args.to == "compat" and any(tok in t for tok in COMPAT_TOKENS))]
    parsed = {}
    exports = tree_exports([(p, t) for p, t, _ in sources], parsed, wanted)
    wanted = set(wanted)
    for path, text, encoding in sources:
        if path not in wanted:
            continue
        try:
            result = migrate_source(text, path, args.to, package=package_of(path), exports=exports)
        except (SyntaxError, ValueError) as exc:
            errors.append(parse_error(path, exc))
            continue
        result.encoding = encoding
        results.append(result)

    out = sys.stdout
    written, same_file = [], []
    changed = [r for r in results if r.changed]
    # One plan: one batched git query per repository, and symlinks sharing a target are seen together.
    plan = plan_writes([r.path for r in changed], force=args.force) if args.write else None
    report_progress = _progress(args) if args.write else None
    for i, result in enumerate(changed):
        if report_progress is not None:
            report_progress(i, len(changed), result.path, "wrote")
        if args.write:
            first = plan.alias_of(result.path)
            if first is not None:  # a symlink to (or the target of) a file already in this run
                same_file.append((result.path, first))
                continue
            try:
                backup = plan.write(result.path, result.new_text, result.encoding, original=result.original)
            except RefusedWrite as exc:
                refused.append(str(exc))
                continue
            except OSError as exc:
                refused.append(f"{result.path}: cannot write ({exc}); the original is unchanged")
                continue
            written.append((result.path, backup))
        elif args.format == "diff":
            out.write(result.diff())
    if report_progress is not None:
        report_progress(len(changed), len(changed), None, "wrote")

    findings = [f for r in results for f in r.findings]
    if args.format == "json":
        json.dump({
            "target": args.to,
            "findings": [f.to_json() for f in findings],
            "changed_files": [r.path for r in results if r.changed],
            "errors": [e.to_json() for e in errors],
            "refused": refused,
        }, out, indent=1)
        out.write("\n")
    err = sys.stderr
    for finding in findings:
        if finding.action == "report":
            s = finding.site
            print(f"{s.path}:{s.line}:{s.col}: {s.kind}: left unchanged: {finding.reason}\n"
                  f"    {_one_line(s.code)}\n    suggestion: {s.suggestion}", file=err)
    for path, backup in written:
        print(f"compat-reg migrate: wrote {path}" + (f" (original kept as {backup})" if backup else ""), file=err)
    wrote = {path for path, _ in written}
    for path, first in same_file:
        outcome = "rewritten once" if first in wrote else f"not written (see {first} below)"
        print(f"compat-reg migrate: {path} is the same file as {first} (through a symlink): {outcome}", file=err)
    for message in refused:
        print(f"compat-reg migrate: refused: {message}", file=err)
    for error in errors:
        print(f"compat-reg migrate: skipped {error.path}:{error.line}: {error.message}", file=err)
    counts = collections.Counter(f.action for f in findings)
    print(f"compat-reg migrate --to {args.to}: {counts.get('rewritten', 0)} rewritten, "
          f"{counts.get('report', 0)} left unchanged and reported, {counts.get('ok', 0)} need nothing; "
          f"{sum(r.changed for r in results)} file(s) changed"
          + ("" if args.write else " (diff only; --write to apply)")
          + (f", {len(errors)} skipped" if errors else "") + (f", {len(refused)} refused" if refused else ""),
          file=err)
    return EXIT_NEGATIVE if errors or refused else EXIT_OK


def _paths(parser):
    parser.add_argument("paths", nargs="+", metavar="PATH", help="Python files or directories (searched recursively)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress messages on stderr")
    parser.add_argument("--max-file-size", type=parse_size, default=DEFAULT_MAX_BYTES, metavar="SIZE",
                        help="skip (and report) files larger than SIZE: bytes, or with K, M or G (default "
                             f"{DEFAULT_MAX_BYTES >> 20}M); FIFOs, devices and other non-regular files are always "
                             "skipped")


def register(subparsers):
    scan = subparsers.add_parser(
        "scan", help="find every TF1 regularization site in a tree (by qualified name)",
        description="Find every TF1 regularization site, by qualified name (the kinds are listed below).",
        epilog=_SCAN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _paths(scan)
    scan.add_argument("--format", choices=("table", "json"), default="table",
                      help="table (default: sites and a summary by kind) or json "
                           "({schema_version, sites, errors, files}; "
                           "each site has path, line, col, end_line, end_col, kind, name, origin, qualified_name, "
                           "code, suggestion; docs/schemas/scan.schema.json)")
    scan.add_argument("--with-errors", action="store_true",
                      help="accepted for compatibility: --format json always prints {schema_version, sites, "
                           "errors, files}")
    scan.set_defaults(func=run_scan)

    migrate = subparsers.add_parser(
        "migrate", help="rewrite TF1 regularization idioms exactly (--to keras|compat); diff by default",
        description="Rewrite what can be rewritten exactly, report everything else with the reason "
                    "and a suggested fix.",
        epilog=_MIGRATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _paths(migrate)
    migrate.add_argument("--to", required=True, choices=TARGETS,
                         help="keras: Keras regularizers with equal values; compat: TF1 semantics on TF 2.21 "
                              "via compat_reg")
    migrate.add_argument("--write", action="store_true",
                         help="write the files in place (atomically) instead of printing a diff")
    migrate.add_argument("--force", action="store_true",
                         help="with --write: also overwrite files git holds no clean copy of (uncommitted, "
                              "untracked, ignored, assume-unchanged, skip-worktree, outside git), read-only and "
                              "hard-linked files, first keeping the original as FILE.orig (or FILE.orig.N)")
    migrate.add_argument("--format", choices=("diff", "json"), default="diff",
                         help="diff (default: unified diff on stdout, reports on stderr) or json (findings)")
    migrate.set_defaults(func=run_migrate)
