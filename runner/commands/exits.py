"""The exit statuses of every `labrunner` command, defined once; `main.py` and the commands return them."""

#: Everything passed, the lab is valid, or the command did what it was asked.
EXIT_OK = 0
#: A lab ran or was graded, and a step, check or cleanup failed.
EXIT_FAILED = 1
#: Invalid input or options, or a confirmation declined: nothing was touched.
EXIT_USAGE = 2
#: Interrupted (Ctrl-C, SIGTERM): cleanups ran, and the record says `interrupted`.
EXIT_INTERRUPTED = 130
