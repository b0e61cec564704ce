"""The Docker Engine compute driver: one container per instance.

Containers are named ``thecloud-<instance id>`` and labelled with the instance id,
the owning agent, the instance's name and project and a keyed hash of its spec, so
that several agents can share one engine and a restarted agent recognises its own.
There is no registry: an image must already be on the host.

Tenant containers are confined (docs/security.md, finding 9): no engine network at
all (a VPC port is plugged in by the network driver; without a subnet there is only
lo), every capability dropped but the few ordinary software needs, no privilege
gain through setuid files, a pids limit, and a disk limit where the storage driver
can enforce one.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import math
import os
from typing import Iterator, Mapping

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig, Mount

from agent.compute.base import (RUNNING, STOPPED, Capability, ComputeDriver, InstanceSpec, Observed,
                                State)
from common.errors import NotFound, Unavailable

log = logging.getLogger(__name__)

LABEL_INSTANCE = "thecloud.instance-id"
LABEL_AGENT = "thecloud.agent"
LABEL_NAME = "thecloud.name"
LABEL_PROJECT = "thecloud.project"
LABEL_SPEC_HASH = "thecloud.spec-hash"

# What ordinary software needs of root: file ownership and modes, dropping to a user,
# binding ports below 1024 (httpd on 22 in the VPC tests), signals, and raw sockets for
# ping (harmless without a network; a VPC port filters spoofed frames). Docker's default
# set adds AUDIT_WRITE, MKNOD, SETFCAP, SETPCAP and SYS_CHROOT, none of which a tenant needs.
CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
                "NET_BIND_SERVICE", "NET_RAW")
DEFAULT_PIDS_LIMIT = 1024

_RESTART_POLICIES = {"never": "no", "on-failure": "on-failure", "always": "unless-stopped"}
_NO_TIME = "0001-01-01T00:00:00Z"


def container_name(agent_name: str, instance_id: str) -> str:
    """Unique per agent, so agents sharing one engine (tests) never collide, even when
    an instance moves from one of them to another."""
    return f"thecloud-{agent_name}-{instance_id}"


def instance_state(status: str, exit_code: int, oom_killed: bool, error: str,
                   desired_state: str | None) -> tuple[int, str]:
    """(InstanceState, reason) for a container in Docker state `status`.

    `desired_state` is what the agent last asked of it: an exited container that was
    meant to be stopped is STOPPED; one that stopped by itself is STOPPED on exit 0
    and FAILED otherwise, with the exit code (or the OOM kill) as the reason.
    """
    if status == "running":
        return State.INSTANCE_STATE_RUNNING, ""
    if status == "restarting":
        return State.INSTANCE_STATE_PENDING, f"restarting after exit code {exit_code}"
    if status == "paused":
        return State.INSTANCE_STATE_STOPPED, "paused"
    if status == "created":
        return State.INSTANCE_STATE_STOPPED, "created, not started"
    if status == "exited":
        if desired_state == STOPPED:
            return State.INSTANCE_STATE_STOPPED, "stopped"
        if oom_killed:
            return State.INSTANCE_STATE_FAILED, "killed: out of memory"
        if exit_code == 0:
            return State.INSTANCE_STATE_STOPPED, "exited with code 0"
        reason = f"exited with code {exit_code}"
        return State.INSTANCE_STATE_FAILED, f"{reason}: {error}" if error else reason
    if status == "removing":
        return State.INSTANCE_STATE_DELETING, "being removed"
    if status == "dead":
        return State.INSTANCE_STATE_FAILED, f"dead: {error}" if error else "dead"
    return State.INSTANCE_STATE_UNSPECIFIED, f"unknown engine state {status!r}"


def restarts(restart_policy: str, exit_code: int) -> bool:
    """Whether an instance that exited by itself with `exit_code` should run again."""
    return restart_policy == "always" or (restart_policy == "on-failure" and exit_code != 0)


def epoch_ms(timestamp: str | None) -> int:
    """Milliseconds since the epoch for Docker's RFC 3339 times (nanoseconds allowed); 0 for none."""
    if not timestamp or timestamp.startswith("0001-01-01"):
        return 0
    text = timestamp.rstrip("Z")
    offset = "+00:00"
    for sign in ("+", "-"):
        head, sep, tail = text.rpartition(sign)
        if sep and "T" in head and ":" in tail and len(tail) == 5:
            text, offset = head, sign + tail
            break
    if "." in text:
        whole, fraction = text.split(".", 1)
        text = f"{whole}.{fraction[:6]}"
    moment = dt.datetime.fromisoformat(text + offset)
    return int(moment.timestamp() * 1000)


