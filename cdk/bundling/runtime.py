"""The Lambda runtime the assets are built for: its architectures and Python, the environment
markers and wheel platform tags pip would see there, and where Lambda puts code and layer; the
repository's pyproject.toml, and the one error of the bundling (`BundlingError`).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args

from packaging.specifiers import SpecifierSet
from packaging.version import Version

Architecture = Literal["x86_64", "arm64"]
ARCHITECTURES: tuple[Architecture, ...] = get_args(Architecture)

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
RUNTIME_PYTHON_DEFAULT = "3.12"
# Where Lambda puts the code and the layer: the paths tracebacks should show.
LAMBDA_CODE_DIR = "/var/task"
LAMBDA_LAYER_DIR = "/opt/python"
_MACHINE: dict[Architecture, str] = {"x86_64": "x86_64", "arm64": "aarch64"}
# Lambda's Python runtimes from 3.12 on run on Amazon Linux 2023 (glibc 2.34); 3.11 and older
# on Amazon Linux 2 (glibc 2.26). A wheel built for a newer glibc would not load there.
_AL2023_FROM = (3, 12)
_GLIBC_AL2023 = 34
_GLIBC_AL2 = 26


class BundlingError(Exception):
    """The Lambda assets could not be built; the message is one line that says what to do."""


def lambda_environment(architecture: Architecture, python_version: str) -> dict[str, str]:
    """The environment markers (PEP 508) of the Lambda runtime, as pip would see them there."""
    full_version = f"{python_version}.0"
    return {
        "implementation_name": "cpython",
        "implementation_version": full_version,
        "os_name": "posix",
        "platform_machine": _MACHINE[architecture],
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": full_version,
        "python_version": python_version,
        "sys_platform": "linux",
    }


def platform_tags(architecture: Architecture, python_version: str) -> list[str]:
    """The wheel platform tags the runtime's glibc accepts, best first.

    Explicit, because pip does not widen a `--platform manylinux_2_34_...` to older glibc
    versions (it widens only the legacy manylinux2014/2010 names): a wheel tagged only
    `manylinux_2_28` or only `manylinux_2_17` would otherwise not be found.
    """
    machine = _MACHINE[architecture]
    major, minor = (int(part) for part in python_version.split("."))
    newest = _GLIBC_AL2023 if (major, minor) >= _AL2023_FROM else _GLIBC_AL2
    # manylinux starts at glibc 2.17 (manylinux2014) for aarch64, at 2.5 for x86_64.
    oldest = 17 if machine == "aarch64" else 5
    tags = [f"manylinux_2_{glibc}_{machine}" for glibc in range(newest, oldest - 1, -1)]
    tags.append(f"manylinux2014_{machine}")
    if machine == "x86_64":
        tags += [f"manylinux2010_{machine}", f"manylinux1_{machine}"]
    return tags


def check_python_version(python_version: str) -> None:
    if re.fullmatch(r"3\.\d{1,2}", python_version) is None:
        raise BundlingError(f"Python version {python_version!r} is not of the form 3.N, e.g. 3.12")
    requires = str(pyproject().get("project", {}).get("requires-python", ""))
    if requires and not SpecifierSet(requires).contains(Version(python_version)):
        raise BundlingError(
            f"the project requires Python {requires}: Python {python_version} cannot run it"
        )


def pyproject() -> dict[str, Any]:
    path = REPO_ROOT / "pyproject.toml"
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BundlingError(f"cannot read {path}: {exc}") from exc
