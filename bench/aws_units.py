"""The AWS runtime's bill per 1,000,000 log lines, counted, and its handlers' time.

The issue: "ingest handler time per 1,000 log lines, and DynamoDB write units and Kinesis PUT
payload units per 1,000,000 log lines (counted, then priced with reference/aws.md's list
prices)".

What runs, all over HTTP against a moto server on 127.0.0.1 (`tests.aws_server.MotoServer`,
which gives moto's TransactWriteItems DynamoDB's semantics at a cost that does not grow with
the table), started in a child process so that its work is not in this process's CPU time:

1. `provenance.cli.demo.world.generate` writes a demo world of about `--lines` lines (all ten demo
   files: audit logs, Rails and robot logs, events.jsonl, three access logs);
2. the real `Shipper` (what `prov ship FILE --once` runs) ships every file, with its source
   and service, into a Kinesis stream of `--shards` shards: gzip JSON envelopes of about
   256 KiB of lines. One shard by default, so that every run is the same: the poller reads a
   shard to its end before the next, and the shard a file lands on follows from its partition
   key (host and path, here a random temporary directory), so with more shards the order in
   which events reach the projector changes from run to run, and with it the size of the
   ObjectState rows it rewrites (a row grows with its object's history);
3. `tests.aws_lambda.KinesisPoller` reads the stream into real-shaped Lambda events of
   `--batch-size` records (the event source mapping's default, 100), which are given to
   `handlers.ingest.handler` with `PROV_STORE` naming a fresh table (`eventstore.dynamodb`);
4. `tests.aws_lambda.TableStreamPoller` reads the table's stream the same way into
   `handlers.projector.handler`, again and again until the stream has nothing new (the
   projector's own writes come back through the stream, and are passed by);
5. the same Kinesis events are given to `handlers.ingest.handler` once more, against a fresh
   SQLite store in a temporary directory: first with projections left to a change stream as
   on DynamoDB (the handler's own cost: decoding, parsing, identity, validation, plus
   SQLite's appends), then as `prov ingest` runs (projections applied inline).

How units are counted: botocore event hooks (`before-parameter-build` sees each call's
parameters, `after-call` its parsed answer) on every DynamoDB client of the default boto3
session (the handlers' stores) and on the shipper's Kinesis client, attributed to the handler
running at the time. DynamoDB's sizing rules: an item's size is the sum of its attribute names
(UTF-8 bytes) and values (strings and binary: their length; numbers: about one byte per two
significant digits plus one); a write costs one write unit per 1 KB of the item, rounded up
per item, twice that inside TransactWriteItems; a Put of an item that carries the feed
index's key (`feed_bucket`: event items and bundles) costs one more write of the same size in
the GSI (projection ALL). Units are kept per kind of item: preservation events are event items
(with their id guards), access events are the records of bundles (`eventstore.dynamodb.bundles`:
the handlers bundle `$access/` streams), whose number each bundle's Put is decoded for; the
Query an append makes for a stream-hour's ids is counted as "stream-hour ids". A Delete and
the counter's UpdateItem are counted as one unit (tiny items).
Reads: a strongly consistent read of an item costs one read unit per 4 KB, rounded up per
item; a key that finds nothing costs one unit too; the size is that of what came back (a
ProjectionExpression does not make DynamoDB's read cheaper, but it only trims guards, which
are far below 4 KB anyway); a Query costs one unit per 4 KB of the page, at least one,
half that when eventually consistent (the GSI). Streams read by Lambda cost nothing.
Kinesis: a PUT payload unit per 25 KiB of each record (data + partition key, rounded up per
record); on-demand data in is billed per GB with each record rounded up to 1 KB, and data out
(the ingest function reading the stream once) is counted the same way here.

Time: wall and CPU time of this thread around each handler call (`time.thread_time`: the
handler's own work, botocore included; moto runs in another process). Against moto the wall
time is dominated by the fake server and says nothing about real DynamoDB's latency.

Prices are those of `../shared/reference/aws.md` (us-east-1 list prices, x86_64 Lambda). The
Lambda figures bill the measured CPU time two ways: as if it ran at this machine's full core
speed, and stretched by the CPU share Lambda gives a function of that memory (a full vCPU at
1,769 MB, proportionally less below it). Real DynamoDB round trips add wall time, which Lambda
bills too; the script prints the number of calls and what each millisecond of average call
latency adds, instead of guessing the latency.

Run: `.venv/bin/python bench/aws_units.py [--lines 100000] [--batch-size 100] [--shards 1]
[--access-log LINES] [--json FILE] [--units FILE]` (15-35 minutes for 100,000 lines on a
loaded 2-core machine, most of it moto's; `--render FILE` prints the summary of a run saved
with `--json` again). The demo's web traffic is thin (about 4 access events per service and
hour); `--access-log LINES` adds `bench/access_data.py`'s stacks log of that many lines (30
days), traffic closer to a busy service's: fuller bundles, count rows shared by more events.
Needs the dev dependencies (moto[server]). Everything is made in a temporary directory and
on the private moto server, both removed at the end; nothing talks to real AWS.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import PYTHON, REPO, fmt_int, machine_lines

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # `tests.aws_server` and `tests.aws_lambda`

TZ = "America/Los_Angeles"
HOST = "sul-demo-01"
REGION = "us-east-1"
# The demo writes about 10,400 + 208 x objects lines over 122 days (31,182 for 100 objects,
# 109,936 for 480).
BASE_LINES = 10_400
LINES_PER_OBJECT = 208
DAYS = 122

KB = 1024
PAYLOAD_UNIT = 25 * KB
WRITE_UNIT = KB
READ_UNIT = 4 * KB
GB = 1024**3
VCPU_MB = 1769
"""Lambda gives a function one full vCPU at 1,769 MB of memory, proportionally less below."""
MEMORY_MB = (512, 1024)

# List prices, us-east-1 (../shared/reference/aws.md).
PRICE = {
    "ddb_write": 0.625 / 1e6,
    "ddb_read": 0.125 / 1e6,
    "kinesis_put_unit": 0.014 / 1e6,
    "kinesis_in_gb": 0.08,
    "kinesis_out_gb": 0.04,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_s": 0.0000166667,
    "ddb_storage_gb_month": 0.25,
}

BUNDLE = "access bundle"
"""Items of bundled streams (`eventstore.dynamodb.bundles`): the handlers bundle access events."""
BUNDLE_INDEX_COPY = "bundle's feed index (GSI) copy"

_DATA_OPERATIONS = frozenset(
    {
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "TransactWriteItems",
        "UpdateItem",
    }
)


# --- DynamoDB's sizing rules -----------------------------------------------------------------


def value_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value (DynamoDB JSON)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "B":
        return len(inner)
    if kind == "N":
        return _number_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    if kind == "BS":
        return sum(len(b) for b in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


# --- counting --------------------------------------------------------------------------------


@dataclass
class Tally:
    """Items (or records), bytes and units of one kind of write or read."""

    items: int = 0
    bytes: int = 0
    units: float = 0.0

    def add(self, items: int, size: int, cost: float) -> None:
        self.items += items
        self.bytes += size
        self.units += cost

    def as_json(self) -> dict[str, float]:
        return {"items": self.items, "bytes": self.bytes, "units": self.units}


@dataclass
class Meter:
    """Every DynamoDB call of the default boto3 session, by the phase running at the time."""

    phase: str | None = None
    writes: dict[str, dict[str, Tally]] = field(default_factory=lambda: defaultdict(dict))
    reads: dict[str, dict[str, Tally]] = field(default_factory=lambda: defaultdict(dict))
    calls: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    # Write units that are there only because the write was inside a transaction.
    doubling: Counter[str] = field(default_factory=Counter)
    # Size of every item in the table now, by key (what Puts wrote, less what was deleted).
    stored: dict[tuple[str, str], tuple[int, bool]] = field(default_factory=dict)
    # Records written in bundles (access events), by phase.
    bundled_records: Counter[str] = field(default_factory=Counter)

    def storage(self) -> dict[str, Any]:
        """Bytes the table and its feed GSI hold, with DynamoDB's 100 bytes per item."""
        table = sum(size + 100 for size, _ in self.stored.values())
        indexed = [size + 100 for size, in_index in self.stored.values() if in_index]
        by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for (pk, sk), (size, _) in self.stored.items():
            kind = by_kind[_category({"pk": {"S": pk}, "sk": {"S": sk}})]
            kind[0] += 1
            kind[1] += size
        return {
            "by_kind": {kind: {"items": n, "bytes": b} for kind, (n, b) in by_kind.items()},
            "items": len(self.stored),
            "table_bytes": table,
            "index_items": len(indexed),
            "index_bytes": sum(indexed),
        }

    def register(self, events: Any) -> None:
        events.register("before-parameter-build.dynamodb", self._before)
        events.register("after-call.dynamodb", self._after)

    def _tally(self, table: dict[str, dict[str, Tally]], kind: str) -> Tally:
        assert self.phase is not None
        return table[self.phase].setdefault(kind, Tally())

    def _write(
        self, item: dict[str, Any], *, factor: int, key_only: bool = False, delete: bool = False
    ) -> None:
        size = 0 if key_only else item_size(item)
        kind = _category(item)
        self._tally(self.writes, kind).add(1, size, factor * units(size, WRITE_UNIT))
        if kind == BUNDLE and not key_only:
            from eventstore.dynamodb.bundles import records_from_bundle

            assert self.phase is not None
            self.bundled_records[self.phase] += len(records_from_bundle(item))
        assert self.phase is not None
        self.doubling[self.phase] += (factor - 1) * units(size, WRITE_UNIT)
        indexed = _schema().FEED_PARTITION_KEY in item
        if delete:
            self.stored.pop(_identity(item), None)
        elif not key_only:
            self.stored[_identity(item)] = (size, indexed)
        elif _identity(item) not in self.stored:  # the counter's UpdateItem
            self.stored[_identity(item)] = (item_size(item) + 8, False)
        if not key_only and indexed:
            # The feed GSI (projection ALL) stores a copy: one more write of the same size.
            copy = BUNDLE_INDEX_COPY if kind == BUNDLE else "feed index (GSI) copy"
            self._tally(self.writes, copy).add(1, size, units(size, WRITE_UNIT))

    def _before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        operation = model.name
        if self.phase is None or operation not in _DATA_OPERATIONS:
            return
        self.calls[self.phase][operation] += 1
        if operation == "TransactWriteItems":
            for action in params["TransactItems"]:
                ((kind, body),) = action.items()
                if kind == "Put":
                    self._write(body["Item"], factor=2)
                else:  # Delete, Update, ConditionCheck: small items here
                    self._write(body["Key"], factor=2, key_only=True, delete=kind == "Delete")
        elif operation == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for request in requests:
                    if "PutRequest" in request:
                        self._write(request["PutRequest"]["Item"], factor=1)
                    else:
                        self._write(
                            request["DeleteRequest"]["Key"], factor=1, key_only=True, delete=True
                        )
        elif operation == "PutItem":
            self._write(params["Item"], factor=1)
        elif operation in ("UpdateItem", "DeleteItem"):
            self._write(params["Key"], factor=1, key_only=True, delete=operation == "DeleteItem")
        elif operation == "BatchGetItem":
            context["bench_keys"] = [
                (key, bool(request.get("ConsistentRead")))
                for request in params["RequestItems"].values()
                for key in request["Keys"]
            ]
        elif operation == "GetItem":
            context["bench_keys"] = [(params["Key"], bool(params.get("ConsistentRead")))]
        elif operation in ("Query", "Scan"):
            consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
            values = params.get("ExpressionAttributeValues", {})
            pk = values.get(":pk", {}).get("S", "")
            kind = _category({"pk": {"S": pk}, "sk": {"S": ""}}) if pk else "feed index query"
            if ":hour" in values:  # the ids of a stream-hour's bundles, before writing more
                kind = "stream-hour ids"
            context["bench_query"] = (kind + " (Query)", consistent)

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.phase is None:
            return
        keys = context.get("bench_keys")
        if keys is not None:
            found: dict[tuple[str, str], int] = {}
            if model.name == "GetItem":
                items = [parsed["Item"]] if parsed.get("Item") else []
            else:
                items = [item for got in parsed.get("Responses", {}).values() for item in got]
            for item in items:
                found[_identity(item)] = item_size(item)
            for key, consistent in keys:
                size = found.get(_identity(key), 0)
                cost = units(size, READ_UNIT) * (1 if consistent else 0.5)
                self._tally(self.reads, _category(key)).add(1, size, cost)
        query = context.get("bench_query")
        if query is not None:
            kind, consistent = query
            items = parsed.get("Items", [])
            size = sum(item_size(item) for item in items)
            cost = units(size, READ_UNIT) * (1 if consistent else 0.5)
            self._tally(self.reads, kind).add(len(items), size, cost)


