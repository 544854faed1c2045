"""The CDK app (`cdk.json` runs `python -m cdk.app`): one stage's two stacks, checked by cdk-nag.

    npx cdk synth                      # the `dev` stage of cdk.json
    npx cdk deploy --all -c stage=prod -c prov:alarm_email=ops@example.edu

Synthesis builds the Lambda assets on this machine (Linux wheels for the stage's
architecture, no Docker) and fails on any cdk-nag finding not acknowledged in `cdk/nag.py`.
A setting that cannot be deployed stops it with one line on stderr, before anything is built.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk

from cdk.bundling import BundlingError, build_bundle
from cdk.config import ConfigError, StageConfig, stage_config
from cdk.functions import RUNTIME_PYTHON
from cdk.nag import add_checks
from cdk.query_api import agents_text
from cdk.stacks import LambdaAssets, PipelineStack, StoreStack, stack_names


@dataclass(frozen=True)
class Deployment:
    app: cdk.App
    config: StageConfig
    store: StoreStack
    pipeline: PipelineStack


def create_app(
    *,
    context: Mapping[str, Any] | None = None,
    assets: LambdaAssets | None = None,
    outdir: str | None = None,
) -> Deployment:
    """The app with both stacks and the checks; `assets` defaults to a fresh bundle."""
    app = cdk.App(context=dict(context) if context is not None else None, outdir=outdir)
    config = stage_config(app.node)
    agents_toml = agents_text(config)  # like a setting, refused before anything is built
    if assets is None:
        assets = build_assets(config)
    environment = _environment()
    store_name, pipeline_name = stack_names(config)
    store = StoreStack(app, store_name, config=config, env=environment)
    pipeline = PipelineStack(
        app,
        pipeline_name,
        config=config,
        store=store,
        assets=assets,
        agents_toml=agents_toml,
        env=environment,
    )
    for stack in (store, pipeline):
        cdk.Tags.of(stack).add("application", "sdr-provenance")
        cdk.Tags.of(stack).add("stage", config.stage)
    add_checks(app, store=store, pipeline=pipeline)
    return Deployment(app, config, store, pipeline)


def build_assets(config: StageConfig) -> LambdaAssets:
    bundle = build_bundle(config.architecture, RUNTIME_PYTHON)
    return LambdaAssets(code=bundle.code, dependencies=bundle.dependencies)


def _environment() -> cdk.Environment | None:
    """The account and region the CLI resolved, when it did (`cdk deploy`); none for a plain
    `cdk synth` without credentials, which gives environment-agnostic templates."""
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    if account and region:
        return cdk.Environment(account=account, region=region)
    return None


def main() -> None:
    try:
        deployment = create_app()
        deployment.app.synth()
    except ConfigError as exc:
        sys.exit(f"cdk: {exc}")
    except BundlingError as exc:
        sys.exit(f"cdk: {exc}")


if __name__ == "__main__":
    main()