def disk_limits_supported(info: Mapping) -> bool:
    """Whether the engine can cap a container's writable layer (`--storage-opt size`):
    overlay2 only on xfs (which must be mounted with pquota; Docker refuses the
    create otherwise, and the instance fails with its reason), btrfs and zfs always."""
    driver = info.get("Driver", "")
    status = dict(tuple(pair) for pair in info.get("DriverStatus") or () if len(pair) == 2)
    if driver == "overlay2":
        return status.get("Backing Filesystem") == "xfs"
    return driver in ("btrfs", "zfs")


def confinement_gap(host_config: Mapping) -> str:
    """What a container's HostConfig lacks of the confinement `_create` gives, "" for
    nothing. A container an older agent made (the default bridge, Docker's default
    capabilities) cannot be confined in place: it is recreated. A pids limit of
    another value is not a gap (a changed `container_pids_limit` applies to new ones)."""
    if host_config.get("NetworkMode") != "none":
        return f"network mode {host_config.get('NetworkMode')!r}"
    if not {"ALL", "CAP_ALL"} & set(host_config.get("CapDrop") or ()):
        return "capabilities not dropped"
    kept = {cap.removeprefix("CAP_") for cap in host_config.get("CapAdd") or ()}
    if not kept <= set(CAPABILITIES):
        return f"capabilities {', '.join(sorted(kept - set(CAPABILITIES)))}"
    if "no-new-privileges" not in (host_config.get("SecurityOpt") or ()):
        return "no no-new-privileges"
    if not (host_config.get("PidsLimit") or 0) > 0:
        return "no pids limit"
    return ""


@contextlib.contextmanager
def _engine_calls() -> Iterator[None]:
    """Engine down or not answering -> Unavailable (the caller retries)."""
    try:
        yield
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as err:
        raise Unavailable(f"the Docker Engine does not answer: {err}") from None


