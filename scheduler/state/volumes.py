"""Commands on block volumes and their snapshots, and the hosts' storage pools.

A volume lives in one host's pool. The pool is thin: the cluster accounts what
is provisioned there (every volume's and snapshot's size) against the pool's
size times the overcommit ratio the proposer sends, and shows what is really
used as the agent reports it. Attaching puts the volume into the instance's
spec (`spec["volumes"]`) and bumps the instance's generation, so the reconciler
gives the agent the new spec; a volume whose instance is gone is detached.
"""
from __future__ import annotations

import copy
import posixpath

from common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from scheduler.state import records as r

CREATING, AVAILABLE, DELETING, ERROR = "creating", "available", "deleting", "error"


def _touch(record: dict, ctx: dict) -> None:
    record["updated_ms"], record["revision"] = ctx["ts"], ctx["index"]


def _volume(state, volume_id: str) -> dict:
    volume = state.volumes.get(volume_id)
    if volume is None:
        raise NotFound(f"volume {volume_id} not found")
    return volume


def _snapshot(state, snapshot_id: str) -> dict:
    snapshot = state.snapshots.get(snapshot_id)
    if snapshot is None:
        raise NotFound(f"snapshot {snapshot_id} not found")
    return snapshot


def attached_instance(state, volume: dict) -> dict | None:
    """The instance the volume is attached to, if it still exists."""
    return state.instances.get(volume.get("attached_to", "")) if volume.get("attached_to") else None


def reverting(volume: dict) -> bool:
    """A revert was asked and its host has not yet done it."""
    return volume.get("revert_generation", 0) != volume.get("observed_revert_generation", 0)


def provisioned(state, host_id: str) -> int:
    """Bytes placed in the host's pool: volumes and snapshots (a thin snapshot can grow to its size)."""
    return (sum(v["size_bytes"] for v in state.volumes.values() if v["host_id"] == host_id)
            + sum(s["size_bytes"] for s in state.snapshots.values() if s["host_id"] == host_id))


def check_pool(state, host_id: str, extra_bytes: int, overcommit: float) -> None:
    """Raise unless the host's pool can take `extra_bytes` more under `overcommit`."""
    host = state.hosts.get(host_id)
    if host is None:
        raise FailedPrecondition(f"host {host_id} no longer exists")
    pool = state.pools.get(host_id)
    if not pool:
        raise FailedPrecondition(f"host {host['name']} has no volume pool (yet)")
    limit = int(pool["total_bytes"] * overcommit)
    if provisioned(state, host_id) + extra_bytes > limit:
        raise ResourceExhausted(
            f"the volume pool of host {host['name']} is short of space: "
            f"{provisioned(state, host_id)} of {limit} bytes provisioned, {extra_bytes} more asked")


def check_path(path: str, field: str = "path") -> str:
    if not path.startswith("/") or posixpath.normpath(path) != path or path == "/" or "\0" in path \
            or len(path) > 255:
        raise InvalidArgument(field, f"{path!r} is not an absolute, normalized path other than /")
    return path


def pool(state, args: dict, ctx: dict) -> dict:
    """What a host's agent reports of its pool (written only when it changed)."""
    if args["host_id"] not in state.hosts:
        raise NotFound(f"host {args['host_id']} not found")
    state.pools[args["host_id"]] = {"driver": args["driver"], "total_bytes": int(args["total_bytes"]),
                                    "used_bytes": int(args["used_bytes"])}
    return {"pool": copy.deepcopy(state.pools[args["host_id"]])}


