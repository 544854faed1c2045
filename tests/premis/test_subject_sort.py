"""The external sort of subjects: URI order, one entry per subject, the union of its triples."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from premis.rdf_triples import TEXT, URI, Triple
from premis.subject_sort import SubjectSorter

_subjects = st.sampled_from(["urn:a", "urn:b", "urn:b#format", "urn:uuid:0", "urn:é", "urn:z"])
_terms = st.tuples(st.sampled_from([URI, TEXT]), st.text(max_size=3))
_records = st.lists(
    st.tuples(_subjects, st.lists(st.tuples(st.sampled_from(["p", "q"]), _terms), max_size=4)),
    max_size=30,
)


@given(_records, st.sampled_from([0, 50, 10**9]))
def test_subjects_come_sorted_once_each_with_all_their_triples(
    records: list[tuple[str, list[tuple[str, tuple[str, str]]]]], budget: int
) -> None:
    expected: dict[str, set[tuple[str, tuple[str, str]]]] = {}
    with SubjectSorter(budget) as sorter:
        for subject, pairs in records:
            triples: list[Triple] = [(subject, p, term) for p, term in dict.fromkeys(pairs)]
            sorter.add(triples)
            if pairs:
                expected.setdefault(subject, set()).update(pairs)
        for _ in range(2):  # Turtle reads them twice when subjects repeat
            got = list(sorter.subjects())
            assert [subject for subject, _ in got] == sorted(expected)
            for subject, properties in got:
                pairs = [(p, term) for p, terms in properties.items() for term in terms]
                assert len(pairs) == len(set(pairs))  # each triple once
                assert set(pairs) == expected[subject]
        repeated = len({s for s, p in records if p}) < len([s for s, p in records if p])
        assert sorter.repeats_a_subject() == repeated
        if budget == 0 and any(pairs for _, pairs in records):
            assert sorter.runs > 0  # spilled: the merge of files is what was checked
