"""Projections: derived, rebuildable state kept in the event store's projection rows, folded
from the store's feed (`base`) or from its change stream, a batch at a time (`change_stream`)."""