class DockerDriver(ComputeDriver):
    name = "docker"
    kind = "container"
    # Volumes are bind-mounted when the container is made; its VPC NIC goes into its netns.
    capabilities = Capability.VOLUME_MOUNTS | Capability.NETNS_PORTS

    def __init__(self, agent_name: str, base_url: str = "", stop_timeout: float = 10.0,
                 api_timeout: float = 60.0, spec_key: bytes | None = None,
                 pids_limit: int = DEFAULT_PIDS_LIMIT):
        self.agent_name = agent_name
        self.stop_timeout = stop_timeout
        # Without the agent's key (tests), one for this process: a restart recreates its containers.
        self.spec_key = spec_key or os.urandom(32)
        self.pids_limit = pids_limit
        try:
            if base_url:
                self._client = docker.DockerClient(base_url=base_url, version="auto",
                                                   timeout=api_timeout)
            else:
                self._client = docker.from_env(timeout=api_timeout)
            self._client.ping()
            self.disk_limits = disk_limits_supported(self._client.info())
        except (docker.errors.DockerException, requests.exceptions.RequestException) as err:
            raise Unavailable(f"cannot reach the Docker Engine: {err}") from None
        if not self.disk_limits:
            log.info("the engine's storage driver cannot limit a container's disk; "
                     "disk_bytes of containers is not enforced on this host")

    def close(self) -> None:
        self._client.close()

    def fingerprint(self) -> list[str]:
        return [f"compute:{self.name}"]

    def _own(self, container) -> bool:
        return container.labels.get(LABEL_AGENT) == self.agent_name

    def _find(self, instance_id: str):
        try:
            return self._client.containers.get(container_name(self.agent_name, instance_id))
        except docker.errors.NotFound:
            return None

    def _observe(self, container, desired_state: str | None) -> Observed:
        attrs = container.attrs
        state = attrs.get("State", {})
        status = state.get("Status", container.status)
        exit_code = int(state.get("ExitCode", 0) or 0)
        code, reason = instance_state(status, exit_code, bool(state.get("OOMKilled")),
                                      state.get("Error", "") or "", desired_state)
        labels = container.labels
        return Observed(
            instance_id=labels.get(LABEL_INSTANCE, ""), state=code, runtime_id=container.id,
            reason=reason, started_at_ms=epoch_ms(state.get("StartedAt")),
            finished_at_ms=epoch_ms(state.get("FinishedAt")) if status != "running" else 0,
            exit_code=exit_code if status != "running" else 0,
            spec_hash=labels.get(LABEL_SPEC_HASH, ""), labels=dict(labels))

    @staticmethod
    def _failed(instance_id: str, reason: str) -> Observed:
        return Observed(instance_id=instance_id, state=State.INSTANCE_STATE_FAILED, reason=reason)

    def _discard(self, container) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)

    def _create(self, instance_id: str, name: str, project: str, spec: InstanceSpec):
        labels = {LABEL_INSTANCE: instance_id, LABEL_AGENT: self.agent_name,
                  LABEL_NAME: name, LABEL_PROJECT: project, LABEL_SPEC_HASH: self.spec_hash(spec)}
        return self._client.containers.create(
            image=spec.image,
            command=list(spec.command) or None,
            name=container_name(self.agent_name, instance_id),
            hostname=name or None,
            labels=labels,
            environment=dict(spec.env),
            nano_cpus=spec.vcpus * 1_000_000_000,
            mem_limit=spec.memory_bytes,
            memswap_limit=spec.memory_bytes,
            restart_policy={"Name": _RESTART_POLICIES[spec.restart_policy]},
            # An init as PID 1 forwards SIGTERM, so a stop is quick and clean.
            init=True,
            # Docker adds nothing but lo; a VPC port's NIC is plugged in by the network
            # driver. Never the default bridge: it joins every project's containers and
            # reaches the host's own ports (metrics, the agent API).
            network_mode="none",
            pids_limit=self.pids_limit,
            cap_drop=["ALL"],
            cap_add=list(CAPABILITIES),
            security_opt=["no-new-privileges"],
            storage_opt={"size": str(spec.disk_bytes)} if self.disk_limits and spec.disk_bytes else None,
            # Volumes: filesystems the agent mounted on the host, bound in before the start.
            mounts=[Mount(target=inside, source=host_dir, type="bind")
                    for host_dir, inside in spec.mounts] or None,
            log_config=LogConfig(type="json-file", config={"max-size": "10m", "max-file": "3"}),
            detach=True,
        )

    def ensure(self, instance_id: str, name: str, project: str, spec: InstanceSpec,
               desired_state: str, was_desired: str | None = None) -> Observed:
        with _engine_calls():
            container = self._find(instance_id)
            if container is not None and not self._own(container):
                return self._failed(instance_id, f"container {container.name} belongs to agent "
                                                 f"{container.labels.get(LABEL_AGENT)!r}")
            if container is not None and not spec.hash_matches(
                    container.labels.get(LABEL_SPEC_HASH, ""), self.spec_key):
                log.info("spec of %s changed; recreating its container", instance_id,
                         extra={"instance_id": instance_id})
                self._discard(container)
                container = None
            gap = confinement_gap(container.attrs.get("HostConfig", {})) if container is not None else ""
            if gap:
                log.warning("container of %s is not confined (%s); recreating it", instance_id, gap,
                            extra={"instance_id": instance_id})
                self._discard(container)
                container = None

            created = False
            if container is None:
                try:
                    self._client.images.get(spec.image)
                except docker.errors.ImageNotFound:
                    return self._failed(instance_id, f"image {spec.image} not found on host")
                except docker.errors.APIError as err:
                    return self._failed(instance_id, f"image {spec.image}: {err.explanation or err}")
                try:
                    container = self._create(instance_id, name, project, spec)
                except docker.errors.APIError as err:
                    leftover = self._find(instance_id)
                    if leftover is not None and self._own(leftover):
                        self._discard(leftover)
                    return self._failed(instance_id, f"cannot create container: {err.explanation or err}")
                created = True
                log.info("created container %s for %s", container.short_id, instance_id,
                         extra={"instance_id": instance_id})

            status = container.status
            if desired_state == RUNNING:
                try:
                    if status == "created" or (status == "exited" and (
                            created or was_desired != RUNNING
                            or restarts(spec.restart_policy, container.attrs["State"].get("ExitCode", 0)))):
                        container.start()
                    elif status == "paused":
                        container.unpause()
                except docker.errors.APIError as err:
                    # A container that cannot start is not left behind half-made.
                    self._discard(container)
                    return self._failed(instance_id, f"cannot start container: {err.explanation or err}")
            elif status in ("running", "restarting", "paused"):
                try:
                    self._stop(container)
                except docker.errors.APIError as err:
                    container.reload()
                    observed = self._observe(container, desired_state)
                    return dataclasses.replace(observed, state=State.INSTANCE_STATE_FAILED,
                                               reason=f"cannot stop container: {err.explanation or err}")
            container.reload()
            return self._observe(container, desired_state)

    def _stop(self, container) -> None:
        container.stop(timeout=max(0, math.ceil(self.stop_timeout)))

    def remove(self, instance_id: str) -> bool:
        with _engine_calls():
            container = self._find(instance_id)
            if container is None or not self._own(container):
                return False
            if container.status in ("running", "restarting", "paused"):
                with contextlib.suppress(docker.errors.APIError):
                    self._stop(container)
            self._discard(container)
            log.info("removed container %s of %s", container.short_id, instance_id,
                     extra={"instance_id": instance_id})
            return True

    def list(self, desired_states: Mapping[str, str] | None = None) -> list[Observed]:
        desired_states = desired_states or {}
        with _engine_calls():
            containers = self._client.containers.list(
                all=True, filters={"label": [f"{LABEL_AGENT}={self.agent_name}"]},
                ignore_removed=True)
            observed = []
            for container in containers:
                instance_id = container.labels.get(LABEL_INSTANCE, "")
                if instance_id and container.name == container_name(self.agent_name, instance_id):
                    observed.append(self._observe(container, desired_states.get(instance_id)))
            return observed

    def observe(self, instance_id: str, desired_state: str | None = None) -> Observed | None:
        with _engine_calls():
            container = self._find(instance_id)
            if container is None or not self._own(container):
                return None
            return self._observe(container, desired_state)

    def sandbox_pid(self, instance_id: str) -> int | None:
        with _engine_calls():
            container = self._find(instance_id)
            if container is None or not self._own(container):
                return None
            state = container.attrs.get("State", {})
            return int(state.get("Pid") or 0) if state.get("Running") else None

    def images(self) -> list[str]:
        with _engine_calls():
            references: set[str] = set()
            for image in self._client.images.list():
                for tag in image.tags:
                    references.add(tag)
                    if tag.endswith(":latest"):
                        references.add(tag[: -len(":latest")])
            return sorted(references)

    def logs(self, instance_id: str, tail_lines: int = 0) -> bytes:
        with _engine_calls():
            container = self._find(instance_id)
            if container is None or not self._own(container):
                raise NotFound(f"instance {instance_id} has no container on this host")
            return container.logs(stdout=True, stderr=True, tail=tail_lines or "all")
