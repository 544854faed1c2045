"""A request's `ServiceAccessed` event built straight from its parser's typed values.

Ingest stores one access event per request line, and building a 35-field pydantic model per
line (validating values the parser has just typed) and serializing it cost about as much as
parsing the line. So when every field of a draft already has the exact type its model field
asks for (a `str` for `str | None`, an `int` that is not a `bool`, a finite `float`, an aware
`datetime`), the event is made as the plain data `load_payload` would read back from it, and
the payload is that data's JSON: on such values pydantic's validation changes nothing, and its
serializer and `pydantic_core.to_json` write the same bytes (times as pydantic writes them: the
text is taken from `to_json` itself). A draft with anything else (another type, a nested model,
a field this table does not know) is not built here: the caller falls back to the model, which
validates it. `tests/ingest/test_access_event.py` checks the bytes against
`dump_event(ServiceAccessed(...))` over generated lines and fields.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from typing import Any

from pydantic_core import PydanticUndefined, to_json

from provenance.domain.events import ServiceAccessed

_NONE = type(None)
_UNJUDGED: Any = object()
_MAX_VERDICTS = 1_024


def _scalar_types(annotation: Any) -> frozenset[type] | None:
    """The exact value types a field of this annotation takes unchanged (None: not a scalar
    this module builds, e.g. a literal, a tuple of models or a time)."""
    if annotation in (str, int, float, bool):
        return frozenset({annotation})
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        members = typing.get_args(annotation)
        if len(members) == 2 and _NONE in members:
            other = members[0] if members[1] is _NONE else members[1]
            if other in (str, int, float, bool):
                return frozenset({other, _NONE})
    return None


# The fields a draft may set, with the exact types each takes as it is; the envelope fields
# the reader sets itself (`event_id`, `recorded_at`, `source`, `agent`, `client_id`) are not
# a draft's to give, and `occurred_at` is checked on its own.
_FIELD_TYPES: dict[str, frozenset[type]] = {
    name: allowed
    for name, info in ServiceAccessed.model_fields.items()
    if name not in {"schema_version", "event_id", "recorded_at", "source", "agent", "client_id"}
    and (allowed := _scalar_types(info.annotation)) is not None
}
# Every field in the model's order, with its default as stored (None where required): a new
# event starts as a copy, so the JSON keys come out in the order the model writes them.
_TEMPLATE: dict[str, Any] = {
    name: (None if info.default is PydanticUndefined else info.default)
    for name, info in ServiceAccessed.model_fields.items()
}
_TEMPLATE["linked_objects"] = []
# (field names, their value types) -> `_verdict` of them.
_VERDICTS: dict[tuple[tuple[str, ...], tuple[type, ...]], tuple[str, ...] | None] = {}
_REQUIRED = frozenset(
    name
    for name, info in ServiceAccessed.model_fields.items()
    if info.is_required()
    and name not in {"event_id", "recorded_at", "source", "agent", "service", "occurred_at"}
)


def time_text(moment: datetime) -> str:
    """A time as the stored payload spells it (pydantic's own writing of it)."""
    return str(to_json(moment)[1:-1], "ascii")


def typed_fields(fields: dict[str, Any]) -> bool:
    """Whether every field of a `ServiceAccessed` draft has a type its model keeps unchanged,
    so that `access_event` gives what the model would (False: let the model validate)."""
    # A parser gives the same names and types line after line: judge each such signature
    # once; only the values that types alone do not settle are looked at per draft.
    signature = (tuple(fields), tuple(map(type, fields.values())))
    floats = _VERDICTS.get(signature, _UNJUDGED)
    if floats is _UNJUDGED:
        if len(_VERDICTS) >= _MAX_VERDICTS:
            _VERDICTS.clear()
        floats = _VERDICTS[signature] = _verdict(*signature)
    if floats is None:
        return False
    for name in floats:
        value = fields[name]
        if value - value != 0.0:  # inf or nan: stored as null, read back as None
            return False
    # Aware: pydantic asks the time for its offset, and so do we.
    return bool(fields["occurred_at"].utcoffset() is not None)


def _verdict(names: tuple[str, ...], kinds: tuple[type, ...]) -> tuple[str, ...] | None:
    """For fields of these names and types: None if the model must validate them, else the
    names of the float fields (each still to be checked to be finite)."""
    if "occurred_at" not in names or not _REQUIRED.issubset(names):
        return None
    floats = []
    for name, kind in zip(names, kinds, strict=True):
        if name == "occurred_at":
            if kind is not datetime:
                return None
        elif kind not in _FIELD_TYPES.get(name, ()):
            return None
        elif kind is float:
            floats.append(name)
    return tuple(floats)


def access_event(
    fields: dict[str, Any],
    *,
    event_id: str,
    occurred_at: str,
    recorded_at: str,
    source: dict[str, Any],
    agent: dict[str, Any],
    client_id: str | None,
    service: str,
) -> tuple[dict[str, Any], bytes]:
    """The event as `load_payload` reads it, and its payload, from fields `typed_fields`
    accepted; `occurred_at` and `recorded_at` already spelled by `time_text`."""
    event = _TEMPLATE.copy()
    event["service"] = service
    event.update(fields)
    event["event_id"] = event_id
    event["occurred_at"] = occurred_at
    event["recorded_at"] = recorded_at
    event["source"] = source
    event["agent"] = agent
    event["client_id"] = client_id
    return event, to_json(event)
