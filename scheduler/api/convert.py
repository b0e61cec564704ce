"""State-machine records to protobuf messages."""
from __future__ import annotations

from proto.v1 import resources_pb2 as pb
from scheduler.api import network_convert
from scheduler.api.meta_convert import meta_pb, timestamp  # noqa: F401  (re-exported for the servicers)
from scheduler.api import volume_convert
from scheduler.observed import state_from_pb, state_to_pb  # noqa: F401  (the API's converters use them)
from scheduler.state import records as r
from scheduler.vm_image_pb import vm_image_pb


def resources_pb(res: dict) -> pb.Resources:
    return pb.Resources(vcpus=res.get("vcpus", 0), memory_bytes=res.get("memory_bytes", 0),
                        disk_bytes=res.get("disk_bytes", 0))


def resources_from_pb(msg: pb.Resources) -> dict:
    return r.resources(msg.vcpus, msg.memory_bytes, msg.disk_bytes)


def spec_pb(spec: dict) -> pb.InstanceSpec:
    return pb.InstanceSpec(kind=spec.get("kind", "container"), image=spec.get("image", ""),
                           vcpus=spec.get("vcpus", 0), memory_bytes=spec.get("memory_bytes", 0),
                           disk_bytes=spec.get("disk_bytes", 0), command=spec.get("command", []),
                           env=spec.get("env", {}), restart_policy=spec.get("restart_policy", "never"),
                           host_labels=spec.get("host_labels", {}),
                           subnet=spec.get("subnet", ""), ip=spec.get("ip", ""),
                           security_groups=spec.get("security_groups", []),
                           constraints=spec.get("constraints", []), group=spec.get("group", ""),
                           strategy=spec.get("strategy", ""),
                           secret_env=spec.get("secret_env", {}),
                           secret_files=spec.get("secret_files", {}),
                           volumes=volume_convert.attachments_pb(spec),
                           user_data=spec.get("user_data", ""), ssh_keys=spec.get("ssh_keys", []),
                           vm_image=_vm_image_pb(spec))


def _vm_image_pb(spec: dict):
    return vm_image_pb(spec["vm_image"]) if spec.get("vm_image") else None


def instance_pb(record: dict, hosts: dict) -> pb.Instance:
    host = hosts.get(record["host_id"], {})
    return pb.Instance(
        meta=meta_pb(record), spec=spec_pb(record["spec"]), desired_state=record["desired_state"],
        state=state_to_pb(record["state"]), host_id=record["host_id"], host_name=host.get("name", ""),
        reason=record.get("reason", ""), runtime_id=record.get("runtime_id", ""),
        started_at=timestamp(record.get("started_ms", 0)),
        finished_at=timestamp(record.get("finished_ms", 0)), exit_code=record.get("exit_code", 0),
        cpu_time_ns=record.get("cpu_time_ns", 0), memory_used_bytes=record.get("memory_used_bytes", 0),
        port=network_convert.instance_port_pb(record["port"]) if record.get("port") else None)


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
        images=record.get("images", []), vtep=record.get("vtep", ""),
        schedulable=record.get("schedulable", "active"), unhealthy=record.get("unhealthy", ""))
