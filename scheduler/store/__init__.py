"""The scheduler's replicated cluster state (see DESIGN.md, "The replicated state machine").

`Store` is the interface; `RaftStore` the pysyncobj-backed implementation.
"""

from scheduler.store.base import (Member, OutcomeUnknown, Store, StoreError, StoreStatus,
                                  Unavailable, make_command)
from scheduler.store.tuning import RaftTuning


def __getattr__(name):
    # Lazy: importing the package must not pull in pysyncobj for callers that only
    # need the interface.
    if name == "RaftStore":
        from scheduler.store.client import RaftStore

        return RaftStore
    raise AttributeError(name)


__all__ = ["Member", "OutcomeUnknown", "RaftStore", "RaftTuning", "Store", "StoreError",
           "StoreStatus", "Unavailable", "make_command"]
