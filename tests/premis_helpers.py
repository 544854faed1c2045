"""Test helper any test folder can use: `from tests.premis_helpers import assert_valid_premis`."""

from __future__ import annotations

from pathlib import Path

import pytest

from premis.errors import PremisValidationError
from premis.schema import validate


def assert_valid_premis(document: bytes | Path) -> None:
    """Fail the test, listing every XSD error, unless `document` is valid PREMIS 3.0.

    Needs the cached XSD (`python -m premis.schema fetch`; `make test` runs it first).
    """
    try:
        validate(document)
    except PremisValidationError as exc:
        pytest.fail("not a valid PREMIS 3.0 document:\n" + "\n".join(exc.details), pytrace=False)
