"""The audit log: entries the interceptors batch up, kept in the state with a bound.

Retention is decided by the proposer (a count and an age, in the command's args)
and applied against the entries' own timestamps, so every replica drops the same.
"""
from __future__ import annotations

FIELDS = ("ts", "principal", "via", "project", "action", "method", "resource", "outcome", "address")


def empty() -> dict:
    return {"entries": [], "next_seq": 1}


def append(state, args: dict, ctx: dict) -> dict:
    log = state.audit
    fresh = []
    for entry in args["entries"]:
        if not isinstance(entry, dict):
            raise ValueError("an audit entry is a dict")
        record = {key: entry.get(key, 0 if key == "ts" else "") for key in FIELDS}
        if not isinstance(record["ts"], int):
            raise ValueError("audit entry ts must be an int")
        fresh.append(record)
    for record in fresh:
        record["seq"] = log["next_seq"]
        log["next_seq"] += 1
        log["entries"].append(record)
    keep, max_age_ms = int(args.get("keep", 100_000)), int(args.get("max_age_ms", 0))
    entries = log["entries"]
    drop = max(0, len(entries) - keep)
    if max_age_ms:
        horizon = ctx["ts"] - max_age_ms
        while drop < len(entries) and entries[drop]["ts"] < horizon:
            drop += 1
    if drop:
        del entries[:drop]
    return {"appended": len(fresh)}


COMMANDS = {"audit.append": append}
