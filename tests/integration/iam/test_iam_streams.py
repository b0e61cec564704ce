"""Finding 4, 8 and 10 against a real cluster: watch streams cannot starve the
cluster, refusals cannot flood the audit log, project watchers see only their
project, /metrics wants its token."""
from __future__ import annotations

import time
import urllib.error
import urllib.request

import grpc
import pytest

from proto.v1 import audit_pb2, events_pb2, events_pb2_grpc, public_pb2, public_pb2_grpc
from proto.v1 import resources_pb2 as pb
from iam_harness import SCHEDULER_OVERRIDES, make_project, make_user, raw_channel, running_cluster

MiB = 1024**2
HOST_DOWN_AFTER = 4.0
METRICS_TOKEN = "metrics-token-for-the-stream-tests"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_client, busybox_image):
    home = tmp_path_factory.mktemp("streams")
    (home / "metrics.token").write_text(METRICS_TOKEN + "\n")
    overrides = {**SCHEDULER_OVERRIDES, "host_down_after": HOST_DOWN_AFTER, "audit_refusal_window": 2.0,
                 "metrics_token_file": str(home / "metrics.token")}
    with running_cluster(home, docker_client, scheduler_overrides=overrides) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def world(cluster):
    for project in ("alpha", "beta"):
        make_project(cluster, project)
    return {"readers": [make_user(cluster, f"reader-{n}", "reader", "alpha") for n in range(10)],
            "alpha-member": make_user(cluster, "alan", "member", "alpha"),
            "beta-member": make_user(cluster, "bob", "member", "beta"),
            "alpha-reader": make_user(cluster, "rita", "reader", "alpha")}


def spec():
    return pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=16 * MiB,
                           command=["sleep", "600"])


def auth(token):
    return [("authorization", f"Bearer {token}")]


def open_stream(cluster, endpoint, token, n=0):
    """A follow stream as `token`: WatchEvents and WatchInstances in turn."""
    channel = raw_channel(cluster, endpoint)
    if n % 2:
        call = public_pb2_grpc.InstancesStub(channel).WatchInstances(
            public_pb2.WatchInstancesRequest(project="alpha"), metadata=auth(token))
    else:
        call = events_pb2_grpc.EventsStub(channel).WatchEvents(
            events_pb2.WatchEventsRequest(project="alpha", follow=True, tail=1), metadata=auth(token))
    return channel, call


def settle(calls, timeout=60.0):
    """(open, refused) once every refused call has ended; refused ones must be RESOURCE_EXHAUSTED."""
    deadline = time.monotonic() + timeout
    previous, stable_since = None, time.monotonic()
    while time.monotonic() < deadline:
        done = sum(1 for _, call in calls if call.done())
        if done != previous:
            previous, stable_since = done, time.monotonic()
        elif time.monotonic() - stable_since > 3.0:
            break
        time.sleep(0.2)
    refused = [call for _, call in calls if call.done()]
    for call in refused:
        assert call.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, call.details()
    return [call for _, call in calls if not call.done()], refused


def close(calls):
    for channel, call in calls:
        call.cancel()
        channel.close()


def hosts_up(cluster):
    hosts = cluster.call("Hosts", "ListHosts", public_pb2.ListHostsRequest()).hosts
    return bool(hosts) and all(h.state == pb.HOST_STATE_UP for h in hosts)


def test_200_reader_streams_neither_stop_heartbeats_nor_creates(cluster, world):
    endpoint = cluster.aio.endpoints[0]
    calls = [open_stream(cluster, endpoint, world["readers"][n % 10], n) for n in range(200)]
    try:
        opened, refused = settle(calls)
        assert len(opened) == 160 and len(refused) == 40    # 16 per reader; 160 workers held
        assert "open streams" in refused[0].details()
        lost_before = {i.meta.name for i in cluster.instances() if i.state == pb.INSTANCE_STATE_LOST}
        deadline = time.monotonic() + 4 * HOST_DOWN_AFTER   # several heartbeat TTLs
        while time.monotonic() < deadline:
            assert hosts_up(cluster)
            time.sleep(1.0)
        member = raw_channel(cluster, endpoint)
        created = public_pb2_grpc.InstancesStub(member).CreateInstance(
            public_pb2.CreateInstanceRequest(name="under-streams", project="alpha", spec=spec()),
            metadata=auth(world["alpha-member"]), timeout=30)
        assert created.meta.id
        member.close()
        assert hosts_up(cluster)
        assert all(not call.done() for call in opened)       # the accepted ones stayed open
        lost = {i.meta.name for i in cluster.instances() if i.state == pb.INSTANCE_STATE_LOST}
        assert lost <= lost_before
    finally:
        close(calls)


