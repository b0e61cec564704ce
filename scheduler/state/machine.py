"""The cluster's replicated state machine.

`apply` is deterministic: it reads only its arguments and the context the
proposer chose (request id, timestamp, Raft index) — never clocks, randomness,
the network or disk — and validates its invariants (names unique per project,
capacity still free) before changing anything. A command that fails changes
nothing and returns a typed error.
"""
from __future__ import annotations

import copy

from common.errors import CloudError, InvalidArgument, error_result
from scheduler.state import hosts, instances, networks, placement, rescheduling
from scheduler.state import events as cluster_events, operations
from scheduler.state.placement_index import PlacementIndex
from scheduler.state import audit, iam, quota, secrets
from scheduler.state import volumes
from scheduler.state import images
from scheduler.state import floating
from scheduler.state import evacuation
from scheduler.state import enrollment, trust
from scheduler.state import commands

# {op: Command(argument type, handler)}, each module's own (scheduler/state/commands.py).
COMMANDS: dict[str, commands.Command] = {
    **hosts.COMMANDS,
    **instances.COMMANDS,
    **rescheduling.COMMANDS,
    **networks.COMMANDS,
    **placement.COMMANDS,
    **operations.COMMANDS,
    **iam.COMMANDS,
    **audit.COMMANDS,
    **secrets.COMMANDS,
    **volumes.COMMANDS,
    **images.COMMANDS,
    **floating.COMMANDS,
    **evacuation.COMMANDS,
    **enrollment.COMMANDS,
    **trust.COMMANDS,
}

NETWORK_COLLECTIONS = ("vpcs", "vpc_names", "subnets", "subnet_names",
                       "security_groups", "security_group_names")


