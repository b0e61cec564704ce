"""Evacuating a host: move everything that can move, report what cannot.

The difference from a drain (`scheduler/leader/drain.py`): a drain is a host mode that
keeps moving instances with a restart policy for as long as it lasts; an
evacuation is a finite job over *every* instance of the host — restart policy
`never` and stopped instances too (a stopped one is re-homed without starting) —
that ends once each has moved or is known not to be movable, with the reason
kept per instance (`scheduler/state/evacuation.py` holds the record).

What cannot move: an instance with an attached volume (volumes live on their
host); one placement refuses (no capacity, a hard group rule, constraints no
other host meets, an image no other host has). A refusal is final for this
evacuation — run it again once there is room.

`plan()` and `step()` are pure functions of a state and a planner (unit tested);
`Evacuator` runs `step()` on the leader for every running evacuation and
proposes what it decided.
"""
from __future__ import annotations

import dataclasses
import logging

from common.errors import CloudError
from common.ids import new_id
from scheduler.leader.leader_loop import LeaderLoop
from scheduler.rules import groups as g
from scheduler.leader.mover import EVACUATION, Blocked, Mover
from scheduler.placement.planner import Overlay, Planner, Settings
from scheduler.state import evacuation as ev
from scheduler.state import placement as rules
from scheduler.state import records as r

log = logging.getLogger(__name__)

DEFAULT_PARALLEL = 4
MOVE_ATTEMPTS = 3      # apply refusing a move this often (a race each time) blocks the instance


def classify(state, mover: Mover, host: dict, instance: dict, overlay: Overlay) -> dict:
    """The plan item of one instance of `host`: planned (with the host placement would
    choose now) or blocked (with the reason)."""
    item = {"name": instance["name"], "project": instance["project"], "status": ev.PLANNED,
            "reason": "", "to_host_id": "", "attempts": 0}
    try:
        move = mover.decide(EVACUATION, state, instance, host["id"], overlay)
    except Blocked as err:
        return dict(item, status=ev.BLOCKED, reason=str(err))
    except CloudError as err:
        return dict(item, status=ev.BLOCKED, reason=f"no host can take it: {err}")
    return dict(item, to_host_id=move.to_host_id)


def movable_instances(state, mover: Mover, host_id: str) -> list[dict]:
    """The instances of the host an evacuation is about (being deleted: nothing to move)."""
    return mover.candidates(EVACUATION, state, state.instances_on(host_id))


class _Cordoned:
    """A read-only view of the state in which `host` is cordoned: the plan is made
    before the cordon commits, and must not choose the host itself."""

    def __init__(self, state, host: dict):
        self._state = state
        self.hosts = {**state.hosts, host["id"]: dict(host, schedulable="cordoned")}

    def __getattr__(self, name):
        return getattr(self._state, name)


def plan(state, planner: Planner, host: dict) -> dict:
    """{instance id: item} for every instance of `host`, in name order; placements
    decided together so that planned moves do not overfill one target."""
    mover, overlay, view = Mover(planner), Overlay(), _Cordoned(state, host)
    return {i["id"]: classify(view, mover, host, i, overlay)
            for i in sorted(movable_instances(state, mover, host["id"]), key=lambda i: i["name"])}


@dataclasses.dataclass
class Step:
    """What one pass over a running evacuation decided."""

    moves: list = dataclasses.field(default_factory=list)     # instance.evacuate args
    items: dict = dataclasses.field(default_factory=dict)     # instance id -> changed item
    finish: str = ""                                          # "", "done" or "cancelled"

    def progress_args(self, record: dict) -> dict | None:
        if not self.items and not self.finish:
            return None
        return {"host_id": record["host_id"], "evacuation_id": record["id"], "items": self.items,
                "finish": self.finish}


def settled(instance: dict) -> str | None:
    """MOVED or FAILED once the new host's agent converged the moved instance (its new
    generation was ensured there), None while that has not happened yet."""
    if instance["ensured_generation"] < instance["desired_generation"] or instance["state"] == r.PENDING:
        return None
    return ev.FAILED if instance["state"] == r.FAILED else ev.MOVED


def _follow(state, record: dict, instance_id: str, item: dict) -> dict | None:
    """The item's new status after what happened to its instance, or None if unchanged."""
    instance = state.instances.get(instance_id)
    if instance is None or instance["state"] == r.DELETING:
        return dict(item, status=ev.GONE, reason="deleted meanwhile")
    if item["status"] == ev.PLANNED and instance["host_id"] != record["host_id"]:
        return dict(item, status=ev.GONE, reason="moved off the host by something else (host loss)",
                    to_host_id=instance["host_id"])
    if item["status"] == ev.MOVING:
        if instance["host_id"] != item["to_host_id"]:
            return dict(item, status=ev.GONE, reason="moved on again by something else",
                        to_host_id=instance["host_id"])
        if instance["state"] == r.LOST:
            return dict(item, status=ev.FAILED, reason=instance.get("reason", "") or "its new host is down")
        outcome = settled(instance)
        if outcome == ev.FAILED:
            return dict(item, status=ev.FAILED, reason=instance.get("reason", "") or "failed on its new host")
        if outcome == ev.MOVED:
            return dict(item, status=ev.MOVED, reason=f"{instance['state']} on its new host")
    return None


