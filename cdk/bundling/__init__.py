"""Lambda assets built on a plain machine (no Docker): the function code, and a layer of its
dependencies installed as Linux wheels for the runtime's Python and architecture.

`build_bundle(architecture)` returns two directories the CDK app turns into assets:

- `code`: the runtime packages (those `[tool.setuptools.packages.find]` of pyproject.toml puts
  in the wheel: handlers, provenance, premis, eventstore) copied from the repository without
  `__pycache__` and without the command line (`provenance/cli/`, which no function runs),
  plus any extra files. Named by a hash of what it holds.
- `dependencies`: a Lambda layer, `python/<the runtime dependencies>`, made by
  `pip install --target --platform manylinux... --only-binary=:all: --require-hashes` of the
  lock file requirements/runtime.txt (the versions `make` installs here too), so lxml and
  pydantic-core are Linux builds for the runtime (never this machine's). Named by a hash of the
  locked pins, the architecture, the Python version and the platform tags.

Both are cached under `<repo>/.build/lambda` (git-ignored): a call with nothing changed runs no
pip and copies nothing. Builds are safe to run concurrently (`pytest -n 2` synthesises in two
processes): each directory is built under a file lock for its hash, in a temporary directory
next to it, and renamed into place whole, so nobody ever sees half of one. Directories of the
same kind not used for a day are deleted.

Modules: `code_asset` and `layer` build the two directories, `lock` reads and checks the lock
file, `bytecode` compiles both for the runtime's Python, `cache` keeps the built directories,
`runtime` describes the Lambda runtime they are for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cdk.bundling.code_asset import build_code_asset
from cdk.bundling.layer import build_dependency_layer
from cdk.bundling.runtime import Architecture, BundlingError

__all__ = [
    "BundlingError",
    "LambdaBundle",
    "build_bundle",
    "build_code_asset",
    "build_dependency_layer",
]


@dataclass(frozen=True)
class LambdaBundle:
    """The two asset directories of the Lambda functions (one code asset, one layer)."""

    code: Path
    dependencies: Path


def build_bundle(
    architecture: Architecture,
    python_version: str = "3.12",
    *,
    extra_files: Mapping[str, Path] | None = None,
    build_root: Path | None = None,
) -> LambdaBundle:
    """The code asset and the dependency layer for `architecture` and `python_version`,
    built if not cached (see the module docstring)."""
    return LambdaBundle(
        code=build_code_asset(extra_files, python_version=python_version, build_root=build_root),
        dependencies=build_dependency_layer(architecture, python_version, build_root=build_root),
    )
