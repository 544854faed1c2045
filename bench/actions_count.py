"""Reports and actions in a store: how many notifications join the action they repeat.

For every object stream of the store, its reports are read as actions
(`provenance.projections.object_actions.object_actions`, the rule of
`provenance.domain.actions`), and this prints the reports, the actions, the notifications that
joined one (by what they are and what they joined) and those that stand alone (nothing they
repeat is loaded).

Run: `.venv/bin/python bench/actions_count.py [--store sqlite:///prov-demo/provenance.db]`
(after `make demo`).
"""

from __future__ import annotations

import argparse
from collections import Counter

from eventstore import open_store
from provenance.projections.object_actions import Report, object_actions


def _name(report: Report) -> str:
    event = report.event
    return str(event.get("event_type") or event.get("check") or event["type"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--store", default="sqlite:///prov-demo/provenance.db")
    args = parser.parse_args()
    reports = actions = 0
    joined: Counter[str] = Counter()
    alone: Counter[str] = Counter()
    with open_store(args.store, create=False) as store:
        for stream in store.streams(prefix="druid:"):
            for action in object_actions(store, stream):
                actions += 1
                if action.report.facts.notice_kind is not None:
                    alone[_name(action.report)] += 1
                for notice in action.notices:
                    joined[f"{_name(notice)} -> {action.report.event['type']}"] += 1
            reports += sum(1 for _ in store.read_stream(stream))
    print(f"{reports:,} object reports, {actions:,} actions")
    print(f"notifications joined to an action: {sum(joined.values()):,}")
    for kind, count in joined.most_common():
        print(f"  {count:>7,}  {kind}")
    print(f"notifications standing alone: {sum(alone.values()):,}")
    for kind, count in alone.most_common():
        print(f"  {count:>7,}  {kind}")


if __name__ == "__main__":
    main()
