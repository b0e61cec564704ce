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
from dataclasses import dataclass, field

from common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from scheduler.state import records as r
from scheduler.state.commands import Command, IdArgs, table

CREATING, AVAILABLE, DELETING, ERROR = "creating", "available", "deleting", "error"


@dataclass(frozen=True)
class PoolArgs:
    host_id: str
    driver: str
    total_bytes: int
    used_bytes: int


@dataclass(frozen=True)
class CreateVolumeArgs:
    id: str
    name: str
    project: str
    size_bytes: int
    host_id: str
    labels: dict[str, str] = field(default_factory=dict)
    source_snapshot_id: str = ""           # "": an empty volume; else a clone of that snapshot
    overcommit: float = 1.0                # the pool's thin-provisioning ratio (scheduler config)
    request_id: str = ""


@dataclass(frozen=True)
class ObserveVolumeArgs:
    id: str
    host_id: str
    state: str                             # "available" or "error"
    reason: str = ""
    size_bytes: int = 0
    used_bytes: int = 0
    revert_generation: int = 0


@dataclass(frozen=True)
class ResizeVolumeArgs:
    id: str
    size_bytes: int
    overcommit: float = 1.0


@dataclass(frozen=True)
class AttachVolumeArgs:
    id: str
    instance_id: str
    path: str


@dataclass(frozen=True)
class RevertVolumeArgs:
    id: str
    snapshot_id: str


@dataclass(frozen=True)
class DeleteVolumeArgs:
    id: str
    cascade: bool = False                  # its snapshots go with it


@dataclass(frozen=True)
class CreateSnapshotArgs:
    id: str
    name: str
    project: str
    volume_id: str
    labels: dict[str, str] = field(default_factory=dict)
    overcommit: float = 1.0
    request_id: str = ""


@dataclass(frozen=True)
class ObserveSnapshotArgs:
    id: str
    host_id: str
    state: str                             # "available" or "error"
    reason: str = ""


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


def pool(state, args: PoolArgs, ctx: dict) -> dict:
    """What a host's agent reports of its pool (written only when it changed)."""
    if args.host_id not in state.hosts:
        raise NotFound(f"host {args.host_id} not found")
    state.pools[args.host_id] = {"driver": args.driver, "total_bytes": args.total_bytes,
                                 "used_bytes": args.used_bytes}
    return {"pool": copy.deepcopy(state.pools[args.host_id])}


def create(state, args: CreateVolumeArgs, ctx: dict) -> dict:
    project, name = args.project, args.name
    if r.name_key(project, name) in state.volume_names:
        raise AlreadyExists(f"volume {name!r} already exists in project {project!r}")
    if args.id in state.volumes:
        raise AlreadyExists(f"volume id {args.id} already exists")
    size = args.size_bytes
    source = args.source_snapshot_id
    if source:
        snapshot = _snapshot(state, source)
        if snapshot["project"] != project:
            raise NotFound(f"snapshot {source} not found in project {project!r}")
        if snapshot["state"] != AVAILABLE:
            raise FailedPrecondition(f"snapshot {snapshot['name']} is {snapshot['state']}")
        if snapshot["host_id"] != args.host_id:
            raise InvalidArgument("host", "a clone lives on its snapshot's host")
        size = max(size, snapshot["size_bytes"])
    if size <= 0:
        raise InvalidArgument("size_bytes", "must be positive")
    host = state.hosts.get(args.host_id)
    if host is None or host["state"] != r.HOST_UP:
        raise FailedPrecondition(f"host {args.host_id} is not up")
    check_pool(state, host["id"], size, args.overcommit)
    volume = {
        "id": args.id, "name": name, "project": project, "labels": dict(args.labels),
        "size_bytes": size, "host_id": host["id"], "state": CREATING, "reason": "",
        "source_snapshot_id": source, "attached_to": "", "attach_path": "",
        "revert_snapshot_id": "", "revert_generation": 0, "observed_revert_generation": 0,
        "observed_size_bytes": 0, "used_bytes": 0, "created_ms": ctx["ts"],
        "request_id": args.request_id,
    }
    _touch(volume, ctx)
    state.volumes[volume["id"]] = volume
    state.volume_names[r.name_key(project, name)] = volume["id"]
    return {"volume": copy.deepcopy(volume)}


def observe(state, args: ObserveVolumeArgs, ctx: dict) -> dict:
    """What the volume's host reports of it."""
    volume = state.volumes.get(args.id)
    if volume is None or volume["host_id"] != args.host_id or volume["state"] == DELETING:
        return {"ignored": True}
    before = dict(volume)
    if args.state == "error":
        volume["state"], volume["reason"] = ERROR, args.reason
    else:
        volume["state"], volume["reason"] = AVAILABLE, ""
        volume["observed_size_bytes"] = args.size_bytes
        volume["used_bytes"] = args.used_bytes
        volume["observed_revert_generation"] = args.revert_generation
    if volume["attached_to"] and attached_instance(state, volume) is None:
        volume["attached_to"], volume["attach_path"] = "", ""
    changed = volume != before
    if changed:
        _touch(volume, ctx)
    return {"ignored": False, "changed": changed}


