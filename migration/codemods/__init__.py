"""Scan and rewrite TF1 regularization idioms by qualified name (``compat-reg scan`` / ``migrate``).

See docs/migrate.md. Mapping rules are data in ``rules``; ``resolve`` finds
qualified names through imports and scopes; ``scan`` finds sites; ``rewrite``
rewrites them exactly or reports why not; ``write`` writes files safely.
"""

from migration.codemods.rewrite import TARGETS
from migration.codemods.rewrite import FileResult
from migration.codemods.rewrite import Finding
from migration.codemods.rewrite import migrate_source
from migration.codemods.scan import FileError
from migration.codemods.scan import ScanResult
from migration.codemods.scan import Site
from migration.codemods.scan import scan_paths
from migration.codemods.scan import scan_source
from migration.codemods.write import RefusedWrite
from migration.codemods.write import write_file
