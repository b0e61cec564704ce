"""A whole all-in-one cluster (3 schedulers, 1 agent) in a temporary home, per module."""
import pytest

from cli.allinone import AllInOne
from cluster_harness import Cluster, free_base_port


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_client, busybox_image):
    home = tmp_path_factory.mktemp("aio")
    aio = AllInOne(home, free_base_port(), agent_overrides={"capacity_vcpus": 64})
    try:
        aio.up(wait=True)
    except Exception:
        aio.down()
        raise
    cluster = Cluster(aio, home)
    yield cluster
    cluster.client.close()
    aio.down()
    agent_label = {"thecloud.agent": aio.agent_name}
    for container in docker_client.containers.list(all=True, filters={"label": [
            f"{k}={v}" for k, v in agent_label.items()]}):
        container.remove(force=True)