def test_the_17th_stream_is_refused_and_a_closed_one_frees_its_slot(cluster, world):
    endpoint, token = cluster.aio.endpoints[1], world["alpha-reader"]
    calls = [open_stream(cluster, endpoint, token, n) for n in range(17)]
    try:
        opened, refused = settle(calls)
        assert len(opened) == 16 and len(refused) == 1
        first = next(item for item in calls if not item[1].done())
        first[1].cancel()
        deadline = time.monotonic() + 30
        while True:
            again = open_stream(cluster, endpoint, token)
            calls.append(again)
            time.sleep(2.0)
            if not again[1].done():
                break
            assert again[1].code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert time.monotonic() < deadline, "the cancelled stream never gave its slot back"
    finally:
        close(calls)


def test_project_watchers_hear_only_of_their_project(cluster, world):
    endpoint = cluster.aio.endpoints[0]
    channel = raw_channel(cluster, endpoint)
    watch = public_pb2_grpc.InstancesStub(channel).WatchInstances(
        public_pb2.WatchInstancesRequest(project="alpha"), metadata=auth(world["alpha-reader"]))
    beta = raw_channel(cluster, endpoint)
    instances = public_pb2_grpc.InstancesStub(beta)
    created = instances.CreateInstance(public_pb2.CreateInstanceRequest(
        name="secret-web", project="beta", spec=spec()), metadata=auth(world["beta-member"]), timeout=30)
    instances.DeleteInstance(public_pb2.DeleteInstanceRequest(name="secret-web", project="beta"),
                             metadata=auth(world["beta-member"]), timeout=30)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(i.meta.id == created.meta.id for i in cluster.instances()):
        time.sleep(0.5)
    assert not any(i.meta.id == created.meta.id for i in cluster.instances()), "the instance was not purged"
    time.sleep(1.0)
    watch.cancel()
    seen = []
    try:
        for event in watch:
            seen.append(event)
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.CANCELLED
    assert all(e.instance.meta.id != created.meta.id for e in seen), seen
    assert all(e.instance.meta.project in ("", "alpha") for e in seen)
    # The event log from its start: the host joined (a cluster event) long before.
    events = list(events_pb2_grpc.EventsStub(channel).WatchEvents(
        events_pb2.WatchEventsRequest(project="alpha"), metadata=auth(world["alpha-reader"]), timeout=30))
    assert all(e.project == "alpha" for e in events), [(e.kind, e.project) for e in events]
    admin_events = list(cluster.client.stub(endpoint, "Events").WatchEvents(
        events_pb2.WatchEventsRequest(), timeout=30))
    assert any(e.kind == "host" for e in admin_events)     # there were host events to leak
    channel.close()
    beta.close()


def test_a_refusal_flood_is_one_entry_and_a_count(cluster, world):
    endpoint = cluster.aio.endpoints[2]
    channel = raw_channel(cluster, endpoint)
    stub = public_pb2_grpc.InstancesStub(channel)
    since = time.time() - 1
    flood = 300
    for n in range(flood):
        with pytest.raises(grpc.RpcError) as refused:
            stub.CreateInstance(public_pb2.CreateInstanceRequest(name=f"flood-{n}", project="alpha", spec=spec()),
                                metadata=auth(world["alpha-reader"]), timeout=30)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    channel.close()
    request = audit_pb2.ListAuditEventsRequest(principal="rita", action="instance.create", limit=1000)
    request.since.FromMilliseconds(int(since * 1000))
    deadline = time.monotonic() + 30
    while True:
        entries = cluster.call("Audit", "ListAuditEvents", request).events
        folded = sum(int(e.resource.split()[0]) for e in entries if e.resource.endswith("more like this"))
        first = sum(1 for e in entries if not e.resource.endswith("more like this"))
        if folded + first == flood:     # every refusal is an entry or counted in one
            break
        assert time.monotonic() < deadline, [(e.resource, e.outcome) for e in entries]
        time.sleep(0.5)
    assert len(entries) < flood / 5      # a handful of entries, not one per refusal
    assert all(e.outcome == "PERMISSION_DENIED" and e.address for e in entries)
    assert any(e.resource.endswith("more like this") for e in entries)


def test_metrics_want_their_token(cluster):
    url = f"http://{cluster.aio.metrics_address(cluster.aio.schedulers[0].name)}/metrics"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 401
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert "thecloud_api_open_streams" in reply.read().decode()
