"""A replicated state driven as Raft would drive it, for the state-machine unit tests:
each command gets the next index and a timestamp; `ok` and `refused` check the
outcome, and `refused` that nothing changed."""
from __future__ import annotations

from scheduler.state.machine import ClusterState


class StateWorld:
    def __init__(self):
        self.state = ClusterState()
        self.n = 0

    def apply(self, op, args, ts=None):
        self.n += 1
        return self.state.apply(op, args, {"rid": f"r{self.n}", "ts": ts or 1_000_000 + self.n, "index": self.n})

    def ok(self, op, args, ts=None):
        result = self.apply(op, args, ts)
        assert "error" not in result, (op, result)
        return result

    def refused(self, op, args, code):
        before = self.state.to_dict()
        result = self.apply(op, args)
        assert result.get("error", {}).get("code") == code, (op, result)
        assert self.state.to_dict() == before, op
        return result
