"""Requests and waits the agent's integration tests share."""
from __future__ import annotations

import time
import uuid

import docker

from proto.v1 import agent_pb2, resources_pb2
from tests.conftest import BUSYBOX_IMAGE

State = resources_pb2.InstanceState
MiB = 1024 * 1024
HTTPD = ["httpd", "-f", "-p", "8080"]


def new_instance_id() -> str:
    return f"i-{uuid.uuid4().hex[:16]}"


def ensure(instance_id: str, command=HTTPD, desired: str = "running", term: int = 1,
           image: str = BUSYBOX_IMAGE, vcpus: int = 1, memory: int = 64 * MiB,
           name: str = "web", env: dict | None = None, disk: int = 0,
           legacy: bool = False) -> agent_pb2.EnsureInstanceRequest:
    """An EnsureInstance call as a scheduler makes it: the host spec, or with `legacy` the
    public InstanceSpec alone, as a release 0.1 scheduler sent it."""
    fields = dict(image=image, vcpus=vcpus, memory_bytes=memory, command=list(command), env=env or {},
                  disk_bytes=disk)
    spec = {"spec": resources_pb2.InstanceSpec(**fields)} if legacy \
        else {"host_spec": agent_pb2.HostInstanceSpec(kind="container", restart_policy="never", **fields)}
    return agent_pb2.EnsureInstanceRequest(
        fence=agent_pb2.Fence(term=term, leader="test-scheduler"), instance_id=instance_id,
        name=name, project="default", desired_state=desired, **spec)


def container_of(docker_client, instance_id: str):
    """The container of `instance_id`, found by its label (its name also carries the agent's)."""
    found = docker_client.containers.list(all=True, filters={"label": f"thecloud.instance-id={instance_id}"})
    if not found:
        raise docker.errors.NotFound(f"no container for {instance_id}")
    return found[0]


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
