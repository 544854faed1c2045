"""A real AWS wire protocol on 127.0.0.1: one moto server per test process, started here.

Every test that talks to "AWS" goes over HTTP to this server with `endpoint_url`; nothing can
reach real AWS (the credentials are fake and every client is given the local endpoint). Tests
isolate themselves by unique table and stream names (`unique_name`), not by restarting moto.
"""

from __future__ import annotations

import os
import uuid

from moto.server import ThreadedMotoServer

REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    # No profile or credentials file of the machine's user is ever read.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


class MotoServer:
    """A moto server on a free port of 127.0.0.1, in a thread of this process."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.stop()

    def dynamodb_url(self, table: str) -> str:
        """The store URL of `table` on this server."""
        return f"dynamodb://{table}?region={REGION}&endpoint_url={self.endpoint_url}"


def unique_name(prefix: str) -> str:
    """A table or stream name no other test uses (moto keeps state for the whole session)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
