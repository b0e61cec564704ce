"""The AgentVolumes API: the scheduler leader's volume decisions, carried out on this host's pool.

Calls are validated, fenced by the caller's Raft term, and handed to
`HostVolumes` (agent/storage/host.py); storage errors become gRPC statuses here.
`attach_volumes` is the hook the instance servicer calls around a container's
start and removal, so the volume is mounted before the container starts.
"""
from __future__ import annotations

import contextlib
import dataclasses
import re
from typing import Iterator

from agent.compute.base import Capability, ComputeDriver, InstanceSpec
from agent.compute.vmdisk import VolumeDisk
from agent.fencing import TermFence
from agent.host_spec import RequestedSpec
from agent.storage import base as storage
from agent.storage.host import HostVolumes
from common import errors
from common.errors import InvalidArgument, rpc_errors
from proto.v1 import agent_pb2, volumes_pb2, volumes_pb2_grpc

_ID_RE = re.compile(r"^[a-z]-[0-9a-f]{4,32}\Z")


@contextlib.contextmanager
def storage_errors() -> Iterator[None]:
    """StorageError -> the CloudError the caller can act on."""
    try:
        yield
    except storage.NotFound as err:
        raise errors.NotFound(str(err)) from None
    except storage.NoSpace as err:
        raise errors.ResourceExhausted(str(err)) from None
    except storage.Busy as err:
        raise errors.FailedPrecondition(str(err)) from None
    except storage.InvalidRequest as err:
        raise InvalidArgument("request", str(err)) from None
    except storage.StorageError as err:
        raise errors.Internal(f"storage: {err}") from None


def _check_id(value: str, field: str) -> str:
    if not _ID_RE.match(value or ""):
        raise InvalidArgument(field, f"{value!r} is not a volume or snapshot id")
    return value


def attach_volumes(volumes: HostVolumes | None, instance_id: str, requested: RequestedSpec,
                   spec: InstanceSpec, driver: ComputeDriver | None) -> InstanceSpec:
    """`spec` with the host spec's volumes mounted on the host and bound into the
    instance (`mounts`), or as a VM's disks; `driver` runs the instance's kind here.
    FailedPrecondition when this host cannot give the instance its volumes."""
    field = requested.field
    wanted = [(_check_id(item.volume_id, field("volumes.volume_id")), item.path)
              for item in requested.spec.volumes]
    if not wanted:
        return spec
    if volumes is None:
        raise errors.FailedPrecondition("this agent has no storage driver for volumes")
    if driver is None:
        raise errors.FailedPrecondition(f"this host runs no instances of kind {spec.kind!r}")
    if driver.supports(Capability.DISK_HOTPLUG):
        return vm_disks(volumes, instance_id, [volume_id for volume_id, _ in wanted], spec)
    driver.require(Capability.VOLUME_MOUNTS)
    for _, path in wanted:
        if not path.startswith("/"):
            raise InvalidArgument(field("volumes.path"), f"{path!r} is not an absolute path")
    with storage_errors():
        binds = volumes.mount_for(instance_id, wanted)
    return dataclasses.replace(spec, mounts=tuple(binds))


def vm_disks(volumes: HostVolumes, instance_id: str, volume_ids: list[str], spec: InstanceSpec) -> InstanceSpec:
    """`spec` with the volumes as the virtio disks the libvirt driver hot-plugs (`disks`)."""
    with storage_errors():
        opened = volumes.open_for_vm(instance_id, volume_ids)
    return dataclasses.replace(spec, disks=tuple(
        VolumeDisk(volume_id, disk.path, disk.source_type, disk.format) for volume_id, disk in opened))


def vm_disk_grower(driver: ComputeDriver):
    """The compute driver's hook that lets a running VM see its volume grow, or None when
    it cannot (no DISK_GROWTH: e.g. docker alone)."""
    return driver.grow_volume_disk if driver.supports(Capability.DISK_GROWTH) else None


def settle_volumes(volumes: HostVolumes | None, instance_id: str,
                   host_spec: agent_pb2.HostInstanceSpec) -> None:
    """After the instance converged: unmount what it no longer has."""
    if volumes is not None:
        with storage_errors():
            volumes.settle(instance_id, {item.volume_id for item in host_spec.volumes})


def release_volumes(volumes: HostVolumes | None, instance_id: str) -> None:
    if volumes is not None:
        with storage_errors():
            volumes.release(instance_id)


class AgentVolumesServicer(volumes_pb2_grpc.AgentVolumesServicer):
    def __init__(self, volumes: HostVolumes, fence: TermFence):
        self.volumes = volumes
        self.fence = fence

    @staticmethod
    def _volume_pb(item) -> volumes_pb2.ObservedVolume:
        return volumes_pb2.ObservedVolume(volume_id=item.volume_id, state=item.state, size_bytes=item.size_bytes,
                                          used_bytes=item.used_bytes, revert_generation=item.revert_generation,
                                          attached_to=item.attached_to, reason=item.reason)

    @staticmethod
    def _snapshot_pb(item) -> volumes_pb2.ObservedSnapshot:
        return volumes_pb2.ObservedSnapshot(snapshot_id=item.snapshot_id, volume_id=item.volume_id,
                                            state=item.state, size_bytes=item.size_bytes, reason=item.reason)

    @rpc_errors
    def EnsureVolume(self, request, context):
        _check_id(request.volume_id, "volume_id")
        if request.size_bytes <= 0:
            raise InvalidArgument("size_bytes", f"must be positive, not {request.size_bytes}")
        if request.source_snapshot_id:
            _check_id(request.source_snapshot_id, "source_snapshot_id")
        if request.revert_snapshot_id:
            _check_id(request.revert_snapshot_id, "revert_snapshot_id")
        self.fence.admit(request.fence.term, request.fence.leader)
        with storage_errors():
            observed = self.volumes.ensure_volume(
                request.volume_id, request.size_bytes, request.source_snapshot_id,
                request.revert_snapshot_id, request.revert_generation)
        return self._volume_pb(observed)

    @rpc_errors
    def RemoveVolume(self, request, context):
        _check_id(request.volume_id, "volume_id")
        self.fence.admit(request.fence.term, request.fence.leader)
        with storage_errors():
            return volumes_pb2.RemoveStoredResponse(existed=self.volumes.remove_volume(request.volume_id))

    @rpc_errors
    def EnsureSnapshot(self, request, context):
        _check_id(request.snapshot_id, "snapshot_id")
        _check_id(request.volume_id, "volume_id")
        self.fence.admit(request.fence.term, request.fence.leader)
        with storage_errors():
            return self._snapshot_pb(self.volumes.ensure_snapshot(request.snapshot_id, request.volume_id))

    @rpc_errors
    def RemoveSnapshot(self, request, context):
        _check_id(request.snapshot_id, "snapshot_id")
        self.fence.admit(request.fence.term, request.fence.leader)
        with storage_errors():
            return volumes_pb2.RemoveStoredResponse(existed=self.volumes.remove_snapshot(request.snapshot_id))

    @rpc_errors
    def ListVolumes(self, request, context):
        with storage_errors():
            volumes, snapshots, pool = self.volumes.observe()
        return volumes_pb2.ListAgentVolumesResponse(
            volumes=[self._volume_pb(v) for v in volumes], snapshots=[self._snapshot_pb(s) for s in snapshots],
            pool=volumes_pb2.AgentPool(driver=pool.driver, total_bytes=pool.total_bytes,
                                       used_bytes=pool.used_bytes))
