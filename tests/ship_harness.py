"""`prov ship` against `prov ingest`, in process: what the handler stores of the records a
shipper puts, beside what ingest stores of the same file read whole.

The shipper puts into `Recorder` (a Kinesis client that keeps each record's data and
acknowledges it); `handled` reads those records as the ingest handler does
(`provenance.ingest.kinesis_records.ingest_record`) into a fresh SQLite store; `ingested` reads the
file whole (`provenance.ingest.pipeline.ingest_stream`). `Stored` holds ids, payloads and counts, so
a test compares what was stored, not only which ids.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventstore.sqlite import SQLiteEventStore
from provenance.access.policy import AccessPolicy
from provenance.aws.ship_options import ShipOptions
from provenance.ingest.inputs import Input, InputError, open_input
from provenance.ingest.kinesis_records import RecordOrigin, ingest_record
from provenance.ingest.pipeline import ingest_stream
from provenance.ingest.reader import IngestOptions
from provenance.ingest.report import IngestReport
from tests.conftest import LA

HOST = "test-host"
STREAM = "harness"


class Recorder:
    """A Kinesis client that acknowledges every record and keeps its data, in order."""

    def __init__(self) -> None:
        self.records: list[bytes] = []

    def put_records(self, **kwargs: Any) -> Mapping[str, Any]:
        results = []
        for entry in kwargs["Records"]:
            self.records.append(entry["Data"])
            results.append({"SequenceNumber": str(len(self.records)), "ShardId": "shard-0"})
        return {"FailedRecordCount": 0, "Records": results}


def options(**changes: Any) -> ShipOptions:
    return ShipOptions(**{"stream": STREAM, "host": HOST, "tz": LA, **changes})


@dataclass
class Stored:
    """What a store holds: payload (without the time it was recorded) by event id, and the
    counts of the reports that filled it."""

    payloads: dict[str, dict[str, Any]]
    report: IngestReport

    @property
    def ids(self) -> set[str]:
        return set(self.payloads)

    def counts(self) -> dict[str, Any]:
        report = self.report
        return {
            "lines": report.lines,
            "consumed": report.consumed,
            "ignored": report.ignored,
            "ignored_by_reason": dict(report.ignored_by_reason),
            "quarantined": report.quarantined,
            "quarantined_by_reason": dict(report.quarantined_by_reason),
        }


def _ingest_options(source: str = "auto", service: str | None = None) -> IngestOptions:
    return IngestOptions(
        source=source, origin=HOST, service=service, tz=LA, access_policy=AccessPolicy.load()
    )


def _payloads(store: SQLiteEventStore) -> dict[str, dict[str, Any]]:
    found = {}
    for record in store.read_all():
        payload = json.loads(record.payload)
        payload.pop("recorded_at")
        if payload["type"] == "LineQuarantined":
            payload.pop("occurred_at")  # the time it was quarantined
        found[record.event_id] = payload
    return found


def handled(tmp_path: Path, records: Iterable[bytes]) -> Stored:
    """What the ingest handler stores of `records`, read in order."""
    report = IngestReport()
    with SQLiteEventStore(tmp_path / f"handled-{uuid.uuid4().hex}.db") as store:
        for number, data in enumerate(records, start=1):
            result = ingest_record(
                store, data, RecordOrigin(STREAM, str(number)), _ingest_options()
            )
            assert result.error is None, result.error
            report.add(result.report)
        return Stored(_payloads(store), report)


def ingested(
    tmp_path: Path, path: Path, source: str = "auto", service: str | None = None
) -> Stored:
    """What `prov ingest` stores of `path` read whole (a damaged compressed file: to where it
    is damaged)."""
    with SQLiteEventStore(tmp_path / f"ingested-{uuid.uuid4().hex}.db") as store:
        report = IngestReport()
        try:
            with open_input(Input(str(path))) as stream:
                ingest_stream(store, stream, str(path), _ingest_options(source, service), report)
        except InputError:
            pass
        return Stored(_payloads(store), report)


def differences(shipped: Stored, whole: Stored) -> list[str]:
    """What differs between two stores, one line per event (empty when they agree)."""
    found = []
    for key in sorted(shipped.ids | whole.ids):
        mine, theirs = shipped.payloads.get(key), whole.payloads.get(key)
        if mine != theirs:
            found.append(f"{key}: shipped {mine} != ingested {theirs}")
    if shipped.counts() != whole.counts():
        found.append(f"counts: shipped {shipped.counts()} != ingested {whole.counts()}")
    return found
