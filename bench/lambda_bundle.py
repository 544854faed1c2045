"""The Lambda asset as deployed: its size, and the handlers' import time with and without bytecode.

Lambda's code and layers are read-only, so a module without bytecode in the asset is compiled
on every cold start. `cdk/bundling/` puts bytecode in the asset when this machine has a
Python of the runtime's version. This script measures what that buys:

- builds the x86_64 bundle (`cdk.bundling.build_bundle`, cached under `.build/lambda`), and
  copies it into a temporary directory twice: as built (with bytecode) and with every
  `__pycache__` removed;
- runs, in fresh interpreters of the runtime's Python (3.12, found as the bundler finds it),
  isolated as Lambda runs them (`-I -S -B`, `sys.path` = code, then layer, then the standard
  library), `import handlers.ingest, handlers.projector, handlers.api`, timing the imports
  inside the process; `--rounds` rounds alternating the two copies after one warm-up each;
- prints medians, their ratio, and the unzipped and zipped sizes of the code and the layer
  (Lambda's limit: 250 MB unzipped for a function with its layers).

Run: `.venv/bin/python bench/lambda_bundle.py [--rounds 9] [--json FILE]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from common import REPO, median

sys.path.insert(0, str(REPO))

from cdk.bundling import build_bundle
from cdk.bundling.bytecode import runtime_interpreter

PYTHON_VERSION = "3.12"
PROBE = """
import sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
started = time.perf_counter()
import handlers.ingest, handlers.projector, handlers.api
print(time.perf_counter() - started)
"""


def _size(directory: Path) -> tuple[int, int]:
    """(bytes of every file, files)"""
    files = [path for path in directory.rglob("*") if path.is_file()]
    return sum(path.stat().st_size for path in files), len(files)


def _zipped(directory: Path, scratch: Path) -> int:
    target = scratch / f"{directory.name}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return target.stat().st_size


def _import_seconds(python: Path, code: Path, layer: Path) -> float:
    result = subprocess.run(
        [str(python), "-I", "-S", "-B", "-c", PROBE, str(code), str(layer)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    python = runtime_interpreter(PYTHON_VERSION)
    if python is None:
        sys.exit(f"no Python {PYTHON_VERSION} here: nothing to measure")
    bundle = build_bundle("x86_64", PYTHON_VERSION)
    figures: dict[str, Any] = {"python": str(python)}
    with tempfile.TemporaryDirectory(prefix="lambda-bundle-") as tmp:
        scratch = Path(tmp)
        copies: dict[str, tuple[Path, Path]] = {}
        for kind in ("with bytecode", "without bytecode"):
            root = scratch / kind.replace(" ", "-")
            code = shutil.copytree(bundle.code, root / "code")
            layer = shutil.copytree(bundle.dependencies / "python", root / "layer")
            if kind == "without bytecode":
                for cache in sorted(root.rglob("__pycache__"), reverse=True):
                    shutil.rmtree(cache)
            copies[kind] = (code, layer)
        for kind, (code, layer) in copies.items():
            size, files = _size(code)
            layer_size, layer_files = _size(layer)
            figures[kind] = {
                "code_bytes": size,
                "code_files": files,
                "code_zipped": _zipped(code, scratch),
                "layer_bytes": layer_size,
                "layer_files": layer_files,
                "layer_zipped": _zipped(layer, scratch),
                "seconds": [],
            }
            _import_seconds(python, code, layer)  # warm-up: the file system cache
        for round_ in range(args.rounds):
            order = list(copies) if round_ % 2 == 0 else list(reversed(copies))
            for kind in order:
                figures[kind]["seconds"].append(_import_seconds(python, *copies[kind]))
    with_bc = median(figures["with bytecode"]["seconds"])
    without_bc = median(figures["without bytecode"]["seconds"])
    print(f"Python {PYTHON_VERSION}: {python}; {args.rounds} rounds, medians")
    print("| asset | import of the three handlers (s) | code MB (zipped) | layer MB (zipped) |")
    print("| --- | ---: | ---: | ---: |")
    for kind, seconds in (("with bytecode", with_bc), ("without bytecode", without_bc)):
        f = figures[kind]
        print(
            f"| {kind} | {seconds:.3f} | {f['code_bytes'] / 1e6:.1f} ({f['code_zipped'] / 1e6:.1f})"
            f" | {f['layer_bytes'] / 1e6:.1f} ({f['layer_zipped'] / 1e6:.1f}) |"
        )
    print(f"without / with bytecode: {without_bc / with_bc:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
