"""Placement: pure functions over a read-only view of hosts.

`place()` runs the filters (each removes hosts that cannot take the request),
then the weighers (each scores the survivors); the best score wins.
"""
from scheduler.placement.engine import Decision, PlacementRequest, place

__all__ = ["Decision", "PlacementRequest", "place"]
