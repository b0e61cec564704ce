"""The control loop for volumes on the leader: make every host's pool hold what the state says.

Level-triggered like the instance reconciler (scheduler/leader/reconciler.py): each
pass lists what the agent's pool holds (`AgentVolumes.ListVolumes`) and does
what is missing — remove deleted snapshots, then deleted volumes; make new
snapshots; create, clone, grow or revert volumes — writing what it observes
back through Raft. Every call carries the leader's term. A host whose agent has
no volume service (UNIMPLEMENTED) is skipped. Failed calls are retried with a
per-item backoff and show as the item's ERROR state with the reason.
"""
from __future__ import annotations

import logging
import threading
import time

import grpc

from proto.v1 import agent_pb2, volumes_pb2, volumes_pb2_grpc
from scheduler.leader.leader_loop import LeaderLoop
from scheduler.leader.reconcile_pacing import ReconcilePacer
from scheduler.state import records as r
from scheduler.state import volumes as v

log = logging.getLogger(__name__)


MAX_BACKOFF = 30.0
USED_BYTES_STEP = 1024 * 1024   # smaller changes of a volume's used bytes are not worth a Raft write


def volume_needs_ensure(volume: dict, seen) -> bool:
    if volume["state"] == v.DELETING:
        return False
    if seen is None or seen.state == "creating":
        return True
    if seen.state == "missing":
        return False          # reported as an error; recreating it empty would hide the loss
    return (seen.size_bytes < volume["size_bytes"]
            or volume["revert_generation"] > seen.revert_generation
            or volume["state"] in (v.CREATING, v.ERROR))


def volume_observed(host_id: str, seen) -> dict:
    if seen.state == "missing":
        return {"id": seen.volume_id, "host_id": host_id, "state": "error",
                "reason": "gone from its host's pool"}
    return {"id": seen.volume_id, "host_id": host_id, "state": "available",
            "size_bytes": seen.size_bytes, "used_bytes": seen.used_bytes,
            "revert_generation": seen.revert_generation}


def volume_differs(volume: dict, args: dict) -> bool:
    if args["state"] == "error":
        return volume["state"] != v.ERROR or volume["reason"] != args["reason"]
    return (volume["state"] != v.AVAILABLE
            or volume["observed_size_bytes"] != args["size_bytes"]
            or abs(volume["used_bytes"] - args["used_bytes"]) >= USED_BYTES_STEP
            or volume["observed_revert_generation"] != args["revert_generation"])


