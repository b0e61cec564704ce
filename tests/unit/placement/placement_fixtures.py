"""Building cluster states for placement tests: hosts join and instances are created
through `ClusterState.apply`, exactly as Raft would apply them."""
from __future__ import annotations

import itertools

from scheduler.state.machine import ClusterState

GiB = 1024**3
IMAGE = "thecloud/busybox:test"
_index = itertools.count(1)


def apply(state: ClusterState, op: str, args: dict) -> dict:
    n = next(_index)
    return state.apply(op, args, {"rid": f"r{n}", "ts": 1_000_000 + n, "index": n})


def ok(state: ClusterState, op: str, args: dict) -> dict:
    result = apply(state, op, args)
    assert "error" not in result, result
    return result


def join(state: ClusterState, name: str, vcpus: int = 4, memory: int = 8 * GiB, **labels) -> str:
    return ok(state, "host.join", {
        "id": f"h-{name}", "name": name, "address": "127.0.0.1:1",
        "capacity": {"vcpus": vcpus, "memory_bytes": memory, "disk_bytes": 100 * GiB},
        "drivers": ["compute:docker"], "labels": labels, "images": [IMAGE]})["host_id"]


def spec(vcpus: int = 1, memory: int = GiB, **placement) -> dict:
    return {"kind": "container", "image": IMAGE, "vcpus": vcpus, "memory_bytes": memory, "disk_bytes": 0,
            "command": [], "env": {}, "restart_policy": placement.pop("restart_policy", "never"),
            "host_labels": {}, **placement}


def create(state: ClusterState, name: str, host_id: str, project: str = "default", **kw) -> dict:
    return apply(state, "instance.create", {
        "id": f"i-{name}", "name": name, "project": project, "labels": {}, "spec": spec(**kw),
        "host_id": host_id, "overcommit": {"vcpus": 1.0}, "reserved": {}})


def group(state: ClusterState, name: str, policy: str, domain: str = "host", max_per_domain: int = 0,
          soft: bool = False, project: str = "default") -> dict:
    return ok(state, "group.create", {"id": f"pg-{name}", "name": name, "project": project, "policy": policy,
                                      "domain": domain, "max_per_domain": max_per_domain, "soft": soft})
