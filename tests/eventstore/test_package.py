"""The package as a whole: its public names, its import boundary, and the shared key format."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

import eventstore
from eventstore import schema, time_key


def test_public_names_resolve() -> None:
    for name in eventstore.__all__:
        assert getattr(eventstore, name) is not None


def test_eventstore_imports_nothing_of_the_domain_or_aws() -> None:
    code = (
        "import sys, eventstore, eventstore.schema, eventstore.sqlite, eventstore.url\n"
        "import eventstore.aws_region\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('provenance', 'premis', 'handlers', 'boto3', 'botocore'))\n"
        "print(','.join(bad))"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert loaded == ""


def test_schema_names_are_distinct() -> None:
    keys = [schema.PARTITION_KEY, schema.SORT_KEY, schema.FEED_PARTITION_KEY, schema.FEED_SORT_KEY]
    attributes = [value for name, value in vars(schema).items() if name.startswith("ATTR_")]
    prefixes = [schema.EVENT_PREFIX, schema.EVENT_ID_PREFIX, schema.PROJECTION_PREFIX]

    assert schema.TABLE_NAME_DEFAULT == "provenance-events"
    assert len(set(keys + attributes + [schema.TTL_ATTRIBUTE])) == len(keys) + len(attributes) + 1
    assert all(keys + attributes + prefixes)
    assert not any(a.startswith(b) for a in prefixes for b in prefixes if a != b)


@pytest.mark.parametrize(
    "moments",
    [
        [
            datetime(5, 1, 1, tzinfo=UTC),
            datetime(999, 12, 31, tzinfo=UTC),
            datetime(2026, 1, 1, tzinfo=UTC),
        ],
        [
            # In time order; their wall-clock readings sort the other way round.
            datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
            datetime(2026, 3, 2, 3, 0, 0, 1, tzinfo=timezone(timedelta(hours=1))),
            datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
        ],
    ],
    ids=["early-years", "offsets"],
)
def test_time_key_sorts_as_time(moments: list[datetime]) -> None:
    keys = [time_key(moment) for moment in moments]

    assert keys == sorted(keys)
    assert [datetime.fromisoformat(key) for key in keys] == moments


def test_time_key_format() -> None:
    moment = datetime(2026, 3, 1, 14, 14, 5, 123456, tzinfo=timezone(timedelta(hours=-8)))

    assert time_key(moment) == "2026-03-01T22:14:05.123456Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        time_key(datetime(2026, 3, 1))