def resize(state, args: ResizeVolumeArgs, ctx: dict) -> dict:
    volume = _volume(state, args.id)
    size = args.size_bytes
    if volume["state"] == DELETING:
        raise FailedPrecondition(f"volume {volume['name']} is being deleted")
    if size < volume["size_bytes"]:
        raise InvalidArgument("size_bytes", f"volumes only grow: {volume['name']} is "
                                            f"{volume['size_bytes']} bytes, {size} asked")
    if size > volume["size_bytes"]:
        check_pool(state, volume["host_id"], size - volume["size_bytes"], args.overcommit)
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


def attach(state, args: AttachVolumeArgs, ctx: dict) -> dict:
    volume = _volume(state, args.id)
    instance = state.instances.get(args.instance_id)
    if instance is None:
        raise NotFound(f"instance {args.instance_id} not found")
    path = check_path(args.path)
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


def detach(state, args: IdArgs, ctx: dict) -> dict:
    volume = _volume(state, args.id)
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


def revert(state, args: RevertVolumeArgs, ctx: dict) -> dict:
    volume = _volume(state, args.id)
    snapshot = _snapshot(state, args.snapshot_id)
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


def delete(state, args: DeleteVolumeArgs, ctx: dict) -> dict:
    volume = _volume(state, args.id)
    if attached_instance(state, volume) is not None:
        raise FailedPrecondition(f"volume {volume['name']} is attached; detach it first")
    snapshots = [s for s in state.snapshots.values() if s["volume_id"] == volume["id"]]
    if snapshots and not args.cascade:
        raise FailedPrecondition(f"volume {volume['name']} has {len(snapshots)} snapshot(s); "
                                 "delete them first or ask for a cascade")
    for snapshot in snapshots:
        snapshot["state"] = DELETING
        _touch(snapshot, ctx)
    volume["state"], volume["reason"] = DELETING, ""
    _touch(volume, ctx)
    return {"volume": copy.deepcopy(volume)}


def purge(state, args: IdArgs, ctx: dict) -> dict:
    volume = state.volumes.pop(args.id, None)
    if volume is None:
        return {"purged": False}
    state.volume_names.pop(r.name_key(volume["project"], volume["name"]), None)
    return {"purged": True}


def snapshot_create(state, args: CreateSnapshotArgs, ctx: dict) -> dict:
    project, name = args.project, args.name
    if r.name_key(project, name) in state.snapshot_names:
        raise AlreadyExists(f"snapshot {name!r} already exists in project {project!r}")
    if args.id in state.snapshots:
        raise AlreadyExists(f"snapshot id {args.id} already exists")
    volume = _volume(state, args.volume_id)
    if volume["project"] != project:
        raise NotFound(f"volume {args.volume_id} not found in project {project!r}")
    if volume["state"] != AVAILABLE:
        raise FailedPrecondition(f"volume {volume['name']} is {volume['state']}")
    check_pool(state, volume["host_id"], volume["size_bytes"], args.overcommit)
    snapshot = {
        "id": args.id, "name": name, "project": project, "labels": dict(args.labels),
        "volume_id": volume["id"], "host_id": volume["host_id"], "size_bytes": volume["size_bytes"],
        "state": CREATING, "reason": "", "created_ms": ctx["ts"],
        "request_id": args.request_id,
    }
    _touch(snapshot, ctx)
    state.snapshots[snapshot["id"]] = snapshot
    state.snapshot_names[r.name_key(project, name)] = snapshot["id"]
    return {"snapshot": copy.deepcopy(snapshot)}


def snapshot_observe(state, args: ObserveSnapshotArgs, ctx: dict) -> dict:
    snapshot = state.snapshots.get(args.id)
    if snapshot is None or snapshot["host_id"] != args.host_id or snapshot["state"] == DELETING:
        return {"ignored": True}
    before = dict(snapshot)
    if args.state == "error":
        snapshot["state"], snapshot["reason"] = ERROR, args.reason
    else:
        snapshot["state"], snapshot["reason"] = AVAILABLE, ""
    changed = snapshot != before
    if changed:
        _touch(snapshot, ctx)
    return {"ignored": False, "changed": changed}


def snapshot_delete(state, args: IdArgs, ctx: dict) -> dict:
    snapshot = _snapshot(state, args.id)
    snapshot["state"] = DELETING
    _touch(snapshot, ctx)
    return {"snapshot": copy.deepcopy(snapshot)}


def snapshot_purge(state, args: IdArgs, ctx: dict) -> dict:
    snapshot = state.snapshots.pop(args.id, None)
    if snapshot is None:
        return {"purged": False}
    state.snapshot_names.pop(r.name_key(snapshot["project"], snapshot["name"]), None)
    return {"purged": True}


COMMANDS = table(
    volume__pool=Command(PoolArgs, pool),
    volume__create=Command(CreateVolumeArgs, create),
    volume__observe=Command(ObserveVolumeArgs, observe),
    volume__resize=Command(ResizeVolumeArgs, resize),
    volume__attach=Command(AttachVolumeArgs, attach),
    volume__detach=Command(IdArgs, detach),
    volume__revert=Command(RevertVolumeArgs, revert),
    volume__delete=Command(DeleteVolumeArgs, delete),
    volume__purge=Command(IdArgs, purge),
    snapshot__create=Command(CreateSnapshotArgs, snapshot_create),
    snapshot__observe=Command(ObserveSnapshotArgs, snapshot_observe),
    snapshot__delete=Command(IdArgs, snapshot_delete),
    snapshot__purge=Command(IdArgs, snapshot_purge),
)

COLLECTIONS = ("volumes", "volume_names", "snapshots", "snapshot_names", "pools")
