"""Events, metrics, request ids and enrollment on a real all-in-one cluster."""
import signal
import subprocess
import sys
import time

import grpc
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from cli.errors import RpcFailure
from proto.v1 import events_pb2, operations_pb2, public_pb2, resources_pb2 as pb
from ops_harness import EventWatcher, json_log_lines, scrape, value

MiB = 1024**2


def create(cluster, name, memory=8 * MiB):
    return cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name=name, spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=memory,
                                        command=["sleep", "3600"])), write=True)


def relabel(cluster, name, n):
    instance = pb.Instance()
    instance.meta.name = name
    instance.meta.labels["n"] = str(n)
    request = public_pb2.UpdateInstanceRequest(instance=instance)
    request.update_mask.paths.append("meta.labels")
    return cluster.call("Instances", "UpdateInstance", request, write=True)


def all_events(cluster, endpoint, after=0):
    return list(cluster.client.stub(endpoint, "Events").WatchEvents(
        events_pb2.WatchEventsRequest(after_sequence=after), timeout=10, wait_for_ready=True))


def newest_sequence(cluster) -> int:
    stream = cluster.client.stub(cluster.aio.endpoints[0], "Events").WatchEvents(
        events_pb2.WatchEventsRequest(tail=1), timeout=10, wait_for_ready=True)
    return max((e.sequence for e in stream), default=0)


def test_event_stream_resumes_after_its_scheduler_is_killed(ops_cluster):
    cluster = ops_cluster
    leader = cluster.leader()
    victim = cluster.aio.nodes[leader]
    others = [e for e in cluster.aio.endpoints if e != victim.api]
    start = newest_sequence(cluster)
    watcher = EventWatcher([victim.api] + others, cluster.home, after_sequence=start)
    try:
        create(cluster, "ev1")
        cluster.wait_instance("ev1")
        deadline = time.monotonic() + 20
        while not watcher.events and time.monotonic() < deadline:
            time.sleep(0.1)
        assert watcher.events, "the watcher received nothing before the kill"
        cluster.aio.stop_node(leader, signal.SIGKILL)
        for n in range(5):
            relabel(cluster, "ev1", n)
        create(cluster, "ev2")
        cluster.wait_instance("ev2")
        expected = [e.sequence for e in all_events(cluster, others[0], after=start)]
        deadline = time.monotonic() + 60
        while [e.sequence for e in watcher.events] != expected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert watcher.error is None, watcher.error
        got = [e.sequence for e in watcher.events]
        assert got == expected, f"missing or extra events: got {got}, expected {expected}"
        assert got == list(range(start + 1, start + 1 + len(got))), "sequences must be gap-free"
        types = [(e.type, e.name) for e in watcher.events]
        assert ("instance.created", "ev1") in types and ("instance.created", "ev2") in types
        assert sum(1 for t in types if t == ("instance.updated", "ev1")) == 5
    finally:
        watcher.close()
        cluster.aio.start_node(leader)
        cluster.aio.wait_healthy(60)


def test_events_bad_input_and_cli(ops_cluster, capsys):
    from cli.main import run
    cluster = ops_cluster
    with pytest.raises(grpc.RpcError) as err:
        # wait_for_ready: the previous test restarted a scheduler, and this client's
        # channel to it may still be in its (short) reconnect backoff.
        list(cluster.client.stub(cluster.aio.endpoints[0], "Events").WatchEvents(
            events_pb2.WatchEventsRequest(project="Not A Name"), timeout=10, wait_for_ready=True))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "project" in err.value.details()
    endpoints = ",".join(cluster.aio.endpoints)
    config = str(cluster.aio.cli_config_path)
    assert run(["--config", config, "--endpoint", endpoints, "events", "--tail", "0", "--kind", "instance"]) == 0
    out = capsys.readouterr().out
    assert "instance.created" in out and "ev1" in out and "host.joined" not in out
    assert run(["--config", config, "events", "--since-revision", "-1"]) == 2


def test_metrics_are_scraped_and_parsed(ops_cluster):
    cluster = ops_cluster
    with pytest.raises(RpcFailure) as refused:
        create(cluster, "too-big", memory=1024**4)
    assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    create(cluster, "m1")
    cluster.wait_instance("m1")
    leader = cluster.leader()
    roles = {}
    for name in ("sched-1", "sched-2", "sched-3"):
        families = scrape(cluster.aio.metrics_address(name))
        roles[name] = [labels["role"] for labels, v in families["thecloud_raft_role"] if v == 1]
        assert value(families, "thecloud_raft_term") >= 1
        assert value(families, "thecloud_raft_commit_index") >= value(families, "thecloud_raft_applied_index") > 0
        assert value(families, "thecloud_instances", state="running") >= 1
        assert value(families, "thecloud_host_capacity", host=cluster.aio.agent_name, resource="vcpus") == 64
        assert value(families, "thecloud_host_allocated", host=cluster.aio.agent_name, resource="memory_bytes") > 0
        assert value(families, "thecloud_host_usage", host=cluster.aio.agent_name, measure="memory_total_bytes") > 0
        # Counted from the applied log: every scheduler counts the whole cluster's placements.
        assert value(families, "thecloud_placements_total") >= 1
        assert value(families, "thecloud_placement_failures_total", reason="no_host_fits") >= 1
    assert roles[leader] == ["leader"]
    assert sorted(r for rs in roles.values() for r in rs) == ["follower", "follower", "leader"]
    leader_families = scrape(cluster.aio.metrics_address(leader))
    assert value(leader_families, "thecloud_reconcile_passes_total") > 0
    assert value(leader_families, "thecloud_reconcile_host_passes_total", outcome="ok") > 0
    assert 0 <= value(leader_families, "thecloud_reconcile_lag_seconds") < 30
    everywhere = [scrape(cluster.aio.metrics_address(n)) for n in ("sched-1", "sched-2", "sched-3")]
    assert sum(value(f, "thecloud_raft_commit_seconds_count") for f in everywhere) > 0
    assert sum(value(f, "thecloud_scheduler_rpc_duration_seconds_count", method="CreateInstance")
               for f in everywhere) >= 2
    agent = scrape(cluster.aio.metrics_address(cluster.aio.agent_name))
    assert value(agent, "thecloud_agent_rpc_duration_seconds_count", method="EnsureInstance", code="OK") >= 1
    assert value(agent, "thecloud_agent_rpc_duration_seconds_count", method="ListInstances") >= 1
    assert value(agent, "thecloud_agent_instances", state="running") >= 1
    assert value(agent, "thecloud_agent_capacity", resource="vcpus") == 64
    assert value(agent, "thecloud_agent_engine_up") == 1


