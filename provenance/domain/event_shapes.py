"""Events built from values a parser has already typed: no second validation on the hot path.

A model's validator checks and converts every field of every event (a few microseconds each,
more than parsing the line). A source whose values already have the model's own types (its
own parse, nested models it made once, the model's defaults applied) gets the same event from
`EventShape.build`: what `model(**values)` makes of such values (the same field values, in the
model's field order, which is the order the stored JSON has, and the same set fields) without
that work. The sources that use it are held to that by their tests (every draft built both
ways); anything else (other sources, stored payloads, API input) is validated as before.
Ingest, which only stores the event, takes `EventShape.values` instead: those field values
without the instance around them (`pydantic_core.to_json` of them is the event's payload).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from provenance.domain.events import DomainEvent, SourceRef

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", bound=DomainEvent)

# The envelope the pipeline adds to every drafted event (`provenance.ingest.reader`).
ENVELOPE = ("event_id", "recorded_at", "source")

_new = object.__new__
_set = object.__setattr__


def constructed(model: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """An instance of `model` holding `values` as they are: every field, in the model's field
    order, each already of its field's type. What `model.model_construct` makes of them, less
    its per-field work; `fields_set` (a set of this instance's own) as `model_fields_set`."""
    instance = _new(model)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", fields_set)
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance


# Defaults shared by every event built (the validator shares them too: none can change).
_IMMUTABLE = (type(None), str, int, float, tuple, frozenset)


def _check_plain(model: type[BaseModel]) -> None:
    """Only models whose instances are their field values alone can be built this way."""
    if (
        model.__pydantic_post_init__ is not None
        or model.__private_attributes__
        or model.model_config.get("extra") == "allow"
        or any(
            info.default_factory is not None
            or not (info.is_required() or isinstance(info.default, _IMMUTABLE))
            for info in model.model_fields.values()
        )
    ):
        raise TypeError(f"{model.__name__} cannot be built without its validator")


class EventShape(Generic[E]):
    """One event model and the fields a source gives it (`given`, besides the envelope): builds
    that model's events from such values without validating them again.

    The values must have the model's types (a tuple of `LinkedObject`s, an aware datetime, an
    int, ...) and exactly the keys `given` names: the fields not given keep their defaults,
    as the model's validator would have set them.
    """

    __slots__ = ("_fields_set", "_template", "model", "type_name")

    def __init__(self, model: type[E], given: Iterable[str]) -> None:
        _check_plain(model)
        fields = model.model_fields
        given_set = set(given)
        unknown = given_set.difference(fields).union(given_set.intersection(ENVELOPE))
        missing = [
            name
            for name, info in fields.items()
            if info.is_required() and name not in given_set and name not in ENVELOPE
        ]
        if unknown or missing:
            raise TypeError(
                f"{model.__name__}: not its fields {sorted(unknown)}, required {missing}"
            )
        self.model = model
        # Every field in the model's order, with its default (given ones are overwritten).
        self._template: dict[str, Any] = {
            name: None if info.is_required() else info.get_default()
            for name, info in fields.items()
        }
        self._fields_set = given_set.union(ENVELOPE)
        # The event type its records are stored under (the model's `type` literal).
        self.type_name: str = self._template.get("type") or model.__name__

    def values(
        self,
        values: dict[str, Any],
        event_id: str,
        recorded_at: datetime,
        source: SourceRef | dict[str, Any],
    ) -> dict[str, Any]:
        """The field values of the event `build` gives (its `__dict__`), without the instance:
        what ingest stores, as `pydantic_core.to_json` of them is the payload `dump_event` of
        the event writes. `source` may be the `SourceRef`'s fields as a dict, in its order
        (the same JSON)."""
        fields = self._template.copy()
        fields.update(values)
        fields["event_id"] = event_id
        fields["recorded_at"] = recorded_at
        fields["source"] = source
        return fields

    def build(
        self, values: dict[str, Any], event_id: str, recorded_at: datetime, source: SourceRef
    ) -> E:
        """The event `model(event_id=..., recorded_at=..., source=..., **values)` would be."""
        fields = self._template.copy()
        fields.update(values)
        fields["event_id"] = event_id
        fields["recorded_at"] = recorded_at
        fields["source"] = source
        # `constructed`, written out: once per event.
        instance = _new(self.model)
        _set(instance, "__dict__", fields)
        _set(instance, "__pydantic_fields_set__", self._fields_set.copy())
        _set(instance, "__pydantic_extra__", None)
        _set(instance, "__pydantic_private__", None)
        return instance


_SOURCE_REF_FIELDS = frozenset(SourceRef.model_fields)


def source_ref(type_: str, origin: str, file: str | None, line: int | None) -> SourceRef:
    """`SourceRef(type=..., origin=..., file=..., line=...)` of values already of its types."""
    # `constructed`, written out: once per line.
    instance = _new(SourceRef)
    _set(instance, "__dict__", {"type": type_, "origin": origin, "file": file, "line": line})
    _set(instance, "__pydantic_fields_set__", set(_SOURCE_REF_FIELDS))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance
