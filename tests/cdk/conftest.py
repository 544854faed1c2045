"""Fixtures of the infrastructure tests: synthesised templates of the CDK app.

Templates come from `cdk.app.create_app`, the function `cdk.json` runs, with the stage
settings of `cdk.json` (or a test's own). Template tests use a small placeholder asset (the
template names an asset by its hash and does not depend on its content); the real bundle is
built and checked by tests/cdk/test_bundling.py and by the CLI synth in test_synth_cli.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Template

from cdk.app import Deployment, create_app
from cdk.stacks import LambdaAssets

REPO = Path(__file__).resolve().parents[2]
CDK_JSON = REPO / "cdk.json"
# A stage's `dashboard` settings (cdk/dashboard.py), as a stage in cdk.json would give them.
DASHBOARD: dict[str, Any] = {
    "host_name": "provenance.example.edu",
    "certificate_arn": (
        "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
    ),
}


def cdk_json_context() -> dict[str, Any]:
    return dict(json.loads(CDK_JSON.read_text())["context"])


@pytest.fixture(scope="session")
def placeholder_assets(tmp_path_factory: pytest.TempPathFactory) -> LambdaAssets:
    root = tmp_path_factory.mktemp("assets")
    (root / "code" / "handlers").mkdir(parents=True)
    (root / "code" / "handlers" / "__init__.py").write_text("")
    (root / "deps" / "python").mkdir(parents=True)
    (root / "deps" / "python" / "placeholder.py").write_text("")
    return LambdaAssets(code=root / "code", dependencies=root / "deps")


DeploymentFactory = Callable[..., Deployment]


@pytest.fixture(scope="session")
def make_deployment(
    placeholder_assets: LambdaAssets, tmp_path_factory: pytest.TempPathFactory
) -> DeploymentFactory:
    """`make_deployment(stage="dev", **settings)`: the app for cdk.json's stage, with
    `settings` overriding that stage's (as `-c prov:KEY=VALUE` does)."""

    def make(
        stage: str = "dev", context: Mapping[str, Any] | None = None, **settings: Any
    ) -> Deployment:
        merged = cdk_json_context() if context is None else dict(context)
        merged["stage"] = stage
        for key, value in settings.items():
            merged[f"prov:{key}"] = value
        outdir = tmp_path_factory.mktemp("cdk.out")
        return create_app(context=merged, assets=placeholder_assets, outdir=str(outdir))

    return make


@pytest.fixture(scope="session")
def dev(make_deployment: DeploymentFactory) -> Deployment:
    """cdk.json's `dev` stage, synthesised once (cdk-nag runs on synth)."""
    deployment = make_deployment("dev")
    deployment.app.synth()
    return deployment


@pytest.fixture(scope="session")
def store_template(dev: Deployment) -> Template:
    return Template.from_stack(dev.store)


@pytest.fixture(scope="session")
def pipeline_template(dev: Deployment) -> Template:
    return Template.from_stack(dev.pipeline)
