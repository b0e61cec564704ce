"""Concurrent clients against the public API while a fault is injected; then the
history checker verifies that every promise held. Each run is bounded and stops
by itself."""
import json
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))

from cluster_harness import agent_containers  # noqa: E402
from fault_harness import check, run_workload  # noqa: E402
from proto.v1 import resources_pb2 as pb  # noqa: E402

SESSIONS = 3
SECONDS = 5.0


def _leader(cluster):
    return cluster.leader()


def _follower(cluster):
    leader = cluster.leader()
    return next(m.name for m in cluster.status().members if m.name != leader)


SCENARIOS = {
    "leader-kill": lambda c: c.aio.stop_node(_leader(c), signal.SIGKILL),
    "follower-kill": lambda c: c.aio.stop_node(_follower(c), signal.SIGKILL),
    "agent-kill": lambda c: c.aio.stop_node(c.aio.agent_name, signal.SIGKILL),
}


def converge(cluster, docker_client, timeout=90):
    """Wait until every instance runs and Docker runs nothing else of this agent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        instances = cluster.instances()
        ids = {i.meta.id for i in instances}
        running = [c for c in agent_containers(docker_client, cluster.aio.agent_name) if c.status == "running"]
        running_ids = [c.labels["thecloud.instance-id"] for c in running]
        if all(i.state == pb.INSTANCE_STATE_RUNNING for i in instances) and sorted(running_ids) == sorted(ids):
            return instances
        time.sleep(0.5)
    return cluster.instances()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_history_holds_under_fault(cluster, docker_client, scenario):
    seed = list(SCENARIOS).index(scenario) + 1
    history = run_workload(cluster, SESSIONS, SECONDS, lambda: SCENARIOS[scenario](cluster),
                           fault_after=2.0, seed=seed)
    for name in [cluster.aio.agent_name] + [m.name for m in cluster.status().members]:
        cluster.aio.start_node(name)   # bring back whatever the fault stopped
    cluster.aio.wait_healthy(60)
    instances = converge(cluster, docker_client)
    containers = agent_containers(docker_client, cluster.aio.agent_name)
    problems = check(history, instances, containers, {cluster.aio.agent_name: cluster.aio.agent_name})
    counts = {**history.counts(), "lost": sum("lost" in p for p in problems), "scenario": scenario}
    print(json.dumps(counts))
    assert history.counts()["acknowledged"] > 10, counts
    assert not problems, problems
