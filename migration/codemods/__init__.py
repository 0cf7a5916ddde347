"""Scan and rewrite TF1 regularization idioms by qualified name (``compat-reg scan`` / ``migrate``).

See docs/migrate.md. Mapping rules are data in ``rules``; ``resolve`` finds
qualified names through imports and scopes; ``scan`` finds sites; ``rewrite``
rewrites them exactly or reports why not; ``write`` writes files safely.
"""

from .rewrite import TARGETS
from .rewrite import FileResult
from .rewrite import Finding
from .rewrite import migrate_source
from .scan import FileError
from .scan import ScanResult
from .scan import Site
from .scan import scan_paths
from .scan import scan_source
from .write import RefusedWrite
from .write import write_file
