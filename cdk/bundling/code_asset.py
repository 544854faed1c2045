"""The code asset: the runtime packages (those `[tool.setuptools.packages.find]` of
pyproject.toml puts in the wheel: handlers, provenance, premis, eventstore) copied from the
repository without `__pycache__` and without the command line (`provenance/cli/`, which no
function runs), plus any extra files; named by a hash of what it holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from cdk.bundling.bytecode import (
    BYTECODE_SUFFIXES,
    bytecode_tag,
    compile_bytecode,
    runtime_interpreter,
)
from cdk.bundling.cache import LAYOUT, asset_root, materialise
from cdk.bundling.runtime import (
    LAMBDA_CODE_DIR,
    REPO_ROOT,
    RUNTIME_PYTHON_DEFAULT,
    BundlingError,
    pyproject,
)

_SKIPPED_DIRS = frozenset({"__pycache__", "tests"})


def build_code_asset(
    extra_files: Mapping[str, Path] | None = None,
    *,
    python_version: str = RUNTIME_PYTHON_DEFAULT,
    build_root: Path | None = None,
) -> Path:
    """The directory of the function code: the runtime packages and `extra_files` (a relative
    path in the asset -> the file to copy there), named by a hash of every file's content."""
    files = code_files(extra_files)
    interpreter = runtime_interpreter(python_version)
    digest = hashlib.sha256(f"code layout {LAYOUT} {bytecode_tag(interpreter)}\n".encode())
    for relative, content in files.items():
        digest.update(f"{relative}\0{len(content)}\0".encode())
        digest.update(content)
    root = asset_root(build_root)

    def build(directory: Path) -> None:
        _write(directory, files)
        compile_bytecode(directory, LAMBDA_CODE_DIR, interpreter)

    return materialise(root, "code-", digest.hexdigest()[:16], build)


# Parts of the runtime packages no function runs: the `prov` command and its demo (a third of
# provenance's code). The import contract "handlers never reach the command line" in
# pyproject.toml keeps it so; the bundle test imports every handler without them.
NOT_IN_THE_FUNCTIONS = ("provenance/cli/",)


def code_files(extra_files: Mapping[str, Path] | None = None) -> dict[str, bytes]:
    """What the code asset holds: relative POSIX path -> content, sorted by path."""
    files: dict[str, bytes] = {}
    for package in runtime_packages():
        for path in _package_files(REPO_ROOT / package):
            name = path.relative_to(REPO_ROOT).as_posix()
            if not name.startswith(NOT_IN_THE_FUNCTIONS):
                files[name] = path.read_bytes()
    for relative, source in (extra_files or {}).items():
        name = _asset_path(relative)
        if name in files:
            raise BundlingError(f"extra file {relative!r} would replace {name} of the code")
        try:
            files[name] = Path(source).read_bytes()
        except OSError as exc:
            raise BundlingError(
                f"extra file {relative!r} cannot be read from {source}: {exc.strerror or exc}"
            ) from exc
    return dict(sorted(files.items()))


def runtime_packages() -> list[str]:
    """The top-level packages the project's wheel holds (pyproject.toml's package `include`):
    the Lambda code is what `pip install` of the project would install, no more."""
    find = pyproject().get("tool", {}).get("setuptools", {}).get("packages", {}).get("find", {})
    patterns = [str(pattern) for pattern in find.get("include", ())]
    packages = sorted(
        entry.name
        for entry in REPO_ROOT.iterdir()
        if (entry / "__init__.py").is_file() and any(fnmatch(entry.name, p) for p in patterns)
    )
    if not packages:
        raise BundlingError(
            "pyproject.toml's [tool.setuptools.packages.find] include names no package: "
            "list the runtime packages there"
        )
    return packages


def _package_files(directory: Path) -> Iterator[Path]:
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith("."):
            continue  # editor and OS droppings
        if entry.is_dir():
            if entry.name not in _SKIPPED_DIRS:
                yield from _package_files(entry)
        elif entry.is_file() and not entry.name.endswith(BYTECODE_SUFFIXES):
            yield entry


def _asset_path(relative: str) -> str:
    path = PurePosixPath(relative)
    if not relative or path.is_absolute() or ".." in path.parts or str(path) == ".":
        raise BundlingError(
            f"extra file name {relative!r} must be a relative path inside the code asset"
        )
    return path.as_posix()


def _write(directory: Path, files: Mapping[str, bytes]) -> None:
    for relative, content in files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
