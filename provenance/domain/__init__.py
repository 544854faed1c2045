"""The domain: typed events, druids, event identity, time zones and the event-time window, and the
text rules for values shown to people. Pure: no I/O."""
