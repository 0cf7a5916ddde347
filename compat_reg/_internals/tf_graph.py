"""compat_reg's only door into tf graph internals (see ``compat_reg._internals``).

Each function names, in its docstring, the private symbol it reaches and the
versions it was checked on; ``REACHES`` lists them for the seam test.
"""

from compat_reg._internals import Reach

REACHES = ()
