"""Scan and rewrite TF1 regularization idioms by qualified name (``compat-reg scan`` / ``migrate``).

See docs/migrate.md. The site kinds and what each target does with them are one
table in ``rules`` (``RULES``); where ``tf.contrib`` went is one table in ``contrib``.
``resolve`` finds qualified names through imports, scopes and the tree's re-exports
(``exports``); ``source_text`` maps positions to offsets; ``scan`` finds sites; ``driver`` runs the transforms (``to_keras``, ``keras_fix``,
``to_compat``, ``successors``; shared: ``edits``, ``imports``); ``sources`` reads regular files under a
size cap; ``write`` writes files without ever losing a byte (docs/migrate.md, "Write guarantees");
``command`` holds the ``scan`` / ``migrate`` verbs of the command line.
"""

from .driver import TARGETS
from .driver import FileResult
from .driver import Finding
from .driver import migrate_source
from .scan import FileError
from .scan import ScanResult
from .scan import Site
from .scan import scan_paths
from .scan import scan_source
from .sources import SkippedFile
from .sources import read_source
from .write import RefusedWrite
from .write import WritePlan
from .write import plan_writes
from .write import write_file
