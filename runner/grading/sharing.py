"""Checks that make the same read call share one request, within the grade of one account.

A lab's checks often ask the same question: the KMS lab describes `alias/myFirstKey` in three checks
and reads its key policy in two actions. A grade looks at the account as it is and never retries (see
`runner.grading.guard`), so within one account's grade the first answer to a read is the answer: the
same operation with the same serialized request is answered from memory instead of the network. For a
class of 200 students that is a fifth fewer requests against the accounts (and their API rate limits).

Only read-only operations whose answer is not a stream are shared; errors are never remembered.
Sharing is per target, so students never share answers; and per grade: a target graded again starts
from an empty memory, since the account may have changed in between (`labrunner verify` grades one
account as a lab goes).
"""

from __future__ import annotations

import copy
import json
import threading
import weakref
from typing import Any

from runner.engine.targets import Target
from runner.grading.guard import read_only_operation


class SharedReads:
    """One account's memory of read answers, attached to every client of its target."""

    def __init__(self) -> None:
        self._answers: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.shared = 0  # requests answered from memory
        self.sent = 0  # read requests that went out

    def forget(self) -> None:
        """Drop every answer: the next grade asks the account again."""
        with self._lock:
            self._answers.clear()

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-call", self._before, unique_id="labrunner-shared-reads-before")
        events.register("after-call", self._after, unique_id="labrunner-shared-reads-after")

    @staticmethod
    def _key(model: Any, params: dict[str, Any]) -> str | None:
        if not read_only_operation(model) or model.has_streaming_output:
            return None
        body = params.get("body")
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        elif not isinstance(body, (str, dict, type(None))):
            return None  # a file-like body: not a read worth remembering
        service = model.service_model.service_name
        return json.dumps([service, model.name, params.get("url_path"), params.get("query_string"), body],
                          sort_keys=True, default=str)

    def _before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
        key = self._key(model, params)
        if key is None:
            return None
        context["labrunner_shared_key"] = key
        with self._lock:
            answer = self._answers.get(key)
            if answer is None:
                self.sent += 1
                return None
            self.shared += 1
        http, parsed = answer
        return http, copy.deepcopy(parsed)  # each caller gets its own copy to change as it likes

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any],
               **_: Any) -> None:
        key = context.get("labrunner_shared_key")
        if key is None or "Error" in parsed or getattr(http_response, "status_code", 200) >= 300:
            return
        with self._lock:
            if key not in self._answers:  # a copy: the first caller may change what it was given
                self._answers[key] = (http_response, copy.deepcopy(parsed))


_SHARED: weakref.WeakKeyDictionary[Target, SharedReads] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def share_reads(target: Target) -> SharedReads:
    """Make the clients of `target` share identical read requests, from an empty memory.

    A target's clients keep the one `SharedReads` first attached (botocore registers a handler's id
    once), so a target graded again gets that one back, emptied.
    """
    with _SHARED_LOCK:
        shared = _SHARED.get(target)
        if shared is None:
            shared = _SHARED[target] = SharedReads()
            target.add_client_hook(shared.attach)
        else:
            shared.forget()
    return shared
