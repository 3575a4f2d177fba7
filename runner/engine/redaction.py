"""Redaction: secrets removed from anything the run shows or writes.

Every output of a run goes through one `Redactor`: the record (`record_json.py`), JUnit (`junit.py`),
the terminal (`console.py`), grading's outputs. A secret (`Plaintext`, `SecretAccessKey`,
`SessionToken`, `Password`, `PrivateKey`, and any value once seen under such a key: `secret_keys.py`
says which keys) never reaches a file or the terminal. `contains_redacted` tells, of a record read
back, what cannot be used again because it was hidden (`resume.py`, `replay.py`).
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from runner.secret_keys import REDACTED, is_secret_key

#: Secrets shorter than this are only redacted under their key, not wherever the text appears.
_MIN_SECRET_LENGTH = 8
#: A value marked secret by the lab is redacted wherever it appears from this length; shorter ones only
#: where a whole value equals it (replacing every "ab" in every text would make output unreadable).
_MIN_MARKED_LENGTH = 4


class Redactor:
    """Removes secrets from anything about to be shown or written.

    Values under a secret key (`is_secret_key`) are replaced by "***"; so is any text, anywhere, equal to
    or containing a secret value seen before (`learn`): a saved `SecretAccessKey` stays hidden in later
    params. Values the lab marks secret (`secrets:`) are added with `add_secret`, with their base64 form.

    Every writer of run output uses one: `redactor(data)` for JSON-ready data, `redactor.text(s)` for a
    line of text. The run's own instance (`Runner.redactor`) knows the values met during the run.
    """

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._exact: set[str] = set()  # short marked secrets: redacted only where a whole value equals one
        #: Grows whenever a new secret is known: output redacted under an older generation may show it.
        self.generation = 0
        self._sorted: list[str] = []
        self._sorted_at = 0

    def learn(self, value: Any) -> None:
        for key, found in _walk_items(value):
            if is_secret_key(key) and isinstance(found, str) and len(found) >= _MIN_SECRET_LENGTH \
                    and found != REDACTED and found not in self._secrets:
                self._secrets.add(found)
                self.generation += 1

    def add_secret(self, value: Any) -> None:
        """Treat every string (and number) inside `value` as a secret, raw and base64-encoded."""
        for _, found in _walk_items(value):
            if isinstance(found, bool) or not isinstance(found, (str, int, float)):
                continue
            text = str(found)
            if not text or text == REDACTED or text in self._exact or text in self._secrets:
                continue  # known already (the engine tells it the marked values before every step)
            self.generation += 1
            if len(text) < _MIN_MARKED_LENGTH:
                self._exact.add(text)
                continue
            self._secrets.add(text)
            # A lab may pass a secret through `b64encode` (KMS Plaintext, HTTP basic auth).
            self._secrets.add(base64.b64encode(text.encode()).decode("ascii").rstrip("="))

    def text(self, value: str) -> str:
        if value in self._exact:
            return REDACTED
        if "ignature=" in value or "ecurity-Token=" in value:
            # A presigned URL is a working credential until it expires: keep the URL, drop the proof.
            value = _SIGNED_QUERY.sub(lambda m: f"{m.group(1)}={REDACTED}", value)
        if self._secrets:
            for secret in self._longest_first():
                if secret in value:
                    value = value.replace(secret, REDACTED)
        return value

    def _longest_first(self) -> list[str]:
        # Longest first, so a secret containing another is replaced whole; sorted once per generation,
        # not for each of the thousands of strings a record holds.
        if self._sorted_at != self.generation:
            self._sorted = sorted(self._secrets, key=len, reverse=True)
            self._sorted_at = self.generation
        return self._sorted

    def __call__(self, value: Any, key: str | None = None) -> Any:
        if key is not None and is_secret_key(key) and value is not None:
            return REDACTED
        # The common leaves and containers first, by exact type: an `isinstance` against an abstract
        # class such as Mapping is slow, and a record holds thousands of values.
        kind = type(value)
        if kind is str:
            return self.text(value)
        if kind is dict:
            return {str(k): self(v, str(k)) for k, v in value.items()}
        if value is None or kind is bool:
            return value
        if self._exact and not isinstance(value, (bool, str)) and isinstance(value, (int, float)) \
                and str(value) in self._exact:
            return REDACTED
        if kind is int or kind is float:
            return value
        if kind is list or kind is tuple:
            return [self(v) for v in value]
        if isinstance(value, Mapping):
            return {str(k): self(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        names = _field_names(kind)
        if names is not None:  # a record's parts (dataclasses): as mappings
            return {name: self(getattr(value, name), name) for name in names}
        return value


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(kind: type) -> tuple[str, ...] | None:
    """The fields of a dataclass type, in order (read once a type); None for any other type."""
    if kind not in _FIELD_NAMES:
        _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else None
    return _FIELD_NAMES[kind]


_SIGNED_QUERY = re.compile(
    r"(X-Amz-Signature|X-Amz-Security-Token|x-amz-security-token|Signature)=[^&\s\"'<>]+")


def _walk_items(value: Any) -> list[tuple[str | None, Any]]:
    found: list[tuple[str | None, Any]] = []
    stack: list[tuple[str | None, Any]] = [(None, value)]
    while stack:
        key, item = stack.pop()
        found.append((key, item))
        kind = type(item)
        if kind is str or kind is int or kind is bool or kind is float or item is None:
            continue  # the common leaves, by exact type: `isinstance` against Mapping is slow
        if kind is dict or isinstance(item, Mapping):
            stack.extend((str(k), v) for k, v in item.items())
        elif isinstance(item, (list, tuple)):
            stack.extend((None, v) for v in item)
    return found


def contains_redacted(value: Any) -> bool:
    """Whether a value read back from a record holds something redacted (so it cannot be used again)."""
    if isinstance(value, str):
        return REDACTED in value
    if isinstance(value, Mapping):
        return any(contains_redacted(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_redacted(v) for v in value)
    return False