def test_request_id_follows_a_call_to_the_agent(ops_cluster):
    cluster = ops_cluster
    create(cluster, "traced")
    request_id = cluster.client.last_request_id
    assert request_id.startswith("req-")
    cluster.wait_instance("traced")
    aio = cluster.aio
    deadline = time.monotonic() + 20
    while True:
        scheduler_lines = [line for name in ("sched-1", "sched-2", "sched-3")
                           for line in json_log_lines(aio.log_path(name)) if line.get("request_id") == request_id]
        agent_lines = [line for line in json_log_lines(aio.log_path(aio.agent_name))
                       if line.get("request_id") == request_id]
        if agent_lines or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    messages = [line["msg"] for line in scheduler_lines]
    assert any("Instances/CreateInstance OK" in m for m in messages), messages
    assert any(m.startswith("ensuring traced") for m in messages), messages
    assert any("Agent/EnsureInstance OK" in line["msg"] for line in agent_lines), agent_lines


def test_join_token_enrolls_a_new_agent(ops_cluster, tmp_path):
    cluster = ops_cluster
    aio = cluster.aio
    token = cluster.call("Operations", "CreateJoinToken",
                         operations_pb2.CreateJoinTokenRequest(ttl_seconds=600, name="agent-new"))
    assert token.ca_fingerprint.startswith("sha256:")
    with pytest.raises(RpcFailure) as bad:
        cluster.call("Operations", "CreateJoinToken", operations_pb2.CreateJoinTokenRequest(
            role="root", name="agent-new"))
    assert bad.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(RpcFailure) as unnamed:
        cluster.call("Operations", "CreateJoinToken", operations_pb2.CreateJoinTokenRequest())
    assert unnamed.value.code == grpc.StatusCode.INVALID_ARGUMENT and "name" in str(unnamed.value)
    tls_dir = tmp_path / "tls"
    base = [sys.executable, "-m", "agent.main", "enroll", "--name", "agent-new", "--tls-dir", str(tls_dir),
            "--scheduler", aio.enroll_address("sched-1"), "--address", "127.0.0.1"]

    def enroll(*extra, token_value=token.token, fingerprint=token.ca_fingerprint):
        return subprocess.run(base + ["--token-file", "-", "--ca-fingerprint", fingerprint, *extra],
                              input=token_value, capture_output=True, text=True, timeout=60)

    wrong_ca = enroll(fingerprint="sha256:" + "0" * 64)
    assert wrong_ca.returncode == 1 and "did not present the CA" in wrong_ca.stderr
    forged = enroll(token_value=token.token[:-2] + ("AA" if not token.token.endswith("AA") else "BB"))
    assert forged.returncode == 1 and "UNAUTHENTICATED" in forged.stderr
    taken = subprocess.run(base[:5] + [aio.agent_name] + base[6:] + ["--token", token.token,
                           "--ca-fingerprint", token.ca_fingerprint], capture_output=True, text=True, timeout=60)
    assert taken.returncode == 1 and "PERMISSION_DENIED" in taken.stderr and "agent-new" in taken.stderr
    assert not (tls_dir / "agent-new.key").exists()
    done = enroll()
    assert done.returncode == 0, done.stderr
    assert "enrolled agent-new" in done.stdout
    assert oct((tls_dir / "agent-new.key").stat().st_mode & 0o777) == "0o600"
    cert = x509.load_pem_x509_certificate((tls_dir / "agent-new.crt").read_bytes())
    ca = x509.load_pem_x509_certificate((aio.ca_dir / "ca.crt").read_bytes())
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "agent"
    assert enroll().stdout.startswith("already enrolled")
    # The enrolled identity is good for the node API: an agent with it joins.
    port = aio.base_port + 9  # ends in 9: no neighbouring test cluster uses it
    agent = subprocess.Popen(
        [sys.executable, "-m", "agent.main", "--name", "agent-new", "--tls-dir", str(tls_dir),
         "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "data"),
         "--schedulers", ",".join(aio.endpoints)],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "agent.log", "wb"))
    try:
        deadline = time.monotonic() + 30
        host = None
        while time.monotonic() < deadline:
            hosts = cluster.call("Hosts", "ListHosts", public_pb2.ListHostsRequest(page_size=100)).hosts
            host = next((h for h in hosts if h.meta.name == "agent-new"), None)
            if host is not None and host.state == pb.HOST_STATE_UP:
                break
            time.sleep(0.3)
        assert host is not None and host.state == pb.HOST_STATE_UP, (tmp_path / "agent.log").read_text()[-2000:]
    finally:
        agent.terminate()
        agent.wait(timeout=20)
