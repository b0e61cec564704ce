"""Indexes the state machine keeps beside hosts and instances, for placement at scale.

Derived data only: never serialized, rebuilt from hosts, instances and groups by
`rebuild()` (after a snapshot is loaded). `ClusterState.apply` calls `sync_instance`
/ `sync_host` after every successful `instance.*` / `host.*` command, so the index
follows every command that moves, creates or removes an instance or relabels a
host — whichever module implements it. Deterministic like apply.
"""
from __future__ import annotations

from scheduler.rules.groups import domain_value
from scheduler.state import records as r

LABEL_DOMAINS = ("rack", "zone")


def group_id_of(state, instance: dict) -> str:
    name = instance["spec"].get("group")
    return state.group_names.get(r.name_key(instance["project"], name), "") if name else ""


class PlacementIndex:
    def __init__(self):
        self.by_host: dict[str, set[str]] = {}             # host id -> instance ids
        self.group_members: dict[str, set[str]] = {}       # group id -> instance ids
        self.group_counts: dict[str, dict[str, int]] = {}  # group id -> domain value -> members
        self.label_hosts: dict[str, dict[str, set[str]]] = {}  # label key -> value -> host ids
        self.host_order: list[str] = []                    # every host id, sorted
        self.version = 0                                   # bumps when hosts or labels change
        self._placed: dict[str, tuple[str, str]] = {}      # instance id -> (host id, group id)
        self._labels: dict[str, dict] = {}                 # host id -> labels as indexed

    def sync_after(self, state, op: str, args: dict) -> None:
        """After a successful command: follow what it did to an instance or a host."""
        if op.startswith("instance."):
            self.sync_instance(state, args.get("id"))
        elif op.startswith("host."):
            host_id = args.get("id")
            if host_id not in state.hosts:
                host_id = state.host_names.get(args.get("name", ""))
            self.sync_host(state, host_id)

    # -- hosts -----------------------------------------------------------------------

    def sync_host(self, state, host_id: str | None) -> None:
        host = state.hosts.get(host_id or "")
        if host is None:
            return
        labels = host.get("labels", {})
        old = self._labels.get(host_id)
        if old == labels:
            return
        if old is None:
            self.by_host.setdefault(host_id, set())
            self.host_order.append(host_id)
            self.host_order.sort()
            old = {}
        for key, value in old.items():
            hosts = self.label_hosts.get(key, {}).get(value)
            if hosts is not None:
                hosts.discard(host_id)
                if not hosts:
                    del self.label_hosts[key][value]
        for key, value in labels.items():
            self.label_hosts.setdefault(key, {}).setdefault(value, set()).add(host_id)
        self._labels[host_id] = dict(labels)
        self.version += 1
        if any(old.get(d) != labels.get(d) for d in LABEL_DOMAINS):
            # Members on this host now count toward another rack or zone.
            for group_id in sorted({self._placed[i][1] for i in self.by_host.get(host_id, ())} - {""}):
                self.recount_group(state, group_id)

    def hosts_with(self, key: str, values) -> set[str]:
        by_value = self.label_hosts.get(key, {})
        found: set[str] = set()
        for value in values:
            found |= by_value.get(value, set())
        return found

    def domain_values(self, domain: str) -> dict[str, set[str]]:
        """Domain value -> host ids, for a label domain (rack, zone)."""
        return self.label_hosts.get(domain, {})

    def known_label_key(self, key: str) -> bool:
        return bool(self.label_hosts.get(key))

    # -- instances -------------------------------------------------------------------

    def sync_instance(self, state, instance_id: str | None) -> None:
        if not instance_id:
            return
        instance = state.instances.get(instance_id)
        now = (instance["host_id"], group_id_of(state, instance)) if instance else None
        if self._placed.get(instance_id) == now:
            return
        self.unplace(state, instance_id)
        if now is not None:
            host_id, group_id = now
            self._placed[instance_id] = now
            self.by_host.setdefault(host_id, set()).add(instance_id)
            if group_id:
                self.group_members.setdefault(group_id, set()).add(instance_id)
                self._count(state, group_id, host_id, 1)

    def group_of(self, instance_id: str) -> str:
        """The id of the group an indexed instance belongs to ('' if none)."""
        return self._placed.get(instance_id, ("", ""))[1]

    def unplace(self, state, instance_id: str) -> None:
        """Forget where an instance is (until the next sync)."""
        was = self._placed.pop(instance_id, None)
        if was is None:
            return
        host_id, group_id = was
        self.by_host.get(host_id, set()).discard(instance_id)
        if group_id:
            self.group_members.get(group_id, set()).discard(instance_id)
            self._count(state, group_id, host_id, -1)

    def _count(self, state, group_id: str, host_id: str, delta: int) -> None:
        group, host = state.groups.get(group_id), state.hosts.get(host_id)
        if group is None or host is None:
            return
        value = domain_value(host, group["domain"])
        if value is None:
            return
        counts = self.group_counts.setdefault(group_id, {})
        counts[value] = counts.get(value, 0) + delta
        if counts[value] <= 0:
            del counts[value]

    def recount_group(self, state, group_id: str) -> None:
        """Count a group's members per domain again (its domain or a host's labels changed)."""
        self.group_counts[group_id] = {}
        for instance_id in sorted(self.group_members.get(group_id, ())):
            self._count(state, group_id, self._placed[instance_id][0], 1)

    def forget_group(self, group_id: str) -> None:
        self.group_members.pop(group_id, None)
        self.group_counts.pop(group_id, None)

    # -- all of it -------------------------------------------------------------------

    def rebuild(self, state) -> None:
        self.__init__()
        for host_id in sorted(state.hosts):
            self.sync_host(state, host_id)
        for instance_id in sorted(state.instances):
            self.sync_instance(state, instance_id)

