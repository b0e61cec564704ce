"""The deterministic wrapper around a machine: batches, dedup by rid, error capture.

The same code runs in the Raft process (inside pysyncobj's apply) and in each client's
mirror, so both compute identical results from identical inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.store.base import load_machine_class


@dataclass
class BatchOutcome:
    results: list[dict]
    fresh: list[bool]  # False where the rid was a duplicate and nothing was applied


def _error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


class ReplicatedState:
    """A machine plus the dedup table, applied one batch (one Raft entry) at a time.

    The dedup table maps rid -> (ts, result) in apply order; it is pruned from its
    oldest end once an entry's ts falls ``dedup_window_ms`` behind the newest ts
    applied so far — deterministic, since ts values come from the log.
    """

    def __init__(self, machine_path: str, machine=None, dedup: dict | None = None,
                 newest_ts: int = 0, dedup_window_ms: int = 3_600_000):
        self.machine_path = machine_path
        self.machine = machine if machine is not None else load_machine_class(machine_path)()
        self.dedup: dict[str, tuple[int, dict]] = dedup if dedup is not None else {}
        self.newest_ts = newest_ts
        self.dedup_window_ms = dedup_window_ms

    def apply_batch(self, commands: list, index: int) -> BatchOutcome:
        results: list[dict] = []
        fresh: list[bool] = []
        for cmd in commands:
            try:
                rid, op, args, ts = cmd["rid"], cmd["op"], cmd["args"], cmd["ts"]
                if not isinstance(rid, str) or not isinstance(ts, int):
                    raise TypeError("rid must be str and ts int")
            except (KeyError, TypeError) as exc:
                results.append(_error("INVALID_ARGUMENT", f"malformed command: {exc}"))
                fresh.append(False)
                continue
            seen = self.dedup.get(rid)
            if seen is not None:
                results.append(seen[1])
                fresh.append(False)
                continue
            try:
                result = self.machine.apply(op, args, {"rid": rid, "ts": ts, "index": index})
            except Exception as exc:  # noqa: BLE001 - same on every replica by contract
                result = _error("INTERNAL", str(exc))
            self.dedup[rid] = (ts, result)
            if ts > self.newest_ts:
                self.newest_ts = ts
            results.append(result)
            fresh.append(True)
        self._prune()
        return BatchOutcome(results, fresh)

    def _prune(self) -> None:
        horizon = self.newest_ts - self.dedup_window_ms
        dedup = self.dedup
        while dedup:
            rid = next(iter(dedup))
            if dedup[rid][0] >= horizon:
                break
            del dedup[rid]

    def to_dict(self) -> dict:
        return {
            "machine": self.machine.to_dict(),
            "dedup": [[rid, ts, res] for rid, (ts, res) in self.dedup.items()],
            "newest_ts": self.newest_ts,
        }

    @classmethod
    def from_dict(cls, machine_path: str, d: dict, dedup_window_ms: int = 3_600_000) -> "ReplicatedState":
        machine_cls = load_machine_class(machine_path)
        return cls(
            machine_path,
            machine=machine_cls.from_dict(d["machine"]),
            dedup={rid: (ts, res) for rid, ts, res in d["dedup"]},
            newest_ts=d["newest_ts"],
            dedup_window_ms=dedup_window_ms,
        )


def restore_machine(machine_path: str, d: dict):
    return load_machine_class(machine_path).from_dict(d)


class MachinePickle:
    """Pickles a machine as ``from_dict(to_dict())``; ``to_dict`` runs at pickling time.

    pysyncobj calls ``_serialize`` in the tick thread and pickles in the forked child,
    so wrapping the live machine defers all the work to the child.
    """

    def __init__(self, machine_path: str, machine):
        self.machine_path = machine_path
        self.machine = machine

    def __reduce__(self):
        return (restore_machine, (self.machine_path, self.machine.to_dict()))
