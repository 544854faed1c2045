"""Least privilege, proven: each function's role grants exactly what its handler calls.

The three handlers run against the moto server with real-shaped input (Kinesis batches read
from a real stream, the table's own stream, API Gateway events for every route), through
every path that makes calls of its own: new events, redelivered batches, quarantine, access
events with an expiry, several object streams; projection inserts, redelivery (markers), the
TTL removing access events, new events once every marker is past its expiry (which the TTL,
not the projector, deletes); every API route and a 404. A botocore hook on
boto3's default session (`provide-client-params`, emitted once per API call of every client
made from it, as the store's and the secret reader's are) records each operation.

Operations map to IAM actions as IAM authorises them: a plain call by its own name,
TransactWriteItems by the actions of its items (a Put, even a conditional one, needs
dynamodb:PutItem), TransactGetItems as GetItem, a Query with IndexName on the index's ARN.
The recorded actions must equal `cdk.permissions` (nothing missing, nothing spare), and the
synthesised template must grant exactly those, on the resources named, to each function.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import boto3
import pytest
from aws_cdk.assertions import Template

import handlers.api
import handlers.container
import handlers.ingest
import handlers.projector
from cdk.ingest import INGEST_HANDLER
from cdk.permissions import INDEX_ACTIONS, TABLE_ACTIONS, Role
from cdk.projector import PROJECTOR_HANDLER
from cdk.query_api import API_HANDLER
from eventstore import EventStore, schema
from eventstore.url import init_store
from provenance.domain.events import ACCESS_STREAM_PREFIX
from provenance.projections import access_counts, change_stream, object_state
from provenance.projections.base import APPLIED
from provenance.records.envelope import encode
from tests.aws_lambda import KinesisPoller, LambdaContext, TableStreamPoller, http_event
from tests.aws_server import FAKE_CREDENTIALS, REGION, MotoServer, unique_name
from tests.samples import CHECKSUM_OK, OBJECT_LOG, REPLICATED, sample_envelope

ROLES: tuple[Role, ...] = ("ingest", "projector", "api")
HANDLERS: dict[str, Role] = {
    INGEST_HANDLER: "ingest",
    PROJECTOR_HANDLER: "projector",
    API_HANDLER: "api",
}
# Resource kinds a needed action (and a granted one) applies to.
TABLE, INDEX, SECRET = "table", "index", "secret"
# TransactWriteItems is authorised per item, by the action the item does.
ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
WRITE_ACTIONS = frozenset(
    {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:PartiQLInsert",
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLDelete",
    }
)
STREAM_READ_ACTIONS = frozenset(
    {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
)

DRUID = "bj102hs9687"
OTHER_DRUID = "bc123df4567"
ACCESS_LINES = [
    b'171.64.1.2 - - [01/Mar/2026:10:00:00 -0800] "GET /file/druid:bj102hs9687/a.pdf HTTP/1.1"'
    b' 200 1024 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"',
    b'2001:db8::7 - - [01/Mar/2026:10:59:59 -0800] "GET /file/druid:bj102hs9687/b.pdf HTTP/1.1"'
    b' 200 2048 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"',
]
PSEUDONYM_KEY = "permissions-test-pseudonym-key-0123456789"


# --- recording ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One API call a handler's client made: the service (IAM prefix), the operation, the
    index a Query or Scan read, and the item kinds of a transaction."""

    service: str
    operation: str
    index: str | None = None
    items: tuple[str, ...] = ()

    def needs(self) -> set[tuple[str, str]]:
        """The (IAM action, resource kind) pairs this call is authorised by."""
        if self.service == "secretsmanager":
            return {(f"secretsmanager:{self.operation}", SECRET)}
        if self.service != "dynamodb":
            return {(f"{self.service}:{self.operation}", "other")}
        if self.operation == "TransactWriteItems":
            return {(ITEM_ACTIONS[kind], TABLE) for kind in self.items}
        if self.operation == "TransactGetItems":
            return {("dynamodb:GetItem", TABLE)}
        if self.index is not None:
            return {(f"dynamodb:{self.operation}", INDEX)}
        return {(f"dynamodb:{self.operation}", TABLE)}

    def __str__(self) -> str:
        detail = f"[{self.index}]" if self.index else ""
        if self.items:
            detail = "(" + ",".join(self.items) + ")"
        return f"{self.service}:{self.operation}{detail}"


