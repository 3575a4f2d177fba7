"""JSON held in a string, read as a lab reads it: the `fromjson` template filter (`runner.templates`) and
JMESPath's `from_json` (`runner.jmes`).

A leaf module. Python's parser gives up on JSON nested about as deep as its recursion limit with a
RecursionError, which is no ValueError and names nothing an author can act on; here it is a ValueError
that says what happened, so both callers report it as they report any text that is not JSON.
"""

from __future__ import annotations

import json
import sys
from typing import Any


class JSONNestingError(ValueError):
    """JSON nested deeper than Python's parser takes."""


def loads(text: str | bytes) -> Any:
    """The value of JSON text; raises ValueError (`json.JSONDecodeError`, `JSONNestingError`) when it cannot be read."""
    try:
        return json.loads(text)
    except RecursionError:
        # The parser's limit is the interpreter's recursion limit less the frames already in use.
        raise JSONNestingError(f"JSON nested deeper than Python's parser takes "
                      f"(about {sys.getrecursionlimit():,} levels)") from None
