"""The embedded AWS emulator: moto (pinned) on a loopback port, with AWS behaviour layered on top.

    with Emulator(log_delay=5.0) as emu:
        boto3.client("kms", **...)  # or any SDK / the AWS CLI with emu.environment()

Layout: `server.py` starts and stops it; `middleware.py` sees every request, reads it with `parse.py`
and runs the behaviours: `authorization.py` first (signatures, `signatures.py`; IAM, `access.py` over the
policy language of `policy.py`), then each service's (`kms.py`, `s3.py`, `cloudtrail.py`, `sts.py`,
`iam.py`, `sqs.py`, `sns.py`, `dynamodb.py`), all speaking `model.py`'s types (a call, its reply, rules,
AWS error replies); `events.py` and `trail.py` record each call as CloudTrail would and deliver log files;
`identity.py` answers who is calling; `faults.py` injects throttling, server errors and latency as a
`fault_plan.py` plan asks. docs/emulator.md says what it does as AWS does and where it differs. Nothing
outside this package imports moto.
"""

from .fault_plan import FaultPlan
from .identity import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY
from .server import DEFAULT_ACCOUNT, Emulator, preload, serve_forever

__all__ = [
    "DEFAULT_ACCOUNT",
    "EMULATOR_ACCESS_KEY",
    "EMULATOR_SECRET_KEY",
    "Emulator",
    "FaultPlan",
    "preload",
    "serve_forever",
]
