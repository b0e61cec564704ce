"""Scheduler membership changes under a steady write load: remove a dead member,
refuse a removal that would lose quorum, add the member back from an empty disk.
The agent refuses the removed member's certificate (the cluster's deny-list reaches
it with heartbeats) and obeys it again once it is added back."""
import shutil
import signal
import threading
import time

import grpc
import pytest

from cli.client import ClusterClient, RetryPolicy
from cli.errors import RpcFailure
from common.grpcserve import secure_channel
from common.tls import TlsFiles, role_name
from proto.v1 import agent_pb2, agent_pb2_grpc, operations_pb2, public_pb2, resources_pb2 as pb

MiB = 1024**2


class LabelWriter:
    """Relabels one instance in a loop; remembers what was acknowledged."""

    def __init__(self, cluster, name):
        self.client = ClusterClient(cluster.aio.endpoints, TlsFiles.in_dir(cluster.home / "tls", "admin"),
                                    write_policy=RetryPolicy(call_timeout=3.0, budget=20.0))
        self.name, self.acknowledged, self.failures = name, [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        n = 0
        while not self.stop.is_set() and n < 2000:
            instance = pb.Instance()
            instance.meta.name = self.name
            instance.meta.labels["n"] = str(n)
            request = public_pb2.UpdateInstanceRequest(instance=instance)
            request.update_mask.paths.append("meta.labels")
            try:
                self.client.call("Instances", "UpdateInstance", request, write=True)
                self.acknowledged.append(n)
            except RpcFailure as err:
                self.failures.append((n, err.code.name, str(err)))
            n += 1
            time.sleep(0.05)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=60)
        self.client.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_client, busybox_image):
    from ops_harness import running_cluster
    with running_cluster(tmp_path_factory.mktemp("members"), docker_client) as cluster:
        yield cluster


def agent_answers(cluster, scheduler: str):
    """What the agent answers a call made with `scheduler`'s certificate."""
    files = TlsFiles.in_dir(cluster.home / "tls", scheduler)
    with secure_channel(cluster.aio.agent.api, files,
                        server_name=role_name("agent", cluster.aio.agent_name)) as channel:
        try:
            agent_pb2_grpc.AgentStub(channel).GetInfo(agent_pb2.GetAgentInfoRequest(), timeout=10)
        except grpc.RpcError as err:
            return err.code(), err.details()
    return grpc.StatusCode.OK, ""


def wait_agent_answers(cluster, scheduler: str, code, timeout=30):
    deadline = time.monotonic() + timeout
    while (answer := agent_answers(cluster, scheduler))[0] != code:
        assert time.monotonic() < deadline, f"the agent answers {scheduler}: {answer}"
        time.sleep(0.5)
    return answer


def members(cluster):
    status = cluster.status()
    return {m.name: m for m in status.members}


def test_membership_change_under_load(cluster):
    aio = cluster.aio
    cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name="load", spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                                          command=["sleep", "3600"])), write=True)
    leader = cluster.leader()
    followers = [n for n in ("sched-1", "sched-2", "sched-3") if n != leader]
    gone, kept = followers
    writer = LabelWriter(cluster, "load")
    try:
        time.sleep(1.0)
        with pytest.raises(RpcFailure) as bad:
            cluster.call("Operations", "AddMember", operations_pb2.AddMemberRequest(
                name="sched-9", api_address="nowhere", raft_address="127.0.0.1:1"))
        assert bad.value.code == grpc.StatusCode.INVALID_ARGUMENT and "api_address" in str(bad.value)
        with pytest.raises(RpcFailure) as exists:
            node = aio.nodes[kept]
            cluster.call("Operations", "AddMember", operations_pb2.AddMemberRequest(
                name=kept, api_address=node.api, raft_address=node.raft))
        assert exists.value.code == grpc.StatusCode.ALREADY_EXISTS
        with pytest.raises(RpcFailure) as unknown:
            cluster.call("Operations", "RemoveMember", operations_pb2.RemoveMemberRequest(name="sched-9"))
        assert unknown.value.code == grpc.StatusCode.NOT_FOUND

        assert agent_answers(cluster, gone)[0] == grpc.StatusCode.OK     # a member: obeyed
        aio.stop_node(gone, signal.SIGKILL)
        # With `gone` dead, removing `kept` would leave {leader, gone}: 1 of 2 reachable.
        deadline = time.monotonic() + 20
        while True:
            try:
                cluster.call("Operations", "RemoveMember", operations_pb2.RemoveMemberRequest(name=kept))
                pytest.fail(f"removing {kept} while {gone} is down must be refused")
            except RpcFailure as err:
                if err.code == grpc.StatusCode.FAILED_PRECONDITION:
                    assert "quorum" in str(err)
                    break
                assert time.monotonic() < deadline, err   # the leader may still see gone as connected
                time.sleep(0.5)
        assert kept in members(cluster)

        cluster.call("Operations", "RemoveMember", operations_pb2.RemoveMemberRequest(name=gone),
                     timeout=30)
        assert set(members(cluster)) == {leader, kept}
        refused = wait_agent_answers(cluster, gone, grpc.StatusCode.UNAUTHENTICATED)
        assert "certificate revoked" in refused[1] and gone in refused[1]
        assert agent_answers(cluster, kept)[0] == grpc.StatusCode.OK
        time.sleep(1.0)
        acknowledged_while_two = len(writer.acknowledged)

        # Back from an empty disk: add it to the quorum, then start it.
        shutil.rmtree(aio.data_path(gone) / "raft", ignore_errors=True)
        node = aio.nodes[gone]
        cluster.call("Operations", "AddMember", operations_pb2.AddMemberRequest(
            name=gone, api_address=node.api, raft_address=node.raft), timeout=30)
        aio.start_node(gone)
        wait_agent_answers(cluster, gone, grpc.StatusCode.OK)     # readmitted: a newer deny-list
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = members(cluster)
            if gone in status and status[gone].reachable and status[leader].reachable and \
                    status[gone].applied_index >= status[leader].commit_index - 50 > 0:
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"{gone} did not catch up: {members(cluster)}")
        time.sleep(1.0)
    finally:
        writer.close()
    assert not writer.failures, writer.failures[:3]
    assert len(writer.acknowledged) > acknowledged_while_two > 10
    final = cluster.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name="load", consistent=True))
    assert final.meta.labels["n"] == str(writer.acknowledged[-1])
    assert sorted(members(cluster)) == ["sched-1", "sched-2", "sched-3"]
    assert all(m.reachable for m in members(cluster).values())
