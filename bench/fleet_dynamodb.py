"""The fleet queries' DynamoDB read units per page, and the write units of typical updates
(for `bench/fleet_scale.py`).

Over a moto server on 127.0.0.1 (`bench/aws_units.py`'s, a child process), a fleet of rows is
written through the DynamoDB store's `write_projection`, then one page of each list, the page
after it, and the fleet report are read with `provenance.query.fleet`, every call counted by
botocore hooks on the default session. Units follow DynamoDB's rules (`aws_units`' sizes):
a Query costs one read unit per 4 KB of the items it read (the whole items, whatever
ProjectionExpression keeps), at least one, half that when eventually consistent; a GetItem
or BatchGetItem one per 4 KB of each item, rounded up per item (a key that finds nothing
costs one too); a transactional write two write units per KB of each item, rounded up per
item. Each read also asks for `ReturnConsumedCapacity=TOTAL`, and moto's answer is kept
beside the count.
"""

from __future__ import annotations

import copy
import math
import os
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aws_units import READ_UNIT, REGION, WRITE_UNIT, item_size, moto_server
from fleet_scale import PROJECTION, cases, fleet_query

ROWS_PER_CALL = 100
READS = frozenset({"Query", "GetItem", "BatchGetItem"})


@dataclass
class Tally:
    calls: int = 0
    items: int = 0
    bytes: int = 0
    units: float = 0.0
    moto_units: float = 0.0


@dataclass
class Meter:
    """Read and write units of every DynamoDB call, by phase and kind of call."""

    phase: str | None = None
    reads: dict[str, dict[str, Tally]] = field(default_factory=lambda: defaultdict(dict))
    writes: dict[str, dict[str, Tally]] = field(default_factory=lambda: defaultdict(dict))
    query_items: dict[str, Tally] = field(default_factory=dict)

    def register(self, events: Any) -> None:
        events.register("before-parameter-build.dynamodb", self._before)
        events.register("after-call.dynamodb", self._after)

    def _tally(self, table: dict[str, dict[str, Tally]], kind: str) -> Tally:
        assert self.phase is not None
        return table[self.phase].setdefault(kind, Tally())

    def _before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if self.phase is None:
            return
        if model.name in READS:
            params["ReturnConsumedCapacity"] = "TOTAL"
            context["fleet_read"] = _read_kind(model.name, params)
            if model.name == "BatchGetItem":
                context["fleet_keys"] = sum(len(r["Keys"]) for r in params["RequestItems"].values())
            elif model.name == "GetItem":
                context["fleet_keys"] = 1
        elif model.name == "TransactWriteItems":
            for action in params["TransactItems"]:
                ((verb, body),) = action.items()
                item = body.get("Item") or body["Key"]
                size = item_size(item) + (8 if verb == "Update" else 0)  # the total's number
                tally = self._tally(self.writes, _write_kind(verb, item))
                tally.calls += 1
                tally.items += 1
                tally.bytes += size
                tally.units += 2 * max(1, math.ceil(size / WRITE_UNIT))

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        read = context.get("fleet_read")
        if read is None or self.phase is None:
            return
        kind, consistent, pk = read
        factor = 1.0 if consistent else 0.5
        tally = self._tally(self.reads, kind)
        tally.calls += 1
        if model.name == "Query":
            items = parsed.get("Items", [])
            # A ProjectionExpression trims what comes back, not what is read: add the key.
            sizes = [item_size(item) + (0 if "pk" in item else 2 + len(pk)) for item in items]
            tally.units += max(1, math.ceil(sum(sizes) / READ_UNIT)) * factor
            if kind == "index Query" and items:
                per = self.query_items.setdefault(self.phase, Tally())
                per.items += len(items)
                per.bytes += sum(sizes)
        else:
            got = [parsed["Item"]] if parsed.get("Item") else []
            got += [i for found in parsed.get("Responses", {}).values() for i in found]
            sizes = [item_size(item) for item in got]
            missing = max(0, context.get("fleet_keys", len(got)) - len(got))
            tally.units += (sum(max(1, math.ceil(s / READ_UNIT)) for s in sizes) + missing) * factor
        tally.items += len(sizes)
        tally.bytes += sum(sizes)
        consumed = parsed.get("ConsumedCapacity") or []
        for entry in consumed if isinstance(consumed, list) else [consumed]:
            tally.moto_units += float(entry.get("CapacityUnits", 0))


def _read_kind(operation: str, params: dict[str, Any]) -> tuple[str, bool, str]:
    from eventstore import schema

    consistent = bool(params.get("ConsistentRead"))
    if operation == "Query":
        pk = params.get("ExpressionAttributeValues", {}).get(":pk", {}).get("S", "")
        if "IndexName" in params:
            return "feed Query (catch_up)", False, pk
        if pk.startswith(schema.INDEX_PREFIX):
            return "index Query", consistent, pk
        if pk.startswith(schema.TOTALS_PREFIX):
            return "totals Query", consistent, pk
        return "other Query", consistent, pk
    if operation == "BatchGetItem":
        return "rows BatchGetItem", True, ""
    return "GetItem (checkpoint, layout, newest row)", consistent, ""


def _write_kind(verb: str, item: dict[str, Any]) -> str:
    from eventstore import schema

    pk = item["pk"]["S"]
    if pk.startswith(schema.INDEX_PREFIX):
        return f"index entry ({verb})"
    if pk.startswith(schema.TOTALS_PREFIX):
        return "total (Update ADD)"
    if item["sk"]["S"].startswith("$"):
        return "checkpoint (Put)"
    return "row (Put)"


