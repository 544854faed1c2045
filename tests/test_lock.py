"""The lock files in requirements/ are what this environment runs, and agree with each other.

`make demo` installs requirements/runtime.txt and demo.txt (waitress, for the dashboard),
`make test` requirements/dev.txt on top, and the
Lambda layer is built from runtime.txt (tests/cdk/test_bundling.py): so the tests exercise
exactly the versions every other machine and the deployed functions get.
"""

from __future__ import annotations

from importlib import metadata

import pytest
from packaging.markers import default_environment

from cdk.bundling.lock import read_lock
from cdk.bundling.runtime import REPO_ROOT

LOCKS = REPO_ROOT / "requirements"


def test_every_locked_package_is_installed_here_at_its_locked_version() -> None:
    environment = default_environment()
    locked = read_lock(LOCKS / "dev.txt", environment)
    assert {"pydantic", "lxml", "boto3", "pytest", "moto", "mypy", "aws-cdk-lib"} <= set(locked)
    installed = {}
    for name in locked:
        try:
            installed[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed[name] = None
    assert installed == {name: pin.version for name, pin in locked.items()}


@pytest.mark.parametrize(
    ("lower", "upper"),
    [("runtime.txt", "demo.txt"), ("demo.txt", "dev.txt"), ("dev.txt", "bench.txt")],
)
def test_each_lock_keeps_the_versions_of_the_one_below(lower: str, upper: str) -> None:
    for python in ("3.11", "3.12", "3.13"):
        environment = {**default_environment(), "python_version": python}
        environment["python_full_version"] = f"{python}.0"
        below = read_lock(LOCKS / lower, environment)
        above = read_lock(LOCKS / upper, environment)
        assert set(below) <= set(above)
        assert {name: above[name].version for name in below} == {
            name: pin.version for name, pin in below.items()
        }
