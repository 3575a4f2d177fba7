"""`python -m runner` is the same as the `labrunner` console script."""

import sys

from runner.cli import main

sys.exit(main())
