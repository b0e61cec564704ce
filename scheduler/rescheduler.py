"""Host loss: instances whose restart policy asks for it move to healthy hosts.

Runs on the leader as part of each reconcile pass. An instance is moved when its
host is down and it is LOST; it keeps its id (its identity), and the host that
comes back is told by the next reconcile pass to remove its stale copy, because
the instance is no longer its own. Instances with restart policy `never` stay
LOST with the reason shown.
"""
from __future__ import annotations

import logging

from common.errors import CloudError, ResourceExhausted
from scheduler.placement import PlacementRequest, place
from scheduler.state import records as r

log = logging.getLogger(__name__)


def movable(instance: dict, hosts: dict) -> bool:
    host = hosts.get(instance["host_id"])
    return (instance["state"] == r.LOST and instance["desired_state"] == r.DESIRED_RUNNING
            and instance["spec"].get("restart_policy", "never") != "never"
            and (host is None or host["state"] == r.HOST_DOWN))


class Rescheduler:
    def __init__(self, store, proposer, config):
        self.store = store
        self.proposer = proposer
        self.config = config

    def run(self) -> int:
        """Propose a new host for every movable instance; returns how many moved."""
        with self.store.read_lock:
            state = self.store.read()
            hosts = {k: dict(v) for k, v in state.hosts.items()}
            lost = [dict(i) for i in state.instances.values() if movable(i, state.hosts)]
        moved = 0
        for instance in sorted(lost, key=lambda i: i["created_ms"]):
            if self._move(instance, hosts):
                moved += 1
        return moved

    def _move(self, instance: dict, hosts: dict) -> bool:
        spec = instance["spec"]
        candidates = [h for h in hosts.values()
                      if h["id"] != instance["host_id"] and spec["image"] in h.get("images", ())]
        request = PlacementRequest(demand=r.demand(spec), driver="docker",
                                   host_labels=spec.get("host_labels", {}),
                                   strategy=self.config.placement_strategy,
                                   overcommit=self.config.overcommit())
        try:
            decision = place(candidates, request)
            result = self.proposer.propose("instance.reschedule", {
                "id": instance["id"], "from_host_id": instance["host_id"], "host_id": decision.host_id,
                "overcommit": request.overcommit})
        except ResourceExhausted as err:
            reason = f"waiting for a host: {err}"
            if instance.get("reason") != reason:
                self.proposer.propose("instance.observe", {
                    "id": instance["id"], "host_id": instance["host_id"], "state": r.LOST, "reason": reason})
            return False
        except CloudError as err:
            log.info("not moving %s: %s", instance["name"], err)
            return False
        moved = result["instance"]
        hosts[decision.host_id]["allocated"] = r.add_resources(
            hosts[decision.host_id]["allocated"], request.demand)
        log.warning("moved %s (%s) from lost host %s to %s", moved["name"], moved["id"],
                    hosts.get(instance["host_id"], {}).get("name", instance["host_id"]),
                    hosts[decision.host_id]["name"])
        return True
