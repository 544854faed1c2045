"""Small, real-format sample lines used across tests (built from reference/sdr-logs.md)."""

from __future__ import annotations

from typing import Any

from provenance.records.envelope import Envelope
from provenance.records.lines import Line

CHECKSUM_OK = (
    "I, [2026-03-01T22:14:05.223456 #4711]  INFO -- : "
    "validate_checksums(bj102hs9687, fixture_sr3) checksum(s) match"
)
CHECKSUM_MISMATCH = (
    "E, [2026-03-01T22:14:05.123456 #4711] ERROR -- : validate_checksums(bj102hs9687, fixture_sr3)"
    " checksums or size for /services-disk02/sdr2objects/bj/102/hs/9687/bj102hs9687/v0001/data/"
    "content/eric-smith-dissertation.pdf version 1 do not match entry in latest "
    "signatureCatalog.xml."
)
STATUS_CHANGED = (
    "I, [2026-03-01T22:14:05.323456 #4711]  INFO -- : validate_checksums(bj102hs9687, fixture_sr3)"
    " MoabRecord status changed from ok to invalid_checksum"
)
CHECKSUM_OK_LATER = (
    "I, [2026-03-09T03:00:00.000001 #4712]  INFO -- : "
    "validate_checksums(bj102hs9687, fixture_sr3) checksum(s) match"
)
STATUS_BACK = (
    "I, [2026-03-09T03:00:00.000002 #4712]  INFO -- : validate_checksums(bj102hs9687, fixture_sr3)"
    " MoabRecord status changed from invalid_checksum to ok"
)
REPLICATED = (
    '{"druid": "druid:bj102hs9687", "event_type": "druid_version_replicated", "data": '
    '{"host": "preservation-catalog-prod-04.stanford.edu", "invoked_by": "preservation-catalog", '
    '"version": 1, "endpoint_name": "aws_s3_west_2", "parts_info": [{"s3_key": '
    '"bj/102/hs/9687/bj102hs9687.v0001.zip", "size": 1024, '
    '"md5": "00112233445566778899aabbccddeeff"}]}, '
    '"created_at": "2026-02-01T10:00:00Z"}'
)
ROBOT_PROCESSING = (
    "2026-02-01T09:00:00.000Z pid=12 tid=abc INFO: druid:bj102hs9687 processing transfer-object "
    "(preservationIngestWF)"
)
ROBOT_FINISHED = (
    "2026-02-01T09:00:03.500Z pid=12 tid=abc INFO: Finished druid:bj102hs9687 in 3.5000s"
)

OBJECT_LOG = (
    "\n".join(
        [
            ROBOT_PROCESSING,
            ROBOT_FINISHED,
            REPLICATED,
            CHECKSUM_OK,
            CHECKSUM_MISMATCH,
            STATUS_CHANGED,
            CHECKSUM_OK_LATER,
            STATUS_BACK,
        ]
    )
    + "\n"
)


def sample_envelope(lines: list[Line], **fields: Any) -> Envelope:
    """A `prov ship` envelope of `lines` from a made-up audit log (fields override)."""
    values: dict[str, Any] = {
        "source": "auto",
        "service": None,
        "host": "pres-01",
        "file": "/var/log/audit.log",
        "file_id": "2049:1",
        "offset": 0,
        "end": sum((len(line) if isinstance(line, bytes) else line.length) + 1 for line in lines),
        "first_line": 1,
        "lines": lines,
        **fields,
    }
    return Envelope(**values)
