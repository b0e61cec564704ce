"""Findings 5 and 6 of issue 14 against a real all-in-one cluster: join tokens are
single-use and bound to one name, the server sets the certificate's names, an
existing host's name cannot be enrolled again, removing a host revokes its
certificates on every scheduler, and short-lived certificates are renewed: an
agent's, a scheduler's (by itself) and an admin's (by the `cloud` CLI).

The schedulers sign certificates valid for five minutes here, so that an agent
renews its certificate within the test."""
import os
import shutil
import subprocess
import sys
import time

import grpc
import pytest
from cryptography import x509

from cli.errors import RpcFailure
from common.grpcserve import secure_channel
from cli.allinone import LOOPBACK_NAMES
from cli.settings import CliConfig, write_cli_config
from common.tls import TlsFiles, certificate_facts, make_csr, reissue
from proto.v1 import (node_pb2, node_pb2_grpc, operations_pb2, operations_pb2_grpc, public_pb2,
                      public_pb2_grpc, resources_pb2 as pb)
from ops_harness import running_cluster

LIFETIME = 300.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_client, busybox_image):
    with running_cluster(tmp_path_factory.mktemp("enroll"), docker_client,
                         scheduler_overrides={"certificate_lifetime": LIFETIME}) as cluster:
        yield cluster


def join_token(cluster, name, **kw):
    return cluster.call("Operations", "CreateJoinToken",
                        operations_pb2.CreateJoinTokenRequest(name=name, ttl_seconds=600, **kw))


def enroll(cluster, token, name, tls_dir, *extra, via_stdin=True):
    """`thecloud-agent enroll`, the token on stdin (never in argv)."""
    argv = [sys.executable, "-m", "agent.main", "enroll", "--name", name, "--tls-dir", str(tls_dir),
            "--scheduler", cluster.aio.enroll_address("sched-1"),
            "--ca-fingerprint", token.ca_fingerprint, *extra]
    argv += ["--token-file", "-"] if via_stdin else ["--token", token.token]
    return subprocess.run(argv, input=token.token, capture_output=True, text=True, timeout=60)


def host(cluster, name):
    hosts = cluster.call("Hosts", "ListHosts", public_pb2.ListHostsRequest(page_size=100)).hosts
    return next((h for h in hosts if h.meta.name == name), None)


def wait_host(cluster, name, state, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = host(cluster, name)
        if found is not None and found.state == state:
            return found
        time.sleep(0.3)
    raise AssertionError(f"host {name} not {pb.HostState.Name(state)}: {host(cluster, name)}")


class Agent:
    """A second agent process on this machine (port BASE+9: no neighbouring cluster uses it)."""

    def __init__(self, cluster, name, tls_dir, tmp_path):
        self.log = tmp_path / f"{name}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent.main", "--name", name, "--tls-dir", str(tls_dir),
             "--listen", f"127.0.0.1:{cluster.aio.base_port + 9}", "--data-dir", str(tmp_path / f"{name}-data"),
             "--schedulers", ",".join(cluster.aio.endpoints)],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


ADMITTED = grpc.StatusCode.NOT_FOUND


def node_call(endpoint, files: TlsFiles):
    """A Node call with `files`' certificate, for a host id no one has: NOT_FOUND when
    the certificate is admitted (and nothing changes), else the refusal."""
    with secure_channel(endpoint, files) as channel:
        try:
            node_pb2_grpc.NodeStub(channel).Heartbeat(node_pb2.HeartbeatRequest(host_id="h-nobody"),
                                                      timeout=10)
        except grpc.RpcError as err:
            return err.code(), err.details()
    return grpc.StatusCode.OK, ""


def sans_of(files: TlsFiles) -> set[str]:
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(san.get_values_for_type(x509.DNSName))


