"""What a Lambda container keeps between invocations: the store `PROV_STORE` names.

One cache for the three functions: each opens the store on its first invocation and keeps it
for the container's life (a container runs one invocation at a time). A changed `PROV_STORE`
(between tests, or a local run) closes the old store and opens the new one rather than using
a stale one. The store must exist already: a function never creates one.
"""

from __future__ import annotations

import os

from eventstore import EventStore, StoreUnavailableError, open_store
from provenance.domain.events import ACCESS_STREAM_PREFIX

_opened: dict[str, EventStore] = {}


def store() -> EventStore:
    """The store named by `PROV_STORE`, opened once per container."""
    url = os.environ.get("PROV_STORE", "")
    if not url:
        raise StoreUnavailableError("PROV_STORE is not set: give the store URL")
    opened = _opened.get(url)
    if opened is None:
        for old in _opened.values():
            old.close()
        _opened.clear()
        # Access events in bundles on DynamoDB (one item per service, hour and append).
        opened = _opened[url] = open_store(
            url, create=False, bundled_prefixes=(ACCESS_STREAM_PREFIX,)
        )
    return opened


def close() -> None:
    """Close the kept store (a test's teardown; a Lambda container just ends)."""
    for opened in _opened.values():
        opened.close()
    _opened.clear()
