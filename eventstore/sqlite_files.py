"""Names of the embedded store's files, apart from the backend itself: what a URL or a CLI needs
to know about them without importing sqlite3 (the Lambda functions never open an SQLite store,
and their cold start is measured).
"""

from __future__ import annotations

STORE_FILE_NAME = "provenance.db"
"""The file name suggested for a store in a folder (the one `prov demo` uses)."""

SIDE_FILE_SUFFIXES = ("-wal", "-shm", "-journal")
"""What SQLite appends to a database's path (its symlinks resolved) to name the files it keeps
beside it: the write-ahead log, its shared-memory index, the rollback journal."""

MEMORY = ":memory:"
"""Pass as `path` for a private in-memory store (tests, one-off runs); it vanishes on close."""
