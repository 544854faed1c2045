"""The dependency layer: `python/<the runtime dependencies>`, made by `pip install --target
--platform manylinux... --only-binary=:all: --require-hashes` of the locked pins, so lxml and
pydantic-core are Linux builds for the runtime (never this machine's); named by a hash of the
locked pins, the architecture, the Python version and the platform tags.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

from cdk.bundling.bytecode import (
    BYTECODE_SUFFIXES,
    bytecode_tag,
    compile_bytecode,
    runtime_interpreter,
)
from cdk.bundling.cache import LAYOUT, asset_root, materialise
from cdk.bundling.lock import LockedRequirement, locked_requirements
from cdk.bundling.runtime import (
    ARCHITECTURES,
    LAMBDA_LAYER_DIR,
    Architecture,
    BundlingError,
    check_python_version,
    platform_tags,
)

LAYER_PYTHON = "python"
"""The layer's top directory: Lambda puts `/opt/python` of every layer on `sys.path`."""
_PIP_TIMEOUT = 1800.0  # seconds; pip has its own network timeouts, this only stops a hang
_PIP_STDERR_LINES = 3


def build_dependency_layer(
    architecture: Architecture, python_version: str = "3.12", *, build_root: Path | None = None
) -> Path:
    """The layer directory (`python/...`) of the runtime dependencies for the Lambda runtime
    `python<python_version>` on `architecture`, at the versions of the lock file."""
    if architecture not in ARCHITECTURES:
        raise BundlingError(
            f"architecture {architecture!r} is not a Lambda architecture: "
            f"use {' or '.join(ARCHITECTURES)}"
        )
    check_python_version(python_version)
    locked = locked_requirements(architecture, python_version)
    platforms = platform_tags(architecture, python_version)
    key = json.dumps(
        {
            "layout": LAYOUT,
            "locked": [item.line() for item in locked],
            "architecture": architecture,
            "python": python_version,
            "platforms": platforms,
            "bytecode": bytecode_tag(runtime_interpreter(python_version)),
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    prefix = f"layer-{architecture}-py{python_version.replace('.', '')}-"
    return materialise(
        asset_root(build_root),
        prefix,
        digest,
        lambda tmp: _pip_install(tmp, locked, architecture, python_version),
    )


def _pip_install(
    directory: Path,
    locked: list[LockedRequirement],
    architecture: Architecture,
    python_version: str,
) -> None:
    """Install the locked distributions as wheels for the runtime into `directory/python`."""
    target = directory / LAYER_PYTHON
    # The requirements file goes beside the layer, not into it.
    with tempfile.TemporaryDirectory(prefix=".pip-", dir=directory.parent) as scratch:
        requirements_file = Path(scratch) / "requirements.txt"
        requirements_file.write_text("".join(f"{item.line()}\n" for item in locked))
        command = [
            sys.executable, "-m", "pip", "install",
            "--target", str(target),
            "--implementation", "cp",
            "--python-version", python_version,
            *(option for tag in platform_tags(architecture, python_version)
              for option in ("--platform", tag)),
            "--only-binary=:all:",
            "--require-hashes",
            "--no-deps",
            "--no-compile",
            "--no-input",
            "--disable-pip-version-check",
            "--quiet",
            "--requirement", str(requirements_file),
        ]  # fmt: skip
        _run_pip(command, architecture, python_version)
    _trim(target)
    _check_pins(target, {item.name: item.version for item in locked})
    compile_bytecode(target, LAMBDA_LAYER_DIR, runtime_interpreter(python_version))


def _run_pip(command: list[str], architecture: Architecture, python_version: str) -> None:
    what = f"the Lambda dependencies for {architecture} (Python {python_version})"
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=_PIP_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BundlingError(f"pip could not be run to install {what}: {exc}") from exc
    if result.returncode == 0:
        return
    lines = [line.strip() for line in (result.stderr or result.stdout or "").splitlines()]
    said = " | ".join([line for line in lines if line][-_PIP_STDERR_LINES:]) or "no output"
    if "No module named pip" in said:
        raise BundlingError(
            f"pip is not installed in {sys.executable}: run `{sys.executable} -m ensurepip`"
        )
    raise BundlingError(
        f"pip could not install {what}: {said} (check the network or package index, and that "
        "every dependency publishes a manylinux wheel for this architecture and Python)"
    )


def _trim(target: Path) -> None:
    """Remove what Lambda never uses: console scripts (their first line names this machine's
    interpreter) and bytecode. dist-info stays: Powertools reads its own version from it."""
    shutil.rmtree(target / "bin", ignore_errors=True)
    for cache in sorted(target.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)
    for suffix in BYTECODE_SUFFIXES:
        for compiled in target.rglob(f"*{suffix}"):
            compiled.unlink()


def _check_pins(target: Path, pins: Mapping[str, str]) -> None:
    """The layer holds exactly the locked distributions, each at its locked version."""
    installed: dict[str, str] = {}
    for info in sorted(target.glob("*.dist-info")):
        distribution = metadata.PathDistribution(info)
        installed[canonicalize_name(distribution.metadata["Name"])] = distribution.version
    if installed != dict(pins):
        differences = sorted(
            f"{name} {installed.get(name, 'missing')} (locked: {pins.get(name, 'not locked')})"
            for name in set(installed) | set(pins)
            if installed.get(name) != pins.get(name)
        )
        raise BundlingError(
            f"pip's layer differs from the lock file: {', '.join(differences)}; build again"
        )