@dataclass
class Recording:
    """The calls each handler made, per scenario, and what the scenarios saw."""

    calls: dict[tuple[Role, str], set[Call]] = field(default_factory=lambda: defaultdict(set))
    current: tuple[Role, str] | None = None
    outcomes: dict[str, Any] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)  # kinds (key prefixes) deleted in transactions

    def hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.current is None:
            return  # the test's own setup and pollers
        service = model.service_model.signing_name
        items: tuple[str, ...] = ()
        if model.name in ("TransactWriteItems", "TransactGetItems"):
            # Each item is {"Put": {...}} (or Update, Delete, ConditionCheck; Get).
            items = tuple(sorted({kind for entry in params["TransactItems"] for kind in entry}))
            for entry in params["TransactItems"]:
                if "Delete" in entry:
                    pk = entry["Delete"]["Key"][schema.PARTITION_KEY]["S"]
                    self.deleted.add(pk.partition("#")[0] + "#")
        self.calls[self.current].add(Call(service, model.name, params.get("IndexName"), items))

    def run(self, role: Role, scenario: str, call: Callable[[], Any]) -> Any:
        self.current = (role, scenario)
        try:
            return call()
        finally:
            self.current = None

    def of(self, role: Role) -> set[Call]:
        return {c for (who, _), calls in self.calls.items() if who == role for c in calls}

    def scenario(self, role: Role, scenario: str) -> set[Call]:
        return self.calls.get((role, scenario), set())

    def needs(self, role: Role) -> set[tuple[str, str]]:
        return {need for call in self.of(role) for need in call.needs()}


class _ThreeDaysLater(datetime):
    """The projector's clock, three days on: its applied-markers are past their expiry."""

    @classmethod
    def now(cls, tz: Any = None) -> _ThreeDaysLater:  # type: ignore[override]
        moment = datetime.now(tz) + timedelta(days=3)
        return cls.fromtimestamp(moment.timestamp(), tz)


def _forget_containers() -> None:
    """Cold starts: the next invocation of each handler opens its store (a new client)."""
    handlers.ingest._options.cache_clear()
    handlers.container.close()


def _event_items_only(batch: dict[str, Any]) -> dict[str, Any]:
    """What the projector's event source mapping lets through (`cdk.projector`'s filter):
    inserted and removed event items."""
    records = [
        record
        for record in batch["Records"]
        if record["eventName"] in ("INSERT", "REMOVE")
        and record["dynamodb"]["Keys"][schema.PARTITION_KEY]["S"].startswith(schema.EVENT_PREFIX)
    ]
    return {"Records": records}


def _body(response: dict[str, Any]) -> Any:
    body = response["body"]
    raw = gzip.decompress(base64.b64decode(body)) if response["isBase64Encoded"] else body
    return json.loads(raw)


@pytest.fixture(scope="module")
def recording(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    """Every path of the three handlers, run once against the moto server, recorded."""
    table, stream = unique_name("perm-events"), unique_name("perm-logs")
    url = moto.dynamodb_url(table)
    init_store(url)
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto.endpoint_url)
    kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=moto.endpoint_url)
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    secrets = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto.endpoint_url)
    secret = secrets.create_secret(Name=unique_name("perm-key"), SecretString=PSEUDONYM_KEY)

    recording = Recording()
    session = boto3._get_default_session()
    with pytest.MonkeyPatch.context() as env:
        # The functions' configuration, as the stacks set it (dev stage).
        for name, value in FAKE_CREDENTIALS.items():
            env.setenv(name, value)
        env.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
        env.setenv("PROV_STORE", url)
        env.setenv("PROV_TZ", "UTC")
        env.setenv("PROV_ACCESS_EVENT_DAYS", "30")
        env.setenv("PROV_PSEUDONYM_KEY_SECRET", secret["ARN"])
        env.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint_url)
        for name in ("PROV_PSEUDONYM_KEY", "PROV_ACCESS_POLICY", "AWS_PROFILE"):
            env.delenv(name, raising=False)
        # Clients copy the session's hooks when they are made: register before any handler
        # makes its clients, and make every handler start cold.
        session.events.register("provide-client-params.*.*", recording.hook)
        _forget_containers()
        env.setattr(change_stream, "_pruned_hour", None)
        try:
            _run_scenarios(recording, moto, table, stream, kinesis, dynamodb)
        finally:
            session.events.unregister("provide-client-params.*.*", recording.hook)
            _forget_containers()
            kinesis.delete_stream(StreamName=stream)
            dynamodb.delete_table(TableName=table)
    yield recording