@dataclass
class KinesisMeter:
    """Every PutRecords call of the shipper's client: records, bytes and billing units."""

    calls: int = 0
    records: int = 0
    bytes: int = 0
    payload_units: int = 0
    kb_rounded: int = 0

    def register(self, events: Any) -> None:
        events.register("before-parameter-build.kinesis.PutRecords", self._before)

    def _before(self, params: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        for record in params["Records"]:
            size = len(record["Data"]) + len(record["PartitionKey"].encode("utf-8"))
            self.records += 1
            self.bytes += size
            self.payload_units += math.ceil(size / PAYLOAD_UNIT)
            self.kb_rounded += math.ceil(size / KB)


def _schema() -> Any:
    from eventstore import schema

    return schema


def _identity(item: dict[str, Any]) -> tuple[str, str]:
    return item["pk"]["S"], item["sk"]["S"]


def _category(item: dict[str, Any]) -> str:
    """What kind of item a key or item is, from the table's layout (`eventstore.schema`)."""
    from provenance.domain.events import QUARANTINE_STREAM
    from provenance.projections.base import APPLIED, CHECKPOINT

    schema = _schema()
    pk, sk = item[schema.PARTITION_KEY]["S"], item[schema.SORT_KEY]["S"]
    if pk == schema.EVENT_PREFIX + QUARANTINE_STREAM:
        return "quarantine item"
    if pk.startswith(schema.EVENT_PREFIX):
        from eventstore.dynamodb.bundles import is_bundle_key

        return BUNDLE if is_bundle_key(sk) else "event item"
    if pk.startswith(schema.EVENT_ID_PREFIX):
        return "id guard"
    if pk.startswith(schema.STREAM_NAME_PREFIX):
        return "stream name"
    if pk == schema.COUNTER_KEY:
        return "position counter"
    if pk.startswith(schema.PROJECTION_PREFIX):
        name = pk[len(schema.PROJECTION_PREFIX) :]
        if sk.startswith(APPLIED):
            return f"{name} applied-marker"
        if sk == CHECKPOINT:
            return f"{name} checkpoint"
        return f"{name} row"
    if pk.startswith(schema.INDEX_PREFIX):
        return f"{pk[len(schema.INDEX_PREFIX) :].rpartition('#')[0]} index entry"
    if pk.startswith(schema.TOTALS_PREFIX):
        return f"{pk[len(schema.TOTALS_PREFIX) :].rpartition('#')[0]} total"
    return "other"


# --- the moto server, in a child process ------------------------------------------------------


def _serve_moto() -> int:
    """Child: start the tests' moto server, print its endpoint, serve until stdin closes."""
    from tests.aws_server import MotoServer

    server = MotoServer()
    print(server.endpoint_url, flush=True)
    sys.stdin.read()
    server.stop()
    return 0


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    child = subprocess.Popen(
        [PYTHON, __file__, "--moto-server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, **_fake_credentials()},
    )
    try:
        assert child.stdout is not None
        endpoint = child.stdout.readline().strip()
        if not endpoint.startswith("http://"):
            raise SystemExit("bench: the moto server did not start")
        yield endpoint
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _fake_credentials() -> dict[str, str]:
    from tests.aws_server import FAKE_CREDENTIALS

    return dict(FAKE_CREDENTIALS)


_STARTED = time.perf_counter()


def _progress(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """The handlers log a JSON line per batch and print their metrics (EMF) on stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _folded(result: Any) -> dict[str, Any]:
    """A fold's result as a handler's response (`Timing.run` counts failures from it)."""
    return {"batchItemFailures": [], "folded": result.rows}


@dataclass
class Timing:
    """Invocations of one handler, their wall and CPU time (this thread's)."""

    invocations: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    failures: int = 0

    def run(self, handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any]) -> Any:
        from tests.aws_lambda import LambdaContext

        context = LambdaContext()
        wall, cpu = time.perf_counter(), time.thread_time()
        response = handler(event, context)
        self.cpu_s += time.thread_time() - cpu
        self.wall_s += time.perf_counter() - wall
        self.invocations += 1
        self.failures += len(response.get("batchItemFailures") or ())
        return response

    def as_json(self) -> dict[str, float]:
        return {
            "invocations": self.invocations,
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "failures": self.failures,
        }


# --- the run ---------------------------------------------------------------------------------


def measure(
    lines: int,
    batch_size: int,
    stream_batch_size: int,
    shards: int,
    access_lines: int = 0,
) -> dict[str, Any]:
    os.environ.update(_fake_credentials())
    os.environ["PROV_TZ"] = TZ
    # The deployed function reads its key from Secrets Manager once per container (no write
    # units); the handler refuses to start without one rather than make a key per container.
    os.environ["PROV_PSEUDONYM_KEY"] = "bench: a pseudonym key of at least 32 characters"
    import boto3

    boto3.setup_default_session(region_name=REGION)
    session = boto3.DEFAULT_SESSION
    assert session is not None
    meter = Meter()
    # Clients made later from the default session (the handlers' stores) copy these hooks.
    meter.register(session.events)
    with tempfile.TemporaryDirectory(prefix="bench-aws-") as tmp, moto_server() as endpoint:
        return _measure(
            Path(tmp),
            endpoint,
            meter,
            lines,
            batch_size,
            stream_batch_size,
            shards,
            access_lines,
        )


def _measure(
    tmp: Path,
    endpoint: str,
    meter: Meter,
    lines: int,
    batch_size: int,
    stream_batch_size: int,
    shards: int,
    access_lines: int,
) -> dict[str, Any]:
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    import boto3

    import handlers.ingest
    import handlers.projector
    from eventstore import SQLiteEventStore
    from eventstore.dynamodb import create_table
    from provenance.aws.ship import Shipper
    from provenance.aws.ship_options import ShipOptions
    from provenance.aws.ship_send import kinesis_client
    from provenance.aws.ship_state import ShipState
    from provenance.cli.demo.world import generate
    from provenance.domain.events import QUARANTINE_STREAM
    from tests.aws_lambda import KinesisPoller, TableStreamPoller

    _progress("generating the demo logs")
    started = time.perf_counter()
    objects = max(3, round((lines - BASE_LINES) / LINES_PER_OBJECT))
    data = generate(
        tmp / "demo",
        objects=objects,
        days=DAYS,
        tz=TZ,
    )
    generate_s = time.perf_counter() - started
    files: list[Any] = list(data.files)
    if access_lines:
        # A busy service's traffic on top: bench/access_data.py's stacks log (30 days from
        # 2026-03-01), shipped as `prov ship FILE --source clf --service stacks` would.
        from access_data import write_access_log

        path = tmp / "stacks-busy.log"
        write_access_log(path, access_lines)
        files.append(SimpleNamespace(path=path, source="clf", service="stacks", lines=access_lines))
    total_lines = sum(file.lines for file in files)
    input_bytes = sum(file.path.stat().st_size for file in files)

    _progress("creating the table and the stream")
    table, stream = "bench-events", "bench-logs"
    create_table(table, region=REGION, endpoint_url=endpoint)
    kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=endpoint)
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)

    _progress("shipping")
    # Ship every file as `prov ship FILE --source S [--service V] --once --idle-flush 0` does.
    put = KinesisMeter()
    client = kinesis_client(region=REGION, endpoint_url=endpoint)
    put.register(client.meta.events)  # type: ignore[attr-defined]
    ship = Timing()
    shipped_lines = shipper_units = 0
    with ShipState(tmp / "ship.db") as state:
        for file in files:
            # idle_flush_seconds=0: the demo's logs are finished, read to their ends at once.
            options = ShipOptions(
                stream=stream,
                source=file.source,
                service=file.service,
                host=HOST,
                tz=ZoneInfo(TZ),
                idle_flush_seconds=0,
            )
            wall, cpu = time.perf_counter(), time.thread_time()
            report = Shipper(client, state, options).run([str(file.path)], once=True)
            ship.cpu_s += time.thread_time() - cpu
            ship.invocations += 1
            ship.wall_s += time.perf_counter() - wall
            shipped_lines += report.lines
            shipper_units += report.payload_units
    if shipped_lines != total_lines:
        raise SystemExit(f"bench: shipped {shipped_lines} lines of {total_lines}")

    _progress("shipped; reading the Kinesis stream")
    kinesis_events = list(KinesisPoller(endpoint, stream, batch_size=batch_size).batches())
    records = sum(len(event["Records"]) for event in kinesis_events)

    _progress("ingest handler against DynamoDB")
    # The ingest function against the table.
    os.environ["PROV_STORE"] = f"dynamodb://{table}?region={REGION}&endpoint_url={endpoint}"
    ingest = Timing()
    meter.phase = "ingest"
    with quiet_stdout():
        for event in kinesis_events:
            ingest.run(handlers.ingest.handler, event)
    meter.phase = None

    _progress("projector handler against DynamoDB")
    # The projector function, until the table's stream has nothing new.
    poller = TableStreamPoller(endpoint, table, batch_size=stream_batch_size)
    project = Timing()
    stream_records = Counter[str]()
    filtered_records = 0
    rounds = 0
    meter.phase = "projector"
    with quiet_stdout():
        while True:
            meter.phase = None
            batches = list(poller.batches())
            _progress(f"read {len(batches)} table-stream batches")
            meter.phase = "projector"
            if not batches:
                break
            rounds += 1
            passed: list[dict[str, Any]] = []
            for event in batches:
                for record in event["Records"]:
                    image = record["dynamodb"].get("NewImage") or record["dynamodb"]["Keys"]
                    stream_records[_category(_plain(image))] += 1
                    if _passes_filter(record):
                        passed.append(record)
            # As deployed: the event source mapping's filter (cdk/projector.py) passes event
            # items only, and Lambda fills each invocation with what passed.
            filtered_records += len(passed)
            for start in range(0, len(passed), stream_batch_size):
                event = {"Records": passed[start : start + stream_batch_size]}
                project.run(handlers.projector.handler, event)
        # The projector folds the access counts' rows per change into merged rows once the
        # stream can no longer deliver their changes again (26 hours on; once an hour): here
        # at once, with the clock moved past that, so their cost is in the projector's units.
        _progress("folding the settled access counts")
        from provenance.projections.access_compaction import SETTLED, fold_settled

        later = datetime.now(UTC) + SETTLED + timedelta(hours=1)
        store_of_projector = handlers.projector.store()
        project.run(lambda _event, _context: _folded(fold_settled(store_of_projector, later)), {})
    meter.phase = None

    storage = meter.storage()

    _progress("ingest handler against SQLite")
    # The same Kinesis events into SQLite: the handler's own cost.
    sqlite_runs: dict[str, dict[str, Any]] = {}
    for label, by_stream in (
        ("projections left to the stream", True),
        ("projections inline", False),
    ):
        path = tmp / f"sqlite-{len(sqlite_runs)}.db"
        SQLiteEventStore(path).close()
        os.environ["PROV_STORE"] = f"sqlite:///{path}"
        timing = Timing()
        saved = SQLiteEventStore.projected_by_stream
        SQLiteEventStore.projected_by_stream = by_stream
        try:
            with quiet_stdout():
                for event in kinesis_events:
                    timing.run(handlers.ingest.handler, event)
        finally:
            SQLiteEventStore.projected_by_stream = saved
        with SQLiteEventStore(path) as store:
            events = sum(1 for r in store.read_all() if r.stream != QUARANTINE_STREAM)
            quarantined = sum(1 for _ in store.read_stream(QUARANTINE_STREAM))
        sqlite_runs[label] = {**timing.as_json(), "events": events, "quarantined": quarantined}

    ingest_writes = meter.writes["ingest"]
    preservation = ingest_writes["event item"].items if "event item" in ingest_writes else 0
    access = meter.bundled_records["ingest"]
    return {
        "lines": total_lines,
        "days": DAYS,
        "objects": objects,
        "input_bytes": input_bytes,
        "files": len(files),
        "access_lines": access_lines,
        "generate_s": generate_s,
        "batch_size": batch_size,
        "shards": shards,
        "stream_batch_size": stream_batch_size,
        "kinesis": {
            "records": put.records,
            "bytes": put.bytes,
            "payload_units": put.payload_units,
            "shipper_payload_units": shipper_units,
            "kb_rounded": put.kb_rounded,
            "put_calls": put.calls,
            "lambda_events": len(kinesis_events),
            "records_read": records,
        },
        "ship": ship.as_json(),
        "ingest": ingest.as_json(),
        "projector": {**project.as_json(), "rounds": rounds, "records": filtered_records},
        "stream_records": dict(stream_records),
        "writes": {p: {k: t.as_json() for k, t in w.items()} for p, w in meter.writes.items()},
        "reads": {p: {k: t.as_json() for k, t in r.items()} for p, r in meter.reads.items()},
        "calls": {phase: dict(calls) for phase, calls in meter.calls.items()},
        "transaction_doubling": dict(meter.doubling),
        "dynamodb_event_items": preservation + access,
        "preservation_events": preservation,
        "access_events": access,
        "storage": storage,
        "sqlite": sqlite_runs,
    }


def _passes_filter(record: dict[str, Any]) -> bool:
    """The projector's event source mapping filter (`cdk.projector.event_items_filter`):
    inserted or removed event items."""
    schema = _schema()
    keys = record["dynamodb"].get("Keys") or {}
    pk = keys.get(schema.PARTITION_KEY, {}).get("S", "")
    return record.get("eventName") in ("INSERT", "REMOVE") and pk.startswith(schema.EVENT_PREFIX)


def _plain(image: dict[str, Any]) -> dict[str, Any]:
    return {name: image[name] for name in ("pk", "sk") if name in image}


# --- figures ---------------------------------------------------------------------------------


def costs(figures: dict[str, Any]) -> dict[str, Any]:
    """Units and dollars per 1,000,000 log lines, from the counted figures."""
    scale = 1_000_000 / figures["lines"]
    kinesis = figures["kinesis"]
    out: dict[str, Any] = {"scale": scale, "rows": []}
    rows = out["rows"]

    def row(item: str, quantity: float, unit: str, dollars: float) -> None:
        rows.append({"item": item, "quantity": quantity, "unit": unit, "dollars": dollars})

    put_units = kinesis["payload_units"] * scale
    row(
        "Kinesis PUT payload units (provisioned mode)",
        put_units,
        "units",
        put_units * PRICE["kinesis_put_unit"],
    )
    gb_in = kinesis["kb_rounded"] * KB * scale / GB
    row(
        "Kinesis on-demand data in (records rounded up to 1 KB)",
        gb_in,
        "GB",
        gb_in * PRICE["kinesis_in_gb"],
    )
    row(
        "Kinesis on-demand data out (read once by the ingest function)",
        gb_in,
        "GB",
        gb_in * PRICE["kinesis_out_gb"],
    )
    for phase in ("ingest", "projector"):
        w = sum(t["units"] for t in figures["writes"].get(phase, {}).values()) * scale
        row(f"DynamoDB write request units, {phase}", w, "WRU", w * PRICE["ddb_write"])
        r = sum(t["units"] for t in figures["reads"].get(phase, {}).values()) * scale
        row(f"DynamoDB read request units, {phase}", r, "RRU", r * PRICE["ddb_read"])
    for phase in ("ingest", "projector"):
        n = figures[phase]["invocations"] * scale
        row(f"Lambda requests, {phase}", n, "requests", n * PRICE["lambda_request"])
    lambdas = []
    for phase in ("ingest", "projector"):
        cpu = figures[phase]["cpu_s"] * scale
        calls = sum(figures["calls"].get(phase, {}).values()) * scale
        for memory in MEMORY_MB:
            gb = memory / 1024
            stretched = cpu * max(1.0, VCPU_MB / memory)
            lambdas.append(
                {
                    "function": phase,
                    "memory_mb": memory,
                    "cpu_s": cpu,
                    "full_speed_gb_s": cpu * gb,
                    "full_speed_dollars": cpu * gb * PRICE["lambda_gb_s"],
                    "cpu_share_s": stretched,
                    "cpu_share_gb_s": stretched * gb,
                    "cpu_share_dollars": stretched * gb * PRICE["lambda_gb_s"],
                    "dynamodb_calls": calls,
                    "dollars_per_ms_of_latency": calls * 0.001 * gb * PRICE["lambda_gb_s"],
                }
            )
    out["lambda"] = lambdas
    fixed = sum(r["dollars"] for r in rows if "provisioned" not in r["item"])
    out["total_on_demand_without_compute"] = fixed
    return out


def units_document(figures: dict[str, Any]) -> dict[str, Any]:
    """What `prov cost` prices (`provenance/aws/units.json`, `--units FILE`): the run's counts,
    totals and sizes, with the commit and machine that measured them. Every figure is a
    count of the run (no derived ratio): `provenance.aws.cost_figures` scales them."""
    writes, reads = figures["writes"], figures["reads"]
    calls = figures["calls"]
    stored = figures["storage"]["by_kind"]

    def tally(table: dict[str, Any], kind: str, what: str) -> float:
        return float(table.get(kind, {}).get(what, 0))

    def kinds(table: dict[str, Any], prefix: str, what: str = "units") -> float:
        return sum(float(t[what]) for kind, t in table.items() if kind.startswith(prefix))

    def kept(kind: str, what: str) -> int:
        return int(stored.get(kind, {}).get(what, 0))

    ingest, projector = writes.get("ingest", {}), writes.get("projector", {})
    object_rows = kept("object_state row", "items")
    final_row = kept("object_state row", "bytes") / object_rows if object_rows else 0.0
    counted = {
        "lines": figures["lines"],
        "events": figures["dynamodb_event_items"],
        "days": figures["days"],
        "objects": figures["objects"],  # those two: what `generate` was asked for
        # Preservation events are event items; access events are the records of bundles.
        "preservation_events": figures["preservation_events"],
        "access_events": figures["access_events"],
        "kinesis_records": figures["kinesis"]["records"],
        "kinesis_put_units": figures["kinesis"]["payload_units"],
        "kinesis_kb_rounded": figures["kinesis"]["kb_rounded"],
        "kinesis_bytes": figures["kinesis"]["bytes"],
        "ingest_write_units": sum(t["units"] for t in ingest.values()),
        "ingest_preservation_write_units": sum(
            tally(ingest, kind, "units")
            for kind in ("event item", "id guard", "feed index (GSI) copy")
        ),
        "ingest_access_write_units": sum(
            tally(ingest, kind, "units") for kind in (BUNDLE, BUNDLE_INDEX_COPY)
        ),
        "ingest_read_units": sum(t["units"] for t in reads.get("ingest", {}).values()),
        "ingest_preservation_read_units": tally(reads.get("ingest", {}), "id guard", "units"),
        "ingest_access_read_units": tally(
            reads.get("ingest", {}), "stream-hour ids (Query)", "units"
        ),
        "object_marker_write_units": tally(projector, "object_state applied-marker", "units"),
        "object_row_writes": tally(projector, "object_state row", "items"),
        "object_row_write_units": tally(projector, "object_state row", "units"),
        # The fleet's index entries and totals, written in the rows' transactions.
        "object_index_write_units": tally(projector, "object_state index entry", "units")
        + tally(projector, "object_state total", "units"),
        "object_read_units": kinds(reads.get("projector", {}), "object_state"),
        "access_marker_write_units": tally(projector, "access_counts applied-marker", "units"),
        "access_row_writes": tally(projector, "access_counts row", "items"),
        "access_row_write_units": tally(projector, "access_counts row", "units"),
        "access_read_units": kinds(reads.get("projector", {}), "access_counts"),
        # A rewrite of a row of the size rows ended at: in a transaction (with its markers).
        "object_row_final_write_units": 2 * units(round(final_row), WRITE_UNIT),
        "event_items_stored": kept("event item", "items"),
        "event_item_bytes": kept("event item", "bytes"),
        "guards": kept("id guard", "items"),
        "guard_bytes": kept("id guard", "bytes"),
        "bundles": kept(BUNDLE, "items"),
        "bundle_bytes": kept(BUNDLE, "bytes"),
        "access_rows": kept("access_counts row", "items"),
        "access_row_bytes": kept("access_counts row", "bytes"),
        "object_rows": object_rows,
        "object_row_bytes": kept("object_state row", "bytes"),
        "object_index_items": kept("object_state index entry", "items")
        + kept("object_state total", "items"),
        "object_index_bytes": kept("object_state index entry", "bytes")
        + kept("object_state total", "bytes"),
        "markers": kept("object_state applied-marker", "items")
        + kept("access_counts applied-marker", "items"),
        "marker_bytes": kept("object_state applied-marker", "bytes")
        + kept("access_counts applied-marker", "bytes"),
        "access_markers": kept("access_counts applied-marker", "items"),
        "stream_records": figures["projector"].get(
            "records", sum(figures["stream_records"].values())
        ),
        "projector_invocations": figures["projector"]["invocations"],
        "ingest_cpu_s": figures["ingest"]["cpu_s"],
        "ingest_sqlite_cpu_s": figures["sqlite"]["projections left to the stream"]["cpu_s"],
        "projector_cpu_s": figures["projector"]["cpu_s"],
        "ingest_calls": sum(calls.get("ingest", {}).values()),
        "projector_calls": sum(calls.get("projector", {}).values()),
    }
    return {"measured": figures.get("measured", {}), "units": counted}


def per_kind(figures: dict[str, Any]) -> list[str]:
    """Units and stored bytes per preservation event and per access event (what `prov cost`
    prices, from the same counts as the units file)."""
    u = units_document(figures)["units"]
    p, a = u["preservation_events"] or 1, u["access_events"] or 1
    object_markers = u["markers"] - u["access_markers"]
    rows = [
        (
            "ingest: write units (preservation: item, id guard, index copy; access: bundle, "
            "index copy)",
            u["ingest_preservation_write_units"] / p,
            u["ingest_access_write_units"] / a,
        ),
        (
            "ingest: read units (id guard; the stream-hour's ids)",
            u["ingest_preservation_read_units"] / p,
            u["ingest_access_read_units"] / a,
        ),
        (
            "projector: applied-marker write units",
            u["object_marker_write_units"] / p,
            u["access_marker_write_units"] / a,
        ),
        (
            "projector: row write units",
            u["object_row_write_units"] / p,
            u["access_row_write_units"] / a,
        ),
        (
            "projector: index entry and total write units (the fleet's)",
            u["object_index_write_units"] / p,
            0.0,
        ),
        ("projector: read units", u["object_read_units"] / p, u["access_read_units"] / a),
        (
            "stored bytes (items, index copies, guards; 100 bytes a piece of overhead)",
            (2 * (u["event_item_bytes"] + 100 * u["event_items_stored"]))
            / (u["event_items_stored"] or 1)
            + (u["guard_bytes"] + 100 * u["guards"]) / (u["event_items_stored"] or 1),
            2 * (u["bundle_bytes"] + 100 * u["bundles"]) / a,
        ),
        ("applied-markers per event", object_markers / p, u["access_markers"] / a),
    ]
    out = [
        f"Per kind ({fmt_int(p)} preservation events in event items, {fmt_int(a)} access "
        f"events in {fmt_int(u['bundles'])} bundles, {a / (u['bundles'] or 1):.1f} a bundle):",
        "",
        "| per event | preservation | access |",
        "| --- | ---: | ---: |",
    ]
    out += [f"| {name} | {pv:,.2f} | {av:,.2f} |" for name, pv, av in rows]
    return out


def markdown(figures: dict[str, Any]) -> str:
    cost = costs(figures)
    scale = cost["scale"]
    k = figures["kinesis"]
    lines = figures["lines"]
    out = [
        "#### 6.2 AWS runtime: units, cost and handler time",
        "",
        f"Input: {fmt_int(lines)} log lines in {figures['files']} demo files "
        f"({figures['input_bytes'] / 2**20:.1f} MiB, generated in {figures['generate_s']:.0f} s, "
        f"not timed), shipped by `Shipper` (as `prov ship --once --idle-flush 0`) into a stream of "
        f"{figures['shards']} shard{'' if figures['shards'] == 1 else 's'}: "
        f"{fmt_int(k['records'])} records in {fmt_int(k['put_calls'])} PutRecords calls, "
        f"{k['bytes'] / 2**20:.2f} MiB ({k['bytes'] / k['records'] / KB:.1f} KiB per record, "
        f"{lines / k['records']:,.0f} lines per record), "
        f"{fmt_int(k['payload_units'])} PUT payload units (the shipper's own count: "
        f"{fmt_int(k['shipper_payload_units'])}). Lambda events of up to "
        f"{figures['batch_size']} Kinesis records ({fmt_int(k['lambda_events'])} of them) and "
        f"of up to {figures['stream_batch_size']} table-stream records. Scaled ×{scale:.2f} to "
        "1,000,000 lines.",
        "",
        "DynamoDB units by item (counted from each call's parameters and answers):",
        "",
        "| function | item | writes | mean bytes | write units | units per event "
        "| per 1M lines | share of the function's |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    events = figures["dynamodb_event_items"] or 1
    for phase in ("ingest", "projector"):
        writes = figures["writes"].get(phase, {})
        total = sum(t["units"] for t in writes.values()) or 1
        for kind, t in sorted(writes.items(), key=lambda kv: -kv[1]["units"]):
            mean = f"{t['bytes'] / t['items']:,.0f}" if t["bytes"] else "-"
            out.append(
                f"| {phase} | {kind} | {fmt_int(t['items'])} | {mean} | "
                f"{fmt_int(t['units'])} | {t['units'] / events:.2f} | "
                f"{fmt_int(t['units'] * scale)} | {100 * t['units'] / total:.1f}% |"
            )
        out.append(
            f"| {phase} | **total** | | | **{fmt_int(total)}** | **{total / events:.2f}** | "
            f"**{fmt_int(total * scale)}** | |"
        )
    doubling = figures["transaction_doubling"]
    doubled = sum(doubling.values()) * scale
    marker_writes = sum(
        t["units"] for w in figures["writes"].values() for k, t in w.items() if "marker" in k
    )
    marker_reads = sum(
        t["units"] for r in figures["reads"].values() for k, t in r.items() if "marker" in k
    )
    marker_dollars = scale * (marker_writes * PRICE["ddb_write"] + marker_reads * PRICE["ddb_read"])
    out += [
        "",
        "Of these, the second unit of every transactional write (TransactWriteItems costs twice): "
        + "; ".join(
            f"{phase} {fmt_int(doubling.get(phase, 0))} "
            f"({100 * doubling.get(phase, 0) / (sum(t['units'] for t in w.values()) or 1):.1f}%)"
            for phase, w in figures["writes"].items()
        )
        + f"; per 1,000,000 lines {fmt_int(doubled)} write units, "
        f"${doubled * PRICE['ddb_write']:.2f}. The projector's applied-markers: "
        f"{fmt_int(marker_writes * scale)} write units and {fmt_int(marker_reads * scale)} read "
        f"units per 1,000,000 lines, ${marker_dollars:.2f}.",
    ]
    out += [
        "",
        "| function | read | keys or items | read units | per 1M lines |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for phase in ("ingest", "projector"):
        for kind, t in sorted(
            figures["reads"].get(phase, {}).items(), key=lambda kv: -kv[1]["units"]
        ):
            out.append(
                f"| {phase} | {kind} | {fmt_int(t['items'])} | {t['units']:,.1f} | "
                f"{fmt_int(t['units'] * scale)} |"
            )
    out += [
        "",
        "DynamoDB calls: "
        + "; ".join(
            f"{phase}: " + ", ".join(f"{op} {fmt_int(n)}" for op, n in sorted(calls.items()))
            for phase, calls in figures["calls"].items()
        )
        + ".",
        "",
        *per_kind(figures),
    ]
    events = figures["dynamodb_event_items"]
    out += [
        "",
        f"Events stored: {fmt_int(events)} ({events / lines * 1000:,.0f} per 1,000 lines). "
        "Records of the table's stream: "
        + ", ".join(
            f"{kind} {fmt_int(n)}"
            for kind, n in sorted(figures["stream_records"].items(), key=lambda kv: -kv[1])
        )
        + f" ({fmt_int(sum(figures['stream_records'].values()))} in all); "
        + (
            f"the deployed filter passed {fmt_int(figures['projector']['records'])} to the "
            if "records" in figures["projector"]
            else "all of them went to the "
        )
        + f"projector, in {fmt_int(figures['projector']['invocations'])} invocations, "
        f"{figures['projector']['rounds']} rounds of reading the stream.",
        "",
        "Per 1,000,000 log lines, list prices (us-east-1):",
        "",
        "| item | quantity | unit | $ |",
        "| --- | ---: | --- | ---: |",
    ]
    for r in cost["rows"]:
        quantity = r["quantity"]
        shown = f"{quantity:,.3f}" if quantity < 100 else fmt_int(quantity)
        out.append(f"| {r['item']} | {shown} | {r['unit']} | {r['dollars']:.4f} |")
    out.append(
        f"| **sum of the on-demand rows (Lambda compute below)** | | | "
        f"**{cost['total_on_demand_without_compute']:.4f}** |"
    )
    out += [
        "",
        "Lambda compute per 1,000,000 log lines (x86_64, $0.0000166667 per GB-s), billing the "
        "handler's measured CPU time at full core speed, and stretched by Lambda's CPU share "
        f"(a vCPU at {VCPU_MB:,} MB); DynamoDB round trips come on top:",
        "",
        "| function | memory MB | CPU s | GB-s (full speed) | $ | s with CPU share | GB-s | $ | "
        "DynamoDB calls | $ per ms of average call latency |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for lam in cost["lambda"]:
        out.append(
            f"| {lam['function']} | {lam['memory_mb']} | {lam['cpu_s']:.1f} | "
            f"{lam['full_speed_gb_s']:.1f} | {lam['full_speed_dollars']:.4f} | "
            f"{lam['cpu_share_s']:.1f} | {lam['cpu_share_gb_s']:.1f} | "
            f"{lam['cpu_share_dollars']:.4f} | {fmt_int(lam['dynamodb_calls'])} | "
            f"{lam['dollars_per_ms_of_latency']:.5f} |"
        )
    s = figures["storage"]
    stored_gb = (s["table_bytes"] + s["index_bytes"]) * scale / GB
    out += [
        "",
        f"Storage: {fmt_int(s['items'])} items, {s['table_bytes'] / 2**20:.1f} MiB in the table "
        f"and {s['index_bytes'] / 2**20:.1f} MiB in the feed GSI (counted from the writes, "
        f"with DynamoDB's 100 bytes of overhead per item): {stored_gb:.3f} GB per 1,000,000 lines, "
        f"${stored_gb * PRICE['ddb_storage_gb_month']:.4f} per month at $0.25 per GB-month. "
        "Items at the end, by kind (mean bytes; write units of rewriting one in a transaction): "
        + "; ".join(
            f"{kind} {fmt_int(k['items'])} ({k['bytes'] / k['items']:,.0f}; "
            f"{2 * units(round(k['bytes'] / k['items']), WRITE_UNIT)})"
            for kind, k in sorted(s["by_kind"].items(), key=lambda kv: -kv[1]["bytes"])
        )
        + ".",
    ]
    rows = figures["writes"].get("projector", {}).get("object_state row")
    final = s["by_kind"].get("object_state row")
    if rows and final:
        mean_final = final["bytes"] / final["items"]
        per_write = rows["units"] / rows["items"]
        out += [
            "",
            f"ObjectState rows were {rows['bytes'] / rows['items']:,.0f} bytes on average when "
            f"written ({per_write:.2f} write units per write) and are {mean_final:,.0f} bytes at "
            f"the end ({2 * units(round(mean_final), WRITE_UNIT)} units per transactional "
            "rewrite): this run starts from empty rows, so once objects have a history each "
            f"rewrite costs about {2 * units(round(mean_final), WRITE_UNIT) / per_write:.1f}× "
            "what it cost here.",
        ]
    out += [
        "",
        "Handler time (this thread's wall and CPU time around each call; moto in another process):",
        "",
        "| run | invocations | wall s | CPU s | wall ms per 1,000 lines | CPU ms per 1,000 lines "
        "| events | CPU ms per 1,000 events |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    timed = [
        ("ship (`Shipper`, the producer, one run per file, against moto)", figures["ship"], 0),
        ("ingest handler against moto (DynamoDB)", figures["ingest"], events),
    ]
    for label, run in figures["sqlite"].items():
        timed.append((f"ingest handler against SQLite, {label}", run, run["events"]))
    timed.append(("projector handler against moto (DynamoDB)", figures["projector"], events))
    for label, run, n in timed:
        per_event = ["", ""] if not n else [fmt_int(n), f"{1e6 * run['cpu_s'] / n:,.1f}"]
        out.append(
            f"| {label} | {fmt_int(run['invocations'])} | {run['wall_s']:.1f} | "
            f"{run['cpu_s']:.1f} | {1e6 * run['wall_s'] / lines:,.1f} | "
            f"{1e6 * run['cpu_s'] / lines:,.1f} | {per_event[0]} | {per_event[1]} |"
        )
    failures = figures["ingest"]["failures"] + figures["projector"]["failures"]
    checks = [run["events"] for run in figures["sqlite"].values()]
    verdict = "agree" if all(n == events for n in checks) else "DISAGREE"
    out += [
        "",
        f"- Checked: batch item failures {failures}; events stored in DynamoDB "
        f"{fmt_int(events)} and in each SQLite run {', '.join(fmt_int(n) for n in checks)} "
        f"({verdict}).",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="about this many log lines")
    parser.add_argument("--batch-size", type=int, default=100, help="Kinesis records per event")
    parser.add_argument(
        "--stream-batch-size", type=int, default=100, help="table-stream records per event"
    )
    parser.add_argument("--shards", type=int, default=1, help="shards of the Kinesis stream")
    parser.add_argument(
        "--access-log",
        type=int,
        default=0,
        metavar="LINES",
        help="also ship this many lines of bench/access_data.py's busy stacks log (denser access "
        "traffic: fuller bundles and shared count rows)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--units",
        type=Path,
        help="also write what `prov cost` prices here (provenance/aws/units.json); with "
        "--render, from the saved figures",
    )
    parser.add_argument(
        "--render", type=Path, help="print the summary of figures saved with --json, run nothing"
    )
    parser.add_argument("--moto-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.moto_server:
        return _serve_moto()
    if args.render:
        saved = json.loads(args.render.read_text())
        if args.units:
            args.units.write_text(json.dumps(units_document(saved), indent=2) + "\n")
        print(markdown(saved))
        return 0
    command = " ".join(["python bench/aws_units.py", *(argv or sys.argv[1:])])
    figures = measure(
        args.lines, args.batch_size, args.stream_batch_size, args.shards, args.access_log
    )
    figures["costs"] = costs(figures)
    # Taken after the run: the commit is the one measured unless it changed meanwhile.
    figures["measured"] = {"command": command, "machine": [m[2:] for m in machine_lines()]}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    if args.units:
        args.units.write_text(json.dumps(units_document(figures), indent=2) + "\n")
    print(markdown(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