class VolumeReconciler(LeaderLoop):
    def __init__(self, store, proposer, agents, config):
        super().__init__(store, config, "volume-reconciler", workers=8)
        self.proposer = proposer
        self.agents = agents
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._backoff: dict[str, tuple[float, float]] = {}
        # Paced like the instance reconciler: hosts a volume or snapshot command touched,
        # and every host in turn — not every host on every commit (5,000 RPCs a pass).
        # The sweep only catches pool usage and lost calls: half the instances' pace.
        self.pacer = ReconcilePacer(store, config, kinds=("volume", "snapshot"), hosts_per_second=50.0)

    def start(self) -> None:
        self.pacer.start()
        super().start()

    def reconcile(self, term: int) -> None:
        with self.store.read_lock:
            if not self.pacer.pass_due(len(self.store.read().hosts)):
                return
            hosts = [dict(h) for h in self.store.read().hosts.values() if h.get("state") == r.HOST_UP]
        for host in self.pacer.due(hosts):
            with self._busy_lock:
                if host["id"] in self._busy:
                    self.pacer.revisit(host["id"])
                    continue
                self._busy.add(host["id"])
            self._pool.submit(self._guarded, host, term)

    def _guarded(self, host: dict, term: int) -> None:
        try:
            self.reconcile_host(host, term)
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.UNIMPLEMENTED:
                log.info("volumes on host %s: %s %s", host["name"], err.code().name, err.details())
        except Exception:  # noqa: BLE001
            log.exception("reconciling the volumes of host %s failed", host["name"])
        finally:
            with self._busy_lock:
                self._busy.discard(host["id"])

    def _due(self, key: str) -> bool:
        return time.monotonic() >= self._backoff.get(key, (0.0, 0.0))[1]

    def _failed(self, key: str) -> None:
        delay = min(self._backoff.get(key, (0.25, 0.0))[0] * 2, MAX_BACKOFF)
        self._backoff[key] = (delay, time.monotonic() + delay)

    def _call(self, key: str, method, request, timeout: float, on_error: list, error_args: dict):
        """Call the agent; on a refusal, back off and queue an error observation. None on failure."""
        try:
            result = method(request, timeout=timeout)
        except grpc.RpcError as err:
            if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise
            self._failed(key)
            on_error.append({**error_args, "state": "error", "reason": f"{err.code().name}: {err.details()}"})
            return None
        self._backoff.pop(key, None)
        return result

    def reconcile_host(self, host: dict, term: int) -> None:
        stub = volumes_pb2_grpc.AgentVolumesStub(self.agents.channel(host))
        fence = agent_pb2.Fence(term=term, leader=self.config.name)
        timeout = self.config.agent_call_timeout
        listing = stub.ListVolumes(volumes_pb2.ListAgentVolumesRequest(), timeout=timeout)
        pool = {"driver": listing.pool.driver, "total_bytes": listing.pool.total_bytes,
                "used_bytes": listing.pool.used_bytes}
        with self.store.read_lock:
            state = self.store.read()
            known_pool = dict(state.pools.get(host["id"], {}))
            volumes = {k: dict(x) for k, x in state.volumes.items() if x["host_id"] == host["id"]}
            snapshots = {k: dict(x) for k, x in state.snapshots.items() if x["host_id"] == host["id"]}
        updates: list[tuple[str, dict]] = []
        if listing.pool.driver and (known_pool.get("driver") != pool["driver"]
                                    or known_pool.get("total_bytes") != pool["total_bytes"]
                                    or abs(known_pool.get("used_bytes", 0) - pool["used_bytes"]) >= USED_BYTES_STEP):
            updates.append(("volume.pool", {"host_id": host["id"], **pool}))
        seen_volumes = {x.volume_id: x for x in listing.volumes}
        seen_snapshots = {x.snapshot_id: x for x in listing.snapshots}
        errors: list[dict] = []

        for snapshot in snapshots.values():
            if snapshot["state"] == v.DELETING and self._due(snapshot["id"]):
                if self._call(snapshot["id"], stub.RemoveSnapshot, volumes_pb2.RemoveSnapshotRequest(
                        fence=fence, snapshot_id=snapshot["id"]), timeout, [], {}) is not None:
                    updates.append(("snapshot.purge", {"id": snapshot["id"]}))
        remaining = {s["volume_id"] for s in snapshots.values()
                     if not (s["state"] == v.DELETING and ("snapshot.purge", {"id": s["id"]}) in updates)}
        for volume in volumes.values():
            if volume["state"] == v.DELETING and volume["id"] not in remaining and self._due(volume["id"]):
                error_args = {"id": volume["id"], "host_id": host["id"]}
                if self._call(volume["id"], stub.RemoveVolume, volumes_pb2.RemoveVolumeRequest(
                        fence=fence, volume_id=volume["id"]), timeout, [], error_args) is not None:
                    updates.append(("volume.purge", {"id": volume["id"]}))
        for snapshot in snapshots.values():
            if snapshot["state"] in (v.CREATING, v.ERROR) and self._due(snapshot["id"]):
                seen = seen_snapshots.get(snapshot["id"])
                if seen is None or seen.state != "available":
                    seen = self._call(snapshot["id"], stub.EnsureSnapshot, volumes_pb2.EnsureSnapshotRequest(
                        fence=fence, snapshot_id=snapshot["id"], volume_id=snapshot["volume_id"]),
                        timeout, errors, {"id": snapshot["id"], "host_id": host["id"], "snapshot": True})
                if seen is not None:
                    updates.append(("snapshot.observe", {"id": snapshot["id"], "host_id": host["id"],
                                                         "state": "available"}))
        for volume in volumes.values():
            seen = seen_volumes.get(volume["id"])
            if volume_needs_ensure(volume, seen) and self._due(volume["id"]):
                seen = self._call(volume["id"], stub.EnsureVolume, volumes_pb2.EnsureVolumeRequest(
                    fence=fence, volume_id=volume["id"], size_bytes=volume["size_bytes"],
                    source_snapshot_id=volume["source_snapshot_id"],
                    revert_snapshot_id=volume["revert_snapshot_id"],
                    revert_generation=volume["revert_generation"]),
                    timeout, errors, {"id": volume["id"], "host_id": host["id"]})
            if seen is not None and volume["state"] != v.DELETING:
                args = volume_observed(host["id"], seen)
                if volume_differs(volume, args):
                    updates.append(("volume.observe", args))
        for error in errors:
            op = "snapshot.observe" if error.pop("snapshot", False) else "volume.observe"
            updates.append((op, error))
        if updates:
            self.proposer.propose_many(updates)