def _run_scenarios(
    recording: Recording,
    moto: MotoServer,
    table: str,
    stream: str,
    kinesis: Any,
    dynamodb: Any,
) -> None:
    outcomes = recording.outcomes

    def markers(store: EventStore) -> list[str]:
        return [
            row.key
            for projection in (access_counts.PROJECTION, object_state.PROJECTION)
            for row in store.read_projection(projection, start=APPLIED, stop=APPLIED + "~")
        ]

    def ingest(scenario: str) -> list[dict[str, Any]]:
        poller = KinesisPoller(moto.endpoint_url, stream)
        return [
            recording.run("ingest", scenario, lambda b=batch: handlers.ingest.handler(b, ctx()))
            for batch in poller.batches()
        ]

    def project(scenario: str, poller: TableStreamPoller) -> list[dict[str, Any]]:
        # Lambda invokes only for batches its filter leaves something in.
        batches = [_event_items_only(batch) for batch in poller.batches()]
        return [
            recording.run(
                "projector", scenario, lambda b=batch: handlers.projector.handler(b, ctx())
            )
            for batch in batches
            if batch["Records"]
        ]

    def ctx() -> LambdaContext:
        return LambdaContext()

    def put(*datas: bytes) -> None:
        kinesis.put_records(
            StreamName=stream,
            Records=[{"Data": data, "PartitionKey": f"host-{i}"} for i, data in enumerate(datas)],
        )

    # Ingest: two object streams, access events (with an expiry: TTL), quarantined lines
    # and an undecodable record; then the same records delivered again.
    lines = OBJECT_LOG.encode().splitlines()
    access = sample_envelope(ACCESS_LINES, source="clf", service="stacks", host="stacks-a")
    put(
        encode(sample_envelope(lines)),
        CHECKSUM_OK.replace(DRUID, OTHER_DRUID).encode(),
        encode(access, compress=False),
        b"not a log line\n",
        b"\x1f\x8b\x08 definitely not gzip",
    )
    outcomes["ingest new"] = ingest("new events")
    outcomes["ingest redelivered"] = ingest("redelivered")
    # A batch of old and new records: only the new ones are written.
    put(REPLICATED.replace(DRUID, OTHER_DRUID).encode())
    outcomes["ingest mixed"] = ingest("partly new")

    # Projector: the table's stream from its start, then all of it again (markers).
    first = TableStreamPoller(moto.endpoint_url, table)
    outcomes["project inserts"] = project("inserts", first)
    outcomes["project redelivered"] = project(
        "redelivered", TableStreamPoller(moto.endpoint_url, table)
    )
    # The TTL removes the access events (their bundle): REMOVE records of event items.
    access_keys = [
        item
        for item in dynamodb.scan(TableName=table, ProjectionExpression="pk, sk")["Items"]
        if item["pk"]["S"].startswith(schema.EVENT_PREFIX + ACCESS_STREAM_PREFIX)
    ]
    outcomes["expired access events"] = len(access_keys)
    for key in access_keys:
        dynamodb.delete_item(TableName=table, Key=key)
    outcomes["project ttl"] = project("ttl removals", first)
    outcomes["markers before"] = markers(handlers.projector.store())
    # Rows per change stay until the stream can no longer deliver them again. (The
    # container's store, not closed: the handlers go on using it.)
    rows_per_change = handlers.projector.store().read_projection(
        "access_counts", start="x|", stop="x}"
    )
    outcomes["rows per change"] = len(list(rows_per_change))
    # Three days on, new events arrive: every marker is past its expiry, and the projector
    # still deletes none of them (the TTL does; moto does not run it). The hour a container
    # last pruned in (on a store without expiry) is forgotten, as if the clock had moved.
    change_stream._pruned_hour = None
    later = [line.replace(b"01/Mar/2026", b"05/Mar/2026") for line in ACCESS_LINES]
    # Days after the object's other events: its index entries move (its newest event's hour,
    # its last fixity check), so the projector deletes the old ones.
    put(
        CHECKSUM_OK.replace("2026-03-01T22:14:05", "2026-03-12T23:14:05").encode(),
        encode(sample_envelope(later, source="clf", service="stacks", host="stacks-a")),
    )
    outcomes["ingest later"] = ingest("later")
    with pytest.MonkeyPatch.context() as clock:
        clock.setattr(change_stream, "datetime", _ThreeDaysLater)
        outcomes["project later"] = project("three days later", first)
    with handlers.projector.store() as store:
        changes = list(store.read_projection("access_counts", start="x|", stop="x}"))
        outcomes["folded later"] = outcomes["rows per change"] - len(changes)
        outcomes["sealed"] = access_counts.sealed_before(store)
        outcomes["markers after"] = markers(store)
        outcomes["marker expiry"] = {
            item[schema.SORT_KEY]["S"]: item.get(schema.TTL_ATTRIBUTE, {}).get("N")
            for item in dynamodb.scan(TableName=table)["Items"]
            if item[schema.SORT_KEY]["S"].startswith(APPLIED)
        }
    handlers.container.close()

    # The query API: every route, a second page, a report by druid, and 404s.
    answers: dict[str, dict[str, Any]] = {}
    outcomes["api"] = answers

    def get(scenario: str, path: str, query: str = "", method: str = "GET") -> dict[str, Any]:
        event = http_event(path, dict(parse_qsl(query)), {"accept-encoding": "gzip"}, method=method)
        response: dict[str, Any] = recording.run(
            "api", scenario, lambda: handlers.api.handler(event, ctx())
        )
        answers[scenario] = response
        return response

    page = get("events", f"/objects/druid:{DRUID}/events", "limit=2")
    get("events, next page", f"/objects/druid:{DRUID}/events", f"limit=2&after={_next(page)}")
    get("state", f"/objects/druid:{DRUID}/state")
    get("premis", f"/objects/druid:{DRUID}/premis")
    get("premis, HEAD", f"/objects/druid:{DRUID}/premis", method="HEAD")
    get("report", "/reports/access", "by=service,agent")
    get("report by druid", "/reports/access", "by=druid")
    get("state of an unknown object", "/objects/druid:zz999zz9999/state")
    get("events of an unknown object", "/objects/druid:zz999zz9999/events")
    get("unknown route", "/things")
    objects = get("objects", "/objects", "limit=1")
    get("objects, next page", "/objects", f"limit=1&after={objects['headers']['Prov-Next-After']}")
    get("fleet", "/reports/fleet")


