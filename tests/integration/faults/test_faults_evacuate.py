"""`cloud host evacuate`: a real cluster, two real agents, real containers.

Everything that can move leaves the host (restart policy `never` and a stopped
instance too), keeping its identity; a member of a hard anti-affinity group
cannot move and is reported with the reason; bad input changes nothing."""
import os
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))

from cli.errors import RpcFailure  # noqa: E402
from cluster_harness import agent_containers  # noqa: E402
from fault_harness import REPO, ExtraAgent  # noqa: E402
from proto.v1 import evacuate_pb2 as epb, placement_pb2, public_pb2, resources_pb2 as pb  # noqa: E402
from tests.conftest import free_port  # noqa: E402

MiB = 1024**2


def _create(cluster, name, policy="never", group=""):
    cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name=name, spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                                        command=["sleep", "3600"], restart_policy=policy, group=group)))


def _mode(cluster, host, mode):
    cluster.call("Placement", "SetHostSchedulable", placement_pb2.SetHostSchedulableRequest(name=host, mode=mode))


def _host(cluster, name):
    return cluster.call("Hosts", "GetHost", public_pb2.GetHostRequest(name=name))


def _code(cluster, service, method, request):
    with pytest.raises(RpcFailure) as err:
        cluster.call(service, method, request)
    return err.value.code, err.value.details


