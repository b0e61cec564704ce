"""A data directory written by an older scheduler loads, whole, in today's code.

tests/fixtures/olddata/ holds a scheduler's Raft directory (snapshot, journal tail
after it, raft.meta) as tests/fixtures/make_olddata.py wrote it with the code of
the commit recorded in expected.json ("written_by"), and the state that code read
back from it. Two checks:

1. The store's own start path (RaftStore -> Raft process: snapshot unpickled, journal
   tail replayed once the node is leader of its one-node cluster) rebuilds exactly
   the recorded state: ClusterState.to_dict() equals expected.json's "state".
   After issue 15 (typed records) the comparison goes through the new types'
   conversion: whatever the state's canonical plain-data form becomes, it must
   equal this JSON, so keep a to_dict()-like export that produces the old shape
   (or convert the recorded JSON with the new types and compare records), and keep
   what old snapshots reference when unpickled
   (scheduler.store.replicated.restore_machine) importable.
2. A real scheduler started on that directory serves every recorded record through
   the public API: hosts, instances, networks, groups, volumes, snapshots, images,
   floating IPs, projects, principals, roles, bindings, tokens, quotas, secrets (the
   values decrypt), evacuations, audit entries and events.

No engine is needed: the scheduler runs without its agent (its hosts go down after
a while, which changes no record these reads look at). The fixture's Raft address
(127.0.0.1:47411) is fixed, since pysyncobj's snapshot names it; the test fails,
saying so, if another process holds that port.
"""
from __future__ import annotations

import json
import shutil
import socket
import tarfile
import time
from pathlib import Path

import pytest

from cli.client import ClusterClient
from cli.errors import RpcFailure
from cli.events_stream import watch_events
from olddata_cluster import SCHEDULER, SingleScheduler, load_state
from proto.v1 import (audit_pb2, evacuate_pb2, events_pb2, floating_pb2, iam_pb2, images_pb2, networks_pb2,
                      placement_pb2, public_pb2, secrets_pb2, volumes_pb2)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "olddata"


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((FIXTURE / "expected.json").read_text())


@pytest.fixture
def unpacked(short_tmp_dir, expected) -> Path:
    with tarfile.open(FIXTURE / "olddata.tar.gz") as tar:
        tar.extractall(short_tmp_dir / "fixture", filter="data")
    host, port = expected["raft_address"].rsplit(":", 1)
    with socket.socket() as probe:
        try:
            probe.bind((host, int(port)))
        except OSError as err:
            pytest.fail(f"the fixture's Raft address {expected['raft_address']} is taken ({err}); "
                        f"pysyncobj's snapshot names it, so the data can only be reopened there")
    return short_tmp_dir / "fixture"


def test_fixture_has_a_snapshot_and_a_journal_tail(expected):
    base_index = expected["snapshot_base"][0]
    assert expected["journal_last_index"] > base_index + 10, "the journal must hold entries after the snapshot"
    assert (FIXTURE / "olddata.tar.gz").stat().st_size < 2 * 1024 * 1024


def test_store_loads_the_recorded_state(unpacked, expected):
    password = (unpacked / "secrets" / "cluster.key").read_text().strip()
    state, index = load_state(unpacked / "raft", expected["raft_address"], password)
    assert index > expected["journal_last_index"], "the journal tail was not replayed"
    loaded = json.loads(json.dumps(state))
    recorded = expected["state"]
    assert sorted(loaded) == sorted(recorded), "collections appeared or went missing"
    for key in recorded:
        assert loaded[key] == recorded[key], f"{key} differs after loading"


def _scheduler_on(unpacked: Path, home: Path) -> SingleScheduler:
    aio = SingleScheduler(home)
    (home / "secrets").mkdir(parents=True, mode=0o700)
    for name in ("cluster.key", "admin.token"):
        shutil.copy2(unpacked / "secrets" / name, home / "secrets" / name)
    aio.prepare()     # a new CA and certificates; the cluster secret and admin token stay
    shutil.copytree(unpacked / "raft", aio.raft_dir)
    return aio


def _wait_ready(client: ClusterClient, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest()).leader:
                return
        except RpcFailure as err:
            last = err
        time.sleep(0.3)
    raise AssertionError(f"the scheduler on the old data never answered with a leader: {last}")


def _ids(records: dict) -> dict[str, str]:
    """name -> id of a recorded collection (expected.json, written by the old code)."""
    return {r["name"]: r["id"] for r in records.values()}


def test_scheduler_serves_the_old_records(unpacked, expected, short_tmp_dir):
    state, manifest = expected["state"], expected["manifest"]
    aio = _scheduler_on(unpacked, short_tmp_dir / "home")
    token = (aio.home / "secrets" / "admin.token").read_text().strip()
    try:
        aio.start_node(SCHEDULER)
        with ClusterClient(aio.endpoints, aio.admin_tls, token=token) as client:
            _wait_ready(client)
            _check_records(client, state, manifest)
    finally:
        aio.down(timeout=15)