def measure_dynamodb(objects: int, sqlite_figures: dict[str, Any]) -> dict[str, Any]:
    from tests.aws_server import FAKE_CREDENTIALS

    os.environ.update(FAKE_CREDENTIALS)
    import boto3

    boto3.setup_default_session(region_name=REGION)
    session = boto3.DEFAULT_SESSION
    assert session is not None
    meter = Meter()
    meter.register(session.events)
    with moto_server() as endpoint:
        return _measure(endpoint, objects, meter, sqlite_figures)


def _measure(
    endpoint: str, objects: int, meter: Meter, sqlite_figures: dict[str, Any]
) -> dict[str, Any]:
    from fleet_data import fleet_rows
    from pydantic_core import to_json

    from eventstore import ProjectionWrite
    from eventstore.dynamodb import DynamoDBEventStore, create_table
    from provenance.projections import object_state
    from provenance.projections.base import CHECKPOINT
    from provenance.query.fleet import fleet_objects, fleet_report

    create_table("bench-fleet", region=REGION, endpoint_url=endpoint)
    store = DynamoDBEventStore("bench-fleet", region=REGION, endpoint_url=endpoint)
    store.put_projection(
        PROJECTION, {object_state.LAYOUT_KEY: object_state.LAYOUT, CHECKPOINT: b"0"}
    )
    meter.phase = "load"
    rows = list(fleet_rows(objects))
    for start in range(0, len(rows), ROWS_PER_CALL):
        store.write_projection(
            PROJECTION,
            [
                ProjectionWrite(
                    row.druid,
                    to_json(row.state),
                    0,
                    index_add=row.indexed.entries,
                    totals=tuple(row.indexed.totals.items()),
                )
                for row in rows[start : start + ROWS_PER_CALL]
            ],
        )
    meter.phase = "report"
    report = fleet_report(store)
    end = date.fromisoformat(report["as_of"][:10])
    pages: dict[str, Any] = {}
    for name, fields in cases(end).items():
        meter.phase = f"{name}|first"
        page = fleet_objects(store, fleet_query(fields))
        pages[name] = {"first": len(page.objects)}
        if page.next is not None:
            meter.phase = f"{name}|next"
            pages[name]["next"] = len(fleet_objects(store, fleet_query(fields, page.next)).objects)
    meter.phase = None
    updates = _updates(store, rows, meter)
    return {
        "objects": objects,
        "pages": pages,
        "reads": {p: {k: vars(t) for k, t in kinds.items()} for p, kinds in meter.reads.items()},
        "writes": {p: {k: vars(t) for k, t in kinds.items()} for p, kinds in meter.writes.items()},
        "index_items": {p: vars(t) for p, t in meter.query_items.items()},
        "totals_names_2m": sqlite_figures["verify"]["totals"],
        "updates": updates,
    }


def _updates(store: Any, rows: list[Any], meter: Meter) -> list[str]:
    """Write units of typical updates: the transaction the projector writes for them (the
    row, its index entries gained and lost, its totals' deltas, the checkpoint)."""
    from fleet_data import ENDPOINTS, Events, ingest_version
    from pydantic_core import to_json

    from eventstore import ProjectionWrite
    from provenance.domain.result_codes import FIXITY_CHECK
    from provenance.projections import object_state
    from provenance.projections.base import CHECKPOINT, _indexed_write

    projector = object_state.ObjectStateProjector(store)
    typical = next(r for r in rows if not r.kinds and len(r.indexed.totals) < 14)
    druid = typical.druid
    rng = random.Random(1)
    base = 1_796_083_200.0  # 2026-12-01: after every drawn event

    def fixity(event: Events) -> None:
        root = sorted(event.state["fixity"])[0]
        event(
            base,
            "FixityChecked",
            storage_root=root,
            check=FIXITY_CHECK,
            outcome="success",
            result_code="MOAB_CHECKSUM_VALID",
        )

    def failure(event: Events) -> None:
        root = sorted(event.state["fixity"])[0]
        event(
            base + 100,
            "FixityChecked",
            storage_root=root,
            check=FIXITY_CHECK,
            outcome="fail",
            result_code="MOAB_FILE_CHECKSUM_MISMATCH",
        )
        event(
            base + 100,
            "PreservationStatusChanged",
            storage_root=root,
            check="update_status",
            old_status="ok",
            new_status="invalid_checksum",
        )

    def new_version(event: Events) -> None:
        ingest_version(event, (event.state["latest_version"] or 0) + 1, base + 200)

    def replicated(event: Events) -> None:
        event(
            base + 300,
            "ReplicationCompleted",
            endpoint=ENDPOINTS[0],
            version=event.state["latest_version"],
            outcome="success",
            parts=[{"suffix": ".zip"}],
        )

    done = []
    for name, change in (
        ("a fixity check passes (the day's first for the object)", fixity),
        ("a fixity check fails, with the status change", failure),
        ("a new version is ingested (7 steps in one batch)", new_version),
        ("that version reaches one endpoint", replicated),
    ):
        stored = store.get_projection(PROJECTION, druid)
        state = object_state.from_value(stored.value)
        was = projector.index_of(state)
        changed = copy.deepcopy(state)
        change(Events(changed, rng))
        checkpoint = store.get_projection(PROJECTION, CHECKPOINT)
        meter.phase = f"update|{name}"
        write = _indexed_write(
            druid, to_json(changed), stored.version, was, projector.index_of(changed)
        )
        store.write_projection(
            PROJECTION, [write, ProjectionWrite(CHECKPOINT, b"1", checkpoint.version)]
        )
        meter.phase = None
        done.append(name)
    return done