def _next(page: dict[str, Any]) -> str:
    cursor = _body(page)["next"]
    assert cursor, "the first page should have a next one"
    return str(cursor)


# --- what the handlers call --------------------------------------------------------------------


def test_every_path_was_exercised(recording: Recording) -> None:
    """The scenarios did what they are there for: otherwise a grant could look spare."""
    seen = recording.outcomes
    for key in ("ingest new", "ingest redelivered", "ingest mixed"):
        assert seen[key] and all(r == {"batchItemFailures": []} for r in seen[key]), key
    for key in ("project inserts", "project redelivered", "project ttl", "project later"):
        assert seen[key] and all(r == {"batchItemFailures": []} for r in seen[key]), key
    # A redelivered batch only asks which ids exist (guards; a bundled stream-hour's ids);
    # the projector finds its markers (preservation events) and puts a bundle's count rows
    # again, the same bytes (a batch write).
    assert {str(c) for c in recording.scenario("ingest", "redelivered")} == {
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
    }
    assert {str(c) for c in recording.scenario("projector", "redelivered")} == {
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
    }
    assert seen["expired access events"] == 1  # both access events are in one bundle
    assert seen["sealed"] is not None  # the TTL's removals sealed their day
    # Markers expire by the table's TTL: each carries it, and the projector deletes none,
    # not even three days on, when every one of them is past it. What it deletes, three days
    # on, is the access counts' rows per change it folds into merged rows (found by a Query
    # of their key range, deleted in batch writes).
    before, after = seen["markers before"], seen["markers after"]
    assert before and set(before) < set(after)
    assert set(seen["marker expiry"]) == set(after)
    assert all(value is not None for value in seen["marker expiry"].values())
    assert recording.scenario("projector", "three days later")
    # (What it deletes in transactions are index entries an object's state no longer has.)
    assert not any(call.operation == "DeleteItem" for call in recording.of("projector"))
    assert recording.deleted <= {schema.INDEX_PREFIX}
    assert seen["rows per change"] == seen["folded later"] > 0
    api = seen["api"]
    assert {scenario: response["statusCode"] for scenario, response in api.items()} == {
        "events": 200,
        "events, next page": 200,
        "state": 200,
        "premis": 200,
        "premis, HEAD": 200,
        "report": 200,
        "report by druid": 200,
        "state of an unknown object": 404,
        "events of an unknown object": 404,
        "unknown route": 404,
        "objects": 200,
        "objects, next page": 200,
        "fleet": 200,
    }
    assert _body(api["objects"]) and _body(api["objects, next page"])
    assert _body(api["fleet"])["objects"] > 0
    assert _body(api["events, next page"])["events"]
    assert _body(api["report"]) and _body(api["report by druid"])


