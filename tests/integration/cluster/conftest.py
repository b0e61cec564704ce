"""A whole all-in-one cluster (3 schedulers, 1 agent) in a temporary home, per module."""
import pytest

from cluster_harness import running_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_client, busybox_image):
    with running_cluster(tmp_path_factory.mktemp("aio"), docker_client) as cluster:
        yield cluster
