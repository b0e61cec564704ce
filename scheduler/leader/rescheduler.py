"""Host loss: instances whose restart policy asks for it move to healthy hosts.

Runs on the leader as part of each reconcile pass. An instance is moved when its
host is down and it is LOST; it keeps its id (its identity), and the host that
comes back is told by the next reconcile pass to remove its stale copy, because
the instance is no longer its own. The new host is chosen by the same planner as
a create (constraints, groups, capacity). Instances with restart policy `never`
stay LOST with the reason shown.
"""
from __future__ import annotations

import logging

from common.errors import CloudError, ResourceExhausted
from scheduler.leader.mover import HOST_LOSS, Mover
from scheduler.placement.planner import Overlay, Planner, Settings
from scheduler.state import records as r

log = logging.getLogger(__name__)


class Rescheduler:
    def __init__(self, store, proposer, config):
        self.store = store
        self.proposer = proposer
        self.mover = Mover(Planner(Settings.from_config(config)))

    def run(self) -> int:
        """Propose a new host for every movable instance; returns how many were proposed."""
        commands, waiting = [], []
        with self.store.read_lock:
            state = self.store.read()
            lost = sorted(self.mover.candidates(HOST_LOSS, state, state.instances.values()),
                          key=lambda i: i["created_ms"])
            overlay = Overlay()    # the moves decided in this pass count against their hosts
            for instance in lost:
                try:
                    move = self.mover.decide(HOST_LOSS, state, instance, instance["host_id"], overlay)
                except ResourceExhausted as err:
                    reason = f"waiting for a host: {err}"
                    if instance.get("reason") != reason:
                        waiting.append(("instance.observe", {"id": instance["id"], "host_id": instance["host_id"],
                                                             "state": r.LOST, "reason": reason}))
                    continue
                except CloudError as err:
                    log.info("not moving %s: %s", instance["name"], err)
                    continue
                commands.append(("instance.reschedule", {
                    "id": move.instance_id, "from_host_id": move.from_host_id, "host_id": move.to_host_id,
                    "overcommit": move.overcommit, "reserved": move.reserved}))
        if commands or waiting:
            results = self.proposer.propose_many(commands + waiting)
            for (_, args), result in zip(commands, results):
                if "error" in result:
                    log.info("not moving %s: %s", args["id"], result["error"]["message"])
                else:
                    log.warning("moved %s from lost host %s to %s", args["id"], args["from_host_id"],
                                args["host_id"])
        return len(commands)
