"""State-machine records to protobuf messages."""
from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from proto.v1 import resources_pb2 as pb
from scheduler.state import records as r

_INSTANCE_STATES = {
    r.PENDING: pb.INSTANCE_STATE_PENDING, r.RUNNING: pb.INSTANCE_STATE_RUNNING,
    r.STOPPED: pb.INSTANCE_STATE_STOPPED, r.FAILED: pb.INSTANCE_STATE_FAILED,
    r.DELETING: pb.INSTANCE_STATE_DELETING, r.LOST: pb.INSTANCE_STATE_LOST,
}
_STATE_NAMES = {value: key for key, value in _INSTANCE_STATES.items()}


def timestamp(ms: int) -> Timestamp | None:
    if not ms:
        return None
    ts = Timestamp()
    ts.FromMilliseconds(int(ms))
    return ts


def state_to_pb(state: str) -> int:
    return _INSTANCE_STATES.get(state, pb.INSTANCE_STATE_UNSPECIFIED)


def state_from_pb(value: int) -> str:
    return _STATE_NAMES.get(value, r.FAILED)


def resources_pb(res: dict) -> pb.Resources:
    return pb.Resources(vcpus=res.get("vcpus", 0), memory_bytes=res.get("memory_bytes", 0),
                        disk_bytes=res.get("disk_bytes", 0))


def resources_from_pb(msg: pb.Resources) -> dict:
    return r.resources(msg.vcpus, msg.memory_bytes, msg.disk_bytes)


def meta_pb(record: dict, project: str = "") -> pb.Meta:
    return pb.Meta(id=record["id"], name=record["name"], project=record.get("project", project),
                   labels=record.get("labels", {}), revision=record.get("revision", 0),
                   created_at=timestamp(record.get("created_ms", 0)),
                   updated_at=timestamp(record.get("updated_ms", 0)))


def spec_pb(spec: dict) -> pb.InstanceSpec:
    return pb.InstanceSpec(kind=spec.get("kind", "container"), image=spec.get("image", ""),
                           vcpus=spec.get("vcpus", 0), memory_bytes=spec.get("memory_bytes", 0),
                           disk_bytes=spec.get("disk_bytes", 0), command=spec.get("command", []),
                           env=spec.get("env", {}), restart_policy=spec.get("restart_policy", "never"),
                           host_labels=spec.get("host_labels", {}))


def instance_pb(record: dict, hosts: dict) -> pb.Instance:
    host = hosts.get(record["host_id"], {})
    return pb.Instance(
        meta=meta_pb(record), spec=spec_pb(record["spec"]), desired_state=record["desired_state"],
        state=state_to_pb(record["state"]), host_id=record["host_id"], host_name=host.get("name", ""),
        reason=record.get("reason", ""), runtime_id=record.get("runtime_id", ""),
        started_at=timestamp(record.get("started_ms", 0)),
        finished_at=timestamp(record.get("finished_ms", 0)), exit_code=record.get("exit_code", 0))


def usage_pb(usage: dict) -> pb.Usage:
    return pb.Usage(**{k: v for k, v in usage.items() if k in pb.Usage.DESCRIPTOR.fields_by_name})


def host_pb(record: dict) -> pb.Host:
    state = pb.HOST_STATE_UP if record.get("state") == r.HOST_UP else pb.HOST_STATE_DOWN
    return pb.Host(
        meta=meta_pb(record), address=record.get("address", ""),
        capacity=resources_pb(record.get("capacity", {})),
        allocated=resources_pb(record.get("allocated", {})),
        usage=usage_pb(record.get("usage", {})), drivers=record.get("drivers", []), state=state,
        last_heartbeat=timestamp(record.get("last_heartbeat_ms", 0)),
        agent_version=record.get("agent_version", ""), reason=record.get("reason", ""),
        images=record.get("images", []))
