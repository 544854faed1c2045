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

Imports the standard library and `packaging` (what pip uses to read requirements and markers).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatch
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal, get_args

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

Architecture = Literal["x86_64", "arm64"]
ARCHITECTURES: tuple[Architecture, ...] = get_args(Architecture)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUILD_ROOT = REPO_ROOT / ".build" / "lambda"
LOCK_FILE = REPO_ROOT / "requirements" / "runtime.txt"
"""The runtime's lock file (`make lock`): exact versions with hashes, for every platform."""
LAYER_PYTHON = "python"
"""The layer's top directory: Lambda puts `/opt/python` of every layer on `sys.path`."""

# Part of every directory's hash: bump it when what a build puts in a directory changes, so
# that no cached directory of the old layout is used again.
_LAYOUT = 1
_UNUSED_FOR = 24 * 3600.0  # seconds; directories not used for this long are deleted
_PIP_TIMEOUT = 1800.0  # seconds; pip has its own network timeouts, this only stops a hang
_PIP_STDERR_LINES = 3
_MACHINE: dict[Architecture, str] = {"x86_64": "x86_64", "arm64": "aarch64"}
# Lambda's Python runtimes from 3.12 on run on Amazon Linux 2023 (glibc 2.34); 3.11 and older
# on Amazon Linux 2 (glibc 2.26). A wheel built for a newer glibc would not load there.
_AL2023_FROM = (3, 12)
_GLIBC_AL2023 = 34
_GLIBC_AL2 = 26
_SKIPPED_DIRS = frozenset({"__pycache__", "tests"})
RUNTIME_PYTHON_DEFAULT = "3.12"
# Where Lambda puts the code and the layer: the paths tracebacks should show.
LAMBDA_CODE_DIR = "/var/task"
LAMBDA_LAYER_DIR = "/opt/python"
INTERPRETER_ENV = "PROV_LAMBDA_PYTHON"
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


class BundlingError(Exception):
    """The Lambda assets could not be built; the message is one line that says what to do."""


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


# -- the code asset ----------------------------------------------------------------------------


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
    digest = hashlib.sha256(f"code layout {_LAYOUT} {_bytecode_tag(interpreter)}\n".encode())
    for relative, content in files.items():
        digest.update(f"{relative}\0{len(content)}\0".encode())
        digest.update(content)
    root = _build_root(build_root)

    def build(directory: Path) -> None:
        _write(directory, files)
        _compile(directory, LAMBDA_CODE_DIR, interpreter)

    return _materialise(root, "code-", digest.hexdigest()[:16], build)


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
    find = _pyproject().get("tool", {}).get("setuptools", {}).get("packages", {}).get("find", {})
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
        elif entry.is_file() and not entry.name.endswith(_SKIPPED_SUFFIXES):
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


