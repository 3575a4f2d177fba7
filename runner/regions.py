"""AWS regions as labrunner names them: the pattern of a region code, and the one default region.

A leaf module: the lab schema, the command line, the engine's targets, the pytest plugin and the
embedded emulator all read these, and docs/authoring.md states the same default.
"""

from __future__ import annotations

#: Where a lab runs when neither `--region` nor the lab's `region:` names one: AWS's first region, where
#: the console opens and IAM's global endpoint lives.
DEFAULT_REGION = "us-east-1"
#: A region code: us-east-1, eu-west-2, ap-southeast-3, us-gov-west-1, cn-north-1.
PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"