def _cloud(cluster, *args, timeout=180):
    env = {k: v for k, v in os.environ.items() if not k.startswith("THECLOUD_")}
    env["THECLOUD_CONFIG"] = str(cluster.aio.cli_config_path)
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def _latest(cluster, host):
    """The host's latest evacuation, or None before it has one."""
    try:
        return cluster.call("Evacuations", "GetEvacuation", epb.GetEvacuationRequest(name=host))
    except RpcFailure as err:
        if err.code == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def _wait_until(what, check, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def test_evacuate_moves_what_can_move_and_reports_what_cannot(cluster, docker_client):
    first = cluster.aio.agent_name

    # Bad input first, while `first` is the only host: nothing may change.
    _create(cluster, "ev-solo")
    cluster.wait_instance("ev-solo")
    code, details = _code(cluster, "Evacuations", "EvacuateHost", epb.EvacuateHostRequest(name=first))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "only host up" in details
    assert _host(cluster, first).schedulable == "active"
    assert _code(cluster, "Evacuations", "GetEvacuation",
                 epb.GetEvacuationRequest(name=first))[0] == grpc.StatusCode.NOT_FOUND
    assert _code(cluster, "Evacuations", "EvacuateHost",
                 epb.EvacuateHostRequest(name="no-such-host"))[0] == grpc.StatusCode.NOT_FOUND
    code, details = _code(cluster, "Evacuations", "EvacuateHost", epb.EvacuateHostRequest(name=""))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "name" in details
    code, details = _code(cluster, "Evacuations", "EvacuateHost", epb.EvacuateHostRequest(name=first, parallel=99))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "parallel" in details
    cli = _cloud(cluster, "host", "evacuate", first)
    assert cli.returncode == 1 and "FAILED_PRECONDITION" in cli.stderr and "only host up" in cli.stderr

    second = ExtraAgent(cluster.aio, f"{first}-ev", free_port())
    second.start()
    try:
        _wait_until("the second agent to join", lambda: any(
            h.meta.name == second.name and h.state == pb.HOST_STATE_UP
            for h in cluster.call("Hosts", "ListHosts", public_pb2.ListHostsRequest()).hosts))
        cluster.call("Placement", "CreateGroup", placement_pb2.CreateGroupRequest(
            name="ev-db", policy="anti-affinity", domain="host"))
        # Everything on `first`: the second host is cordoned while they are placed.
        _mode(cluster, second.name, "cordoned")
        _create(cluster, "ev-always", "always")
        _create(cluster, "ev-never", "never")
        _create(cluster, "ev-stopped", "never")
        _create(cluster, "ev-db1", "always", group="ev-db")
        for name in ("ev-always", "ev-never", "ev-stopped", "ev-db1"):
            cluster.wait_instance(name)
        cluster.call("Instances", "StopInstance", public_pb2.StopInstanceRequest(name="ev-stopped"))
        cluster.wait_instance("ev-stopped", states=(pb.INSTANCE_STATE_STOPPED,))
        _mode(cluster, second.name, "active")
        _create(cluster, "ev-db2", "always", group="ev-db")      # anti-affinity: on the second host
        assert cluster.wait_instance("ev-db2").host_name == second.name
        before = {i.meta.name: i for i in cluster.instances()}
        assert {before[n].host_name for n in ("ev-always", "ev-never", "ev-stopped", "ev-db1")} == {first}

        # `cloud host evacuate --wait` starts it and follows it to its end; it exits 1
        # because ev-db1 stayed. The plan is read while it runs.
        env = {k: v for k, v in os.environ.items() if not k.startswith("THECLOUD_")}
        env["THECLOUD_CONFIG"] = str(cluster.aio.cli_config_path)
        cli = subprocess.Popen([sys.executable, "-m", "cli.main", "host", "evacuate", first, "--parallel", "2",
                                "--wait", "--timeout", "150"], env=env, cwd=REPO, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        plan = _wait_until("the evacuation's plan", lambda: _latest(cluster, first))
        items = {i.instance_name: i for i in plan.items}
        assert set(items) == {"ev-solo", "ev-always", "ev-never", "ev-stopped", "ev-db1"}
        assert items["ev-db1"].status == "blocked" and "anti-affinity 'ev-db'" in items["ev-db1"].reason
        assert all(items[n].status in ("planned", "moving", "moved") and items[n].to_host_name == second.name
                   for n in ("ev-solo", "ev-always", "ev-never", "ev-stopped"))
        assert _host(cluster, first).schedulable == "cordoned"
        stdout, stderr = cli.communicate(timeout=180)
        assert cli.returncode == 1, stderr
        assert "ev-db1" in stdout and "blocked" in stdout and "anti-affinity" in stdout
        done = cluster.call("Evacuations", "GetEvacuation", epb.GetEvacuationRequest(name=first))
        assert done.state == "done" and done.id == plan.id
        assert dict(done.counts) == {"moved": 4, "blocked": 1}, done

        after = {i.meta.name: i for i in cluster.instances()}
        for name in ("ev-solo", "ev-always", "ev-never"):
            assert after[name].host_name == second.name and after[name].meta.id == before[name].meta.id
            assert after[name].state == pb.INSTANCE_STATE_RUNNING
        assert after["ev-stopped"].host_name == second.name
        assert after["ev-stopped"].state == pb.INSTANCE_STATE_STOPPED     # re-homed, not started
        assert after["ev-db1"].host_name == first and after["ev-db1"].state == pb.INSTANCE_STATE_RUNNING

        # The old copies are removed from `first`; nothing runs twice.
        moved_ids = {before[n].meta.id for n in ("ev-solo", "ev-always", "ev-never", "ev-stopped")}
        _wait_until("the old copies to be removed", lambda: not moved_ids & {
            c.labels["thecloud.instance-id"] for c in agent_containers(docker_client, first)})
        running = [c.labels["thecloud.instance-id"] for agent in (first, second.name)
                   for c in agent_containers(docker_client, agent) if c.status == "running"]
        assert len(running) == len(set(running)), "an instance runs twice"

        shown = _cloud(cluster, "host", "show", first)
        assert shown.returncode == 0, shown.stderr
        assert "evacuation of" in shown.stdout and "4 moved, 1 blocked" in shown.stdout

        # Evacuating the other host now: `first` is cordoned, so there is nowhere to go.
        code, details = _code(cluster, "Evacuations", "EvacuateHost", epb.EvacuateHostRequest(name=second.name))
        assert code == grpc.StatusCode.FAILED_PRECONDITION and "cordoned" in details
        assert _host(cluster, second.name).schedulable == "active"
    finally:
        _mode(cluster, first, "active")
        for inst in cluster.instances():
            if inst.meta.name.startswith("ev-"):
                cluster.call("Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name=inst.meta.name))
        second.stop()
        for c in agent_containers(docker_client, second.name):
            c.remove(force=True)
