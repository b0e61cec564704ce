"""Checks of volume input in the public API; each failure names the field."""
from __future__ import annotations

from common.errors import FailedPrecondition, InvalidArgument, NotFound
from scheduler.state import volumes as v

MAX_VOLUME_BYTES = 64 * 1024**4
MAX_ATTACHMENTS = 16
DEFAULT_PATH = "/data"
VM_PATH_PREFIX = "/dev/disk/by-id/virtio-"     # virtio-blk serial = volume id (20 bytes at most)


def vm_path(volume_id: str) -> str:
    """Where a VM's guest finds the volume: its disk's serial is the volume id."""
    return VM_PATH_PREFIX + volume_id[:20]


def attach_path(kind: str, requested: str, volume_id: str) -> str:
    """The attachment's path: a container's mount point, or for a VM the disk's by-id path
    (a VM mounts its disks itself; a path asked for a VM is refused, not silently dropped)."""
    if kind != "vm":
        return v.check_path(requested or DEFAULT_PATH)
    if requested and requested != vm_path(volume_id):
        raise InvalidArgument("path", f"a VM sees the volume as {vm_path(volume_id)} (a virtio disk); "
                                      "mount it inside the guest, give no path")
    return vm_path(volume_id)


def size(value: int, field: str = "size_bytes", allow_zero: bool = False) -> int:
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidArgument(field, f"must be positive, not {value}")
    if value > MAX_VOLUME_BYTES:
        raise InvalidArgument(field, f"must be at most 64 TiB, not {value} bytes")
    return value


def instance_volumes(spec) -> dict:
    """{"volumes": [{"volume", "path"}]} from an InstanceSpec message; {} when it has none."""
    if not spec.volumes:
        return {}
    if len(spec.volumes) > MAX_ATTACHMENTS:
        raise InvalidArgument("spec.volumes", f"at most {MAX_ATTACHMENTS} volumes")
    items = []
    for item in spec.volumes:
        if not item.volume:
            raise InvalidArgument("spec.volumes.volume", "is required")
        items.append({"volume": item.volume, "path": v.check_path(item.path or DEFAULT_PATH,
                                                                  "spec.volumes.path")})
    return {"volumes": items}


def find_volume(state, project: str, ref: str, field: str = "volume") -> dict:
    if not ref:
        raise InvalidArgument(field, "is required")
    volume = state.volumes.get(ref)
    if volume is None or volume["project"] != project:
        volume = state.volumes.get(state.volume_names.get(f"{project}/{ref}", ""))
    if volume is None:
        raise NotFound(f"volume {ref!r} not found in project {project!r}")
    return volume


def find_snapshot(state, project: str, ref: str, field: str = "snapshot") -> dict:
    if not ref:
        raise InvalidArgument(field, "is required")
    snapshot = state.snapshots.get(ref)
    if snapshot is None or snapshot["project"] != project:
        snapshot = state.snapshots.get(state.snapshot_names.get(f"{project}/{ref}", ""))
    if snapshot is None:
        raise NotFound(f"snapshot {ref!r} not found in project {project!r}")
    return snapshot


def resolve_volumes(state, project: str, spec: dict) -> dict:
    """The spec with its volumes' ids (on a read view); the planner keeps the instance on
    the host that holds them (`_volume_host` in scheduler/placement/planner.py)."""
    if not spec.get("volumes"):
        return spec
    resolved, hosts = [], set()
    for item in spec["volumes"]:
        volume = find_volume(state, project, item["volume"], "spec.volumes.volume")
        path = vm_path(volume["id"]) if spec.get("kind") == "vm" else item["path"]
        resolved.append({"volume": volume["name"], "volume_id": volume["id"], "path": path})
        hosts.add(volume["host_id"])
    if len(hosts) > 1:
        raise FailedPrecondition("the instance's volumes live on different hosts")
    return {**spec, "volumes": resolved}
