"""Cluster events, derived inside apply so that every replica holds the same ones.

An event says what a command did to a record: an instance was created, changed
state or was deleted, a host joined, went down or came back, a placement failed.
Events live in the replicated state (`state.events`, oldest first) with a
cluster-wide, gap-free sequence number, so a watcher that lost its scheduler
resumes on any other one from the last sequence it saw and misses nothing —
as long as the events it missed are still retained (the last `RETENTION`).

`before()` notes the states a command may change; `after()` compares and
appends. Both read only the state, the command and the context: deterministic.
"""
from __future__ import annotations

from scheduler.state import records as r

RETENTION = 5000
# Trimming in steps keeps apply from moving the whole list on every event.
_TRIM_SLACK = 500

# op -> the record kind whose state it may change; the rest are matched by prefix.
_HOST_OPS = ("host.join", "host.heartbeat", "host.mark_down")


def _collection(state, kind: str) -> dict | None:
    records = getattr(state, f"{kind}s", None)
    return records if isinstance(records, dict) else None


def _brief(record: dict | None) -> tuple | None:
    if record is None:
        return None
    return (record.get("state", ""), record.get("name", ""), record.get("project", ""))


def before(state, op: str, args: dict) -> dict:
    """What `after` needs to see the change `op` makes: {(kind, id): brief | None}."""
    kind = op.split(".", 1)[0]
    seen: dict = {}
    record_id = args.get("id") if isinstance(args, dict) else None
    if op == "host.join":
        host_id = state.host_names.get(args.get("name", ""))
        seen[("host", host_id or "")] = _brief(state.hosts.get(host_id or ""))
    elif isinstance(record_id, str):
        records = _collection(state, kind)
        if records is not None:
            seen[(kind, record_id)] = _brief(records.get(record_id))
    if op == "host.mark_down" and isinstance(record_id, str):
        for instance in state.instances_on(record_id):
            seen[("instance", instance["id"])] = _brief(instance)
    return seen


def after(state, op: str, args: dict, result: dict, ctx: dict, seen: dict) -> None:
    """Append the events `op` caused, given what `before` saw."""
    if op == "event.placement_failed":
        _append(state, ctx, "placement.failed", "placement", "", args.get("name", ""),
                args.get("project", ""), "", "", args.get("reason", ""))
        return
    if op == "host.join":
        host_id = result.get("host_id", "")
        host = state.hosts.get(host_id, {})
        previous = seen.get(("host", ""), seen.get(("host", host_id)))
        if previous is None:
            _append(state, ctx, "host.joined", "host", host_id, host.get("name", ""), "",
                    host.get("state", ""), "", "")
        elif previous[0] != host.get("state"):
            _append(state, ctx, "host.up", "host", host_id, host.get("name", ""), "",
                    host.get("state", ""), previous[0], "joined again")
        return
    for (kind, record_id), previous in seen.items():
        records = _collection(state, kind) or {}
        record = records.get(record_id)
        if record is None:
            if previous is not None:
                _append(state, ctx, f"{kind}.deleted", kind, record_id, previous[1], previous[2],
                        "", previous[0], "")
            continue
        current = record.get("state", "")
        if previous is None:
            _append(state, ctx, f"{kind}.created", kind, record_id, record.get("name", ""),
                    record.get("project", ""), current, "", "")
        elif previous[0] != current:
            event = _state_event(kind, current)
            _append(state, ctx, event, kind, record_id, record.get("name", ""),
                    record.get("project", ""), current, previous[0], record.get("reason", ""))
        elif kind == "instance" and op in ("instance.set_desired", "instance.update_labels"):
            reason = ("labels changed" if op == "instance.update_labels"
                      else f"desired {record.get('desired_state', '')}")
            _append(state, ctx, "instance.updated", kind, record_id, record.get("name", ""),
                    record.get("project", ""), current, previous[0], reason)


def _state_event(kind: str, current: str) -> str:
    if kind == "host":
        return "host.down" if current == r.HOST_DOWN else "host.up"
    return f"{kind}.state_changed"


def _append(state, ctx: dict, type_: str, kind: str, record_id: str, name: str, project: str,
            current: str, previous: str, reason: str) -> None:
    state.event_seq += 1
    state.events.append({
        "seq": state.event_seq, "revision": ctx["index"], "ts": ctx["ts"], "type": type_,
        "kind": kind, "id": record_id, "name": name, "project": project, "state": current,
        "previous_state": previous, "reason": reason,
    })
    if len(state.events) > RETENTION + _TRIM_SLACK:
        del state.events[:len(state.events) - RETENTION]


def record_cluster_event(state, ctx: dict, type_: str, name: str, reason: str) -> None:
    """An event about the cluster itself (membership, restore)."""
    _append(state, ctx, type_, "cluster", "", name, "", "", "", reason)


def since(state, after_seq: int) -> list[dict]:
    """Copies of the retained events with a sequence above `after_seq`, oldest first."""
    events = state.events
    if not events:
        return []
    start = max(0, after_seq - events[0]["seq"] + 1)
    return [dict(e) for e in events[start:]]


def oldest_seq(state) -> int:
    """The sequence of the oldest retained event (next sequence when none is)."""
    return state.events[0]["seq"] if state.events else state.event_seq + 1