def test_a_join_token_enrolls_its_one_name_once_with_the_names_the_server_sets(cluster, tmp_path):
    with pytest.raises(RpcFailure) as taken:
        join_token(cluster, cluster.aio.agent_name)
    assert taken.value.code == grpc.StatusCode.FAILED_PRECONDITION, "a token for an existing host"
    with pytest.raises(RpcFailure) as member:
        join_token(cluster, "sched-2", role="scheduler")
    assert member.value.code == grpc.StatusCode.FAILED_PRECONDITION, "a token for a scheduler member"
    token = join_token(cluster, "bound-1", addresses=["127.0.0.1"])
    assert token.name == "bound-1" and token.role == "agent"

    wrong_name = enroll(cluster, token, "bound-2", tmp_path / "wrong")
    assert wrong_name.returncode == 1 and "PERMISSION_DENIED" in wrong_name.stderr, wrong_name.stderr
    own_sans = enroll(cluster, token, "bound-1", tmp_path / "sans", "--address", "10.66.0.1")
    assert own_sans.returncode == 1 and "10.66.0.1 not allowed" in own_sans.stderr, own_sans.stderr
    assert not (tmp_path / "sans" / "bound-1.key").exists()

    done = enroll(cluster, token, "bound-1", tmp_path / "ok", "--address", "127.0.0.1")
    assert done.returncode == 0, done.stderr
    files = TlsFiles.in_dir(tmp_path / "ok", "bound-1")
    assert {"127.0.0.1", "bound-1"} <= sans_of(files) and "10.66.0.1" not in sans_of(files)
    facts = certificate_facts(files.cert.read_bytes())
    assert facts.role == "agent" and facts.common_name == "bound-1"
    assert (facts.not_after_ms - facts.not_before_ms) / 1000 < LIFETIME + 600, "short-lived"

    replay = enroll(cluster, token, "bound-1", tmp_path / "replay")
    assert replay.returncode == 1 and "join token already used" in replay.stderr, replay.stderr
    assert not (tmp_path / "replay" / "bound-1.key").exists()

    # No addresses in the token: the certificate names the address it enrolled from.
    plain = join_token(cluster, "bound-3")
    assert enroll(cluster, plain, "bound-3", tmp_path / "plain").returncode == 0
    plain_sans = sans_of(TlsFiles.in_dir(tmp_path / "plain", "bound-3"))
    assert {n for n in plain_sans if not n.endswith(".internal")} == {"127.0.0.1", "bound-3"}

    # A scheduler token yields a scheduler certificate, only for the name it was made for.
    scheduler = join_token(cluster, "sched-9", role="scheduler", addresses=["127.0.0.1"])
    assert enroll(cluster, scheduler, "sched-9", tmp_path / "sched").returncode == 0
    assert certificate_facts(TlsFiles.in_dir(tmp_path / "sched", "sched-9").cert.read_bytes()).role == "scheduler"


def test_a_down_hosts_name_is_refused_until_an_admin_removes_it_which_revokes_it(cluster, tmp_path):
    name = "comeback"
    first, spare = join_token(cluster, name), join_token(cluster, name)
    assert enroll(cluster, first, name, tmp_path / "first").returncode == 0
    files = TlsFiles.in_dir(tmp_path / "first", name)
    agent = Agent(cluster, name, tmp_path / "first", tmp_path)
    try:
        wait_host(cluster, name, pb.HOST_STATE_UP)
    finally:
        agent.stop()
    wait_host(cluster, name, pb.HOST_STATE_DOWN, timeout=90)

    # The attack: a token holder enrolls the DOWN host's name to inherit its instances.
    stolen = enroll(cluster, spare, name, tmp_path / "stolen")
    assert stolen.returncode == 1 and "FAILED_PRECONDITION" in stolen.stderr and "exists" in stolen.stderr
    with pytest.raises(RpcFailure) as again:
        join_token(cluster, name)
    assert again.value.code == grpc.StatusCode.FAILED_PRECONDITION

    # The host's own certificate still works before the removal...
    assert node_call(cluster.aio.endpoints[1], files)[0] == ADMITTED
    agent = Agent(cluster, name, tmp_path / "first", tmp_path)
    try:
        wait_host(cluster, name, pb.HOST_STATE_UP)
        removed = cluster.call("Operations", "RemoveHost", operations_pb2.RemoveHostRequest(name=name))
        assert removed.revoked_serials == [certificate_facts(files.cert.read_bytes()).serial]
        # ...and is refused on every scheduler after it, the running agent's heartbeats too.
        # (A follower refuses once it has applied the removal: within a heartbeat interval.)
        for endpoint in cluster.aio.endpoints:
            deadline = time.monotonic() + 10
            while node_call(endpoint, files)[0] == ADMITTED and time.monotonic() < deadline:
                time.sleep(0.2)
            assert node_call(endpoint, files) == (grpc.StatusCode.UNAUTHENTICATED, "certificate revoked"), endpoint
        time.sleep(5)   # a few heartbeat intervals: the agent must not have joined again
        assert host(cluster, name) is None
        assert "certificate revoked" in agent.log.read_text()
    finally:
        agent.stop()

    # After the removal, a new token enrolls the name again and the new host joins.
    fresh = join_token(cluster, name)
    assert enroll(cluster, fresh, name, tmp_path / "second").returncode == 0
    agent = Agent(cluster, name, tmp_path / "second", tmp_path)
    try:
        wait_host(cluster, name, pb.HOST_STATE_UP)
        assert node_call(cluster.aio.endpoints[0], files)[0] == grpc.StatusCode.UNAUTHENTICATED
    finally:
        agent.stop()


