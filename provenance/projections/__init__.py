"""Projections: derived, rebuildable state kept in the event store's projection rows."""
