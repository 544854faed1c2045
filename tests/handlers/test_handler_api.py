"""The query API function's cold start: the agents the deployment gives it (PROV_AGENTS_TOML,
the text of the stage's agents file) are read once, at import, and a bad value stops the start
with one error line instead of failing requests.

Each case imports `handlers.api` in a fresh interpreter, as Lambda's init phase does: the module
builds its application from the environment once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import run
from tests.samples import OBJECT_LOG

REPO = Path(__file__).resolve().parents[2]
AGENTS = '[agents.preservation_catalog]\nname = "SDR Preservation Catalog"\n'
INVOKE = (
    "import json\n"
    "import handlers.api\n"
    "from tests.aws_lambda import LambdaContext, http_event\n"
    "response = handlers.api.handler(\n"
    "    http_event('/objects/bj102hs9687/premis'), LambdaContext()\n"
    ")\n"
    "print('response', json.dumps(response))\n"
)
# The function's log lines go to standard output too (JSON, one a line).
RESPONSE = "response "


@pytest.fixture
def store_url(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    log = tmp_path / "object.log"
    log.write_text(OBJECT_LOG)
    url = f"sqlite:///{tmp_path / 'api.db'}"
    assert run(capsys, "ingest", "--store", url, str(log))[0] == 0
    return url


def response_of(stdout: str) -> dict[str, Any]:
    (line,) = [line for line in stdout.splitlines() if line.startswith(RESPONSE)]
    response: dict[str, Any] = json.loads(line.removeprefix(RESPONSE))
    return response


def cold_start(store_url: str, agents: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROV_STORE": store_url, "POWERTOOLS_SERVICE_NAME": "prov-api"}
    for name in ("PROV_AGENTS_TOML", "PROV_AGENTS", "PROV_ORGANIZATION"):
        env.pop(name, None)
    if agents is not None:
        env["PROV_AGENTS_TOML"] = agents
    return subprocess.run(
        [sys.executable, "-c", INVOKE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_agents_of_prov_agents_toml_name_the_premis_agents(store_url: str) -> None:
    result = cold_start(store_url, AGENTS)

    assert result.returncode == 0, result.stderr
    response = response_of(result.stdout)
    assert response["statusCode"] == 200
    document = response["body"]
    assert "<premis:agentName>SDR Preservation Catalog</premis:agentName>" in document
    assert "<premis:agentName>Preservation Catalog</premis:agentName>" not in document


def test_without_prov_agents_toml_the_built_in_agents(store_url: str) -> None:
    result = cold_start(store_url, None)

    assert result.returncode == 0, result.stderr
    document = response_of(result.stdout)["body"]
    assert "<premis:agentName>Preservation Catalog</premis:agentName>" in document


def test_a_bad_prov_agents_toml_stops_the_cold_start_with_one_error_line(store_url: str) -> None:
    result = cold_start(store_url, "[agents.a]\ntype = 'robot'\n")

    # The import fails (Lambda reports an init error and answers no request), after one
    # structured line saying which setting is wrong.
    assert result.returncode != 0
    assert "AgentRegistryError" in result.stderr
    assert RESPONSE not in result.stdout
    logged = [json.loads(line) for line in result.stdout.splitlines()]
    (error,) = [entry for entry in logged if entry["level"] == "ERROR"]
    assert error["message"] == "configuration not usable: the function cannot start"
    assert error["error"] == (
        "PROV_AGENTS_TOML: agents.a.type must be one of software, organization, person, hardware"
    )
