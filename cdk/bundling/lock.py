"""The lock file (requirements/runtime.txt, `make lock`) and the checks the layer is built
after: its pins that apply to the Lambda runtime, held against pyproject.toml's dependencies.
`packaging` reads requirements and markers as pip does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from cdk.bundling.runtime import (
    REPO_ROOT,
    Architecture,
    BundlingError,
    lambda_environment,
    pyproject,
)

LOCK_FILE = REPO_ROOT / "requirements" / "runtime.txt"
"""The runtime's lock file (`make lock`): exact versions with hashes, for every platform."""


@dataclass(frozen=True)
class LockedRequirement:
    """One pin of the lock file: a distribution, its exact version and the hashes of its files
    (every wheel and sdist of that version, so the one pip picks for the runtime is among
    them)."""

    name: str
    version: str
    hashes: tuple[str, ...]

    def line(self) -> str:
        """The pin as a requirements line pip checks (`--require-hashes`)."""
        return " ".join([f"{self.name}=={self.version}", *(f"--hash={h}" for h in self.hashes)])


def locked_requirements(
    architecture: Architecture, python_version: str, lock_file: Path = LOCK_FILE
) -> list[LockedRequirement]:
    """The pins of `lock_file` (requirements/runtime.txt) that apply to the Lambda runtime,
    markers evaluated for it, sorted by name.

    The layer is installed from these, with their hashes, and nothing else (pip's `--no-deps`):
    the lock is resolved for every platform and Python the project supports, so it names every
    distribution the runtime needs, and the asset carries exactly the versions the tests ran
    with, on any machine and any day. A lock that no longer satisfies pyproject.toml's
    dependencies (one was added or raised since `make lock`) is refused.
    """
    locked = read_lock(lock_file, lambda_environment(architecture, python_version))
    for dependency in runtime_requirements(architecture, python_version):
        pin = locked.get(canonicalize_name(dependency.name))
        if pin is None or not dependency.specifier.contains(pin.version, prereleases=True):
            found = f"pins {pin.name}=={pin.version}" if pin else "has no pin for it"
            raise BundlingError(
                f"pyproject.toml requires {dependency} but {lock_file.name} {found}: "
                "run `make lock`"
            )
    return [locked[name] for name in sorted(locked)]


def read_lock(lock_file: Path, environment: Mapping[str, str]) -> dict[str, LockedRequirement]:
    """The pins of a lock file (`uv pip compile --generate-hashes` output) whose markers hold in
    `environment` (PEP 508 marker variables), by canonical name."""
    try:
        text = lock_file.read_text()
    except OSError as exc:
        raise BundlingError(
            f"cannot read the lock file {lock_file}: {exc.strerror or exc} (run `make lock`)"
        ) from exc
    locked: dict[str, LockedRequirement] = {}
    # A requirement continues over lines ending in a backslash; comments stand on their own.
    for logical in re.sub(r"\\\n", " ", text).splitlines():
        line = logical.strip()
        if not line or line.startswith("#"):
            continue
        hashes = tuple(re.findall(r"--hash=(\S+)", line))
        spec = re.sub(r"--hash=\S+", "", line).strip()
        try:
            requirement = Requirement(spec)
        except InvalidRequirement as exc:
            raise BundlingError(f"{lock_file}: invalid line {spec!r}: {exc}") from exc
        pins = [item for item in requirement.specifier if item.operator == "=="]
        if len(pins) != 1 or not hashes:
            raise BundlingError(
                f"{lock_file}: {spec!r} is not an exact pin with hashes (run `make lock`)"
            )
        if requirement.marker is None or requirement.marker.evaluate(dict(environment)):
            name = canonicalize_name(requirement.name)
            locked[name] = LockedRequirement(name, pins[0].version, hashes)
    return locked


def runtime_requirements(architecture: Architecture, python_version: str) -> list[Requirement]:
    """`[project].dependencies` of pyproject.toml that apply to the Lambda runtime."""
    lines = pyproject().get("project", {}).get("dependencies", [])
    try:
        requirements = [Requirement(str(line)) for line in lines]
    except InvalidRequirement as exc:
        raise BundlingError(f"pyproject.toml has an invalid dependency: {exc}") from exc
    environment = lambda_environment(architecture, python_version)
    return [r for r in requirements if r.marker is None or r.marker.evaluate(environment)]
