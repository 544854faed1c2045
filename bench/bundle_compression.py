"""Bytes per access event in a DynamoDB bundle: zlib with the store's preset dictionary
against zlib alone, by the number of events in the bundle (BENCHMARKS.md, section 6.6).

A bundle (`eventstore.dynamodb.bundles`) holds the access events of one service-hour that one
append wrote, compressed as a whole. The payloads are the tests' varied access events
(`tests.access_helpers.random_records`: every dimension takes several values, one day), encoded
as a bundle encodes them (`bundles._encode`); each size is compressed at level 9 both ways.

Run: `.venv/bin/python bench/bundle_compression.py` (a second).
"""

from __future__ import annotations

import sys
import zlib

from common import REPO

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SIZES = (1, 3, 10, 30, 100, 300, 1000)


def main() -> int:
    from eventstore.dynamodb.bundles import _encode
    from eventstore.dynamodb.dictionary import CURRENT, DICTIONARIES
    from tests.access_helpers import random_records

    records = random_records(max(SIZES), seed=1, days=1)
    print("| events in the bundle | encoded bytes per event | with the dictionary | zlib alone |")
    print("| ---: | ---: | ---: | ---: |")
    for size in SIZES:
        raw = _encode(records[:size])
        packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS, 9, zdict=DICTIONARIES[CURRENT])
        with_dictionary = len(packer.compress(raw) + packer.flush()) + 1  # the dictionary's number
        alone = len(zlib.compress(raw, 9))
        print(
            f"| {size:,} | {len(raw) / size:,.0f} | {with_dictionary / size:,.1f} | "
            f"{alone / size:,.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
