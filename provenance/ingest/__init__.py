"""From inputs to stored events: reading files and streams (compression, byte-order marks), the
ingest pipeline (entry points, line reader, event and quarantine records) and its report,
quarantine replay, the decoding of Kinesis records and the ingest function's batch report."""