def step(state, planner: Planner, record: dict) -> Step:
    """The next moves (up to `parallel` in flight) and the items that changed."""
    result, mover = Step(), Mover(planner)
    host = state.hosts.get(record["host_id"])
    items = {k: dict(v) for k, v in record["items"].items()}
    for instance_id, item in sorted(items.items()):
        if item["status"] in ev.OPEN:
            changed = _follow(state, record, instance_id, item)
            if changed is not None:
                items[instance_id] = result.items[instance_id] = changed
    if host is None or rules.schedulable(host) == g.ACTIVE:
        # Put back in service by the operator (or gone): stop here; moves in flight
        # still finish. One that had nothing left to do simply ended.
        left = any(item["status"] in ev.OPEN for item in items.values())
        return dataclasses.replace(result, finish=ev.CANCELLED if left else ev.DONE)
    for instance in sorted(movable_instances(state, mover, host["id"]), key=lambda i: i["name"]):
        if instance["id"] not in items:     # placed just before the cordon committed
            items[instance["id"]] = result.items[instance["id"]] = classify(state, mover, host, instance,
                                                                            Overlay())
    overlay = Overlay()     # the moves of this pass count against their targets
    in_flight = sum(1 for item in items.values() if item["status"] == ev.MOVING)
    for instance_id, item in sorted(items.items(), key=lambda kv: kv[1]["name"]):
        if in_flight >= record["parallel"]:
            break
        if item["status"] != ev.PLANNED:
            continue
        instance = state.instances[instance_id]
        if item["attempts"] >= MOVE_ATTEMPTS:
            items[instance_id] = result.items[instance_id] = dict(
                item, status=ev.BLOCKED, reason=item["reason"] or "its moves kept being refused")
            continue
        try:
            move = mover.decide(EVACUATION, state, instance, host["id"], overlay)
        except CloudError as err:
            reason = str(err) if isinstance(err, Blocked) else f"no host can take it: {err}"
            items[instance_id] = result.items[instance_id] = dict(item, status=ev.BLOCKED, reason=reason)
            continue
        result.moves.append(move.args(evacuation_id=record["id"]))
        in_flight += 1
    if not result.moves and not any(item["status"] in ev.OPEN for item in items.values()):
        result.finish = ev.DONE
    return result


def summary(items: dict) -> tuple[dict, str]:
    """(status -> count, "2 moved, 1 blocked")."""
    counts: dict[str, int] = {}
    for item in items.values():
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    text = ", ".join(f"{counts[s]} {s}" for s in ev.ITEM_STATUSES if counts.get(s)) or "nothing to move"
    return counts, text


def new_evacuation_id() -> str:
    return new_id("ev")


class Evacuator(LeaderLoop):
    """Drives every running evacuation on the leader, one pass per applied change."""

    def __init__(self, store, proposer, config):
        super().__init__(store, config, "evacuator", workers=1)
        self.proposer = proposer
        self.planner = Planner(Settings.from_config(config))

    def reconcile(self, term: int) -> None:
        with self.store.read_lock:
            state = self.store.read()
            records = [dict(rec) for rec in state.evacuations.values() if rec["state"] == ev.RUNNING]
            steps = [(rec, step(state, self.planner, rec)) for rec in records]
        for record, decided in steps:
            self._propose(record, decided)

    def _propose(self, record: dict, decided: Step) -> None:
        progress = decided.progress_args(record)
        if progress is not None:
            self.proposer.propose_many([("host.evacuation_progress", progress)])
        if decided.finish:
            log.info("evacuation of %s %s", record["host_name"], decided.finish)
        if not decided.moves:
            return
        results = self.proposer.propose_many([("instance.evacuate", m) for m in decided.moves])
        refused = {}
        for move, result in zip(decided.moves, results):
            if "error" in result:
                # A race with another decision: placed again next pass, a few times at most.
                item = dict(decided.items.get(move["id"]) or record["items"][move["id"]])
                item.update(attempts=item.get("attempts", 0) + 1, reason=result["error"]["message"])
                refused[move["id"]] = item
                log.info("evacuating %s: move of %s refused: %s", record["host_name"], move["id"],
                         result["error"]["message"])
            else:
                log.info("evacuating %s: moving %s to %s", record["host_name"], move["id"], move["to_host_id"])
        if refused:
            self.proposer.propose_many([("host.evacuation_progress", {
                "host_id": record["host_id"], "evacuation_id": record["id"], "items": refused})])
