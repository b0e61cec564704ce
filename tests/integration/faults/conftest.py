"""A cluster per fault module, with a short host TTL so host loss shows quickly."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))

from cluster_harness import running_cluster  # noqa: E402


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_client, busybox_image):
    with running_cluster(tmp_path_factory.mktemp("aio-faults"), docker_client,
                         scheduler_overrides={"host_down_after": 5.0}) as cluster:
        yield cluster
