"""The SQLite store's projection rows, their indexes and totals: a part of `SQLiteEventStore`.

Rows are compared and written under one write transaction, with the index entries and totals
their writes carry (`ProjectionWrite`), so a row and what it indexes never disagree.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eventstore.errors import InvalidRequestError
from eventstore.records import IndexEntry, ProjectionRow, ProjectionWrite
from eventstore.sqlite_codec import pack_value, unpack_value
from eventstore.store import (
    check_index_query,
    check_projection_writes,
    conflict_error,
    summed_totals,
)

# Rows per query when streaming `read_all`, `streams` and `read_projection`: bounded memory,
# few enough round trips that paging costs nothing measurable.
PAGE_ROWS = 5000
# SQLite's default is a few hundred bound variables per statement on old builds.
IN_CHUNK = 500

_UPSERT_ROW = (
    "INSERT INTO projections (projection, key, value, packed, version) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (projection, key) DO UPDATE SET value = excluded.value, "
    "version = excluded.version, packed = excluded.packed"
)


class SQLiteProjections:
    """Projection rows, index entries and totals (see the module docstring)."""

    if TYPE_CHECKING:

        def _fetch(self, action: str, sql: str, params: Sequence[Any]) -> list[Any]: ...

        def _write(self, action: str) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...

    def get_projection(self, projection: str, key: str) -> ProjectionRow | None:
        rows = self._fetch(
            "read",
            "SELECT value, version, packed FROM projections WHERE projection = ? AND key = ?",
            [projection, key],
        )
        if not rows:
            return None
        value, version, packed = rows[0]
        return ProjectionRow(key=key, value=unpack_value(value, packed), version=version)

    def get_projections(self, projection: str, keys: Iterable[str]) -> dict[str, ProjectionRow]:
        wanted = sorted(set(keys))
        found: dict[str, ProjectionRow] = {}
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start : start + IN_CHUNK]
            for key, value, version, packed in self._fetch(
                "read",
                "SELECT key, value, version, packed FROM projections WHERE projection = ? "
                f"AND key IN ({', '.join('?' * len(chunk))})",
                [projection, *chunk],
            ):
                found[key] = ProjectionRow(
                    key=key, value=unpack_value(value, packed), version=version
                )
        return found

    def read_projection(
        self, projection: str, *, start: str | None = None, stop: str | None = None
    ) -> Iterator[ProjectionRow]:
        for name, bound in (("start", start), ("stop", stop)):
            if bound is not None and not isinstance(bound, str):
                raise InvalidRequestError(f"{name} must be None or a string, got {bound!r}")
        return self._projection_rows(projection, start, stop)

    def _projection_rows(
        self, projection: str, start: str | None, stop: str | None
    ) -> Iterator[ProjectionRow]:
        upper = "" if stop is None else " AND key < ?"
        sql = (
            "SELECT key, value, version, packed FROM projections "
            f"WHERE projection = ? AND key {{}} ?"
            f"{upper} ORDER BY key LIMIT {PAGE_ROWS}"
        )
        tail = [] if stop is None else [stop]
        # The empty key is never stored (names are checked), so "> ''" starts at the first row.
        first = (">=", start) if start is not None else (">", "")
        rows = self._fetch("read", sql.format(first[0]), [projection, first[1], *tail])
        while rows:
            yield from (
                ProjectionRow(key=k, value=unpack_value(v, packed), version=n)
                for k, v, n, packed in rows
            )
            if len(rows) < PAGE_ROWS:
                return
            rows = self._fetch("read", sql.format(">"), [projection, rows[-1][0], *tail])

    def write_projection(self, projection: str, writes: Sequence[ProjectionWrite]) -> None:
        check_projection_writes(projection, writes)
        if not writes:
            return
        with self._write("write a projection to") as con:
            # Versions are compared and rows written under one write lock, so no other writer
            # can slip in between; a mismatch raises before anything is written.
            current: dict[str, int] = {}
            for start in range(0, len(writes), IN_CHUNK):
                keys = [write.key for write in writes[start : start + IN_CHUNK]]
                current.update(
                    con.execute(
                        "SELECT key, version FROM projections WHERE projection = ? "
                        f"AND key IN ({', '.join('?' * len(keys))})",
                        [projection, *keys],
                    ).fetchall()
                )
            stale = [w for w in writes if current.get(w.key, 0) != w.expected_version]
            if stale:
                raise conflict_error(projection, stale, current)
            con.executemany(
                _UPSERT_ROW,
                [
                    (projection, w.key, *pack_value(w.value), w.expected_version + 1)
                    for w in writes
                    if w.value is not None
                ],
            )
            con.executemany(
                "DELETE FROM projections WHERE projection = ? AND key = ?",
                [(projection, w.key) for w in writes if w.value is None],
            )
            _write_index(con, projection, writes)

    def read_index(
        self,
        projection: str,
        index: str,
        *,
        start: str | None = None,
        stop: str | None = None,
        after: IndexEntry | None = None,
        limit: int,
        descending: bool = False,
    ) -> list[IndexEntry]:
        check_index_query(projection, index, start, stop, limit)
        where = ["projection = ?", "idx = ?"]
        params: list[Any] = [projection, index]
        # `after` (a row value comparison) is the bound SQLite seeks to, in place of the
        # range's own bound on that side when it is at least as tight: given both, SQLite
        # seeks to the range's bound and filters every entry up to `after`, so a page deep in
        # a list cost its depth (bench/fleet_scale.py).
        seek_start = after is not None and not descending and (start is None or after.term >= start)
        seek_stop = after is not None and descending and (stop is None or after.term < stop)
        if start is not None and not seek_start:
            where.append("term >= ?")
            params.append(start)
        if stop is not None and not seek_stop:
            where.append("term < ?")
            params.append(stop)
        if after is not None:
            where.append(f"(term, key) {'<' if descending else '>'} (?, ?)")
            params += [after.term, after.key]
        order = "DESC" if descending else "ASC"
        rows = self._fetch(
            "read",
            f"SELECT term, key FROM projection_index WHERE {' AND '.join(where)} "
            f"ORDER BY term {order}, key {order} LIMIT ?",
            [*params, limit],
        )
        return [IndexEntry(term, key) for term, key in rows]

    def projection_totals(self, projection: str, *, prefix: str = "") -> dict[str, int]:
        rows = self._fetch(
            "read",
            "SELECT name, value FROM projection_totals WHERE projection = ? AND name >= ? "
            "AND value != 0",
            [projection, prefix],
        )
        return {name: value for name, value in rows if name.startswith(prefix)}

    def put_projection(self, projection: str, rows: Mapping[str, bytes | None]) -> None:
        check_projection_writes(projection, [ProjectionWrite(k, v, 0) for k, v in rows.items()])
        if not rows:
            return
        with self._write("write a projection to") as con:
            con.executemany(
                _UPSERT_ROW,
                [
                    (projection, key, *pack_value(value), 1)
                    for key, value in rows.items()
                    if value is not None
                ],
            )
            con.executemany(
                "DELETE FROM projections WHERE projection = ? AND key = ?",
                [(projection, key) for key, value in rows.items() if value is None],
            )

    def clear_projection(self, projection: str) -> None:
        with self._write("clear a projection in") as con:
            for table in ("projections", "projection_index", "projection_totals"):
                con.execute(f"DELETE FROM {table} WHERE projection = ?", (projection,))


def _write_index(
    con: sqlite3.Connection, projection: str, writes: Sequence[ProjectionWrite]
) -> None:
    """The index entries and totals the writes carry, in their transaction."""
    drops = [(projection, i, t, w.key) for w in writes for i, t in w.index_drop]
    adds = [(projection, i, t, w.key) for w in writes for i, t in w.index_add]
    if drops:
        con.executemany(
            "DELETE FROM projection_index WHERE projection = ? AND idx = ? AND term = ? "
            "AND key = ?",
            drops,
        )
    if adds:
        con.executemany("INSERT OR IGNORE INTO projection_index VALUES (?, ?, ?, ?)", adds)
    changed = [(projection, name, delta) for name, delta in summed_totals(writes).items()]
    if changed:
        con.executemany(
            "INSERT INTO projection_totals VALUES (?, ?, ?) ON CONFLICT (projection, name) "
            "DO UPDATE SET value = value + excluded.value",
            changed,
        )
        # Zeros are not kept: the names a projection has ever used would pile up.
        con.executemany(
            "DELETE FROM projection_totals WHERE projection = ? AND name = ? AND value = 0",
            [(projection, name) for _p, name, _d in changed],
        )
