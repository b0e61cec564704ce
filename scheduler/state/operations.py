"""Commands an operator's tools propose: placement failures, membership, restore.

`members` maps a scheduler's name to its API and Raft addresses, for the nodes
added or removed at run time (`cloud cluster add-node`); the nodes in the
configs' `members` list need no record. Raft's own membership lives in pysyncobj;
this table only lets every node name and reach the members Raft has.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from common.errors import FailedPrecondition, InvalidArgument
from scheduler.state import enrollment, events
from scheduler.state.commands import Command, table

# Collections a restore may find non-empty: a fresh cluster has written these
# already (its own events, members added before the restore).
_RESTORE_IGNORES = ("events", "event_seq", "members", "member_raft", "join_tokens")


@dataclass(frozen=True)
class PlacementFailedArgs:
    name: str
    project: str
    reason: str
    category: str = ""              # image_not_found, no_host_fits or other (for the metrics)


@dataclass(frozen=True)
class AddMemberArgs:
    name: str
    api: str
    raft: str


@dataclass(frozen=True)
class RemoveMemberArgs:
    name: str
    api: str = ""                   # "": the member's recorded address
    raft: str = ""


@dataclass(frozen=True)
class RestoreArgs:
    state: dict[str, Any]           # a backup's whole state (ClusterState.to_dict)
    revision: int = 0               # the backup's, for the event
    cluster_name: str = ""


def placement_failed(state, args: PlacementFailedArgs, ctx: dict) -> dict:
    """Nothing changes but the event log (see events.after)."""
    return {}


def member_add(state, args: AddMemberArgs, ctx: dict) -> dict:
    name, api, raft = args.name, args.api, args.raft
    for key, value in (("name", name), ("api", api), ("raft", raft)):
        if not value:
            raise InvalidArgument(key, "is required")
    other = state.member_raft.get(raft)
    if other is not None and other != name:
        raise FailedPrecondition(f"raft address {raft} belongs to member {other}")
    old = state.members.get(name)
    if old is not None:
        state.member_raft.pop(old["raft"], None)
    state.members[name] = {"name": name, "api": api, "raft": raft, "removed": False}
    state.member_raft[raft] = name
    # An admin adding a removed scheduler back trusts its name again.
    enrollment.readmit_identity(state, "scheduler", name, ctx)
    events.record_cluster_event(state, ctx, "member.added", name, f"raft {raft}, api {api}")
    return {"member": dict(state.members[name])}


def member_remove(state, args: RemoveMemberArgs, ctx: dict) -> dict:
    """Remember that `name` left (configs may still list it)."""
    name, api, raft = args.name, args.api, args.raft
    if not name:
        raise InvalidArgument("name", "is required")
    old = state.members.get(name)
    if old is not None:
        state.member_raft.pop(old["raft"], None)
        api, raft = api or old["api"], raft or old["raft"]
    state.members[name] = {"name": name, "api": api, "raft": raft, "removed": True}
    revoked = enrollment.revoke_identity(state, "scheduler", name, ctx)
    events.record_cluster_event(state, ctx, "member.removed", name, f"raft {raft}")
    return {"revoked_serials": revoked}


def restore(state, args: RestoreArgs, ctx: dict) -> dict:
    """Replace an empty cluster's state by a backup's (see docs/operations.md)."""
    # "Empty": every top-level collection that a new cluster starts without is still
    # empty (structures a new cluster fills by itself, like its IAM bootstrap, are
    # replaced by the backup's).
    fresh = type(state)().to_dict()
    used = sorted(key for key, value in state.to_dict().items()
                  if key not in _RESTORE_IGNORES and value and fresh.get(key) in ({}, [], None))
    if used:
        raise FailedPrecondition(
            f"the cluster is not empty ({', '.join(used)}); restore only into a new cluster")
    try:
        restored = type(state).from_dict(args.state)
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        # A document from outside (the archive's checksum covers transport, not shape):
        # refused here, before this cluster's state changes.
        raise InvalidArgument("state", f"is not the state of a backup: {err!r}") from None
    own_events, own_seq = state.events, state.event_seq
    members = copy.deepcopy(state.members)
    state.__dict__.update(restored.__dict__)
    # The new cluster's membership is its own; the backup's event log continues.
    state.members, state.member_raft = members, {m["raft"]: n for n, m in members.items() if not m["removed"]}
    if not state.events:
        state.events, state.event_seq = own_events, own_seq
    events.record_cluster_event(state, ctx, "cluster.restored", args.cluster_name,
                                f"from revision {args.revision}")
    return {"hosts": len(state.hosts), "instances": len(state.instances)}


COMMANDS = table(
    event__placement_failed=Command(PlacementFailedArgs, placement_failed),
    cluster__member_add=Command(AddMemberArgs, member_add),
    cluster__member_remove=Command(RemoveMemberArgs, member_remove),
    cluster__restore=Command(RestoreArgs, restore),
)
