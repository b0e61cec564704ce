"""The narrow interface every compute driver implements, and the data it speaks."""
from __future__ import annotations

import abc
import enum
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Mapping

from agent.compute.vmdisk import VolumeDisk
from agent.compute.vmspec import VmSpec
from common.errors import FailedPrecondition
from proto.v1 import agent_pb2, node_pb2, resources_pb2

RUNNING = "running"
STOPPED = "stopped"
DESIRED_STATES = (RUNNING, STOPPED)
RESTART_POLICIES = ("never", "on-failure", "always")

State = resources_pb2.InstanceState


class Capability(enum.Flag):
    """What a compute driver can do beyond the ComputeDriver basics. A driver declares
    its own (`ComputeDriver.capabilities`); callers check them (`supports`, `require`)
    instead of probing for methods."""

    NONE = 0
    REBOOT = enum.auto()          # reboot a running instance in place: reboot()
    VOLUME_MOUNTS = enum.auto()   # volumes bound in as directories when it is made: InstanceSpec.mounts
    DISK_HOTPLUG = enum.auto()    # volumes as disks plugged into it while it runs: InstanceSpec.disks
    DISK_GROWTH = enum.auto()     # a running instance sees its volume disk grow: grow_volume_disk()
    NETNS_PORTS = enum.auto()     # a VPC NIC goes into its network namespace: sandbox_pid()


# What a driver without the capability cannot do, for the error.
_CANNOT = {Capability.REBOOT: "reboot instances", Capability.VOLUME_MOUNTS: "mount volumes",
           Capability.DISK_HOTPLUG: "hot-plug volume disks", Capability.DISK_GROWTH: "grow volume disks",
           Capability.NETNS_PORTS: "put a VPC NIC into an instance's namespace"}


@dataclass(frozen=True)
class InstanceSpec:
    """What an instance should be, in the driver's terms (the proto's InstanceSpec, checked)."""

    image: str
    vcpus: int
    memory_bytes: int
    disk_bytes: int = 0
    command: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    restart_policy: str = "never"
    kind: str = "container"
    vpc_port: bool = False           # a VPC NIC is plugged in by the network driver: no engine networking
    mounts: tuple[tuple[str, str], ...] = ()   # (host directory, path inside): mounted volumes
    vm: VmSpec | None = None         # kind "vm": image, user-data, keys
    # Kind "vm": volumes as virtio disks. Not in spec_hash: they are hot-plugged, not a new domain.
    disks: tuple[VolumeDisk, ...] = ()
    # Some env values came from secrets (the leader filled them in): the unkeyed hash of
    # an older agent must not be taken for this spec's (see hash_matches).
    carries_secrets: bool = False

    @classmethod
    def from_proto(cls, spec: agent_pb2.HostInstanceSpec) -> "InstanceSpec":
        """From the call's host spec (agent/host_spec.py), before the servicer adds what
        only this host knows: mounted volumes, VM disks, the NIC's bridge and tap."""
        return cls(image=spec.image, vcpus=spec.vcpus, memory_bytes=spec.memory_bytes,
                   disk_bytes=spec.disk_bytes, command=tuple(spec.command),
                   env=tuple(sorted(spec.env.items())),
                   restart_policy=spec.restart_policy or "never", kind=spec.kind or "container",
                   vpc_port=spec.vpc_port,
                   vm=VmSpec.from_proto(spec) if spec.kind == "vm" else None,
                   carries_secrets=spec.env_from_secrets)

    def _canonical(self) -> bytes:
        return json.dumps({
            "kind": self.kind, "image": self.image, "vcpus": self.vcpus,
            "memory_bytes": self.memory_bytes, "disk_bytes": self.disk_bytes,
            "command": list(self.command), "env": [list(pair) for pair in self.env],
            "restart_policy": self.restart_policy,
            # Only when set, so that the hash of every instance without a port stays as it was.
            **({"vpc_port": True} if self.vpc_port else {}),
            **({"mounts": [list(pair) for pair in self.mounts]} if self.mounts else {}),
            **({"vm": self.vm.digest()} if self.vm else {}),
        }, sort_keys=True, separators=(",", ":")).encode()

    def spec_hash(self, key: bytes) -> str:
        """A stable digest of everything that needs a new runtime object when it changes:
        HMAC-SHA256 under the agent's key (agent/compute/spec_key.py), because it covers
        env values filled from secrets and is stored where others read it (labels)."""
        if not key:
            raise ValueError("spec_hash needs the agent's spec key")
        return hmac.new(key, self._canonical(), hashlib.sha256).hexdigest()[:16]

    def legacy_spec_hash(self) -> str:
        """The unkeyed digest agents wrote before the key existed."""
        return hashlib.sha256(self._canonical()).hexdigest()[:16]

    def hash_matches(self, stored: str, key: bytes) -> bool:
        """Whether a runtime object labelled `stored` was made from this spec. An object of an
        older agent carries the unkeyed digest: it is adopted as it is unless the spec holds
        secret values, whose guessable digest must not outlive the upgrade (it is recreated)."""
        stored_bytes = stored.encode()
        if hmac.compare_digest(stored_bytes, self.spec_hash(key).encode()):
            return True
        return not self.carries_secrets and hmac.compare_digest(stored_bytes,
                                                                self.legacy_spec_hash().encode())


