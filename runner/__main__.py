"""`python -m runner` is the same as the `labrunner` console script."""

import sys

from runner.commands.main import main

sys.exit(main())
