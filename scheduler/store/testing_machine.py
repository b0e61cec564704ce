"""TEST FIXTURE: a tiny key/value machine for the store's own tests and benchmarks.

Not used by the scheduler. Ops: put, get, cas, incr, fail (raises). It also counts how
many times each rid was applied, so tests can prove no rid is applied twice.
"""

from __future__ import annotations


class KeyValueMachine:
    def __init__(self):
        self.data: dict[str, object] = {}
        self.applied: dict[str, int] = {}  # rid -> times applied (must stay 1)
        self.last_index = 0

    def apply(self, op: str, args: dict, ctx: dict) -> dict:
        self.applied[ctx["rid"]] = self.applied.get(ctx["rid"], 0) + 1
        self.last_index = ctx["index"]
        if op == "put":
            self.data[args["key"]] = args["value"]
            return {"ok": True}
        if op == "get":
            return {"value": self.data.get(args["key"])}
        if op == "cas":
            if self.data.get(args["key"]) != args.get("expect"):
                return {"error": {"code": "FAILED_PRECONDITION", "message": "value changed"}}
            self.data[args["key"]] = args["value"]
            return {"ok": True}
        if op == "incr":
            value = int(self.data.get(args["key"], 0)) + int(args.get("by", 1))
            self.data[args["key"]] = value
            return {"value": value}
        if op == "fail":
            raise RuntimeError(args.get("message", "boom"))
        return {"error": {"code": "INVALID_ARGUMENT", "message": f"unknown op {op}"}}

    def to_dict(self) -> dict:
        return {"data": dict(self.data), "applied": dict(self.applied), "last_index": self.last_index}

    @classmethod
    def from_dict(cls, d: dict) -> "KeyValueMachine":
        m = cls()
        m.data = dict(d["data"])
        m.applied = dict(d["applied"])
        m.last_index = d["last_index"]
        return m