@dataclass(frozen=True)
class Observed:
    """What the driver sees of one instance right now."""

    instance_id: str
    state: int                       # resources_pb2.InstanceState
    runtime_id: str = ""
    reason: str = ""
    started_at_ms: int = 0
    finished_at_ms: int = 0
    exit_code: int = 0
    spec_hash: str = ""
    cpu_time_ns: int = 0             # VMs: sampled every few seconds
    memory_used_bytes: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_proto(self) -> node_pb2.ObservedInstance:
        return node_pb2.ObservedInstance(
            instance_id=self.instance_id, state=self.state, runtime_id=self.runtime_id,
            reason=self.reason, started_at_ms=self.started_at_ms,
            finished_at_ms=self.finished_at_ms, exit_code=self.exit_code,
            cpu_time_ns=self.cpu_time_ns, memory_used_bytes=self.memory_used_bytes)


class ComputeDriver(abc.ABC):
    """Runs instances on this host. Every method is idempotent and keyed by instance id.

    A driver only ever sees the objects it created for its own agent (several agents
    may share one engine), and never raises for a workload's failure: a workload that
    cannot run comes back as an Observed in state FAILED with a reason. It raises
    CloudError (e.g. Unavailable) only when the engine itself cannot be reached.
    """

    name: str
    kind: str = ""       # the instance kind it runs: "container", "vm"
    spec_key: bytes      # the agent's spec-hash key (agent/compute/spec_key.py)
    capabilities: Capability = Capability.NONE

    def supports(self, capability: Capability) -> bool:
        """Whether the driver can do all of `capability`."""
        return capability in self.capabilities

    def require(self, capability: Capability) -> None:
        """FailedPrecondition naming what the driver cannot do when it lacks any of `capability`."""
        missing = [cap for cap in Capability if cap and cap in capability and cap not in self.capabilities]
        if missing:
            raise FailedPrecondition(f"this host's compute driver ({self.name}) cannot "
                                     + ", ".join(_CANNOT[cap] for cap in missing))

    def for_kind(self, kind: str) -> "ComputeDriver | None":
        """The driver that runs instances of `kind` here, or None."""
        return self if kind == self.kind else None

    def spec_hash(self, spec: InstanceSpec) -> str:
        """The hash this driver tags `spec`'s runtime object with."""
        return spec.spec_hash(self.spec_key)

    @abc.abstractmethod
    def ensure(self, instance_id: str, name: str, project: str, spec: InstanceSpec,
               desired_state: str, was_desired: str | None = None) -> Observed:
        """Make the instance exist with `spec` and be in `desired_state`.

        Already so: nothing is touched. Spec changed: recreated. A create or start
        that fails leaves nothing behind. `was_desired` is the desired state the agent
        last acted on (None for a new instance): an instance that exited by itself
        while it was meant to run is started again only when its restart policy says
        so ("always"; "on-failure" after a non-zero exit), otherwise reported as it is;
        a move from stopped to running always starts it.
        """

    @abc.abstractmethod
    def remove(self, instance_id: str) -> bool:
        """Stop and delete the instance; whether it existed."""

    @abc.abstractmethod
    def list(self, desired_states: Mapping[str, str] | None = None) -> list[Observed]:
        """Every instance of this agent on the host; `desired_states` helps name why one stopped."""

    @abc.abstractmethod
    def observe(self, instance_id: str, desired_state: str | None = None) -> Observed | None:
        """The instance as it is now, or None when the host has no such instance."""

    @abc.abstractmethod
    def logs(self, instance_id: str, tail_lines: int = 0) -> bytes:
        """Its console output (stdout and stderr); the last `tail_lines` lines, all when 0.

        Raises NotFound when the host has no such instance."""

    @abc.abstractmethod
    def images(self) -> list[str]:
        """Image references this host can start without a download, as users write them."""

    @abc.abstractmethod
    def fingerprint(self) -> list[str]:
        """Capabilities to report at join, e.g. ["compute:docker"]."""

    def sandbox_pid(self, instance_id: str) -> int | None:
        """A pid inside the running instance's network namespace (where its VPC NIC goes);
        None when it is not running or the driver has no such thing (no NETNS_PORTS)."""
        return None

    def reboot(self, instance_id: str, hard: bool = False) -> None:
        """Reboot the running instance (REBOOT): ACPI, or a reset at once with `hard`.
        NotFound when the host has no such instance; FailedPrecondition without REBOOT."""
        self.require(Capability.REBOOT)
        raise NotImplementedError(f"{self.name} declares REBOOT but does not implement it")

    def grow_volume_disk(self, instance_id: str, volume_id: str, size_bytes: int) -> bool:
        """Have the running instance see its volume disk at `size_bytes` (DISK_GROWTH);
        False when it is not running or has no such disk."""
        self.require(Capability.DISK_GROWTH)
        raise NotImplementedError(f"{self.name} declares DISK_GROWTH but does not implement it")

    def close(self) -> None:
        """Let go of the engine connection; the driver is not used afterwards."""
