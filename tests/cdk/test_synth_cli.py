"""`npx cdk synth` as a user runs it: the pinned CLI, cdk.json's app command, the real bundle.

The CLI is installed by `make` (`npm ci`, package.json); these tests fail rather than skip
without it, because `make test` promises the synth works on a fresh clone.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cdk.conftest import REPO

CLI = REPO / "node_modules" / ".bin" / "cdk"


def _synth(out: Path, *context: str) -> subprocess.CompletedProcess[str]:
    if not CLI.exists():
        pytest.fail("the CDK CLI is not installed: run `make` targets (npm ci) first")
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    # No account or region: a plain machine synthesises environment-agnostic templates.
    for name in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION", "AWS_PROFILE"):
        env.pop(name, None)
    args = [str(CLI), "synth", "--quiet", "--no-notices", "-o", str(out)]
    for item in context:
        args += ["-c", item]
    return subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_cdk_synth_writes_both_stacks_with_the_bundled_assets(tmp_path: Path) -> None:
    out = tmp_path / "cdk.out"
    result = _synth(out)
    assert result.returncode == 0, result.stderr[-3000:]
    store = json.loads((out / "prov-dev-store.template.json").read_text())
    pipeline = json.loads((out / "prov-dev-pipeline.template.json").read_text())
    assert any(r["Type"] == "AWS::DynamoDB::Table" for r in store["Resources"].values())
    functions = [r for r in pipeline["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert sorted(f["Properties"]["Handler"] for f in functions) == [
        "handlers.api.handler",
        "handlers.ingest.handler",
        "handlers.projector.handler",
    ]
    # The assets in the cloud assembly are the real bundle: the handlers' code, and a layer
    # of Linux wheels for the stage's architecture (arm64 in cdk.json's dev stage).
    manifest = json.loads((out / "prov-dev-pipeline.assets.json").read_text())
    folders = [out / f["source"]["path"] for f in manifest["files"].values()]
    code = [f for f in folders if (f / "handlers" / "ingest.py").exists()]
    layers = [f for f in folders if (f / "python" / "pydantic_core").is_dir()]
    assert len(code) == 1
    assert len(layers) == 1
    compiled = list((layers[0] / "python" / "pydantic_core").glob("*.so"))
    assert compiled
    assert any("aarch64" in so.name for so in compiled), [so.name for so in compiled]
    # cdk-nag ran: nothing unacknowledged, and only the acknowledged kinds of finding.
    report = json.loads((out / "validation-report.json").read_text())
    (nag,) = report["pluginReports"]
    assert nag["pluginName"] == "AwsSolutions"
    assert nag["conclusion"] == "success"
    assert nag["violations"] == []
    assert {v["ruleName"].partition("[")[0] for v in nag["suppressedViolations"]} == {
        "AwsSolutions-SMG4",
        "AwsSolutions-SQS3",
        "AwsSolutions-L1",
        "AwsSolutions-IAM5",
    }
    assert all(len(v["reason"]) > 60 for v in nag["suppressedViolations"])


def test_an_impossible_setting_stops_synth_with_one_line(tmp_path: Path) -> None:
    result = _synth(tmp_path / "cdk.out", "prov:batch_size=0")
    assert result.returncode != 0
    assert "cdk: stage dev: batch_size: Input should be greater than or equal to 1" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def test_a_bad_agents_file_stops_synth_with_one_line(tmp_path: Path) -> None:
    agents = tmp_path / "agents.toml"
    agents.write_text("[agents.a]\nname = 1\n")
    result = _synth(tmp_path / "cdk.out", f"prov:agents_file={agents}")
    assert result.returncode != 0
    assert (
        f"cdk: stage dev: agents_file {agents}: agents.a.name must be a non-empty string\n"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
