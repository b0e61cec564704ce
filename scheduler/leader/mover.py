"""One mechanism moves instances between hosts; policies say which and why.

Three things move instances off a host: a drain (`scheduler/leader/drain.py`, a host mode:
instances with a restart policy, one failure domain at a time), host loss
(`scheduler/leader/rescheduler.py`: LOST instances of a down host whose restart policy
asks for it) and an evacuation (`scheduler/leader/evacuation.py`, a finite job over every
instance of the host). They differ only in their policy — which instances move,
what blocks one, the reason shown — and in their pace. The decision is the same
for all three and lives here: the planner places the instance as it would a
create (filters, weighers, group rules; the moves decided in one pass count
against their targets through an `Overlay`), and the command names the target
with the overcommit and reserved share the decision used, which apply checks
again (`scheduler/state/placement.py relocate`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from common.errors import FailedPrecondition
from scheduler.placement.planner import Overlay, Planner
from scheduler.state import records as r


def _restarts(instance: dict) -> bool:
    return instance["spec"].get("restart_policy", "never") != "never"


def local_volume(state, instance: dict, host_id: str) -> str:
    """The name of a volume of `instance` living on `host_id` ('' if none)."""
    for item in instance["spec"].get("volumes", ()):
        volume = state.volumes.get(item.get("volume_id", ""))
        if volume is None or volume.get("host_id") == host_id:
            return item.get("volume") or item.get("volume_id", "")
    return ""


@dataclass(frozen=True)
class MovePolicy:
    name: str
    # Whether the policy moves `instance` of `host` (None: the host record is gone).
    moves: Callable[[dict, dict | None], bool]
    # Why the instance cannot move even though the policy would ('' when it can).
    blocked: Callable[[object, dict, str], str] = lambda state, instance, host_id: ""


DRAIN = MovePolicy(
    "drain",
    moves=lambda instance, host: (instance["state"] != r.DELETING
                                  and instance["desired_state"] == r.DESIRED_RUNNING and _restarts(instance)))

HOST_LOSS = MovePolicy(
    "host loss",
    moves=lambda instance, host: (instance["state"] == r.LOST and instance["desired_state"] == r.DESIRED_RUNNING
                                  and _restarts(instance) and (host is None or host["state"] == r.HOST_DOWN)))

EVACUATION = MovePolicy(
    "evacuation",
    moves=lambda instance, host: instance["state"] != r.DELETING,
    blocked=lambda state, instance, host_id: (
        f"volume {name} lives on this host (volumes do not move)"
        if (name := local_volume(state, instance, host_id)) else ""))


@dataclass(frozen=True)
class Move:
    """Where one instance goes, and the arguments apply re-checks it with."""

    instance_id: str
    from_host_id: str
    to_host_id: str
    overcommit: dict
    reserved: dict

    def args(self, **extra) -> dict:
        return {"id": self.instance_id, "from_host_id": self.from_host_id, "to_host_id": self.to_host_id,
                "overcommit": self.overcommit, "reserved": self.reserved, **extra}


class Mover:
    def __init__(self, planner: Planner):
        self.planner = planner

    def candidates(self, policy: MovePolicy, state, instances) -> list[dict]:
        """The instances among `instances` that `policy` moves."""
        return [i for i in instances if policy.moves(i, state.hosts.get(i["host_id"]))]

    def decide(self, policy: MovePolicy, state, instance: dict, from_host_id: str,
               overlay: Overlay) -> Move:
        """The move of `instance` off `from_host_id`; CloudError (its reason) when it
        cannot move now: blocked by the policy, or no host takes it."""
        blocked = policy.blocked(state, instance, from_host_id)
        if blocked:
            raise Blocked(blocked)
        request = self.planner.request(state, instance["project"], instance["spec"])
        decision = self.planner.place(state, request, overlay)
        return Move(instance["id"], from_host_id, decision.host_id, request.overcommit, request.reserved)


class Blocked(FailedPrecondition):
    """The policy keeps this instance where it is (a volume lives on its host)."""
