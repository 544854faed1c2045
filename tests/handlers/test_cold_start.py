"""The ingest function's cold start: what `import handlers.ingest` (Lambda's init phase) leaves
for the first use (BENCHMARKS 6.1), and that leaving it changes nothing a user sees."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from provenance.access.rules import UNKNOWN_AGENT
from provenance.domain.events import (
    EVENT_ADAPTER,
    EVENT_TYPES,
    AgentRef,
    SourceRef,
    dump_event,
    load_event,
)
from provenance.ingest import event_records

REPO = Path(__file__).resolve().parents[2]

# What the init phase does not need, each a large import:
NOT_IMPORTED = (
    # Powertools' batch utility imports its own pydantic models (and builds them) when pydantic
    # was imported before it: handlers.ingest imports Powertools first.
    "aws_lambda_powertools.utilities.parser",
    # Only the access policy's fingerprint reads package versions; pydantic's plugin loader
    # imports it when the first model is built.
    "importlib.metadata",
    "pydantic.plugin._loader",
    # Only a policy file is TOML; the deployment has none.
    "tomllib",
    # The store (and boto3) are opened on the first invocation.
    "boto3",
    # The functions open DynamoDB only: the SQLite backend is imported when first named.
    "sqlite3",
    "eventstore.sqlite",
    # On DynamoDB the table's stream keeps the projections (the projector function): ingest
    # loads them only for a store that does not (`provenance.ingest.reader._projectors`).
    "provenance.projections",
)


def _after_import(code: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def test_importing_the_ingest_handler_builds_no_event_model_and_leaves_large_imports() -> None:
    code = (
        "import json, sys\n"
        "import handlers.ingest\n"
        "from provenance.domain import events as e\n"
        "models = [*e.EVENT_TYPES.values(), e.SourceRef, e.AgentRef, e.LinkedObject, e.ZipPart]\n"
        "print(json.dumps({\n"
        "    'built': [m.__name__ for m in models if m.__pydantic_complete__],\n"
        f"    'imported': [m for m in {NOT_IMPORTED!r} if m in sys.modules],\n"
        "}))\n"
    )
    assert _after_import(code) == {"built": [], "imported": []}


def test_a_deferred_model_is_built_on_first_use_with_the_same_schema() -> None:
    # In a fresh interpreter: here other tests have built the models already.
    code = (
        "import json\n"
        "from provenance.domain import events as e\n"
        "before = e.ServiceAccessed.__pydantic_complete__\n"
        "e.SourceRef(type='clf')\n"
        "print(json.dumps({'before': before, 'after': e.SourceRef.__pydantic_complete__,\n"
        "    'schemas': [m.model_json_schema() for m in (e.ServiceAccessed, e.SourceRef)]}))\n"
    )
    answer = _after_import(code)
    assert answer["before"] is False
    assert answer["after"] is True
    assert answer["schemas"] == [
        m.model_json_schema() for m in (EVENT_TYPES["ServiceAccessed"], SourceRef)
    ]


def test_the_constructed_agents_are_the_validated_ones() -> None:
    # Made with model_construct so that importing them builds no validator.
    agents = [
        (UNKNOWN_AGENT, AgentRef(name="unknown", kind="hardware")),
        (event_records._INGEST_AGENT, AgentRef(name="prov ingest", kind="software")),
    ]
    for constructed, validated in agents:
        assert validated == constructed
        assert hash(validated) == hash(constructed)
        assert validated.model_dump_json() == constructed.model_dump_json()
        assert validated.model_fields_set == constructed.model_fields_set


def test_the_deferred_union_adapter_reads_what_each_model_wrote() -> None:
    payload = (
        b'{"schema_version":1,"event_id":"e1","object":null,"object_conforming":true,'
        b'"version":null,"occurred_at":"2026-03-01T22:14:05Z","recorded_at":'
        b'"2026-03-01T22:14:06Z","source":{"type":"clf","origin":"","file":null,"line":1},'
        b'"agent":{"name":"unknown","kind":"hardware","version":null,"host":null},'
        b'"premis_type":null,"outcome":null,"type":"ServiceAccessed","service":"purl"}'
    )
    event = load_event(payload)
    assert event.agent == UNKNOWN_AGENT
    assert dump_event(event) == EVENT_ADAPTER.dump_json(event)
