"""How an action fails: `ActionFailed`, the AWS-shaped error every action reports, and botocore's
exceptions turned into one (`failure_from`, `aws_errors`).

A leaf module, the vocabulary that actions and the engine share: the actions (`aws.py`, `s3.py`, ...)
raise it, the engine (`steps.py`) matches its code against `expect_error`, `ignore_errors` and
`retry.on`, and the commands word a failed STS call with it. It imports nothing of the project, so the
engine can name a failure without importing an action.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class ActionFailed(Exception):
    """An action failed the way AWS reports failures: an error code, a message, an HTTP status.

    `expect_error`, `ignore_errors` and `retry.on` match `code`; `document()` is what `expect`
    sees for a step that expects the error.
    """

    def __init__(self, code: str, message: str, status: int | None = None,
                 aliases: tuple[str | None, ...] = ()) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.aliases = tuple(dict.fromkeys(a for a in aliases if a and a != code))

    @property
    def codes(self) -> tuple[str, ...]:
        """Every name the error goes by: its code, then the name of botocore's modelled exception for it (SNS's
        `NotFound` is `NotFoundException`) and its query-protocol code (SQS's `AWS.SimpleQueueService.
        NonExistentQueue` is `QueueDoesNotExist`). A lab may name any of them."""
        return (self.code, *self.aliases)

    def document(self) -> dict[str, Any]:
        return {"Error": {"Code": self.code, "Message": self.message}, "HTTPStatusCode": self.status}


def failure_from(exc: BaseException) -> ActionFailed | None:
    """The `ActionFailed` that a botocore/boto3 exception stands for, or None for anything else."""
    if isinstance(exc, ActionFailed):
        return exc
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        code = str(error.get("Code") or meta.get("HTTPStatusCode") or "Unknown")
        message = str(error.get("Message") or "")
        modelled = type(exc).__name__ if type(exc) is not ClientError else None
        return ActionFailed(code, message, meta.get("HTTPStatusCode"), (modelled, error.get("QueryErrorCode")))
    if isinstance(exc, ParamValidationError):
        return ActionFailed("ParamValidationError", str(exc.kwargs.get("report", exc)).strip())
    if isinstance(exc, BotoCoreError):
        # Connection failures, credential problems, waiters: botocore's class name is the code.
        return ActionFailed(type(exc).__name__, str(exc))
    # boto3's transfer manager wraps the ClientError it caught (S3UploadFailedError).
    inner = exc.__cause__ or exc.__context__
    if inner is not None and inner is not exc and type(exc).__module__.startswith("boto3"):
        return failure_from(inner)
    return None


@contextlib.contextmanager
def aws_errors() -> Iterator[None]:
    """Raise what botocore or boto3 raised inside as the `ActionFailed` it stands for."""
    try:
        yield
    except ActionFailed:
        raise
    except Exception as exc:
        failure = failure_from(exc)
        if failure is None:
            raise
        raise failure from None