def create(state, args: dict, ctx: dict) -> dict:
    project, name = args["project"], args["name"]
    if r.name_key(project, name) in state.volume_names:
        raise AlreadyExists(f"volume {name!r} already exists in project {project!r}")
    if args["id"] in state.volumes:
        raise AlreadyExists(f"volume id {args['id']} already exists")
    size = int(args["size_bytes"])
    source = args.get("source_snapshot_id", "")
    if source:
        snapshot = _snapshot(state, source)
        if snapshot["project"] != project:
            raise NotFound(f"snapshot {source} not found in project {project!r}")
        if snapshot["state"] != AVAILABLE:
            raise FailedPrecondition(f"snapshot {snapshot['name']} is {snapshot['state']}")
        if snapshot["host_id"] != args["host_id"]:
            raise InvalidArgument("host", "a clone lives on its snapshot's host")
        size = max(size, snapshot["size_bytes"])
    if size <= 0:
        raise InvalidArgument("size_bytes", "must be positive")
    host = state.hosts.get(args["host_id"])
    if host is None or host["state"] != r.HOST_UP:
        raise FailedPrecondition(f"host {args['host_id']} is not up")
    check_pool(state, host["id"], size, args.get("overcommit", 1.0))
    volume = {
        "id": args["id"], "name": name, "project": project, "labels": dict(args.get("labels", {})),
        "size_bytes": size, "host_id": host["id"], "state": CREATING, "reason": "",
        "source_snapshot_id": source, "attached_to": "", "attach_path": "",
        "revert_snapshot_id": "", "revert_generation": 0, "observed_revert_generation": 0,
        "observed_size_bytes": 0, "used_bytes": 0, "created_ms": ctx["ts"],
        "request_id": args.get("request_id", ""),
    }
    _touch(volume, ctx)
    state.volumes[volume["id"]] = volume
    state.volume_names[r.name_key(project, name)] = volume["id"]
    return {"volume": copy.deepcopy(volume)}


def observe(state, args: dict, ctx: dict) -> dict:
    """What the volume's host reports of it."""
    volume = state.volumes.get(args["id"])
    if volume is None or volume["host_id"] != args["host_id"] or volume["state"] == DELETING:
        return {"ignored": True}
    before = dict(volume)
    if args["state"] == "error":
        volume["state"], volume["reason"] = ERROR, args.get("reason", "")
    else:
        volume["state"], volume["reason"] = AVAILABLE, ""
        volume["observed_size_bytes"] = int(args.get("size_bytes", 0))
        volume["used_bytes"] = int(args.get("used_bytes", 0))
        volume["observed_revert_generation"] = int(args.get("revert_generation", 0))
    if volume["attached_to"] and attached_instance(state, volume) is None:
        volume["attached_to"], volume["attach_path"] = "", ""
    changed = volume != before
    if changed:
        _touch(volume, ctx)
    return {"ignored": False, "changed": changed}


def resize(state, args: dict, ctx: dict) -> dict:
    volume = _volume(state, args["id"])
    size = int(args["size_bytes"])
    if volume["state"] == DELETING:
        raise FailedPrecondition(f"volume {volume['name']} is being deleted")
    if size < volume["size_bytes"]:
        raise InvalidArgument("size_bytes", f"volumes only grow: {volume['name']} is "
                                            f"{volume['size_bytes']} bytes, {size} asked")
    if size > volume["size_bytes"]:
        check_pool(state, volume["host_id"], size - volume["size_bytes"], args.get("overcommit", 1.0))
        volume["size_bytes"] = size
        _touch(volume, ctx)
    return {"volume": copy.deepcopy(volume)}


def _check_attachable(state, volume: dict, instance: dict, path: str) -> None:
    if volume["state"] in (DELETING, CREATING):
        raise FailedPrecondition(f"volume {volume['name']} is {volume['state']}")
    current = attached_instance(state, volume)
    if current is not None and current["id"] != instance["id"]:
        raise FailedPrecondition(f"volume {volume['name']} is attached to instance {current['name']}")
    if instance["host_id"] != volume["host_id"]:
        raise FailedPrecondition(f"instance {instance['name']} runs on another host than "
                                 f"volume {volume['name']}")
    if instance["state"] == r.DELETING:
        raise FailedPrecondition(f"instance {instance['name']} is being deleted")
    if instance["spec"].get("kind", "container") not in ("container", "vm"):
        raise FailedPrecondition(f"instance {instance['name']} is a {instance['spec']['kind']}; "
                                 "volumes attach to containers and VMs")
    for other in instance["spec"].get("volumes", []):
        if other["path"] == path and other["volume_id"] != volume["id"]:
            raise FailedPrecondition(f"instance {instance['name']} already has a volume at {path}")


