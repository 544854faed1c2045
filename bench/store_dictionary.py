"""Write a zlib preset dictionary for the DynamoDB store's payloads and projection values
(`eventstore/dynamodb/dictionary.py`) from a demo world's events and rows.

A stored event's JSON is short (about 900 bytes), so zlib alone finds little to repeat inside
one payload (about 520 bytes out); with a preset dictionary of typical payloads it can point
back into the dictionary instead (about 120 bytes out). The dictionary is only text that
payloads tend to share: any bytes still round-trip, just less well compressed.

A dictionary, once items were written with it, can never change: items name the dictionary
they need by number. This script writes dictionary `--number` (1 is the first); a later
dictionary gets the next number and the old ones stay in the module.

Run: `.venv/bin/python bench/store_dictionary.py --number 1 > /tmp/dictionary.py` (about
30 s: `prov demo` of 60 objects and 20 days into a temporary directory), then paste the
dictionary into `eventstore/dynamodb/dictionary.py` and `ruff format` it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from common import REPO, prov_command

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SIZE = 24 * 1024
"""Of zlib's 32 KiB window: the rest is left for the payload itself."""
PER_TYPE = 4
ROWS = 4


def samples(store_path: Path) -> list[bytes]:
    """Payloads by type (the rarest type first: zlib reaches the end of the dictionary most
    cheaply, so the commonest text goes last) and a few projection rows."""
    from eventstore import SQLiteEventStore

    by_type: dict[str, list[bytes]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    rows: list[bytes] = []
    with SQLiteEventStore(store_path) as store:
        for record in store.read_all():
            counts[record.type] += 1
            if len(by_type[record.type]) < PER_TYPE:
                by_type[record.type].append(record.payload)
        for projection in ("object_state", "access_counts"):
            found = [r.value for r in store.read_projection(projection) if r.value[:1] == b"{"]
            rows += found[-ROWS:]
    out = rows[:]
    for kind in sorted(by_type, key=lambda k: (counts[k], k)):
        out += by_type[kind]
    return out


def dictionary(parts: list[bytes]) -> bytes:
    text = b"".join(parts)
    return text[-SIZE:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=1, help="the dictionary's number")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-dictionary-") as tmp:
        env = {
            **os.environ,
            "PROV_PSEUDONYM_KEY": "bench: a pseudonym key of 32 characters or more",
        }
        subprocess.run(
            [prov_command(), "demo", "--dir", f"{tmp}/demo", "--objects", "60", "--days", "20"],
            check=True,
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        data = dictionary(samples(Path(tmp) / "demo" / "provenance.db"))
    # The demo's temporary directory is in every path: name a neutral one instead.
    data = data.replace(tmp.encode(), b"/var/log/sdr")
    print(f"DICTIONARY_{args.number} = (")
    for start in range(0, len(data), 64):
        print(f"    {data[start : start + 64]!r}")
    print(")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
