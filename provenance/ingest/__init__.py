"""From inputs to stored events: reading files and streams (compression, byte-order marks), the
ingest pipeline and its report, quarantine replay, and the decoding of Kinesis records."""
