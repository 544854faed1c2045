"""The contract of a projection's indexes and totals (`ProjectionWrite.index_add`,
`index_drop`, `totals`; `read_index`, `projection_totals`): part of `EventStoreContract`."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import (
    ConcurrencyError,
    EventStore,
    IndexEntry,
    InvalidRecordError,
    InvalidRequestError,
    ProjectionWrite,
)


def indexed(
    key: str,
    version: int,
    *,
    add: set[tuple[str, str]] | None = None,
    drop: set[tuple[str, str]] | None = None,
    totals: dict[str, int] | None = None,
    value: bytes | None = b"row",
) -> ProjectionWrite:
    return ProjectionWrite(
        key,
        value,
        version,
        index_add=frozenset(add or ()),
        index_drop=frozenset(drop or ()),
        totals=tuple((totals or {}).items()),
    )


def whole(store: EventStore, projection: str, index: str, **query: object) -> list[IndexEntry]:
    """Every entry of an index, read page after page of 3 (in either direction)."""
    found: list[IndexEntry] = []
    after = None
    while True:
        page = store.read_index(projection, index, after=after, limit=3, **query)  # type: ignore[arg-type]
        found += page
        if len(page) < 3:
            return found
        after = page[-1]


class IndexContract:
    """Tests of indexes and totals every backend must pass (mixed into the contract)."""

    def test_index_entries_read_in_term_then_key_order(self, store: EventStore) -> None:
        store.write_projection(
            "p",
            [
                indexed("druid:b", 0, add={("failing", "2026-01-02"), ("root", "disk1")}),
                indexed("druid:a", 0, add={("failing", "2026-01-02")}),
                indexed("druid:c", 0, add={("failing", "2026-01-01"), ("failing", "2026-01-03")}),
            ],
        )

        entries = store.read_index("p", "failing", limit=10)

        assert entries == [
            IndexEntry("2026-01-01", "druid:c"),
            IndexEntry("2026-01-02", "druid:a"),
            IndexEntry("2026-01-02", "druid:b"),
            IndexEntry("2026-01-03", "druid:c"),
        ]
        assert store.read_index("p", "failing", limit=10, descending=True) == entries[::-1]
        assert store.read_index("p", "root", limit=10) == [IndexEntry("disk1", "druid:b")]
        assert store.read_index("p", "nothing", limit=10) == []
        assert store.read_index("other", "failing", limit=10) == []

    def test_index_range_is_start_inclusive_stop_exclusive(self, store: EventStore) -> None:
        store.write_projection(
            "p",
            [
                indexed(f"k{n}", 0, add={("when", term)})
                for n, term in enumerate(["a", "ab", "abc", "b", "ba", "c"])
            ],
        )

        def terms(**query: object) -> list[str]:
            return [e.term for e in store.read_index("p", "when", limit=10, **query)]  # type: ignore[arg-type]

        assert terms(start="ab", stop="b") == ["ab", "abc"]
        assert terms(start="b") == ["b", "ba", "c"]
        assert terms(stop="ab") == ["a"]
        assert terms(start="b", stop="b") == []
        assert terms(start="c", stop="a") == []
        assert terms(start="ab", stop="b", descending=True) == ["abc", "ab"]

    def test_index_pages_continue_after_the_last_entry(self, store: EventStore) -> None:
        writes = [
            indexed(f"druid:{n:03d}", 0, add={("since", f"2026-01-{n % 7 + 1:02d}")})
            for n in range(40)
        ]
        store.write_projection("p", writes)
        expected = sorted(IndexEntry(t, w.key) for w in writes for _i, t in w.index_add)

        assert whole(store, "p", "since") == expected
        assert whole(store, "p", "since", descending=True) == expected[::-1]
        assert whole(store, "p", "since", start="2026-01-03", stop="2026-01-05") == [
            e for e in expected if "2026-01-03" <= e.term < "2026-01-05"
        ]
        inside = [e for e in expected if "2026-01-03" <= e.term < "2026-01-05"]
        assert (
            whole(store, "p", "since", start="2026-01-03", stop="2026-01-05", descending=True)
            == inside[::-1]
        )
        # After an entry outside the range: the range from its start (or end).
        before, beyond = expected[0], expected[-1]
        assert (
            store.read_index(
                "p", "since", start="2026-01-03", stop="2026-01-05", after=before, limit=100
            )
            == inside
        )
        assert (
            store.read_index(
                "p",
                "since",
                start="2026-01-03",
                stop="2026-01-05",
                after=beyond,
                limit=100,
                descending=True,
            )
            == inside[::-1]
        )
        # After an entry that is no longer there: from where it was.
        gone = expected[10]
        store.write_projection(
            "p", [indexed(gone.key, 1, drop={("since", gone.term)}, add={("since", "zzz")})]
        )
        assert store.read_index("p", "since", after=gone, limit=2) == expected[11:13]

    def test_dropped_entries_and_deleted_rows_leave_the_index(self, store: EventStore) -> None:
        store.write_projection(
            "p",
            [
                indexed("a", 0, add={("failing", "t1"), ("status", "ok")}),
                indexed("b", 0, add={("failing", "t2")}),
            ],
        )

        store.write_projection(
            "p",
            [
                indexed("a", 1, drop={("failing", "t1")}, add={("failing", "t3")}),
                indexed("b", 1, drop={("failing", "t2")}, value=None),
            ],
        )

        assert store.read_index("p", "failing", limit=10) == [IndexEntry("t3", "a")]
        assert store.read_index("p", "status", limit=10) == [IndexEntry("ok", "a")]
        assert store.get_projection("p", "b") is None

    def test_totals_add_the_deltas_of_every_write(self, store: EventStore) -> None:
        store.write_projection(
            "p",
            [
                indexed("a", 0, totals={"objects": 1, "status:ok": 1}),
                indexed("b", 0, totals={"objects": 1, "status:ok": 1}),
            ],
        )
        store.write_projection(
            "p", [indexed("a", 1, totals={"status:ok": -1, "status:invalid": 1, "zero": 0})]
        )

        assert store.projection_totals("p") == {"objects": 2, "status:ok": 1, "status:invalid": 1}
        store.write_projection("p", [indexed("a", 2, totals={"status:invalid": -1})])
        # A total back at zero is left out.
        assert store.projection_totals("p") == {"objects": 2, "status:ok": 1}
        assert store.projection_totals("other") == {}
        assert store.projection_totals("p", prefix="status:") == {"status:ok": 1}
        assert store.projection_totals("p", prefix="status:x") == {}
        assert store.projection_totals("p", prefix="objects") == {"objects": 2}

    def test_a_stale_write_changes_no_entry_and_no_total(self, store: EventStore) -> None:
        store.write_projection("p", [indexed("a", 0, add={("i", "t")}, totals={"n": 1})])

        with pytest.raises(ConcurrencyError):
            store.write_projection(
                "p",
                [
                    indexed("b", 0, add={("i", "u")}, totals={"n": 1}),
                    indexed("a", 0, add={("i", "v")}, totals={"n": 5}),
                ],
            )

        assert store.read_index("p", "i", limit=10) == [IndexEntry("t", "a")]
        assert store.projection_totals("p") == {"n": 1}

    def test_a_write_of_many_rows_keeps_every_entry_and_total(self, store: EventStore) -> None:
        # More rows, entries and totals than one DynamoDB transaction holds.
        writes = [
            indexed(
                f"k{n:03d}",
                0,
                add={("a", f"{n:03d}"), ("b", f"{n % 5}")},
                totals={"rows": 1, f"mod:{n % 30}": 1},
            )
            for n in range(150)
        ]

        store.write_projection("p", writes)

        assert len(whole(store, "p", "a")) == 150
        assert store.projection_totals("p") == {"rows": 150} | {f"mod:{m}": 5 for m in range(30)}

    def test_one_row_with_more_totals_than_a_transaction_holds(self, store: EventStore) -> None:
        # A rebuild writes an object's whole history at once: a total per day it failed.
        totals = {f"failures_on:2026-01-{n:03d}": 1 for n in range(250)}
        store.write_projection(
            "p",
            [
                indexed("druid:a", 0, add={("i", f"t{n}") for n in range(8)}, totals=totals),
                indexed("druid:b", 0, add={("i", "u")}, totals={"objects": 1}),
            ],
        )

        assert store.projection_totals("p") == totals | {"objects": 1}
        assert len(store.read_index("p", "i", limit=100)) == 9

    def test_clear_projection_clears_its_index_and_totals(self, store: EventStore) -> None:
        store.write_projection("p", [indexed("a", 0, add={("i", "t")}, totals={"n": 1})])
        store.write_projection("q", [indexed("a", 0, add={("i", "t")}, totals={"n": 1})])

        store.clear_projection("p")

        assert store.read_index("p", "i", limit=10) == []
        assert store.projection_totals("p") == {}
        assert store.read_index("q", "i", limit=10) == [IndexEntry("t", "a")]
        assert store.projection_totals("q") == {"n": 1}

    @pytest.mark.parametrize(
        "write",
        [
            indexed("a", 0, add={("i", "bad\nterm")}),
            indexed("a", 0, add={("has#hash", "t")}),
            indexed("a", 0, add={("", "t")}),
            indexed("a", 0, add={("i", "t")}, drop={("i", "t")}),
            ProjectionWrite("a", b"row", 0, totals=(("n", 1.5),)),  # type: ignore[arg-type]
            ProjectionWrite("a", b"row", 0, totals=(("", 1),)),
        ],
        ids=["control-char", "hash-in-name", "empty-name", "added-and-dropped", "float", "unnamed"],
    )
    def test_invalid_entries_and_totals_are_refused(
        self, store: EventStore, write: ProjectionWrite
    ) -> None:
        with pytest.raises(InvalidRecordError):
            store.write_projection("p", [write])

        assert store.get_projection("p", "a") is None

    def test_invalid_index_query_is_refused(self, store: EventStore) -> None:
        with pytest.raises(InvalidRequestError):
            store.read_index("p", "i", limit=-1)
        with pytest.raises(InvalidRequestError):
            store.read_index("p", "a#b", limit=1)

    @given(
        steps=st.lists(
            st.tuples(
                st.sampled_from(["k1", "k2", "k3", "k4"]),
                st.sets(
                    st.tuples(st.sampled_from(["x", "y"]), st.sampled_from(["", "a", "é", "b b"])),
                    max_size=3,
                ),
            ),
            max_size=8,
        )
    )
    # Each backend's subclass runs this property (the contract suite's design, as for the
    # append property): differing executors, no state shared between them.
    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    )
    def test_index_equals_the_entries_rows_last_had(
        self, steps: list[tuple[str, set[tuple[str, str]]]]
    ) -> None:
        model: dict[str, set[tuple[str, str]]] = {}
        versions: dict[str, int] = {}
        with self.create_store() as store:  # type: ignore[attr-defined]
            for key, entries in steps:
                before = model.get(key, set())
                store.write_projection(
                    "p",
                    [
                        indexed(
                            key,
                            versions.get(key, 0),
                            add=entries - before,
                            drop=before - entries,
                            totals={f"{i}:{t}": 1 for i, t in entries - before}
                            | {f"{i}:{t}": -1 for i, t in before - entries},
                        )
                    ],
                )
                model[key] = entries
                versions[key] = versions.get(key, 0) + 1
            for index in ("x", "y"):
                expected = sorted(
                    IndexEntry(t, key) for key, es in model.items() for i, t in es if i == index
                )
                assert whole(store, "p", index) == expected
            counts: dict[str, int] = {}
            for es in model.values():
                for i, term in es:
                    counts[f"{i}:{term}"] = counts.get(f"{i}:{term}", 0) + 1
            assert store.projection_totals("p") == {t: n for t, n in counts.items() if n}
