"""A log line as read (the line cap, over-long and cut lines) and the Kinesis record envelope that
`prov ship` writes and the ingest function reads."""