def _check_records(client: ClusterClient, state: dict, manifest: dict) -> None:
    def listed(service, method, request, field):
        return list(getattr(client.list_all(service, method, request, field), field))

    hosts = {h.meta.name: h.meta.id for h in listed("Hosts", "ListHosts", public_pb2.ListHostsRequest(), "hosts")}
    assert hosts == _ids(state["hosts"])
    assert set(manifest["hosts"]) == set(hosts) and not set(manifest["removed_hosts"]) & set(hosts)

    instances = listed("Instances", "ListInstances", public_pb2.ListInstancesRequest(), "instances")
    assert {i.meta.name: i.meta.id for i in instances} == _ids(state["instances"])
    assert sorted(i.meta.name for i in instances) == sorted(manifest["instances"])
    by_name = {i.meta.name: i for i in instances}
    recorded = {r["name"]: r for r in state["instances"].values()}
    for name, instance in by_name.items():
        # Host, state and revision may move on: this scheduler's agent is gone.
        assert dict(instance.meta.labels) == recorded[name]["labels"], name
        assert instance.meta.project == recorded[name]["project"], name
        assert instance.meta.created_at.ToMilliseconds() == recorded[name]["created_ms"], name
        assert instance.spec.image == recorded[name]["spec"]["image"], name

    def named(service, method, request, field):
        return {x.meta.name: x.meta.id for x in listed(service, method, request, field)}

    assert named("Networks", "ListVpcs", networks_pb2.ListNetworkRequest(), "vpcs") == _ids(state["vpcs"])
    assert named("Networks", "ListSubnets", networks_pb2.ListNetworkRequest(), "subnets") == _ids(state["subnets"])
    groups = listed("Networks", "ListSecurityGroups", networks_pb2.ListNetworkRequest(), "security_groups")
    assert {g.meta.name: g.meta.id for g in groups} == _ids(state["security_groups"])
    assert [len(g.rules) for g in groups] == [len(r["rules"]) for r in state["security_groups"].values()]
    assert named("Placement", "ListGroups", placement_pb2.ListGroupsRequest(), "groups") == _ids(state["groups"])
    assert named("Volumes", "ListVolumes", volumes_pb2.ListVolumesRequest(), "volumes") == _ids(state["volumes"])
    assert named("Snapshots", "ListSnapshots", volumes_pb2.ListSnapshotsRequest(), "snapshots") == \
        _ids(state["snapshots"])
    assert named("Images", "ListImages", images_pb2.ListImagesRequest(), "images") == _ids(state["images"])
    floating = listed("FloatingIps", "ListFloatingIps", floating_pb2.ListFloatingIpsRequest(), "floating_ips")
    assert sorted(f.address for f in floating) == sorted(state["floating_ip_addresses"])
    assert len(floating) == manifest["floating_ips"]

    iam = state["iam"]
    projects = listed("Projects", "ListProjects", iam_pb2.ListProjectsRequest(), "projects")
    assert {p.name for p in projects} >= set(manifest["projects"])
    assert {p.name: p.id for p in projects if p.name != "default"} == _ids(iam["projects"])
    principals = listed("Principals", "ListPrincipals", iam_pb2.ListPrincipalsRequest(), "principals")
    assert {p.name: p.id for p in principals} == _ids(iam["principals"])
    roles = {r.name for r in listed("Roles", "ListRoles", iam_pb2.ListRolesRequest(), "roles") if not r.builtin}
    assert roles == {r["name"] for r in iam["roles"].values()} == set(manifest["roles"])
    bindings = {(b.principal, b.role, b.project)
                for b in listed("Roles", "ListBindings", iam_pb2.ListBindingsRequest(), "bindings")}
    assert {tuple(b) for b in manifest["bindings"]} <= bindings
    assert len(bindings) == len(iam["bindings"])
    tokens = listed("Tokens", "ListTokens", iam_pb2.ListTokensRequest(all=True), "tokens")
    assert {t.id for t in tokens} == set(iam["tokens"])
    assert {t.id for t in tokens if t.revoked} == {t["id"] for t in iam["tokens"].values() if t["revoked"]}
    assert any(t.revoked for t in tokens)
    for project in manifest["quota_projects"]:
        quota = client.call("Quotas", "GetQuota", iam_pb2.GetQuotaRequest(project=project))
        limits = {item.resource: item.limit for item in quota.items}
        assert limits["instances"] == 20 and limits["vcpus"] == 40, limits

    secrets = listed("Secrets", "ListSecrets", secrets_pb2.ListSecretsRequest(), "secrets")
    assert {s.name: s.id for s in secrets} == _ids(state["secrets"])
    for name, value in manifest["secret_values"].items():
        reply = client.call("Secrets", "GetSecretValue", secrets_pb2.GetSecretValueRequest(name=name))
        assert reply.value.decode() == value, name

    for host in manifest["evacuated_hosts"]:
        evacuation = client.call("Evacuations", "GetEvacuation", evacuate_pb2.GetEvacuationRequest(name=host))
        assert evacuation.id == state["evacuations"][hosts[host]]["id"]

    audit = client.call("Audit", "ListAuditEvents", audit_pb2.ListAuditEventsRequest(limit=1000)).events
    assert len(audit) >= len(state["audit"]["entries"])
    events: list = []
    watch_events(client, events_pb2.WatchEventsRequest(project=""), events.append)
    assert {e.sequence for e in events} >= {e["seq"] for e in state["events"]}
