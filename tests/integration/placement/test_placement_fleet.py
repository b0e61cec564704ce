"""Placement on a mixed fleet: a real cluster (3 schedulers, a real agent running
Docker) plus 200 simulated hosts from the host simulator (a load generator that
speaks the real node and agent APIs), driven through the public API."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import grpc
import pytest
from google.protobuf import field_mask_pb2

from cli.errors import RpcFailure
from proto.v1 import placement_pb2, public_pb2, resources_pb2 as pb
from tests.conftest import REPO_ROOT, free_port
from tests.integration.cluster.cluster_harness import running_cluster

SIM_HOSTS = 200
MiB = 1024**2


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, docker_client, busybox_image):
    home = tmp_path_factory.mktemp("placement")
    with running_cluster(home, docker_client, agent_overrides={"labels": {"zone": "lab", "rack": "lab-1"}}) as c:
        sim = subprocess.Popen(
            [sys.executable, "-m", "bench.hostsim.simulator", "--ca-dir", str(c.aio.ca_dir),
             "--schedulers", ",".join(c.aio.endpoints), "--listen", f"127.0.0.1:{free_port()}",
             "--count", str(SIM_HOSTS), "--zones", "3", "--racks", "5", "--prefix", "sim",
             "--cert-cache", str(REPO_ROOT / ".cache" / "hostsim")],
            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=open(home / "hostsim.log", "wb"))
        try:
            deadline = time.monotonic() + 90
            while c.status().hosts_up < SIM_HOSTS + 1:
                assert sim.poll() is None, (home / "hostsim.log").read_text()[-2000:]
                assert time.monotonic() < deadline, f"only {c.status().hosts_up} hosts up"
                time.sleep(0.5)
            yield c
        finally:
            sim.send_signal(signal.SIGTERM)
            try:
                sim.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sim.kill()


def spec(**kw) -> pb.InstanceSpec:
    return pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=32 * MiB, **kw)


def refused(fleet, service, method, request) -> RpcFailure:
    with pytest.raises(RpcFailure) as err:
        fleet.call(service, method, request, write=True)
    return err.value


def host_of(fleet, name) -> pb.Host:
    instance = fleet.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name))
    return fleet.call("Hosts", "GetHost", public_pb2.GetHostRequest(name=instance.host_id))


def test_a_constraint_puts_a_real_container_on_the_real_agent(fleet):
    fleet.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name="real-web", spec=spec(command=["sleep", "600"], constraints=["zone=lab"]), request_id="real-web"),
        write=True)
    running = fleet.wait_instance("real-web")
    assert running.host_name == fleet.aio.agent_name and running.runtime_id
    assert not running.runtime_id.startswith("sim-")


def test_hard_anti_affinity_batch_lands_on_distinct_simulated_hosts(fleet):
    fleet.call("Placement", "CreateGroup", placement_pb2.CreateGroupRequest(
        name="db", policy="anti-affinity", domain="host"), write=True)
    reply = fleet.call("Placement", "CreateInstances", placement_pb2.CreateInstancesRequest(
        template=public_pb2.CreateInstanceRequest(name="db", spec=spec(group="db", constraints=["zone!=lab"]),
                                                  request_id="db-batch"), count=60), write=True)
    hosts = [i.host_id for i in reply.instances]
    assert len(hosts) == 60 and len(set(hosts)) == 60
    group = fleet.call("Placement", "GetGroup", placement_pb2.GetGroupRequest(name="db"))
    assert group.members == 60 and set(group.members_per_domain.values()) == {1}
    fleet.wait_instance("db-01")       # the simulated agent "runs" it through the reconciler


def test_zone_spread_balances_the_zones(fleet):
    fleet.call("Placement", "CreateGroup", placement_pb2.CreateGroupRequest(
        name="quorum", policy="spread", domain="zone"), write=True)
    fleet.call("Placement", "CreateInstances", placement_pb2.CreateInstancesRequest(
        template=public_pb2.CreateInstanceRequest(
            name="q", spec=spec(group="quorum", constraints=["zone in z1,z2,z3"])), count=9), write=True)
    group = fleet.call("Placement", "GetGroup", placement_pb2.GetGroupRequest(name="quorum"))
    assert dict(group.members_per_domain) == {"z1": 3, "z2": 3, "z3": 3}


def test_dry_run_explains_a_choice_and_a_refusal(fleet):
    chosen = fleet.call("Placement", "ExplainPlacement", public_pb2.CreateInstanceRequest(
        name="maybe", spec=spec(constraints=["zone=z2", "gpu!=none"])))
    assert chosen.placed and chosen.hosts_total == SIM_HOSTS + 1
    assert len(chosen.candidates) == 5 and chosen.candidates[0].host_id == chosen.host_id
    assert set(chosen.candidates[0].weights) == {"memory", "vcpus", "group"}
    nowhere = fleet.call("Placement", "ExplainPlacement", public_pb2.CreateInstanceRequest(
        name="huge", spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=512, memory_bytes=MiB * 64)))
    assert not nowhere.placed
    assert nowhere.summary == f"0 of {SIM_HOSTS + 1} hosts fit: {SIM_HOSTS + 1} short of vcpus"
    with pytest.raises(RpcFailure):
        fleet.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name="maybe"))


def test_bad_input_is_refused_and_changes_nothing(fleet):
    before = fleet.status().instances
    cases = [
        (spec(group="nope"), grpc.StatusCode.NOT_FOUND, "placement group 'nope'"),
        (spec(constraints=["zone=z1", "zone=z2"]), grpc.StatusCode.INVALID_ARGUMENT, "contradictory"),
        (spec(constraints=["flavour=x"]), grpc.StatusCode.INVALID_ARGUMENT, "no host has a label 'flavour'"),
        (spec(constraints=["zone in"]), grpc.StatusCode.INVALID_ARGUMENT, "spec.constraints"),
        (spec(strategy="random"), grpc.StatusCode.INVALID_ARGUMENT, "spec.strategy"),
    ]
    for bad, code, text in cases:
        err = refused(fleet, "Instances", "CreateInstance", public_pb2.CreateInstanceRequest(name="bad", spec=bad))
        assert err.code == code and text in err.message, (bad, err)
    mask = field_mask_pb2.FieldMask(paths=["policy"])
    group = placement_pb2.PlacementGroup(policy="affinity")
    group.meta.name = "db"
    err = refused(fleet, "Placement", "UpdateGroup", placement_pb2.UpdateGroupRequest(group=group, update_mask=mask))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION and "would break" in err.message
    err = refused(fleet, "Placement", "DeleteGroup", placement_pb2.DeleteGroupRequest(name="db"))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    err = refused(fleet, "Placement", "CreateGroup", placement_pb2.CreateGroupRequest(name="x", policy="friends"))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "policy" in err.message
    assert fleet.status().instances == before
    assert fleet.call("Placement", "GetGroup", placement_pb2.GetGroupRequest(name="db")).policy == "anti-affinity"


def test_cordon_then_drain_moves_restartable_instances(fleet):
    agent = fleet.aio.agent_name
    fleet.call("Placement", "SetHostSchedulable", placement_pb2.SetHostSchedulableRequest(
        name=agent, mode="cordoned"), write=True)
    err = refused(fleet, "Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name="late", spec=spec(constraints=["zone=lab"])))
    assert err.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "1 cordoned or draining" in err.message
    fleet.call("Placement", "SetHostSchedulable", placement_pb2.SetHostSchedulableRequest(
        name=agent, mode="active"), write=True)

    fleet.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name="mover", spec=spec(restart_policy="always", constraints=["zone!=lab"])), write=True)
    fleet.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name="stayer", spec=spec(restart_policy="never")), write=True)
    first = fleet.wait_instance("mover")
    fleet.call("Placement", "SetHostSchedulable", placement_pb2.SetHostSchedulableRequest(
        name=first.host_id, mode="draining"), write=True)
    deadline = time.monotonic() + 30
    while True:
        moved = fleet.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name="mover"))
        if moved.host_id != first.host_id and moved.state == pb.INSTANCE_STATE_RUNNING:
            break
        assert time.monotonic() < deadline, moved
        time.sleep(0.3)
    assert "moved from" in moved.reason or moved.reason == ""
    drained = fleet.call("Hosts", "GetHost", public_pb2.GetHostRequest(name=first.host_id))
    assert drained.schedulable == "draining" and drained.allocated.vcpus <= drained.capacity.vcpus


def test_host_labels_steer_placement(fleet):
    sim = "sim-00007"
    fleet.call("Placement", "SetHostLabels", placement_pb2.SetHostLabelsRequest(
        name=sim, labels={"flavour": "big"}), write=True)
    fleet.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name="picky", spec=spec(constraints=["flavour=big"])), write=True)
    assert host_of(fleet, "picky").meta.name == sim
    err = refused(fleet, "Placement", "SetHostLabels", placement_pb2.SetHostLabelsRequest(
        name=sim, labels={"a": "1"}, remove=["a"]))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
