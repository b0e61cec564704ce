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
from scheduler.state import hosts, instances, rescheduling

COMMANDS = {
    "host.join": hosts.join,
    "host.heartbeat": hosts.heartbeat,
    "host.mark_down": hosts.mark_down,
    "instance.create": instances.create,
    "instance.set_desired": instances.set_desired,
    "instance.update_labels": instances.update_labels,
    "instance.delete": instances.delete,
    "instance.purge": instances.purge,
    "instance.observe": instances.observe,
    "instance.reschedule": rescheduling.reschedule,
}


class ClusterState:
    """Hosts and instances, with the indexes apply keeps alongside them."""

    def __init__(self):
        self.hosts: dict[str, dict] = {}
        self.host_names: dict[str, str] = {}
        self.instances: dict[str, dict] = {}
        self.instance_names: dict[str, str] = {}

    def apply(self, op: str, args: dict, ctx: dict) -> dict:
        handler = COMMANDS.get(op)
        if handler is None:
            return error_result(InvalidArgument("op", f"unknown command {op!r}"))
        try:
            # Commands validate before they change anything, so an error leaves no trace.
            return handler(self, args, ctx)
        except CloudError as err:
            return error_result(err)
        except (KeyError, TypeError, ValueError) as err:
            return error_result(InvalidArgument("args", f"malformed {op} command: {err!r}"))

    def instances_on(self, host_id: str) -> list[dict]:
        return [i for i in self.instances.values() if i["host_id"] == host_id]

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
                              "instances": self.instances, "instance_names": self.instance_names})

    @classmethod
    def from_dict(cls, data: dict) -> "ClusterState":
        state = cls()
        data = copy.deepcopy(data)
        state.hosts = data.get("hosts", {})
        state.host_names = data.get("host_names", {})
        state.instances = data.get("instances", {})
        state.instance_names = data.get("instance_names", {})
        return state
