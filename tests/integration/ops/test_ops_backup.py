"""Backup, wipe, restore into a new cluster: the same state comes back."""
import json
import time

from cli.errors import RpcFailure

from cli.main import run
from proto.v1 import public_pb2, resources_pb2 as pb

MiB = 1024**2


def snapshot(cluster):
    instances = {i.meta.id: (i.meta.name, dict(i.meta.labels), i.host_name, i.spec.memory_bytes, i.desired_state)
                 for i in cluster.instances()}
    hosts = {h.meta.id: h.meta.name for h in
             cluster.call("Hosts", "ListHosts", public_pb2.ListHostsRequest(page_size=100)).hosts}
    return instances, hosts


def test_backup_wipe_restore_same_state(tmp_path_factory, docker_client, busybox_image, capsys):
    from ops_harness import Cluster, running_cluster
    home = tmp_path_factory.mktemp("backup")
    with running_cluster(home, docker_client) as cluster:
        aio = cluster.aio
        for name in ("keep-a", "keep-b"):
            cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
                name=name, labels={"tier": name}, spec=pb.InstanceSpec(
                    image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                    # Exits 0 on SIGTERM, so a stop ends STOPPED whatever the driver makes of 143.
                    command=["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"])),
                write=True)
        for name in ("keep-a", "keep-b"):
            cluster.wait_instance(name)
        cluster.call("Instances", "StopInstance", public_pb2.StopInstanceRequest(name="keep-b"), write=True)
        cluster.wait_instance("keep-b", states=(pb.INSTANCE_STATE_STOPPED,))
        before = snapshot(cluster)
        config = ["--config", str(aio.cli_config_path)]
        backup = tmp_path_factory.mktemp("files") / "cluster.backup"
        assert run(config + ["cluster", "backup", str(backup)]) == 0
        assert oct(backup.stat().st_mode & 0o777) == "0o600"
        archive = json.loads(backup.read_bytes())
        assert archive["format"] == "thecloud-backup/1" and archive["revision"] > 0

        # Wipe: every daemon stops and its data goes (CA, certificates and secret stay).
        cluster.client.close()
        aio.down(purge=True)
        assert not aio.data_path("sched-1").exists()
        aio.prepare()  # empty data directories, the same CA, certificates and secret
        for node in aio.schedulers:
            aio.start_node(node.name)
        fresh = Cluster(aio, home)
        deadline = time.monotonic() + 60
        while True:
            try:
                fresh.leader()
                break
            except RpcFailure:
                assert time.monotonic() < deadline, "the new schedulers did not answer"
                time.sleep(0.5)
        tampered = backup.with_name("tampered.backup")
        tampered.write_bytes(backup.read_bytes().replace(b"keep-a", b"keep-x"))
        assert run(config + ["cluster", "restore", str(tampered)]) == 2  # bad input
        assert "checksum" in capsys.readouterr().err
        assert run(config + ["cluster", "restore", str(backup)]) == 0
        assert "restored 1 hosts and 2 instances" in capsys.readouterr().out
        assert run(config + ["cluster", "restore", str(backup)]) == 1
        assert "not empty" in capsys.readouterr().err

        aio.start_node(aio.agent.name)
        aio.wait_healthy(60)
        assert snapshot(fresh) == before
        fresh.wait_instance("keep-a")
        fresh.wait_instance("keep-b", states=(pb.INSTANCE_STATE_STOPPED,))
        fresh.client.close()
