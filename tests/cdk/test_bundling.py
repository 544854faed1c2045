"""The Lambda assets built without Docker: Linux wheels for the runtime's architecture, at the
versions of the lock file (those installed here), cached, and importable by the runtime's Python
the way Lambda imports them (function code first, then the layer's `python/`, nothing else)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from cdk.bundling import (
    BundlingError,
    LambdaBundle,
    build_bundle,
    build_code_asset,
    build_dependency_layer,
)
from cdk.bundling.bytecode import runtime_interpreter
from cdk.bundling.layer import LAYER_PYTHON
from cdk.bundling.lock import locked_requirements
from cdk.bundling.runtime import REPO_ROOT
from eventstore.sqlite import SQLiteEventStore
from tests.conftest import TEST_KEY
from tests.samples import OBJECT_LOG

DRUID = "bj102hs9687"
EM_X86_64 = 62
EM_AARCH64 = 183
RUNTIME_PACKAGES = {"handlers", "provenance", "premis", "eventstore"}
# Shaped like `uv pip compile --universal --generate-hashes` output (what `make lock` writes).
LOCK_TEXT = """\
annotated-types==0.8.0 \\
    --hash=sha256:aa \\
    --hash=sha256:bb
    # via pydantic
aws-lambda-powertools==3.37.0 --hash=sha256:cc
boto3==1.44.18 --hash=sha256:cc
click==8.5.1 --hash=sha256:cc
colorama==0.4.6 ; sys_platform == 'win32' --hash=sha256:cc
crawlerdetect==0.4.2 --hash=sha256:cc
jinja2==3.1.6 --hash=sha256:cc
lxml==6.2.1 --hash=sha256:cc
markupsafe==3.0.4 --hash=sha256:cc
numpy==2.4.6 ; python_full_version < '3.12' --hash=sha256:cc
numpy==2.5.5 ; python_full_version >= '3.12' --hash=sha256:cc
pydantic==2.14.4 --hash=sha256:cc
rdflib==7.6.0 --hash=sha256:cc
tzdata==2026.6 --hash=sha256:cc
ua-parser==1.0.2 --hash=sha256:cc
ua-parser-builtins==202610 --hash=sha256:cc
"""


@pytest.fixture(scope="module")
def x86_64_bundle() -> LambdaBundle:
    # The default build root: the synth tests use the same cached directories.
    return build_bundle("x86_64")


@pytest.fixture(scope="module")
def arm64_bundle() -> LambdaBundle:
    return build_bundle("arm64")


def python312() -> str | None:
    """A CPython 3.12 on this machine: pyenv's, else `python3.12` on PATH."""
    candidates = sorted(Path.home().glob(".pyenv/versions/3.12.*/bin/python"), reverse=True)
    on_path = shutil.which("python3.12")
    for candidate in [*map(str, candidates), *([on_path] if on_path else [])]:
        try:
            answer = subprocess.run(
                [candidate, "-I", "-c", "import sys; print(sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except OSError:
            continue
        if answer.returncode == 0 and answer.stdout.strip() == "(3, 12)":
            return candidate
    return None


# -- the bundle runs under the runtime's Python ------------------------------------------------

# Run by `python3.12 -I -S -B`: no site-packages, no user site, no PYTHON* variables, and no
# bytecode written into the cached asset directories. sys.path is then what Lambda has:
# the function code (/var/task), the layer (/opt/python), the standard library.
LAMBDA_SCRIPT = r"""
import base64, json, sys, sysconfig
code, layer, out = sys.argv[1:4]
sys.path[:0] = [code, layer]

import handlers.api
import handlers.ingest
import handlers.projector
import lxml.etree
import pydantic

class Context:
    function_name = "prov-bundle-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-west-2:123456789012:function:prov-bundle-test"
    aws_request_id = "6f1d8a52-0000-4000-8000-000000000000"
    def get_remaining_time_in_millis(self):
        return 300_000

def get(path, query=None):
    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": {}, "requestContext": {"http": {"method": "GET", "path": path},
                                          "stage": "$default"},
    }
    if query:
        event["queryStringParameters"] = query
    return handlers.api.handler(event, Context())

log = open(sys.argv[4], "rb").read()
record = {
    "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "host-1",
                "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                "data": base64.b64encode(log).decode("ascii"),
                "approximateArrivalTimestamp": 1772403245.223},
    "eventSource": "aws:kinesis", "eventVersion": "1.0",
    "eventID": "shardId-000000000000:49590338271490256608559692538361571095921575989136588898",
    "eventName": "aws:kinesis:record", "awsRegion": "us-west-2",
    "eventSourceARN": "arn:aws:kinesis:us-west-2:123456789012:stream/prov-logs",
}
results = {
    "ingest": handlers.ingest.handler({"Records": [record]}, Context()),
    "missing": get("/no/such/route"),
    "xml": get("/objects/druid:%s/premis" % sys.argv[5], {"format": "xml"}),
    "turtle": get("/objects/druid:%s/premis" % sys.argv[5], {"format": "turtle"}),
    "state": get("/objects/druid:%s/state" % sys.argv[5]),
    "etree": lxml.etree.tostring(lxml.etree.fromstring(b"<a><b/></a>")).decode(),
    "validated": pydantic.TypeAdapter(list[int]).validate_python(["1", 2]),
    "version": list(sys.version_info[:2]),
    "stdlib": [sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib")],
    "site": [sysconfig.get_paths()[name] for name in ("purelib", "platlib")],
    "modules": {
        name: [module.__file__] if getattr(module, "__file__", None)
        else [str(path) for path in getattr(module, "__path__", [])]
        for name, module in list(sys.modules.items())
    },
}
with open(out, "w") as file:
    json.dump(results, file)
"""


@pytest.fixture(scope="module")
def lambda_run(x86_64_bundle: LambdaBundle, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """What the x86_64 bundle did under Python 3.12, imported as Lambda imports it."""
    interpreter = python312()
    if interpreter is None:
        pytest.skip("no CPython 3.12 here (pyenv 3.12.* or python3.12 on PATH) to import with")
    work = tmp_path_factory.mktemp("lambda-run")
    store = work / "provenance.db"
    SQLiteEventStore(store).close()  # the handlers never create a store: it must exist
    log = work / "object.log"
    log.write_text(OBJECT_LOG)
    out = work / "results.json"
    env = {
        "PROV_STORE": f"sqlite:///{store}",
        "PROV_PSEUDONYM_KEY": TEST_KEY,
        "HOME": str(work),
        "XDG_CONFIG_HOME": str(work / "config"),
        "AWS_REGION": "us-west-2",
        "AWS_DEFAULT_REGION": "us-west-2",
        "LANG": "C.UTF-8",
    }
    code, layer = x86_64_bundle.code, x86_64_bundle.dependencies / LAYER_PYTHON
    command = [interpreter, "-I", "-S", "-B", "-c", LAMBDA_SCRIPT, str(code), str(layer)]
    done = subprocess.run(
        [*command, str(out), str(log), DRUID],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def test_handlers_import_and_answer_under_the_runtime_python(lambda_run: Any) -> None:
    assert lambda_run["version"] == [3, 12]
    assert lambda_run["ingest"] == {"batchItemFailures": []}
    missing = lambda_run["missing"]
    assert missing["statusCode"] == 404
    assert "no such resource" in json.loads(missing["body"])["error"]
    xml, turtle, state = lambda_run["xml"], lambda_run["turtle"], lambda_run["state"]
    assert (xml["statusCode"], turtle["statusCode"], state["statusCode"]) == (200, 200, 200)
    assert xml["headers"]["Content-Type"] == "application/xml"
    assert f"druid:{DRUID}" in xml["body"]
    assert "@prefix premis: <http://www.loc.gov/premis/rdf/v3/>" in turtle["body"]
    assert DRUID in turtle["body"]
    assert json.loads(state["body"])["object"] == f"druid:{DRUID}"
    assert json.loads(state["body"])["latest_version"] == 1
    assert lambda_run["etree"] == "<a><b/></a>"
    assert lambda_run["validated"] == [1, 2]


def test_nothing_is_imported_from_outside_the_assets(
    lambda_run: Any, x86_64_bundle: LambdaBundle
) -> None:
    modules: dict[str, list[str]] = lambda_run["modules"]
    code = x86_64_bundle.code.resolve()
    layer = (x86_64_bundle.dependencies / LAYER_PYTHON).resolve()
    stdlib = [Path(path).resolve() for path in lambda_run["stdlib"]]
    site = [Path(path).resolve() for path in lambda_run["site"]]

    def allowed(file: str) -> bool:
        path = Path(file).resolve()
        if path.is_relative_to(code) or path.is_relative_to(layer):
            return True
        in_site = any(path.is_relative_to(root) for root in site)
        return not in_site and any(path.is_relative_to(root) for root in stdlib)

    outside = {name: files for name, files in modules.items() if not all(map(allowed, files))}
    assert outside == {}
    # The compiled modules came from the layer, the project's from the code asset.
    for name in ("lxml.etree", "pydantic_core._pydantic_core"):
        assert Path(modules[name][0]).resolve().is_relative_to(layer), name
    for name in (
        "handlers.ingest",
        "handlers.projector",
        "handlers.api",
        "provenance.domain.events",
    ):
        assert Path(modules[name][0]).resolve().is_relative_to(code), name


# -- wheels and shared objects are for the runtime's platform ----------------------------------


def wheel_tag_fits(tag: str, machine: str) -> bool:
    """Whether a wheel tag installs on CPython 3.12 on Amazon Linux 2023 (glibc 2.34)."""
    interpreter, abi, platform = tag.split("-")
    pure = re.fullmatch(r"py3\d*|cp312", interpreter) is not None and abi == "none"
    if platform == "any":
        return pure
    manylinux = re.fullmatch(
        rf"manylinux_2_(\d+)_{machine}|manylinux(?:2014|2010|1)_{machine}", platform
    )
    if manylinux is None or (manylinux.group(1) and int(manylinux.group(1)) > 34):
        return False
    stable = re.fullmatch(r"cp3(\d+)", interpreter)
    limited = abi == "abi3" and stable is not None and int(stable.group(1)) <= 12
    return pure or limited or (interpreter, abi) == ("cp312", "cp312")


def elf_machines(root: Path) -> dict[str, int]:
    """Every ELF file under `root` (relative path) -> its e_machine."""
    machines = {}
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        with path.open("rb") as file:
            head = file.read(20)
        if head[:4] == b"\x7fELF" and len(head) == 20:
            # EI_DATA (byte 5): 1 little-endian, 2 big-endian; e_machine is bytes 18-19.
            e_machine = head[18:20]
            machine = int.from_bytes(e_machine, "little" if head[5] == 1 else "big")
            machines[path.relative_to(root).as_posix()] = machine
    return machines


@pytest.mark.parametrize(
    ("architecture", "machine", "e_machine"),
    [("arm64", "aarch64", EM_AARCH64), ("x86_64", "x86_64", EM_X86_64)],
)
def test_wheels_and_shared_objects_are_for_the_architecture(
    request: pytest.FixtureRequest, architecture: str, machine: str, e_machine: int
) -> None:
    bundle: LambdaBundle = request.getfixturevalue(f"{architecture}_bundle")
    layer = bundle.dependencies / LAYER_PYTHON
    wheels = sorted(layer.glob("*.dist-info/WHEEL"))
    assert len(wheels) >= 10
    for wheel in wheels:
        tags = [line[4:].strip() for line in wheel.read_text().splitlines() if line[:4] == "Tag:"]
        assert any(wheel_tag_fits(tag, machine) for tag in tags), (wheel.parent.name, tags)
    machines = elf_machines(bundle.dependencies)
    assert any(path.startswith("python/lxml/etree.") for path in machines)
    assert any(path.startswith("python/pydantic_core/_pydantic_core.") for path in machines)
    assert {path: m for path, m in machines.items() if m != e_machine} == {}
    assert elf_machines(bundle.code) == {}


def test_wheel_tag_check_refuses_other_platforms() -> None:
    assert wheel_tag_fits("cp312-cp312-manylinux_2_17_aarch64", "aarch64")
    assert wheel_tag_fits("cp39-abi3-manylinux2014_aarch64", "aarch64")
    assert wheel_tag_fits("py3-none-any", "aarch64")
    assert not wheel_tag_fits("cp312-cp312-manylinux_2_17_x86_64", "aarch64")
    assert not wheel_tag_fits("cp311-cp311-manylinux_2_17_aarch64", "aarch64")
    assert not wheel_tag_fits("cp312-cp312-manylinux_2_39_aarch64", "aarch64")
    assert not wheel_tag_fits("cp312-cp312-macosx_11_0_arm64", "aarch64")


def test_layer_carries_the_locked_versions_which_are_those_installed_here(
    x86_64_bundle: LambdaBundle,
) -> None:
    layer = x86_64_bundle.dependencies / LAYER_PYTHON
    in_layer = {
        canonicalize_name(info.metadata["Name"]): info.version
        for info in map(metadata.PathDistribution, layer.glob("*.dist-info"))
    }
    locked = {item.name: item.version for item in locked_requirements("x86_64", "3.12")}
    assert in_layer == locked
    # `make` installs this environment from the same lock: the tests run what Lambda runs.
    here = {name: metadata.version(name) for name in in_layer}
    assert in_layer == here
    for name in ("pydantic-core", "lxml", "boto3", "botocore", "aws-lambda-powertools"):
        assert name in in_layer
    assert not (layer / "bin").exists()
    assert_bytecode_for_the_runtime(layer)


def test_the_lock_applies_markers_for_the_runtime(tmp_path: Path) -> None:
    lock = tmp_path / "runtime.txt"
    lock.write_text(LOCK_TEXT)
    pins = {item.name: item.version for item in locked_requirements("arm64", "3.12", lock)}
    # numpy's 3.11-only pin and the Windows-only colorama are not the runtime's.
    assert pins["numpy"] == "2.5.5" and "colorama" not in pins
    assert locked_requirements("arm64", "3.12", lock)[0].line() == (
        "annotated-types==0.8.0 --hash=sha256:aa --hash=sha256:bb"
    )


def test_a_lock_behind_pyproject_or_without_hashes_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "runtime.txt"
    lock.write_text(LOCK_TEXT.replace("click==8.5.1", "click==7.0"))
    with pytest.raises(BundlingError, match=r"requires click>=8\.1 but .*click==7\.0.*make lock"):
        locked_requirements("arm64", "3.12", lock)
    lock.write_text(LOCK_TEXT.replace("lxml==6.2.1 --hash=sha256:cc", "lxml>=6"))
    with pytest.raises(BundlingError, match="not an exact pin with hashes"):
        locked_requirements("arm64", "3.12", lock)
    lock.unlink()
    with pytest.raises(BundlingError, match="cannot read the lock file"):
        locked_requirements("arm64", "3.12", lock)


def assert_bytecode_for_the_runtime(directory: Path) -> None:
    """Lambda cannot write bytecode (read-only code): the asset carries it, for the runtime's
    Python only, when this machine has that Python (it has, wherever the import test runs)."""
    compiled = [p for p in directory.rglob("*") if p.suffix in {".pyc", ".pyo"}]
    if runtime_interpreter("3.12") is None:
        assert not compiled
        return
    assert compiled
    assert {p.name.split(".")[-2] for p in compiled} == {"cpython-312"}
    for module in directory.rglob("*.py"):
        if module.parent.name != "__pycache__" and "tests" not in module.parts:
            cached = module.parent / "__pycache__" / f"{module.stem}.cpython-312.pyc"
            assert cached.is_file(), module


# -- caching and concurrency -------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        path.relative_to(root).as_posix(): (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in root.rglob("*")
    }


def test_second_call_runs_no_pip_and_copies_nothing(
    x86_64_bundle: LambdaBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pip(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"pip ran again: {args}")

    before = snapshot(x86_64_bundle.code)
    monkeypatch.setattr(subprocess, "run", no_pip)
    again = build_bundle("x86_64")
    assert again == x86_64_bundle
    assert snapshot(again.code) == before


def test_a_failing_pip_is_one_clear_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = (
        "ERROR: Could not find a version that satisfies the requirement lxml==6.1.3 "
        "(from versions: none)\nERROR: No matching distribution found for lxml==6.1.3\n"
    )

    def failing_pip(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        assert "--only-binary=:all:" in command and "manylinux_2_34_aarch64" in command
        return subprocess.CompletedProcess(command, 1, stdout="", stderr=stderr)

    runtime_interpreter("3.12")  # looked for once per process, before pip is replaced
    monkeypatch.setattr(subprocess, "run", failing_pip)
    with pytest.raises(BundlingError) as failure:
        build_dependency_layer("arm64", build_root=tmp_path)
    message = str(failure.value)
    assert "\n" not in message
    assert "No matching distribution found for lxml==6.1.3" in message
    assert "arm64" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks"]


def test_unknown_architecture_or_python_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundlingError, match="not a Lambda architecture"):
        build_dependency_layer("aarch64", build_root=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(BundlingError, match="requires Python"):
        build_dependency_layer("arm64", "3.10", build_root=tmp_path)
    with pytest.raises(BundlingError, match=r"form 3\.N"):
        build_dependency_layer("arm64", "3.12.1", build_root=tmp_path)


def test_concurrent_builds_make_one_directory(tmp_path: Path) -> None:
    paths: list[Path] = []
    threads = [
        threading.Thread(target=lambda: paths.append(build_code_asset(build_root=tmp_path)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(paths) == 4 and len(set(paths)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", paths[0].name]


def test_directories_unused_for_a_day_are_pruned(tmp_path: Path) -> None:
    two_days_ago = time.time() - 2 * 86_400
    for name in ("code-0ld", ".tmp-code-0ld-x", "code-recent", "layer-arm64-py312-0ld"):
        (tmp_path / name).mkdir()
    for name in ("code-0ld", ".tmp-code-0ld-x", "layer-arm64-py312-0ld"):
        os.utime(tmp_path / name, (two_days_ago, two_days_ago))
    built = build_code_asset(build_root=tmp_path)
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != ".locks")
    # Only directories of the kind just built are pruned: layers go when a layer is built.
    assert left == sorted([built.name, "code-recent", "layer-arm64-py312-0ld"])


# -- the code asset ----------------------------------------------------------------------------


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "access-policy.toml"
    path.write_text("# the deployment's access policy\n")
    return path


def test_code_asset_holds_the_runtime_packages_and_extra_files(
    tmp_path: Path, policy: Path
) -> None:
    root = tmp_path / "build"
    code = build_code_asset({"config/access-policy.toml": policy}, build_root=root)
    assert {p.name for p in code.iterdir()} == RUNTIME_PACKAGES | {"config"}
    for name in ("handlers/ingest.py", "handlers/projector.py", "handlers/api.py"):
        assert (code / name).read_bytes() == (REPO_ROOT / name).read_bytes()
    assert (code / "eventstore" / "schema.py").is_file()
    assert (code / "config" / "access-policy.toml").read_text() == policy.read_text()
    everything = list(code.rglob("*"))
    assert not [p for p in everything if p.name in {"tests", "cdk"}]
    # No function runs the command line or the demo: they stay out of the asset.
    assert (code / "provenance" / "query" / "http_api.py").is_file()
    assert not (code / "provenance" / "cli").exists()
    assert_bytecode_for_the_runtime(code)
    # Lambda runs the code as another user: everything readable by all.
    assert all(p.stat().st_mode & 0o444 == 0o444 for p in [code, *everything])

    assert build_code_asset({"config/access-policy.toml": policy}, build_root=root) == code
    policy.write_text("# another policy\n")
    changed = build_code_asset({"config/access-policy.toml": policy}, build_root=root)
    assert changed != code
    assert (changed / "config" / "access-policy.toml").read_text() == "# another policy\n"
    assert build_code_asset(build_root=root) not in {code, changed}


@pytest.mark.parametrize("name", ["../outside.toml", "/etc/passwd", "", "handlers/api.py"])
def test_extra_files_stay_inside_and_replace_nothing(
    tmp_path: Path, policy: Path, name: str
) -> None:
    with pytest.raises(BundlingError, match="extra file"):
        build_code_asset({name: policy}, build_root=tmp_path)


def test_missing_extra_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BundlingError, match="cannot be read"):
        build_code_asset({"policy.toml": tmp_path / "nowhere.toml"}, build_root=tmp_path)
