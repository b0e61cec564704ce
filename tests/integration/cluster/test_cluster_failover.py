"""Kill -9 the leader while clients create instances: nothing acknowledged is lost,
nothing is placed twice, and Docker runs nothing the cluster has no record of."""
import signal
import threading
import time

from cli.client import ClusterClient, RetryPolicy
from cli.errors import RpcFailure
from common.tls import TlsFiles
from proto.v1 import public_pb2, resources_pb2 as pb
from cluster_harness import agent_containers

MiB = 1024**2
CLIENTS = 4
RUN_SECONDS = 6.0


def _creator(cluster, worker: int, acknowledged: dict, failures: list, stop: threading.Event):
    client = ClusterClient(cluster.aio.endpoints, TlsFiles.in_dir(cluster.home / "tls", "admin"),
                           write_policy=RetryPolicy(call_timeout=3.0, budget=20.0))
    n = 0
    try:
        while not stop.is_set():
            name = f"w{worker}-{n}"
            request = public_pb2.CreateInstanceRequest(
                name=name, request_id=f"failover-{name}",
                spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                                     command=["sleep", "3600"]))
            try:
                reply = client.call("Instances", "CreateInstance", request, write=True)
                acknowledged[name] = reply.meta.id
            except RpcFailure as err:
                failures.append((name, err.code.name, str(err)))
            n += 1
            time.sleep(0.4)
    finally:
        client.close()


def test_concurrent_creates_survive_a_leader_kill(cluster, docker_client):
    leader = cluster.leader()
    acknowledged: dict[str, str] = {}
    failures: list = []
    stop = threading.Event()
    workers = [threading.Thread(target=_creator, args=(cluster, w, acknowledged, failures, stop))
               for w in range(CLIENTS)]
    for worker in workers:
        worker.start()
    time.sleep(1.5)
    cluster.aio.stop_node(leader, signal.SIGKILL)
    killed_at = time.monotonic()
    time.sleep(RUN_SECONDS)
    stop.set()
    for worker in workers:
        worker.join(timeout=60)

    new_leader = cluster.leader()
    assert new_leader != leader
    assert time.monotonic() - killed_at < 60
    assert len(acknowledged) >= CLIENTS * 5, f"too few creates acknowledged: {len(acknowledged)} {failures[:3]}"

    # Every acknowledged create is there, with the id the client was given, exactly once.
    instances = cluster.instances()
    by_name = {}
    for instance in instances:
        assert instance.meta.name not in by_name, f"{instance.meta.name} listed twice"
        by_name[instance.meta.name] = instance
    for name, instance_id in acknowledged.items():
        assert name in by_name, f"acknowledged create {name} lost"
        assert by_name[name].meta.id == instance_id
    assert len({i.meta.id for i in instances}) == len(instances)

    # The killed node comes back and catches up.
    cluster.aio.start_node(leader)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        members = {m.name: m for m in cluster.status().members}
        if members[leader].reachable and members[leader].applied_index >= max(
                m.applied_index for m in members.values()) - 5:
            break
        time.sleep(0.3)
    else:
        raise AssertionError(f"{leader} did not catch up: {members}")

    # Converged: every instance runs, once, and Docker has nothing without a record.
    expected = {i.meta.id for i in cluster.instances() if i.meta.name.startswith("w")}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        states = {i.meta.id: i.state for i in cluster.instances() if i.meta.id in expected}
        running = {c.labels["thecloud.instance-id"] for c in agent_containers(
            docker_client, cluster.aio.agent_name) if c.status == "running"}
        if all(s == pb.INSTANCE_STATE_RUNNING for s in states.values()) and running >= expected:
            break
        time.sleep(0.5)
    containers = agent_containers(docker_client, cluster.aio.agent_name)
    ids = [c.labels["thecloud.instance-id"] for c in containers]
    assert len(ids) == len(set(ids)), "an instance runs in more than one container"
    recorded = {i.meta.id for i in cluster.instances()}
    assert set(ids) <= recorded, f"containers without a record: {set(ids) - recorded}"
    assert expected <= set(ids), f"instances never started: {expected - set(ids)}"
