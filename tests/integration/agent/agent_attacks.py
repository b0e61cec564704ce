"""Calls an intruder makes on an agent: every method of every Agent* service."""
from __future__ import annotations

import uuid

import grpc
import pytest

from common.grpcserve import secure_channel
from proto.v1 import (agent_pb2, agent_pb2_grpc, images_pb2, images_pb2_grpc, networks_pb2,
                      networks_pb2_grpc, volumes_pb2, volumes_pb2_grpc)
from tests.integration.agent.agent_calls import ensure, new_instance_id

HUGE_TERM = 2**63
LOOPBACK_SANS = ["127.0.0.1", "localhost"]
MiB = 1024 * 1024


def fence(term: int) -> agent_pb2.Fence:
    return agent_pb2.Fence(term=term, leader="intruder")


def new_volume_id() -> str:
    return f"v-{uuid.uuid4().hex[:16]}"


def attacks(victim: str, volume: str, term: int) -> list[tuple[type, str, object]]:
    """(stub class, method, request) for every method of every Agent* service."""
    own = new_instance_id()
    steal = ensure(victim, command=["sleep", "1000"], term=term)
    steal.host_spec.volumes.add(volume_id=volume, path="/stolen")
    mine = ensure(own, command=["sh", "-c", "echo any command"], term=term)
    return [
        (agent_pb2_grpc.AgentStub, "EnsureInstance", mine),
        (agent_pb2_grpc.AgentStub, "EnsureInstance", steal),
        (agent_pb2_grpc.AgentStub, "RemoveInstance",
         agent_pb2.RemoveInstanceRequest(fence=fence(term), instance_id=victim)),
        (agent_pb2_grpc.AgentStub, "ListInstances", agent_pb2.ListAgentInstancesRequest()),
        (agent_pb2_grpc.AgentStub, "InstanceLogs", agent_pb2.AgentInstanceLogsRequest(instance_id=victim)),
        (agent_pb2_grpc.AgentStub, "GetInfo", agent_pb2.GetAgentInfoRequest()),
        (volumes_pb2_grpc.AgentVolumesStub, "EnsureVolume",
         volumes_pb2.EnsureVolumeRequest(fence=fence(term), volume_id=new_volume_id(), size_bytes=MiB)),
        (volumes_pb2_grpc.AgentVolumesStub, "RemoveVolume",
         volumes_pb2.RemoveVolumeRequest(fence=fence(term), volume_id=volume)),
        (volumes_pb2_grpc.AgentVolumesStub, "EnsureSnapshot",
         volumes_pb2.EnsureSnapshotRequest(fence=fence(term), snapshot_id=new_volume_id().replace("v-", "s-"),
                                           volume_id=volume)),
        (volumes_pb2_grpc.AgentVolumesStub, "RemoveSnapshot",
         volumes_pb2.RemoveSnapshotRequest(fence=fence(term), snapshot_id="s-0123456789abcdef")),
        (volumes_pb2_grpc.AgentVolumesStub, "ListVolumes", volumes_pb2.ListAgentVolumesRequest()),
        (networks_pb2_grpc.AgentNetworkStub, "EnsureHostNetwork",
         networks_pb2.EnsureHostNetworkRequest(fence=fence(term))),
        (images_pb2_grpc.AgentMachinesStub, "Reboot",
         images_pb2.AgentRebootRequest(fence=fence(term), instance_id=victim, hard=True)),
    ]


def call_all(address: str, server_name: str, tls, calls) -> list[tuple[str, grpc.RpcError]]:
    """Every call's error (each call must fail), with its method."""
    errors = []
    with secure_channel(address, tls, server_name=server_name) as channel:
        for stub_class, method, request in calls:
            with pytest.raises(grpc.RpcError) as err:
                getattr(stub_class(channel), method)(request, timeout=10)
            errors.append((method, err.value))
    return errors
