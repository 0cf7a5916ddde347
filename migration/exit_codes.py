"""The exit codes of every ``compat-reg`` verb, defined once.

=====  ==========================================================================
code   meaning
=====  ==========================================================================
0      success; for ``check``, the port is equivalent
1      a verdict or a negative result: not equivalent, files skipped, a self-test
       case failed
2      a usage error: bad arguments, unreadable input, an unwritable ``--report``;
       nothing was run
3      the user's own code raised (OLD / NEW function, a model module); the user's
       traceback is printed, then a one-line summary
=====  ==========================================================================
"""

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_USAGE = 2
EXIT_USER_CODE = 3