def attach(state, args: dict, ctx: dict) -> dict:
    volume = _volume(state, args["id"])
    instance = state.instances.get(args["instance_id"])
    if instance is None:
        raise NotFound(f"instance {args['instance_id']} not found")
    path = check_path(args["path"])
    _check_attachable(state, volume, instance, path)
    if reverting(volume):
        # Attaching now could let the instance see the data before the revert (the host
        # refuses to revert a volume in use), so the revert would be lost.
        raise FailedPrecondition(f"volume {volume['name']} is being reverted to a snapshot; "
                                 "attach it when it is available again")
    if volume["attached_to"] == instance["id"] and volume["attach_path"] == path:
        return {"volume": copy.deepcopy(volume)}
    volumes = [v for v in instance["spec"].get("volumes", []) if v["volume_id"] != volume["id"]]
    instance["spec"] = {**instance["spec"], "volumes": volumes + [
        {"volume": volume["name"], "volume_id": volume["id"], "path": path}]}
    instance["desired_generation"] += 1
    _touch(instance, ctx)
    volume["attached_to"], volume["attach_path"] = instance["id"], path
    _touch(volume, ctx)
    return {"volume": copy.deepcopy(volume)}


def check_create_attachments(state, instance: dict) -> None:
    """For instance.create, before it changes anything: the new instance's volumes can attach.

    `instance` needs id, name, project, host_id, state and spec."""
    seen_paths = set()
    for item in instance["spec"].get("volumes", []):
        volume = _volume(state, item["volume_id"])
        if volume["project"] != instance["project"]:
            raise NotFound(f"volume {item['volume_id']} not found in project {instance['project']!r}")
        if item["path"] in seen_paths:
            raise InvalidArgument("spec.volumes", f"two volumes at {item['path']}")
        seen_paths.add(item["path"])
        _check_attachable(state, volume, instance, check_path(item["path"], "spec.volumes.path"))


def record_create_attachments(state, instance: dict, ctx: dict) -> None:
    """For instance.create, once the instance is recorded: its volumes are attached to it."""
    for item in instance["spec"].get("volumes", []):
        volume = state.volumes[item["volume_id"]]
        volume["attached_to"], volume["attach_path"] = instance["id"], item["path"]
        _touch(volume, ctx)


def detach(state, args: dict, ctx: dict) -> dict:
    volume = _volume(state, args["id"])
    instance = attached_instance(state, volume)
    if instance is None and not volume["attached_to"]:
        raise FailedPrecondition(f"volume {volume['name']} is not attached")
    if instance is not None:
        instance["spec"] = {**instance["spec"], "volumes": [
            v for v in instance["spec"].get("volumes", []) if v["volume_id"] != volume["id"]]}
        instance["desired_generation"] += 1
        _touch(instance, ctx)
    volume["attached_to"], volume["attach_path"] = "", ""
    _touch(volume, ctx)
    return {"volume": copy.deepcopy(volume)}


def revert(state, args: dict, ctx: dict) -> dict:
    volume = _volume(state, args["id"])
    snapshot = _snapshot(state, args["snapshot_id"])
    if snapshot["volume_id"] != volume["id"]:
        raise InvalidArgument("snapshot", f"snapshot {snapshot['name']} is not of volume {volume['name']}")
    if attached_instance(state, volume) is not None:
        raise FailedPrecondition(f"volume {volume['name']} is attached; detach it first")
    if volume["state"] != AVAILABLE or snapshot["state"] != AVAILABLE:
        raise FailedPrecondition(f"volume {volume['name']} is {volume['state']}, "
                                 f"snapshot {snapshot['name']} is {snapshot['state']}")
    volume["revert_snapshot_id"] = snapshot["id"]
    volume["revert_generation"] += 1
    _touch(volume, ctx)
    return {"volume": copy.deepcopy(volume)}