def test_recorded_operations(recording: Recording) -> None:
    """What each handler calls (printed with -s, for people reviewing a change)."""
    for role in ROLES:
        print(role, sorted({str(call) for call in recording.of(role)}))
    assert {call.service for role in ROLES for call in recording.of(role)} == {
        "dynamodb",
        "secretsmanager",
    }


@pytest.mark.parametrize("role", ROLES)
def test_each_function_is_granted_exactly_the_table_actions_it_calls(
    recording: Recording, role: Role
) -> None:
    needs = recording.needs(role)
    on_table = {action for action, resource in needs if resource == TABLE}
    on_index = {action for action, resource in needs if resource == INDEX}

    assert on_table == set(TABLE_ACTIONS[role]), (
        f"{role}: missing {sorted(on_table - set(TABLE_ACTIONS[role]))}, "
        f"spare {sorted(set(TABLE_ACTIONS[role]) - on_table)}"
    )
    # Only a function that queries the feed index gets the index's ARN.
    assert on_index == set(INDEX_ACTIONS[role])
    assert {resource for _, resource in needs} <= {TABLE, INDEX, SECRET}


def test_only_ingest_reads_the_pseudonym_key(recording: Recording) -> None:
    secret_calls = {
        role: {action for action, resource in recording.needs(role) if resource == SECRET}
        for role in ROLES
    }
    assert secret_calls == {
        "ingest": {"secretsmanager:GetSecretValue"},
        "projector": set(),
        "api": set(),
    }


# --- what the template grants --------------------------------------------------------------------

TABLE_STREAM = "table stream"
ANY = "*"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


JsonTemplate = dict[str, Any]


@pytest.fixture(scope="module")
def templates(
    pipeline_template: Template, store_template: Template
) -> tuple[JsonTemplate, JsonTemplate]:
    """The pipeline and store templates as JSON (`to_json` crosses into jsii: once only)."""
    return pipeline_template.to_json(), store_template.to_json()


