"""Draining hosts: instances with a restart policy move elsewhere, one domain at a time.

Runs on the leader as part of each reconcile pass. A host in mode `draining` or
`maintenance` takes no new instances; its instances whose restart policy is not
`never` are placed again (the same filters, weighers and group rules as a create;
the draining host itself is filtered out) and moved with `instance.move`, which
apply checks like a create. The old host's agent is told to remove its copy by the
next reconcile pass of that host, because the instance is no longer its own.

One failure domain at a time: draining hosts are grouped by zone (else rack, else
the host itself); moves start in the first domain, in name order, and the next
wave starts only once every instance moved so far runs again — so draining a
whole rack never takes down more of a spread group than one domain holds.
"""
from __future__ import annotations

import logging

from common.errors import CloudError
from scheduler.leader.mover import DRAIN, Mover
from scheduler.placement.planner import Overlay, Planner, Settings
from scheduler.state import evacuation
from scheduler.state import placement as rules
from scheduler.state import records as r

log = logging.getLogger(__name__)

MOVES_PER_PASS = 64


def drain_domain(host: dict) -> str:
    labels = host.get("labels", {})
    for key in ("zone", "rack"):
        if labels.get(key):
            return f"{key}={labels[key]}"
    return f"host={host['name']}"


def orphans(observed: dict, desired: dict) -> list[str]:
    """Instance ids an agent runs that are no longer its host's own (moved or purged)."""
    return sorted(set(observed) - set(desired))


class Drainer:
    def __init__(self, store, proposer, config):
        self.store = store
        self.proposer = proposer
        self.mover = Mover(Planner(Settings.from_config(config)))

    def run(self) -> int:
        """Propose the moves of the current wave; returns how many were proposed."""
        with self.store.read_lock:
            state = self.store.read()
            # A host being evacuated is the Evacuator's (scheduler/leader/evacuation.py), which moves all of it.
            draining = [h for h in state.hosts.values() if rules.schedulable(h) in rules.MOVING_MODES
                        and not evacuation.running(state, h["id"])]
            if not draining:
                return 0
            if any(i.get("moved_from") and i["state"] == r.PENDING for i in state.instances.values()):
                return 0    # the previous wave has not started again yet
            waves: dict[str, list[dict]] = {}
            for host in draining:
                waves.setdefault(drain_domain(host), []).append(host)
            moves = []
            for domain in sorted(waves):
                overlay = Overlay()
                for host in sorted(waves[domain], key=lambda h: h["name"]):
                    for instance in self.mover.candidates(DRAIN, state, state.instances_on(host["id"])):
                        if len(moves) >= MOVES_PER_PASS:
                            break
                        moves.append(self._decide(state, host, instance, overlay))
                if moves:
                    break
        commands = [m for m in moves if m is not None]
        if commands:
            log.info("draining: moving %d instance(s)", len(commands))
            self.proposer.propose_many(commands)
        return len(commands)

    def _decide(self, state, host: dict, instance: dict, overlay: Overlay):
        try:
            move = self.mover.decide(DRAIN, state, instance, host["id"], overlay)
        except CloudError as err:
            log.info("draining %s: no host for %s yet: %s", host["name"], instance["name"], err)
            return None
        return ("instance.move", move.args(reason=f"moved from {host['name']} ({rules.schedulable(host)})"))
