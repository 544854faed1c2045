"""The stored records an entry becomes: its events' records and its quarantine record.

Events too large for the store: `eventstore.store.MAX_PAYLOAD_BYTES` (256 KiB) is the largest
payload any backend accepts (a DynamoDB item holds 400 KB). A quarantine record that would itself
be too large keeps the first part of the entry's bytes, marked `truncated` with the whole entry's
size and SHA-256, so nothing is cut silently; `replay_quarantine` passes truncated entries by
(they would give wrong events) and counts them as still quarantined.

A line that is not UTF-8 goes to its parser all the same, decoded with `surrogateescape`; the
fields of the events it gives have each undecodable byte spelled visibly (`\\xNN`,
`premis.escaping.visible_surrogates`, imported only when a value has such bytes), so no payload
holds a lone surrogate.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from eventstore import EventRecord
from eventstore.store import MAX_PAYLOAD_BYTES
from provenance.domain.events import (
    QUARANTINE_STREAM,
    AgentRef,
    DomainEvent,
    LineQuarantined,
    SourceRef,
    dump_event,
)
from provenance.sources.base import Entry

# Constructed, not validated, as rules.UNKNOWN_AGENT: no validator built on import.
_INGEST_AGENT = AgentRef.model_construct(name="prov ingest", kind="software")
# Field values that hold no text: never anything to spell.
_FLAT = frozenset({type(None), bool, int, float, datetime})


def spelled_bytes(text: str) -> str:
    """Text (a file name, an event's field) with bytes that are not UTF-8 spelled visibly.

    Not the reversible `premis.escaping.xml_safe` (backslashes kept): this spelling is stored,
    and an event id comes from the line's bytes, not its fields, so a line stored before would
    keep the old spelling on re-ingest and one store would hold both. The original bytes stay
    findable through the event's source (file and line); PREMIS escapes what is stored
    reversibly. Only undecodable bytes are spelled, so only a literal `\\xNN` can be mistaken.
    """
    if text.isascii():
        # Nothing to spell, and no need to import the premis package for it: the ingest
        # Lambda's cold start should not pay for it when no line has such bytes.
        return text
    from premis.escaping import visible_surrogates  # noqa: PLC0415

    return visible_surrogates(text)


def make_visible(entry: Entry) -> None:
    """Undecodable bytes in the entry's event fields spelled visibly (`\\xNN`, the rule PREMIS
    uses too): a stored payload is UTF-8 and never holds a lone surrogate."""
    for draft in entry.drafts:
        # Nearly every draft is flat and ASCII (an access request): nothing to spell, and
        # rebuilding its fields would cost as much as making its event.
        if not all(
            value.isascii() if type(value) is str else type(value) in _FLAT
            for value in draft.fields.values()
        ):
            draft.fields = _visible(draft.fields)


def _visible(value: Any) -> Any:
    if isinstance(value, str):
        return spelled_bytes(value)
    if isinstance(value, dict):
        return {_visible(key): _visible(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_visible(item) for item in value)
    if isinstance(value, BaseModel):
        return value.model_copy(update={key: _visible(item) for key, item in value})
    return value


def quarantine_record(
    key: str,
    source_ref: SourceRef,
    reason: str,
    raw: bytes,
    source_type: str,
    occurrence: int,
    line_count: int,
    recorded_at: datetime,
    *,
    whole: tuple[int, str] | None = None,
) -> EventRecord:
    """The quarantine record of an entry; one too large for the store keeps the first part of
    `raw` that fits, marked `truncated`, with the whole entry's size and SHA-256. `whole`:
    `raw` is only the first part of the entry already (an over-long line), which has this
    size and SHA-256."""

    def build(kept: bytes, truncated: bool) -> EventRecord:
        event = LineQuarantined(
            event_id=key,
            object=None,
            occurred_at=recorded_at,
            recorded_at=recorded_at,
            source=source_ref,
            agent=_INGEST_AGENT,
            reason=reason,
            raw=base64.b64encode(kept).decode("ascii"),
            text=kept.decode("utf-8", "backslashreplace"),
            source_type=source_type,
            occurrence=occurrence,
            line_count=line_count,
            truncated=truncated,
            raw_bytes=(whole[0] if whole else len(raw)) if truncated else None,
            raw_sha256=(whole[1] if whole else hashlib.sha256(raw).hexdigest())
            if truncated
            else None,
        )
        return event_record(event, QUARANTINE_STREAM)

    record = build(raw, whole is not None)
    size = len(record.payload)
    if size <= MAX_PAYLOAD_BYTES:
        return record
    # Aim from the bytes each raw byte cost in the full record (base64 and the escaped text
    # vary with the content), then shrink until it fits; this path is rare.
    overhead = len(build(b"", True).payload)
    per_byte = (size - overhead) / len(raw)
    keep = min(len(raw) - 1, int((MAX_PAYLOAD_BYTES - overhead) / per_byte * 0.95))
    while True:
        record = build(raw[:keep], True)
        if len(record.payload) <= MAX_PAYLOAD_BYTES:
            return record
        keep = keep * 3 // 4


def event_record(event: DomainEvent, stream: str) -> EventRecord:
    return EventRecord(
        event_id=event.event_id,
        stream=stream,
        type=event.type,  # type: ignore[attr-defined]
        occurred_at=event.occurred_at,
        payload=dump_event(event),
    )
