"""One IAM-enabled all-in-one cluster per module."""
import pytest

from iam_harness import SCHEDULER_OVERRIDES, running_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_client, busybox_image):
    with running_cluster(tmp_path_factory.mktemp("iam"), docker_client,
                         scheduler_overrides=SCHEDULER_OVERRIDES) as cluster:
        yield cluster
