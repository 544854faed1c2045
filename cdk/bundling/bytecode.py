"""Bytecode for the Lambda assets, made by an interpreter of the runtime's Python version.

Lambda's code and layers are read-only, so modules without bytecode are compiled again on
every cold start: importing the three handlers from the bundle under Python 3.12 takes 2.8x
as long without bytecode (BENCHMARKS.md 6.4: 0.73 s against 0.26 s). Bytecode is specific to the
Python version (not the architecture), so it is made with an interpreter of the runtime's
version when this machine has one; without one the asset still works, only slower to start.
`unchecked-hash` pycs hold no timestamps (the sources in Lambda never change) and a fixed
hash seed keeps set constants in one order, so the same sources give the same bytes.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.version import Version

from cdk.bundling.runtime import RUNTIME_PYTHON_DEFAULT, BundlingError

INTERPRETER_ENV = "PROV_LAMBDA_PYTHON"
BYTECODE_SUFFIXES = (".pyc", ".pyo")
_COMPILE_TIMEOUT = 1800.0  # seconds; this only stops a hang


@functools.cache
def runtime_interpreter(python_version: str) -> Path | None:
    """A Python of exactly `python_version` on this machine: $PROV_LAMBDA_PYTHON, this
    interpreter, `pythonX.Y` on PATH, or the newest pyenv build; None if there is none.
    Looked for once per process (a cached build must not start interpreters)."""
    candidates: list[Path] = []
    named = os.environ.get(INTERPRETER_ENV)
    if named:
        candidates.append(Path(named))
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == python_version:
        candidates.append(Path(sys.executable))
    on_path = shutil.which(f"python{python_version}")
    if on_path:
        candidates.append(Path(on_path))
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    builds = sorted(
        pyenv.glob(f"{python_version}.*/bin/python"),
        key=lambda path: Version(path.parent.parent.name.split("-")[0]),
        reverse=True,
    )
    candidates.extend(builds)
    for candidate in candidates:
        if _python_version_of(candidate) == python_version:
            return candidate
    if named:
        raise BundlingError(f"{INTERPRETER_ENV}={named} is not a Python {python_version}")
    return None


def _python_version_of(interpreter: Path) -> str | None:
    try:
        result = subprocess.run(
            [str(interpreter), "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def bytecode_tag(interpreter: Path | None) -> str:
    return "bytecode" if interpreter is not None else "no-bytecode"


def compile_bytecode(directory: Path, lambda_path: str, interpreter: Path | None) -> None:
    """Compile every module under `directory` for the runtime, as if it lay at `lambda_path`."""
    if interpreter is None:
        _warn_no_bytecode()
        return
    command = [
        str(interpreter), "-I", "-m", "compileall", "-q", "-j", "0",
        "--invalidation-mode", "unchecked-hash",
        "-d", lambda_path,
        str(directory),
    ]  # fmt: skip
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            timeout=_COMPILE_TIMEOUT,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BundlingError(
            f"could not compile the Lambda asset with {interpreter}: {exc}"
        ) from exc
    if result.returncode != 0:
        said = " | ".join(line for line in (result.stdout + result.stderr).splitlines() if line)
        raise BundlingError(f"compiling the Lambda asset with {interpreter} failed: {said[-300:]}")


_warned: list[bool] = []


def _warn_no_bytecode() -> None:
    if not _warned:
        _warned.append(True)
        print(
            f"note: no Python {RUNTIME_PYTHON_DEFAULT} here, so the Lambda asset carries no "
            "bytecode and each cold start compiles it (2.8 times the import time); install "
            f"it or set {INTERPRETER_ENV}",
            file=sys.stderr,
        )
