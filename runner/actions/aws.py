"""The `aws.<service>.<operation>` family: any boto3 client operation, with no per-operation code."""

from __future__ import annotations

from typing import Any

from runner.aws_models import AwsOperation
from runner.registry import ActionContext


def call_operation(ctx: ActionContext, op: AwsOperation, params: dict[str, Any], *, paginate: bool) -> Any:
    """Call one operation on the run's target and return its response without `ResponseMetadata`."""
    raise NotImplementedError("aws.* actions run with the engine")
