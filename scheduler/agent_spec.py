"""What the leader asks an agent to run: an instance record as an EnsureInstanceRequest.

The agent gets a HostInstanceSpec (agent.proto): what its drivers need and nothing
of placement or of the names behind secrets and subnets, with the values the leader
resolves for this one call filled in — secret env values (scheduler/secrets/
delivery.py), a VM's secret files and VPC NIC (scheduler/secrets/vm_delivery.py).
`host_spec()` is pure over the record and those values; `ensure_request()` resolves
them from the store.

Rolling upgrades: agents of release 0.1 read only the public InstanceSpec in `spec`
and the VM extras beside it, so in release 0.2 the request carries those too
(`legacy_fields`, exactly what a 0.1 agent reads); release 0.3 drops them
(docs/agent-contract.md).
"""
from __future__ import annotations

from typing import Iterable, Mapping

from proto.v1 import agent_pb2, resources_pb2, storage_pb2, vm_guest_pb2
from scheduler.secrets.delivery import env_from_secrets
from scheduler.secrets.vm_delivery import guest_nic, secret_files as vm_secret_files
from scheduler.vm_image_pb import vm_image_pb


def host_spec(instance: dict, secret_env: Mapping[str, str] | None = None,
              secret_files: Iterable[vm_guest_pb2.GuestFile] = (),
              nic: vm_guest_pb2.GuestNic | None = None) -> agent_pb2.HostInstanceSpec:
    """The HostInstanceSpec of `instance` (a record), with `secret_env` (variable ->
    value) over its plain env, and a VM's secret files and NIC."""
    spec = instance["spec"]
    kind = spec.get("kind", "container")
    env = {**spec.get("env", {}), **(secret_env or {})}
    host = agent_pb2.HostInstanceSpec(
        kind=kind, image=spec.get("image", ""), vcpus=spec.get("vcpus", 0),
        memory_bytes=spec.get("memory_bytes", 0), disk_bytes=spec.get("disk_bytes", 0),
        command=spec.get("command", []), env=env, restart_policy=spec.get("restart_policy", "never"),
        env_from_secrets=bool(spec.get("secret_env")), vpc_port=bool(spec.get("subnet")),
        volumes=[agent_pb2.HostVolume(volume_id=item["volume_id"], path=item["path"])
                 for item in spec.get("volumes", [])])
    if kind == "vm":
        if spec.get("vm_image"):
            host.vm_image.CopyFrom(vm_image_pb(spec["vm_image"]))
        host.user_data = spec.get("user_data", "")
        host.ssh_keys.extend(spec.get("ssh_keys", []))
        host.secret_files.extend(secret_files)
        if nic is not None:
            host.nic.CopyFrom(nic)
    return host


def legacy_fields(instance: dict, host: agent_pb2.HostInstanceSpec) -> dict:
    """The EnsureInstanceRequest fields a release 0.1 agent reads instead of host_spec:
    the public InstanceSpec with what such an agent reads of it, and a VM's secret
    files and NIC. Goes in release 0.3."""
    spec = instance["spec"]
    legacy = resources_pb2.InstanceSpec(
        kind=host.kind, image=host.image, vcpus=host.vcpus, memory_bytes=host.memory_bytes,
        disk_bytes=host.disk_bytes, command=host.command, env=host.env,
        restart_policy=host.restart_policy, subnet=spec.get("subnet", ""),
        secret_env=spec.get("secret_env", {}),
        volumes=[storage_pb2.VolumeAttachment(volume=item.get("volume", ""), volume_id=item["volume_id"],
                                              path=item["path"]) for item in spec.get("volumes", [])],
        user_data=host.user_data, ssh_keys=host.ssh_keys)
    fields: dict = {"spec": legacy}
    if host.HasField("vm_image"):
        legacy.vm_image.CopyFrom(host.vm_image)
    if host.secret_files:
        fields["secret_files"] = list(host.secret_files)
    if host.HasField("nic"):
        fields["nic"] = host.nic
    return fields


def ensure_request(store, secret_file, instance: dict, fence: agent_pb2.Fence) -> agent_pb2.EnsureInstanceRequest:
    """The call that makes `instance` so on its host; FailedPrecondition names a secret
    that is gone or cannot be read."""
    vm = instance["spec"].get("kind") == "vm"
    host = host_spec(instance, env_from_secrets(store, secret_file, instance),
                     vm_secret_files(store, secret_file, instance) if vm else (),
                     guest_nic(store, instance) if vm else None)
    return agent_pb2.EnsureInstanceRequest(
        fence=fence, instance_id=instance["id"], name=instance["name"], project=instance["project"],
        desired_state=instance["desired_state"], host_id=instance["host_id"], host_spec=host,
        **legacy_fields(instance, host))
