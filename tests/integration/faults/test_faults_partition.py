"""A scheduler partitioned from the others (its link cut, its processes alive)
cannot commit anything; the majority carries on; after the partition heals the
minority catches up, and no client ever saw an acknowledged write disappear."""
import json
import shutil
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))

from cli.errors import RpcFailure  # noqa: E402
from cluster_harness import Cluster, agent_containers  # noqa: E402
from fault_harness import check, run_workload  # noqa: E402
from partition_harness import NetnsCluster  # noqa: E402
from proto.v1 import public_pb2, resources_pb2 as pb  # noqa: E402
from tests.conftest import engine_missing, free_port  # noqa: E402

MINORITY_WRITE = """
import sys
from pathlib import Path
from cli.client import ClusterClient, RetryPolicy
from cli.errors import RpcFailure
from common.tls import TlsFiles
from proto.v1 import public_pb2, resources_pb2 as pb
client = ClusterClient([{endpoint!r}], TlsFiles.in_dir(Path({tls!r}), "admin"),
                       write_policy=RetryPolicy(call_timeout=2.0, budget=6.0))
request = public_pb2.CreateInstanceRequest(name="minority", request_id="minority-write",
    spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 << 20, command=["sleep", "3600"]))
try:
    client.call("Instances", "CreateInstance", request, write=True)
    print("ACKNOWLEDGED")
except RpcFailure as err:
    print("REFUSED", err.code.name)  # any error: not acknowledged
"""


class _Aio:
    """What the workload and the harness helpers need of a launcher."""

    def __init__(self, cluster: NetnsCluster):
        self.endpoints = cluster.endpoints
        self.agent_name = cluster.agent_name
        self.home = cluster.home


@pytest.fixture
def partitioned(tmp_path, docker_client, busybox_image):
    if not shutil.which("ip"):
        engine_missing("iproute2 (ip) is needed for network namespaces")
    cluster = NetnsCluster(tmp_path, free_port())
    try:
        cluster.build_network()
    except Exception as err:  # noqa: BLE001
        cluster.destroy_network()
        engine_missing(f"cannot build network namespaces: {err}")
    cluster.prepare()
    for name in cluster.names + [cluster.agent_name]:
        cluster.start(name)
    client = Cluster(_Aio(cluster), tmp_path)
    try:
        yield cluster, client
    finally:
        client.client.close()
        cluster.stop_all()
        cluster.destroy_network()
        for container in agent_containers(docker_client, cluster.agent_name):
            container.remove(force=True)


def _healthy(client, cluster, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = client.status()
            if status.leader and all(m.reachable for m in status.members) and status.hosts_up == 1:
                return status
        except Exception:  # noqa: BLE001 - still starting
            pass
        time.sleep(0.3)
    raise AssertionError(f"cluster not healthy; see logs in {cluster.home / 'log'}")


def test_partitioned_leader_commits_nothing_and_catches_up(partitioned, docker_client):
    cluster, client = partitioned
    leader = _healthy(client, cluster).leader

    history = run_workload(client, sessions=3, seconds=8.0, fault=lambda: cluster.partition(leader),
                           fault_after=2.0, seed=7)
    # The cut-off node, from inside its namespace, cannot get a write committed.
    result = cluster.run_in(leader, MINORITY_WRITE.format(
        endpoint=f"{cluster.address[leader]}:7100", tls=str(cluster.home / "tls")))
    assert "REFUSED" in result.stdout, (result.stdout, result.stderr[-2000:])
    status = client.status()
    assert status.leader and status.leader != leader, "the majority did not elect a new leader"
    # Nothing the cut-off node was asked to do got committed: the majority has no trace of it.
    with pytest.raises(RpcFailure) as err:
        client.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name="minority", consistent=True))
    assert err.value.code.name == "NOT_FOUND"
    during = [op for op in history.ops if op.kind == "create" and op.ok and op.start > 2.5 + history.ops[0].start]
    assert during, "the majority side acknowledged no write during the partition"

    cluster.heal(leader)
    deadline = time.monotonic() + 60
    while True:
        members = {m.name: m for m in client.status().members}
        top = max(m.applied_index for m in members.values())
        if members[leader].reachable and members[leader].applied_index >= top:
            break
        assert time.monotonic() < deadline, f"{leader} did not catch up: {members}"
        time.sleep(0.3)

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        instances = client.instances()
        if all(i.state == pb.INSTANCE_STATE_RUNNING for i in instances):
            break
        time.sleep(0.5)
    # The minority write's outcome was unknown to its client (a deadline, not a refusal):
    # once healed, the cut-off node may still carry it through the new leader. Either
    # way it is one instance, placed once — the checker below sees to that.
    problems = check(history, instances, agent_containers(docker_client, cluster.agent_name),
                     {cluster.agent_name: cluster.agent_name})
    print(json.dumps({**history.counts(), "lost": sum("lost" in p for p in problems)}))
    assert not problems, problems
