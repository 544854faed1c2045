"""The zone that zone-less log times are read in: `--tz`, else `PROV_TZ`, else the machine's."""

from __future__ import annotations

import os
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from provenance.domain.errors import ProvenanceError
from provenance.domain.shown import shown


def resolve_zone(name: str | None = None) -> tzinfo:
    """A DST-aware zone by IANA name; without one, PROV_TZ, then the machine's own zone."""
    name = name or os.environ.get("PROV_TZ") or _machine_zone_name()
    try:
        return ZoneInfo(name)
    # OSError: a name too long for a file name (ZoneInfo looks names up as files).
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ProvenanceError(
            f"unknown time zone {shown(name, 80)!r}: give an IANA name such as "
            "America/Los_Angeles or UTC"
        ) from None


def _machine_zone_name() -> str:
    # A fixed offset from time.localtime() would be wrong across DST changes, so find the name.
    env = os.environ.get("TZ", "").lstrip(":")
    if env:
        return env
    localtime = Path("/etc/localtime")
    try:
        target = str(localtime.resolve())
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    if marker in target:
        return target.split(marker, 1)[1]
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file():
        return timezone_file.read_text().strip() or "UTC"
    return "UTC"
