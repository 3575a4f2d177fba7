"""botocore's event-name aliasing, computed with one split of the name instead of one per alias.

botocore renames old service names inside event names (`botocore.hooks.EVENT_ALIASES`, 65 pairs such as
`runtime.sagemaker` -> `sagemaker-runtime`) on every emit and register, caching the answer per emitter.
Every client copies its session's emitter with an empty cache, and a miss costs about 90 µs, because
the name is split again for each of the 65 pairs. A run of the KMS lab misses some 380 times: about
35 ms, a sixth of what a plain boto3 script making the same calls spends outside the network. `Aliaser`
gives the same answer for a few µs; `runner.engine.targets.new_session` installs it on the sessions
the runner makes, and every client of such a session inherits it (`EventAliaser.__copy__` keeps the
class). Nothing else in the process is touched.

Same answer means: the first pair, in the table's order, that applies to the name wins. A pair without
a dot applies when it is one of the name's dot-separated parts, and its first occurrence is replaced;
a pair with a dot applies when it occurs anywhere in the name as text, and then the first run of
whole parts equal to it is replaced (if there is none, nothing changes). `tests/engine/test_engine_aliases.py`
compares both on every event name botocore registers and emits for every service, and on generated
names.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from botocore.hooks import EventAliaser

_Simple = dict[str, tuple[int, str]]  # dot-free old part -> (its place in the table, new part)
_Dotted = list[tuple[int, str, list[str], str]]  # (place, old text, its parts, new part), in table order


@functools.lru_cache(maxsize=8)
def _tables(pairs: tuple[tuple[str, str], ...]) -> tuple[_Simple, _Dotted]:
    simple: _Simple = {}
    dotted: _Dotted = []
    for order, (old, new) in enumerate(pairs):
        if "." in old:
            dotted.append((order, old, old.split("."), new))
        else:
            simple.setdefault(old, (order, new))
    return simple, dotted


class Aliaser(EventAliaser):  # type: ignore[misc]  # botocore ships no type hints
    """An `EventAliaser` whose cache misses cost a few µs instead of about 90."""

    def __init__(self, event_emitter: Any, event_aliases: Mapping[str, str] | None = None) -> None:
        super().__init__(event_emitter, event_aliases)
        self._simple, self._dotted = _tables(tuple(self._event_aliases.items()))

    def _alias_event_name(self, event_name: str) -> str:
        cache = self._alias_name_cache
        found: str | None = cache.get(event_name)
        if found is None:
            found = cache[event_name] = self._renamed(event_name)
        return found

    def _renamed(self, name: str) -> str:
        parts = name.split(".")
        first: tuple[int, str, str] | None = None  # the first dot-free pair that applies, in table order
        for part in parts:
            found = self._simple.get(part)
            if found is not None and (first is None or found[0] < first[0]):
                first = (found[0], part, found[1])
        for order, old, old_parts, new in self._dotted:
            if first is not None and order > first[0]:
                break
            if old in name:  # botocore's test for a dotted pair: as text, wherever it is
                self._replace_subsection(parts, old_parts, new)  # botocore's own
                return ".".join(parts)
        if first is None:
            return name
        parts[parts.index(first[1])] = first[2]
        return ".".join(parts)


def install(session: Any) -> None:
    """Make a new botocore session (nothing registered on it yet) and its future clients use `Aliaser`.

    Left as it is when botocore no longer has the attributes this relies on: only speed is at stake.
    """
    events: Any = getattr(session, "_events", None)
    if type(events) is not EventAliaser or not hasattr(events, "_emitter") \
            or not isinstance(getattr(events, "_alias_name_cache", None), dict):
        return
    session._events = Aliaser(events._emitter, events._event_aliases)
    session.register_component("event_emitter", session._events)
