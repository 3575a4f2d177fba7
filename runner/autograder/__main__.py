"""`python -m runner.autograder [--check] [SOURCE]`: what the autograder zip's scripts run (`run.main`)."""

import sys

from runner.autograder.run import main

sys.exit(main())