class ClusterState:
    """Hosts and instances, with the indexes apply keeps alongside them."""

    def __init__(self):
        self.hosts: dict[str, dict] = {}
        self.host_names: dict[str, str] = {}
        self.instances: dict[str, dict] = {}
        self.instance_names: dict[str, str] = {}
        # VPC networking (scheduler/state/networks.py): records by id, ids by "project/name".
        self.vpcs: dict[str, dict] = {}
        self.vpc_names: dict[str, str] = {}
        self.subnets: dict[str, dict] = {}
        self.subnet_names: dict[str, str] = {}
        self.security_groups: dict[str, dict] = {}
        self.security_group_names: dict[str, str] = {}
        # Placement groups (scheduler/state/placement.py), and the derived placement
        # index: rebuilt by from_dict, kept by apply, never serialized.
        self.groups: dict[str, dict] = {}
        self.group_names: dict[str, str] = {}
        self.placement = PlacementIndex()
        # Operations (scheduler/state/events.py, operations.py): the retained event log,
        # its last sequence number, and schedulers added or removed at run time.
        self.events: list[dict] = []
        self.event_seq: int = 0
        self.members: dict[str, dict] = {}
        self.member_raft: dict[str, str] = {}
        # Identity and access (scheduler/state/iam.py, quota.py), the audit log, and
        # secrets (ciphertext only) with their ids by "project/name".
        self.iam: dict = iam.empty()
        self.audit: dict = audit.empty()
        self.secrets: dict[str, dict] = {}
        self.secret_names: dict[str, str] = {}
        # Block volumes (scheduler/state/volumes.py): volumes and snapshots by id, their ids
        # by "project/name", and each host's reported storage pool by host id.
        for key in volumes.COLLECTIONS:
            setattr(self, key, {})
        # VM images (scheduler/state/images.py): records by id, ids by "project/name".
        for key in images.COLLECTIONS:
            setattr(self, key, {})
        # Floating IPs (scheduler/state/floating.py): records by id, ids by address.
        for key in floating.COLLECTIONS:
            setattr(self, key, {})
        # Host evacuations (scheduler/state/evacuation.py): the latest one of each host, by host id.
        self.evacuations: dict[str, dict] = {}
        # Join tokens, issued certificates and the deny-list (scheduler/state/enrollment.py).
        for key in enrollment.COLLECTIONS:
            setattr(self, key, {})

    def apply(self, op: str, args: dict, ctx: dict) -> dict:
        command = COMMANDS.get(op)
        if command is None:
            return error_result(InvalidArgument("op", f"unknown command {op!r}"))
        try:
            # The arguments are decoded into their declared type before anything
            # changes (scheduler/state/commands.py), and handlers check the rest before
            # their first change. Any other exception is a bug: the store answers it
            # INTERNAL (scheduler/store/replicated.py), never INVALID_ARGUMENT.
            typed = commands.decode(command.args, args)
            seen = cluster_events.before(self, op, args)
            result = command.handler(self, typed, ctx)
        except CloudError as err:
            return error_result(err)
        # The placement index follows whatever the command did to instances or hosts.
        self.placement.sync_after(self, op, args)
        cluster_events.after(self, op, args, result, ctx, seen)
        return result

    def instances_on(self, host_id: str) -> list[dict]:
        return [self.instances[i] for i in sorted(self.placement.by_host.get(host_id, ()))]

    def host_by_ref(self, ref: str) -> dict | None:
        """A host by id or by name."""
        return self.hosts.get(ref) or self.hosts.get(self.host_names.get(ref, ""))

    def instance_by_ref(self, project: str, ref: str) -> dict | None:
        """An instance of `project` by id or by name."""
        instance = self.instances.get(ref)
        if instance is not None and instance["project"] == project:
            return instance
        instance_id = self.instance_names.get(f"{project}/{ref}")
        return self.instances.get(instance_id) if instance_id else None

    def to_dict(self) -> dict:
        return copy.deepcopy({"hosts": self.hosts, "host_names": self.host_names,
                              "instances": self.instances, "instance_names": self.instance_names,
                              "groups": self.groups, "group_names": self.group_names,
                              "events": self.events, "event_seq": self.event_seq,
                              "members": self.members, "member_raft": self.member_raft,
                              "iam": self.iam, "audit": self.audit, "secrets": self.secrets,
                              "secret_names": self.secret_names,
                              **{key: getattr(self, key) for key in volumes.COLLECTIONS},
                              **{key: getattr(self, key) for key in images.COLLECTIONS},
                              **{key: getattr(self, key) for key in floating.COLLECTIONS},
                              "evacuations": self.evacuations,
                              **{key: getattr(self, key) for key in enrollment.COLLECTIONS},
                              **{key: getattr(self, key) for key in NETWORK_COLLECTIONS}})

    @classmethod
    def from_dict(cls, data: dict) -> "ClusterState":
        state = cls()
        data = copy.deepcopy(data)
        state.hosts = data.get("hosts", {})
        state.host_names = data.get("host_names", {})
        state.instances = data.get("instances", {})
        state.instance_names = data.get("instance_names", {})
        for key in NETWORK_COLLECTIONS:
            setattr(state, key, data.get(key, {}))
        state.groups = data.get("groups", {})
        state.group_names = data.get("group_names", {})
        state.events = data.get("events", [])
        state.event_seq = data.get("event_seq", 0)
        state.members = data.get("members", {})
        state.member_raft = data.get("member_raft", {})
        state.iam = {**iam.empty(), **data.get("iam", {})}
        state.audit = data.get("audit") or audit.empty()
        state.secrets = data.get("secrets", {})
        state.secret_names = data.get("secret_names", {})
        for key in volumes.COLLECTIONS:
            setattr(state, key, data.get(key, {}))
        for key in images.COLLECTIONS:
            setattr(state, key, data.get(key, {}))
        for key in floating.COLLECTIONS:
            setattr(state, key, data.get(key, {}))
        state.evacuations = data.get("evacuations", {})
        for key in enrollment.COLLECTIONS:
            setattr(state, key, data.get(key, {}))
        state.placement.rebuild(state)
        quota.recount(state)   # usage of secrets, images, groups: older snapshots lack it
        return state
