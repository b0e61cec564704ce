"""Volume, snapshot and pool records to protobuf messages."""
from __future__ import annotations

from proto.v1 import storage_pb2, volume_pool_pb2, volumes_pb2 as vpb
from scheduler.api.meta_convert import meta_pb
from scheduler.state import volumes as v

_STATES = {v.CREATING: vpb.VOLUME_STATE_CREATING, v.AVAILABLE: vpb.VOLUME_STATE_AVAILABLE,
           v.DELETING: vpb.VOLUME_STATE_DELETING, v.ERROR: vpb.VOLUME_STATE_ERROR}


def volume_pb(record: dict, state) -> vpb.Volume:
    instance = v.attached_instance(state, record)
    snapshot = state.snapshots.get(record.get("source_snapshot_id", ""), {})
    status = _STATES.get(record["state"], vpb.VOLUME_STATE_UNSPECIFIED)
    if instance is not None and record["state"] == v.AVAILABLE:
        status = vpb.VOLUME_STATE_IN_USE
    elif v.reverting(record) and record["state"] == v.AVAILABLE:
        status = vpb.VOLUME_STATE_REVERTING
    return vpb.Volume(
        meta=meta_pb(record), size_bytes=record["size_bytes"], used_bytes=record.get("used_bytes", 0),
        host_id=record["host_id"], host_name=state.hosts.get(record["host_id"], {}).get("name", ""),
        state=status, reason=record.get("reason", ""),
        attached_to=instance["name"] if instance else "", attached_to_id=instance["id"] if instance else "",
        attach_path=record.get("attach_path", "") if instance else "",
        source_snapshot=snapshot.get("name", record.get("source_snapshot_id", "")),
        observed_size_bytes=record.get("observed_size_bytes", 0),
        snapshots=sum(1 for s in state.snapshots.values() if s["volume_id"] == record["id"]))


def snapshot_pb(record: dict, state) -> vpb.Snapshot:
    volume = state.volumes.get(record["volume_id"], {})
    return vpb.Snapshot(
        meta=meta_pb(record), volume=volume.get("name", ""), volume_id=record["volume_id"],
        size_bytes=record["size_bytes"], host_id=record["host_id"],
        host_name=state.hosts.get(record["host_id"], {}).get("name", ""),
        state=_STATES.get(record["state"], vpb.VOLUME_STATE_UNSPECIFIED), reason=record.get("reason", ""))


def pool_pb(host_id: str, pool: dict, state, overcommit: float) -> vpb.StoragePool:
    return vpb.StoragePool(host_id=host_id, host_name=state.hosts.get(host_id, {}).get("name", ""),
                           driver=pool["driver"], total_bytes=pool["total_bytes"],
                           used_bytes=pool["used_bytes"], provisioned_bytes=v.provisioned(state, host_id),
                           overcommit=overcommit)


def host_pool_pb(state, host_id: str, overcommit: float) -> volume_pool_pb2.HostVolumePool | None:
    """The host's volume pool for Host.volume_pool; None when its agent reported none."""
    pool = state.pools.get(host_id)
    if not pool:
        return None
    return volume_pool_pb2.HostVolumePool(
        driver=pool["driver"], total_bytes=pool["total_bytes"], used_bytes=pool["used_bytes"],
        provisioned_bytes=v.provisioned(state, host_id), overcommit=overcommit,
        volumes=sum(1 for x in state.volumes.values() if x["host_id"] == host_id))


def attachments_pb(spec: dict) -> list[storage_pb2.VolumeAttachment]:
    """The instance spec's volumes, for InstanceSpec.volumes."""
    return [storage_pb2.VolumeAttachment(volume=item.get("volume", ""), volume_id=item["volume_id"],
                                         path=item["path"]) for item in spec.get("volumes", [])]
