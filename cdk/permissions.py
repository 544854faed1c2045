"""What each function may do to the event table: the DynamoDB actions its code calls, no more.

The lists are checked against the calls the handlers really make (tests/cdk/
test_permissions.py records every DynamoDB operation of each handler over a moto server and
maps it to the IAM actions it needs), so a new call without a grant, or a grant no call needs,
fails the suite instead of failing (or widening) a deployment.

Transactions are authorised per item action (a Put inside TransactWriteItems needs
dynamodb:PutItem), batch calls by their own action.
"""

from __future__ import annotations

from typing import Literal

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam

from eventstore import schema

Role = Literal["ingest", "projector", "api"]

TABLE_ACTIONS: dict[Role, tuple[str, ...]] = {
    # Appends: which event ids exist already (batch read; for bundled access events, a Query
    # of the stream-hour), the stream-name registry (batch write), the position counter
    # (update), and each event with its id guard in one transaction of Puts, or a bundle in
    # one conditional Put (conditions are authorised by PutItem).
    "ingest": (
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:UpdateItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
    ),
    # Projection rows and applied-markers: read in batches, written in transactions of
    # Puts with version conditions (markers carry a TTL: the table deletes them, not the
    # projector); access counts put in rows per change (batch write), which it later finds
    # (Query of their key range), folds into merged rows and deletes (batch writes); the
    # `$sealed` row (GetItem, Put) when the TTL removes access events. The object state's
    # rows carry index entries (Puts and Deletes in their transaction) and totals (Updates
    # that ADD).
    "projector": (
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ),
    # The query API only reads: histories, projection rows, index pages and totals (Query),
    # an object's state and the feed's last position (GetItem), the rows of a page of
    # objects (BatchGetItem).
    "api": (
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
    ),
}

# The feed index is read only by reports grouped by druid (`read_all`), which only the API
# answers; nobody else gets the index's ARN.
INDEX_ACTIONS: dict[Role, tuple[str, ...]] = {
    "ingest": (),
    "projector": (),
    "api": ("dynamodb:Query",),
}


def grant_table(role: iam.IRole, table: dynamodb.ITable, who: Role) -> None:
    """Grant `who`'s actions on the table, and on its feed index by name where `who` reads
    it: `Table.grant` would add `index/*`, a wildcard over indexes that do not exist."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(TABLE_ACTIONS[who]), resources=[table.table_arn])
    )
    if INDEX_ACTIONS[who]:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(INDEX_ACTIONS[who]),
                resources=[f"{table.table_arn}/index/{schema.FEED_INDEX}"],
            )
        )
