"""Driving a whole all-in-one cluster from tests: a client that tries every scheduler, waits."""
from __future__ import annotations

import contextlib
import time

from cli import allinone_ports  # noqa: E402
from cli.allinone import AllInOne
from cli.client import ClusterClient
from common.tls import TlsFiles
from proto.v1 import public_pb2, resources_pb2 as pb


def free_base_port() -> int:
    return allinone_ports.free_base_port()


class Cluster:
    def __init__(self, aio: AllInOne, home):
        self.aio = aio
        self.home = home
        self.client = ClusterClient(aio.endpoints, TlsFiles.in_dir(home / "tls", "admin"))

    def call(self, service, method, request, **kw):
        return self.client.call(service, method, request, **kw)

    def status(self):
        return self.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest())

    def leader(self) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = self.status()
            if status.leader:
                return status.leader
            time.sleep(0.1)
        raise AssertionError("no leader elected")

    def instances(self, consistent=False):
        return self.client.list_all("Instances", "ListInstances", public_pb2.ListInstancesRequest(),
                                    "instances").instances

    def wait_instance(self, name, states=(pb.INSTANCE_STATE_RUNNING,), timeout=60):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name))
            if last.state in states:
                return last
            time.sleep(0.2)
        raise AssertionError(f"instance {name} did not reach {states}: {last}")



def agent_containers(docker_client, agent_name):
    return docker_client.containers.list(all=True, filters={"label": [f"thecloud.agent={agent_name}"]},
                                        ignore_removed=True)


@contextlib.contextmanager
def running_cluster(home, docker_client, scheduler_overrides=None, agent_overrides=None):
    """Start a cluster in `home`; stop it and remove its containers afterwards."""
    aio = AllInOne(home, free_base_port(), scheduler_overrides=scheduler_overrides,
                   agent_overrides={"capacity_vcpus": 64, **(agent_overrides or {})})
    try:
        aio.up(wait=True)
        cluster = Cluster(aio, home)
        yield cluster
        cluster.client.close()
    finally:
        aio.down()
        for container in agent_containers(docker_client, aio.agent_name):
            container.remove(force=True)
