"""Reading delivered CloudTrail log files: the evidence a lab looks for once logs arrive."""

from __future__ import annotations

from typing import Any

from runner.registry import ActionContext, action

_STRINGS = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}


@action(
    "cloudtrail.find_events",
    read_only=True,
    permissions=("s3:ListBucket", "s3:GetObject"),
    params={
        "type": "object",
        "required": ["bucket"],
        "properties": {
            "bucket": {"type": "string", "description": "The trail's log bucket."},
            "prefix": {"type": "string", "description": "The trail's S3 key prefix, if it has one."},
            "account": {"type": "string", "description": "Account folder to read; default the caller's."},
            "region": {"type": "string", "description": "Region folder to read; default the target's."},
            "event_name": {**_STRINGS, "description": "Keep records with one of these eventName values."},
            "event_source": {**_STRINGS, "description": "Keep records from these eventSource values."},
            "resource_arn": {**_STRINGS, "description": "Keep records naming one of these resources[].ARN."},
            "contains": {**_STRINGS, "description": "Keep records whose JSON contains every one of these."},
            "since": {
                "type": "string",
                "description": "ISO 8601 time or a duration ago; default the run's start.",
            },
        },
    },
)
def find_events(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Find records in the CloudTrail log files delivered to a bucket since the run began.

    Lists only the date folders since `since`, skips digest files, never downloads a log file twice in
    one run, and de-duplicates records by `eventID`. The result is `{Events: [...], count, files}`.
    Retry it while logs arrive: delivery takes minutes on AWS.

    Example::

        action: cloudtrail.find_events
        params:
          bucket: mycloudtrailbucket12345
          event_source: kms.amazonaws.com
          contains: [Eiffel.jpg]
        expect:
          - path: count
            greater_than: 0
        retry:
          timeout: 15m
          interval: 20s
    """
    raise NotImplementedError("cloudtrail.find_events runs with the engine")
