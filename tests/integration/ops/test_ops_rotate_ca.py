"""`rotate-ca` without downtime on a real all-in-one cluster (docs/security.md,
Finding 6): begin, reissue and finish run while a client writes without pause and
the agent heartbeats; no write fails (beyond the client's own retries), the host
stays UP, an instance is created under the new CA, and a certificate of the old
CA is refused at the handshake afterwards."""
import shutil
import subprocess
import sys
import threading
import time

import grpc
import pytest
from cryptography import x509

from cli.client import ClusterClient
from cli.errors import RpcFailure
from common.grpcserve import secure_channel
from common.tls import TlsFiles, fingerprint, issued_by_bundle
from proto.v1 import operations_pb2, public_pb2, public_pb2_grpc, resources_pb2 as pb
from ops_harness import running_cluster

MiB = 1024**2


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_client, busybox_image):
    with running_cluster(tmp_path_factory.mktemp("rotate"), docker_client) as cluster:
        yield cluster


def create(cluster, name):
    return cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name=name, spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                                        command=["sleep", "3600"])), write=True)


class Writer(threading.Thread):
    """Relabels an instance without pause, each write from a new client reading the admin
    files as they are then (as every `cloud` command does)."""

    def __init__(self, cluster, name):
        super().__init__(daemon=True)
        self.cluster, self.name = cluster, name
        self.done, self.failures, self.stop = 0, [], threading.Event()

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            instance = pb.Instance()
            instance.meta.name = self.name
            instance.meta.labels["n"] = str(n)
            request = public_pb2.UpdateInstanceRequest(instance=instance)
            request.update_mask.paths.append("meta.labels")
            try:
                with ClusterClient(self.cluster.aio.endpoints, self.cluster.aio.admin_tls) as client:
                    client.call("Instances", "UpdateInstance", request, write=True)
                self.done += 1
            except Exception as err:  # noqa: BLE001 - counted, reported by the test
                self.failures.append(f"{time.strftime('%H:%M:%S')} {err}")
            time.sleep(0.1)


class HostWatch(threading.Thread):
    """Looks at the host every half second; records every state but UP."""

    def __init__(self, cluster):
        super().__init__(daemon=True)
        self.cluster, self.not_up, self.looks, self.stop = cluster, [], 0, threading.Event()

    def run(self):
        while not self.stop.wait(0.5):
            with ClusterClient(self.cluster.aio.endpoints, self.cluster.aio.admin_tls) as client:
                try:
                    hosts = client.call("Hosts", "ListHosts", public_pb2.ListHostsRequest(page_size=10)).hosts
                except RpcFailure as err:
                    self.not_up.append(f"ListHosts: {err}")
                    continue
            self.looks += 1
            self.not_up += [f"{h.meta.name} {pb.HostState.Name(h.state)}" for h in hosts
                            if h.state != pb.HOST_STATE_UP]


def old_identity(cluster, tmp_path) -> TlsFiles:
    """A copy of the admin's files of before the rotation."""
    keep = tmp_path / "old"
    keep.mkdir()
    files = cluster.aio.admin_tls
    for path in (files.ca, files.cert, files.key):
        shutil.copy2(path, keep / path.name)
    return TlsFiles.in_dir(keep, "admin")


def test_rotate_ca_without_downtime(cluster, tmp_path):
    tls_dir = cluster.home / "tls"
    old_ca = (tls_dir / "ca.crt").read_bytes()
    old_admin = old_identity(cluster, tmp_path)
    agent_tls = TlsFiles.in_dir(tls_dir, cluster.aio.agent_name)
    create(cluster, "rot-w")
    cluster.wait_instance("rot-w")

    writer, watch = Writer(cluster, "rot-w"), HostWatch(cluster)
    writer.start()
    watch.start()
    try:
        time.sleep(2)
        said = []
        new_fp = cluster.aio.rotate_ca(timeout=240, say=said.append)
        time.sleep(3)   # writes and heartbeats go on under the new CA alone
    finally:
        writer.stop.set()
        watch.stop.set()
        writer.join(timeout=60)
        watch.join(timeout=60)

    assert writer.failures == [], f"{len(writer.failures)} writes failed of {writer.done + len(writer.failures)}"
    assert writer.done > 10
    assert watch.not_up == [] and watch.looks > 5, watch.not_up

    # Every node trusts the new CA alone; every certificate is from it.
    bundle = (tls_dir / "ca.crt").read_bytes()
    cas = x509.load_pem_x509_certificates(bundle)
    assert [fingerprint(c) for c in cas] == [new_fp] and bundle != old_ca
    assert (cluster.home / "ca" / "ca.crt").read_bytes() == bundle
    assert not (cluster.home / "ca" / "ca.key.old").exists()
    for name in list(cluster.aio.nodes) + ["admin"]:
        cert = x509.load_pem_x509_certificate(TlsFiles.in_dir(tls_dir, name).cert.read_bytes())
        assert issued_by_bundle(cert, bundle), f"{name}'s certificate is not from the new CA"
    assert issued_by_bundle(x509.load_pem_x509_certificate(agent_tls.cert.read_bytes()), bundle)
    state = cluster.call("Operations", "RotateCa", operations_pb2.RotateCaRequest())
    assert state.phase == "finished" and state.new_ca_fingerprint == new_fp and not state.pending

    # The cluster works under the new CA: a new instance runs on the agent.
    create(cluster, "rot-after")
    assert cluster.wait_instance("rot-after", timeout=90).host_id

    # The admin certificate of the old CA is refused at the handshake (trusting the new
    # CA as a client, so the refusal is the server's).
    current = cluster.aio.admin_tls
    with secure_channel(cluster.aio.endpoints[0], current) as channel:
        assert public_pb2_grpc.ClusterStub(channel).GetStatus(public_pb2.GetClusterStatusRequest(), timeout=10)
    refused = TlsFiles(ca=current.ca, cert=old_admin.cert, key=old_admin.key)
    with secure_channel(cluster.aio.endpoints[0], refused) as channel:
        with pytest.raises(grpc.RpcError) as err:
            public_pb2_grpc.ClusterStub(channel).GetStatus(public_pb2.GetClusterStatusRequest(), timeout=10)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE

    # The CLI shows the state.
    shown = subprocess.run([sys.executable, "-m", "cli.main", "--config", str(cluster.aio.cli_config_path),
                            "cluster", "rotate-ca", "status"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "CA rotation: finished" in shown.stdout \
        and f"new CA: {new_fp}" in shown.stdout, shown

    # A second finish (nothing under way) and a bogus phase are refused.
    with pytest.raises(RpcFailure) as err:
        cluster.call("Operations", "RotateCa", operations_pb2.RotateCaRequest(phase="finish"))
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(RpcFailure) as err:
        cluster.call("Operations", "RotateCa", operations_pb2.RotateCaRequest(phase="sideways"))
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and "phase" in err.value.details
