"""Thin Lambda entry points (ingest, api, projector); built in the AWS runtime issue."""