# -- the dependency layer ----------------------------------------------------------------------


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
    _check_python_version(python_version)
    locked = locked_requirements(architecture, python_version)
    platforms = platform_tags(architecture, python_version)
    key = json.dumps(
        {
            "layout": _LAYOUT,
            "locked": [item.line() for item in locked],
            "architecture": architecture,
            "python": python_version,
            "platforms": platforms,
            "bytecode": _bytecode_tag(runtime_interpreter(python_version)),
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    prefix = f"layer-{architecture}-py{python_version.replace('.', '')}-"
    return _materialise(
        _build_root(build_root),
        prefix,
        digest,
        lambda tmp: _pip_install(tmp, locked, architecture, python_version),
    )


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
    lines = _pyproject().get("project", {}).get("dependencies", [])
    try:
        requirements = [Requirement(str(line)) for line in lines]
    except InvalidRequirement as exc:
        raise BundlingError(f"pyproject.toml has an invalid dependency: {exc}") from exc
    environment = lambda_environment(architecture, python_version)
    return [r for r in requirements if r.marker is None or r.marker.evaluate(environment)]


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


def _check_python_version(python_version: str) -> None:
    if re.fullmatch(r"3\.\d{1,2}", python_version) is None:
        raise BundlingError(f"Python version {python_version!r} is not of the form 3.N, e.g. 3.12")
    requires = str(_pyproject().get("project", {}).get("requires-python", ""))
    if requires and not SpecifierSet(requires).contains(Version(python_version)):
        raise BundlingError(
            f"the project requires Python {requires}: Python {python_version} cannot run it"
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
    _compile(target, LAMBDA_LAYER_DIR, runtime_interpreter(python_version))


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
    for suffix in _SKIPPED_SUFFIXES:
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


# -- bytecode ----------------------------------------------------------------------------------
#
# Lambda's code and layers are read-only, so modules without bytecode are compiled again on
# every cold start: importing the three handlers from the bundle under Python 3.12 takes 2.8x
# as long without bytecode (BENCHMARKS.md 6.4: 0.73 s against 0.26 s). Bytecode is specific to the
# Python version (not the architecture), so it is made with an interpreter of the runtime's
# version when this machine has one; without one the asset still works, only slower to start.
# `unchecked-hash` pycs hold no timestamps (the sources in Lambda never change) and a fixed
# hash seed keeps set constants in one order, so the same sources give the same bytes.


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


def _bytecode_tag(interpreter: Path | None) -> str:
    return "bytecode" if interpreter is not None else "no-bytecode"


def _compile(directory: Path, lambda_path: str, interpreter: Path | None) -> None:
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
            timeout=_PIP_TIMEOUT,
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


# -- cached directories ------------------------------------------------------------------------


def _build_root(build_root: Path | None) -> Path:
    root = Path(build_root) if build_root is not None else DEFAULT_BUILD_ROOT
    try:
        (root / ".locks").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BundlingError(f"cannot create the build directory {root}: {exc}") from exc
    return root


def _materialise(root: Path, prefix: str, digest: str, build: Callable[[Path], None]) -> Path:
    """`root/<prefix><digest>`, built by `build` into a temporary directory unless it exists."""
    final = root / f"{prefix}{digest}"
    with _locked(root, final.name, blocking=True):
        if final.is_dir():
            os.utime(final)  # when it was last used: unused directories are pruned after a day
            return final
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=root))
        try:
            build(tmp)
            _make_readable(tmp)
            tmp.rename(final)
        except OSError as exc:
            # Another process built the same directory without our lock (its lock file was
            # pruned and made again meanwhile): the same hash is the same content, keep theirs.
            shutil.rmtree(tmp, ignore_errors=True)
            if not final.is_dir():
                raise BundlingError(f"cannot build {final}: {exc}") from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    _prune(root, prefix, keep=final.name)
    return final


@contextmanager
def _locked(root: Path, name: str, *, blocking: bool) -> Iterator[bool]:
    """Hold the lock of directory `name` (yields False if `blocking` is off and it is taken)."""
    lock: IO[bytes] = (root / ".locks" / f"{name}.lock").open("ab")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        lock.close()  # also releases the lock


def _make_readable(directory: Path) -> None:
    """Lambda runs the code as another user than the one who unpacks it: everything must be
    readable by all (files made under a strict umask, or by mkdtemp, would not be)."""
    for path in [directory, *directory.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        executable = path.is_dir() or mode & 0o111
        path.chmod(0o755 if executable else 0o644)


def _prune(root: Path, prefix: str, *, keep: str) -> None:
    """Delete directories `prefix*` other than `keep` not used for a day, and leftovers of
    interrupted builds. A directory is renamed away before it is deleted, under its lock, so
    no build that is using it sees it half gone."""
    cutoff = time.time() - _UNUSED_FOR
    for entry in root.iterdir():
        name = entry.name
        leftover = name.startswith((f".tmp-{prefix}", f".trash-{prefix}", ".pip-"))
        if not (leftover or (name.startswith(prefix) and name != keep)):
            continue
        try:
            if entry.lstat().st_mtime >= cutoff:
                continue
            if leftover:
                shutil.rmtree(entry, ignore_errors=True)
                continue
            with _locked(root, name, blocking=False) as locked:
                if not locked or entry.stat().st_mtime >= cutoff:
                    continue  # in use, or used again just now
                trash = root / f".trash-{name}-{os.getpid()}"
                entry.rename(trash)
                (root / ".locks" / f"{name}.lock").unlink(missing_ok=True)
            shutil.rmtree(trash, ignore_errors=True)
        except OSError:
            continue  # cleaning up is best effort: what cannot go now goes after the next build


def _pyproject() -> dict[str, Any]:
    path = REPO_ROOT / "pyproject.toml"
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BundlingError(f"cannot read {path}: {exc}") from exc
