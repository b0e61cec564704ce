"""The agent joins and heartbeats to a scheduler (a small recording Node server stands in for it)."""
from __future__ import annotations

import threading
import time

import grpc
import pytest

from common.grpcserve import make_server
from proto.v1 import agent_pb2, node_pb2, node_pb2_grpc, resources_pb2
from tests.conftest import free_port
from tests.integration.agent.agent_calls import ensure, new_instance_id, wait_for

State = resources_pb2.InstanceState


class RecordingNode(node_pb2_grpc.NodeServicer):
    def __init__(self, interval_ms: int = 200):
        self.interval_ms = interval_ms
        self.joins: list[node_pb2.JoinRequest] = []
        self.heartbeats: list[node_pb2.HeartbeatRequest] = []
        self.forget_host = threading.Event()
        self._lock = threading.Lock()

    def Join(self, request, context):
        with self._lock:
            self.joins.append(request)
            host_id = f"h-test{len(self.joins)}"
        return node_pb2.JoinResponse(host_id=host_id, heartbeat_interval_ms=self.interval_ms)

    def Heartbeat(self, request, context):
        if self.forget_host.is_set():
            self.forget_host.clear()
            context.abort(grpc.StatusCode.NOT_FOUND, f"host {request.host_id} not found")
        with self._lock:
            self.heartbeats.append(request)
        return node_pb2.HeartbeatResponse(heartbeat_interval_ms=self.interval_ms)


@pytest.fixture
def scheduler(scheduler_tls):
    node = RecordingNode()
    address = f"127.0.0.1:{free_port()}"
    server = make_server(address, scheduler_tls, max_workers=4)
    node_pb2_grpc.add_NodeServicer_to_server(node, server)
    server.start()
    node.address = address
    yield node
    server.stop(0).wait()


def test_agent_joins_heartbeats_with_usage_and_instances_and_rejoins(start_agent, scheduler):
    unreachable = f"127.0.0.1:{free_port()}"
    agent = start_agent(schedulers=[unreachable, scheduler.address], heartbeat_interval=5.0,
                        labels={"zone": "a"}, capacity_vcpus=8)

    assert wait_for(lambda: scheduler.joins, timeout=15), agent.log()
    join = scheduler.joins[0]
    assert join.host_name == agent.name
    assert join.address == agent.address
    assert join.capacity.vcpus == 8 and join.capacity.memory_bytes > 0 and join.capacity.disk_bytes > 0
    assert list(join.drivers) == ["compute:docker"]
    assert dict(join.labels) == {"zone": "a"}
    assert join.agent_version
    assert "thecloud/busybox:test" in join.images

    stub = agent.stub()
    iid = new_instance_id()
    stub.EnsureInstance(ensure(iid, command=["sleep", "1000"]))

    def beat_with_instance():
        for beat in reversed(scheduler.heartbeats):
            if any(i.instance_id == iid for i in beat.instances):
                return beat
        return None

    # The scheduler asked for 200 ms although the agent's own interval is 5 s.
    beat = wait_for(beat_with_instance, timeout=5)
    assert beat is not None, agent.log()
    assert beat.host_id == "h-test1"
    assert beat.usage.memory_total_bytes > 0 and beat.usage.memory_used_bytes > 0
    assert beat.usage.disk_total_bytes > 0 and beat.usage.cpu_percent >= 0
    assert beat.capacity.vcpus == 8
    assert "thecloud/busybox:test" in beat.images
    [instance] = [i for i in beat.instances if i.instance_id == iid]
    assert instance.state == State.INSTANCE_STATE_RUNNING and instance.runtime_id
    assert stub.GetInfo(agent_pb2.GetAgentInfoRequest()).host_id == "h-test1"

    scheduler.forget_host.set()
    assert wait_for(lambda: len(scheduler.joins) >= 2, timeout=10), agent.log()
    assert wait_for(lambda: scheduler.heartbeats[-1].host_id == "h-test2", timeout=5)
    assert stub.GetInfo(agent_pb2.GetAgentInfoRequest()).host_id == "h-test2"


def test_agent_keeps_serving_while_no_scheduler_answers(start_agent):
    agent = start_agent(schedulers=[f"127.0.0.1:{free_port()}"])
    time.sleep(1.5)
    info = agent.stub().GetInfo(agent_pb2.GetAgentInfoRequest())
    assert info.host_name == agent.name and info.host_id == ""
    assert agent.proc.poll() is None
