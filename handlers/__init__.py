"""Thin Lambda entry points: `ingest` (Kinesis -> the event store), `api` (HTTP queries) and
`projector` (DynamoDB Streams -> projections).

Each reads its configuration from the environment (`PROV_STORE` and the like), keeps what it
sets up for the container's life, and leaves the work to `provenance`. Nothing imports
`handlers`; the CDK app names them by string (`handlers.ingest.handler`).
"""
