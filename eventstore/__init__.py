"""A generic append-only event store: records, the interface, SQLite and DynamoDB backends.

Imports nothing of `provenance` or `premis`.
"""
