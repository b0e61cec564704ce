"""One all-in-one cluster per module, logging JSON so the request-id test can read it."""
import pytest

from ops_harness import running_cluster


@pytest.fixture(scope="module")
def ops_cluster(tmp_path_factory, docker_client, busybox_image):
    with running_cluster(tmp_path_factory.mktemp("ops"), docker_client,
                         scheduler_overrides={"log_json": True, "log_level": "debug"},
                         agent_overrides={"log_json": True}) as cluster:
        yield cluster