def test_an_agent_renews_its_short_lived_certificate_and_keeps_heartbeating(cluster, tmp_path):
    name = "renewing"
    token = join_token(cluster, name)
    assert enroll(cluster, token, name, tmp_path / "tls").returncode == 0
    files = TlsFiles.in_dir(tmp_path / "tls", name)
    first = certificate_facts(files.cert.read_bytes())
    agent = Agent(cluster, name, tmp_path / "tls", tmp_path)
    try:
        wait_host(cluster, name, pb.HOST_STATE_UP)
        # Renewal is due once a third of the validity (5 min back-dating included) is left.
        deadline = time.monotonic() + LIFETIME
        while certificate_facts(files.cert.read_bytes()).serial == first.serial:
            assert agent.process.poll() is None, agent.log.read_text()[-2000:]
            assert time.monotonic() < deadline, "no renewal: " + agent.log.read_text()[-2000:]
            time.sleep(2)
        renewed = certificate_facts(files.cert.read_bytes())
        assert renewed.not_after_ms > first.not_after_ms and renewed.common_name == name
        assert set(renewed.sans) == set(first.sans)
        assert oct(files.key.stat().st_mode & 0o777) == "0o600"
        # New connections use the new pair, both ways: the host stays up, its server answers.
        time.sleep(3)
        assert wait_host(cluster, name, pb.HOST_STATE_UP).state == pb.HOST_STATE_UP
        down_after = time.monotonic() + 15
        while time.monotonic() < down_after:
            assert host(cluster, name).state == pb.HOST_STATE_UP
            time.sleep(1)
        assert node_call(cluster.aio.endpoints[2], files)[0] == ADMITTED
    finally:
        agent.stop()
    assert "renewed this host's certificate" in agent.log.read_text()


def short_lived(cluster, files: TlsFiles, name: str, role: str):
    """Re-issue `name`'s certificate in place to end in a minute (5 minutes back-dated:
    far less than a third of its validity is left, so it is due for renewal at once)."""
    reissue(cluster.aio.ca_dir, files, name, role, list(LOOPBACK_NAMES), days=60 / 86400)
    return certificate_facts(files.cert.read_bytes())


def test_a_scheduler_renews_its_own_certificate_and_keeps_serving(cluster):
    files = TlsFiles.in_dir(cluster.aio.tls_dir, "sched-2")
    first = short_lived(cluster, files, "sched-2", "scheduler")
    deadline = time.monotonic() + 90
    while certificate_facts(files.cert.read_bytes()).serial == first.serial:
        assert time.monotonic() < deadline, cluster.aio.log_path("sched-2").read_text()[-2000:]
        time.sleep(1)
    renewed = certificate_facts(files.cert.read_bytes())
    assert renewed.common_name == "sched-2" and renewed.role == "scheduler"
    assert set(renewed.sans) == set(first.sans)
    # Signed for the schedulers' `certificate_lifetime` (plus the 5 minutes back-dating).
    assert abs((renewed.not_after_ms - renewed.not_before_ms) / 1000 - (LIFETIME + 300)) < 5
    # Its API answers with the new certificate (a new connection), and the renewal is recorded.
    admin = TlsFiles.in_dir(cluster.aio.tls_dir, "admin")
    with secure_channel(cluster.aio.nodes["sched-2"].api, admin) as channel:
        served = public_pb2_grpc.ClusterStub(channel).GetStatus(public_pb2.GetClusterStatusRequest(), timeout=10)
    assert {m.name for m in served.members if m.reachable} == {"sched-1", "sched-2", "sched-3"}
    assert "renewed this scheduler's certificate (due)" in cluster.aio.log_path("sched-2").read_text()


def test_the_cli_renews_an_admin_certificate_that_is_near_its_end(cluster, tmp_path):
    tls = tmp_path / "admin-tls"
    tls.mkdir()
    shutil.copy2(cluster.aio.tls_dir / "ca.crt", tls / "ca.crt")
    files = TlsFiles.in_dir(tls, "ops-admin")
    files.cert.touch()
    files.key.touch()
    first = short_lived(cluster, files, "ops-admin", "admin")
    config = tmp_path / "cli.toml"
    write_cli_config(config, CliConfig(endpoints=cluster.aio.endpoints, ca=str(files.ca),
                                       cert=str(files.cert), key=str(files.key)))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    listed = subprocess.run([sys.executable, "-m", "cli.main", "--config", str(config), "host", "list"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert listed.returncode == 0, listed.stderr
    renewed = certificate_facts(files.cert.read_bytes())
    assert renewed.serial != first.serial and "renewed the admin certificate" in listed.stderr
    assert renewed.common_name == "ops-admin" and renewed.role == "admin"
    assert renewed.not_after_ms > first.not_after_ms and oct(files.key.stat().st_mode & 0o777) == "0o600"
    # The new pair works, and a fresh certificate is left alone by the next command.
    again = subprocess.run([sys.executable, "-m", "cli.main", "--config", str(config), "-o", "json",
                            "host", "list"], capture_output=True, text=True, timeout=60, env=env)
    assert again.returncode == 0 and "renewed" not in again.stderr, again.stderr
    assert certificate_facts(files.cert.read_bytes()).serial == renewed.serial
    # An agent's certificate cannot renew as an admin.
    agent = TlsFiles.in_dir(cluster.aio.tls_dir, cluster.aio.agent_name)
    with secure_channel(cluster.aio.endpoints[0], agent) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            operations_pb2_grpc.OperationsStub(channel).RenewCertificate(
                node_pb2.RenewCertificateRequest(csr_pem=make_csr(agent.cert.stem, "admin")[0]), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