def _references(store: JsonTemplate) -> dict[str, str]:
    """How the pipeline stack can name the store's resources (in-stack references, or imports
    of the store stack's exports) -> the kind of resource named."""
    resources = store["Resources"]

    def only(kind: str) -> str:
        (logical_id,) = [name for name, r in resources.items() if r["Type"] == kind]
        return logical_id

    table, secret = only("AWS::DynamoDB::Table"), only("AWS::SecretsManager::Secret")
    table_arn = {"Fn::GetAtt": [table, "Arn"]}
    named: dict[str, str] = {
        _canonical(table_arn): TABLE,
        _canonical({"Fn::GetAtt": [table, "StreamArn"]}): TABLE_STREAM,
        _canonical({"Ref": secret}): SECRET,
    }
    for output in store.get("Outputs", {}).values():
        kind = named.get(_canonical(output["Value"]))
        export = output.get("Export", {}).get("Name")
        if kind is not None and export is not None:
            named[_canonical({"Fn::ImportValue": export})] = kind
    for reference, kind in list(named.items()):
        if kind == TABLE:
            index = {"Fn::Join": ["", [json.loads(reference), f"/index/{schema.FEED_INDEX}"]]}
            named[_canonical(index)] = INDEX
    named[_canonical(ANY)] = ANY
    return named


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _function_roles(pipeline: JsonTemplate) -> dict[Role, str]:
    """Each pipeline function's role (logical id), found by the function's `Role` GetAtt."""
    roles: dict[Role, str] = {}
    for name, resource in pipeline["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        handler = resource["Properties"].get("Handler")
        assert handler in HANDLERS, f"{name}: a function this test does not know ({handler})"
        role_id, attribute = resource["Properties"]["Role"]["Fn::GetAtt"]
        assert attribute == "Arn"
        roles[HANDLERS[handler]] = role_id
    assert set(roles) == set(ROLES)
    return roles


def _grants(pipeline: JsonTemplate, store: JsonTemplate) -> dict[Role, dict[str, set[str]]]:
    """Per function: resource kind -> the actions its role's policies allow on it."""
    references = _references(store)
    resources = pipeline["Resources"]
    grants: dict[Role, dict[str, set[str]]] = {}
    for role, role_id in _function_roles(pipeline).items():
        by_resource: dict[str, set[str]] = defaultdict(set)
        for resource in resources.values():
            if resource["Type"] != "AWS::IAM::Policy":
                continue
            if {"Ref": role_id} not in resource["Properties"]["Roles"]:
                continue
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                assert statement["Effect"] == "Allow"
                assert "NotAction" not in statement and "NotResource" not in statement
                for target in _as_list(statement["Resource"]):
                    kind = references.get(_canonical(target), f"other {_canonical(target)}")
                    by_resource[kind].update(_as_list(statement["Action"]))
        grants[role] = dict(by_resource)
    return grants


@pytest.fixture(scope="module")
def grants(templates: tuple[JsonTemplate, JsonTemplate]) -> dict[Role, dict[str, set[str]]]:
    return _grants(*templates)


@pytest.mark.parametrize("role", ROLES)
def test_the_template_grants_each_role_the_permission_lists(
    grants: dict[Role, dict[str, set[str]]], role: Role
) -> None:
    granted = grants[role]
    assert granted.get(TABLE, set()) == set(TABLE_ACTIONS[role])
    assert granted.get(INDEX, set()) == set(INDEX_ACTIONS[role])
    # DynamoDB actions go to the table, its index and (projector) its stream, nowhere else.
    for kind, actions in granted.items():
        if any(action.startswith("dynamodb:") for action in actions):
            assert kind in (TABLE, INDEX, TABLE_STREAM, ANY), (role, kind, actions)


def test_no_role_is_granted_a_wildcard_action(grants: dict[Role, dict[str, set[str]]]) -> None:
    wildcards = {
        (role, action)
        for role, granted in grants.items()
        for actions in granted.values()
        for action in actions
        if "*" in action
    }
    assert wildcards == set()


def test_only_the_ingest_role_reads_the_secret(grants: dict[Role, dict[str, set[str]]]) -> None:
    on_secret = {role: granted.get(SECRET, set()) for role, granted in grants.items()}
    assert on_secret == {
        "ingest": {"secretsmanager:GetSecretValue"},
        "projector": set(),
        "api": set(),
    }
    assert not any(
        action.startswith("secretsmanager:")
        for role, granted in grants.items()
        for kind, actions in granted.items()
        if kind != SECRET
        for action in actions
    )


def test_only_the_projector_reads_the_table_stream(
    grants: dict[Role, dict[str, set[str]]],
) -> None:
    on_stream = {role: granted.get(TABLE_STREAM, set()) for role, granted in grants.items()}
    assert on_stream == {"ingest": set(), "projector": STREAM_READ_ACTIONS, "api": set()}
    # ListStreams has no resource-level permissions: '*' is the only way to grant it.
    on_any = {role: granted.get(ANY, set()) for role, granted in grants.items()}
    assert on_any == {"ingest": set(), "projector": {"dynamodb:ListStreams"}, "api": set()}


def test_the_api_role_writes_nothing_to_the_table(
    grants: dict[Role, dict[str, set[str]]],
) -> None:
    api = grants["api"]
    dynamodb_actions = {a for actions in api.values() for a in actions if a.startswith("dynamodb:")}
    assert dynamodb_actions
    assert dynamodb_actions & WRITE_ACTIONS == set()
    assert {a.split(":")[0] for actions in api.values() for a in actions} == {"dynamodb", "logs"}


def test_no_role_has_managed_policies(templates: tuple[JsonTemplate, JsonTemplate]) -> None:
    roles = {
        name: resource["Properties"]
        for template in templates
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    }
    assert roles
    assert {name for name, props in roles.items() if props.get("ManagedPolicyArns")} == set()
