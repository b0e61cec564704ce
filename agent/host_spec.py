"""The spec of an EnsureInstance call, whichever way its scheduler sent it.

A scheduler of release 0.2 or later sends `host_spec` (agent.proto's
HostInstanceSpec: only what a host needs). One of release 0.1 sends the public
InstanceSpec in `spec`, with a VM's secret files and NIC beside it in the request;
`requested()` turns that into the same HostInstanceSpec, so everything after it
(checks, drivers, the spec hash) reads one message. The legacy half goes in release
0.3 (docs/agent-contract.md).
"""
from __future__ import annotations

from dataclasses import dataclass

from common.errors import InvalidArgument
from proto.v1 import agent_pb2

# HostInstanceSpec field -> where a legacy request carries it, for error messages.
_LEGACY_FIELDS = {"env_from_secrets": "spec.secret_env", "vpc_port": "spec.subnet",
                  "secret_files": "secret_files", "nic": "nic"}


@dataclass(frozen=True)
class RequestedSpec:
    """The host spec of one call, and whether it came in the legacy fields."""

    spec: agent_pb2.HostInstanceSpec
    legacy: bool = False

    def field(self, name: str) -> str:
        """`name` (a HostInstanceSpec field path, e.g. "nic.mac") as the caller sent it,
        so that InvalidArgument names a field the caller knows."""
        if not self.legacy:
            return f"host_spec.{name}"
        head, dot, rest = name.partition(".")
        return _LEGACY_FIELDS.get(head, f"spec.{head}") + dot + rest


def requested(request: agent_pb2.EnsureInstanceRequest) -> RequestedSpec:
    """The call's HostInstanceSpec: `host_spec` when set, else made from the legacy
    fields; InvalidArgument when the call carries neither."""
    if request.HasField("host_spec"):
        return RequestedSpec(request.host_spec)
    if request.HasField("spec"):
        return RequestedSpec(from_legacy(request), legacy=True)
    raise InvalidArgument("host_spec", "is required")


def from_legacy(request: agent_pb2.EnsureInstanceRequest) -> agent_pb2.HostInstanceSpec:
    """What a release 0.1 scheduler's request means, as a HostInstanceSpec. Only the
    fields a 0.1 agent read are taken, so the instance keeps its spec hash."""
    spec = request.spec
    host = agent_pb2.HostInstanceSpec(
        kind=spec.kind, image=spec.image, vcpus=spec.vcpus, memory_bytes=spec.memory_bytes,
        disk_bytes=spec.disk_bytes, command=spec.command, env=spec.env,
        restart_policy=spec.restart_policy, env_from_secrets=bool(spec.secret_env),
        vpc_port=bool(spec.subnet),
        volumes=[agent_pb2.HostVolume(volume_id=item.volume_id, path=item.path) for item in spec.volumes],
        user_data=spec.user_data, ssh_keys=spec.ssh_keys, secret_files=request.secret_files)
    if spec.HasField("vm_image"):
        host.vm_image.CopyFrom(spec.vm_image)
    if request.HasField("nic"):
        host.nic.CopyFrom(request.nic)
    return host