def delete(state, args: dict, ctx: dict) -> dict:
    volume = _volume(state, args["id"])
    if attached_instance(state, volume) is not None:
        raise FailedPrecondition(f"volume {volume['name']} is attached; detach it first")
    snapshots = [s for s in state.snapshots.values() if s["volume_id"] == volume["id"]]
    if snapshots and not args.get("cascade"):
        raise FailedPrecondition(f"volume {volume['name']} has {len(snapshots)} snapshot(s); "
                                 "delete them first or ask for a cascade")
    for snapshot in snapshots:
        snapshot["state"] = DELETING
        _touch(snapshot, ctx)
    volume["state"], volume["reason"] = DELETING, ""
    _touch(volume, ctx)
    return {"volume": copy.deepcopy(volume)}


def purge(state, args: dict, ctx: dict) -> dict:
    volume = state.volumes.pop(args["id"], None)
    if volume is None:
        return {"purged": False}
    state.volume_names.pop(r.name_key(volume["project"], volume["name"]), None)
    return {"purged": True}


def snapshot_create(state, args: dict, ctx: dict) -> dict:
    project, name = args["project"], args["name"]
    if r.name_key(project, name) in state.snapshot_names:
        raise AlreadyExists(f"snapshot {name!r} already exists in project {project!r}")
    if args["id"] in state.snapshots:
        raise AlreadyExists(f"snapshot id {args['id']} already exists")
    volume = _volume(state, args["volume_id"])
    if volume["project"] != project:
        raise NotFound(f"volume {args['volume_id']} not found in project {project!r}")
    if volume["state"] != AVAILABLE:
        raise FailedPrecondition(f"volume {volume['name']} is {volume['state']}")
    check_pool(state, volume["host_id"], volume["size_bytes"], args.get("overcommit", 1.0))
    snapshot = {
        "id": args["id"], "name": name, "project": project, "labels": dict(args.get("labels", {})),
        "volume_id": volume["id"], "host_id": volume["host_id"], "size_bytes": volume["size_bytes"],
        "state": CREATING, "reason": "", "created_ms": ctx["ts"],
        "request_id": args.get("request_id", ""),
    }
    _touch(snapshot, ctx)
    state.snapshots[snapshot["id"]] = snapshot
    state.snapshot_names[r.name_key(project, name)] = snapshot["id"]
    return {"snapshot": copy.deepcopy(snapshot)}


def snapshot_observe(state, args: dict, ctx: dict) -> dict:
    snapshot = state.snapshots.get(args["id"])
    if snapshot is None or snapshot["host_id"] != args["host_id"] or snapshot["state"] == DELETING:
        return {"ignored": True}
    before = dict(snapshot)
    if args["state"] == "error":
        snapshot["state"], snapshot["reason"] = ERROR, args.get("reason", "")
    else:
        snapshot["state"], snapshot["reason"] = AVAILABLE, ""
    changed = snapshot != before
    if changed:
        _touch(snapshot, ctx)
    return {"ignored": False, "changed": changed}


def snapshot_delete(state, args: dict, ctx: dict) -> dict:
    snapshot = _snapshot(state, args["id"])
    snapshot["state"] = DELETING
    _touch(snapshot, ctx)
    return {"snapshot": copy.deepcopy(snapshot)}


def snapshot_purge(state, args: dict, ctx: dict) -> dict:
    snapshot = state.snapshots.pop(args["id"], None)
    if snapshot is None:
        return {"purged": False}
    state.snapshot_names.pop(r.name_key(snapshot["project"], snapshot["name"]), None)
    return {"purged": True}


COMMANDS = {
    "volume.pool": pool,
    "volume.create": create,
    "volume.observe": observe,
    "volume.resize": resize,
    "volume.attach": attach,
    "volume.detach": detach,
    "volume.revert": revert,
    "volume.delete": delete,
    "volume.purge": purge,
    "snapshot.create": snapshot_create,
    "snapshot.observe": snapshot_observe,
    "snapshot.delete": snapshot_delete,
    "snapshot.purge": snapshot_purge,
}

COLLECTIONS = ("volumes", "volume_names", "snapshots", "snapshot_names", "pools")
