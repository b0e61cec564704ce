"""The audit log: entries the interceptors batch up, kept in the state with a bound.

Retention is decided by the proposer (a count and an age, in the command's args)
and applied against the entries' own timestamps, so every replica drops the same.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from scheduler.state.commands import Command, table


@dataclass(frozen=True)
class AuditEntry:
    """One audited call (scheduler/auth/interceptor.py); a field left out is 0 or ""."""
    ts: int = 0
    principal: str = ""
    via: str = ""
    project: str = ""
    action: str = ""
    method: str = ""
    resource: str = ""
    outcome: str = ""
    address: str = ""


@dataclass(frozen=True)
class AppendArgs:
    entries: list[AuditEntry]
    keep: int = 100_000                      # entries kept, the oldest go first
    max_age_ms: int = 0                      # entries older than this at apply are dropped; 0: keep


def empty() -> dict:
    return {"entries": [], "next_seq": 1}


def append(state, args: AppendArgs, ctx: dict) -> dict:
    log = state.audit
    for entry in args.entries:
        record = dataclasses.asdict(entry)
        record["seq"] = log["next_seq"]
        log["next_seq"] += 1
        log["entries"].append(record)
    entries = log["entries"]
    drop = max(0, len(entries) - args.keep)
    if args.max_age_ms:
        horizon = ctx["ts"] - args.max_age_ms
        while drop < len(entries) and entries[drop]["ts"] < horizon:
            drop += 1
    if drop:
        del entries[:drop]
    return {"appended": len(args.entries)}


COMMANDS = table(audit__append=Command(AppendArgs, append))
