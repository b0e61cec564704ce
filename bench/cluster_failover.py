"""Leader kill -9 to the first successful write through the public API, 10 tries.

Each try: find the leader, SIGKILL its scheduler process (its Raft child dies
with it), and time until a CreateInstance sent to the survivors is acknowledged.
The killed node is restarted and allowed to catch up before the next try.
"""
from __future__ import annotations

import argparse
import signal
import statistics
import time

from _cluster import allinone, client_for, write
from proto.v1 import public_pb2, resources_pb2 as pb

MiB = 1024**2


def leader_of(client) -> str:
    while True:
        status = client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest())
        if status.leader and all(m.reachable for m in status.members):
            return status.leader
        time.sleep(0.05)


def run(tries: int) -> dict:
    times = []
    with allinone() as (aio, home):
        client = client_for(aio, home, call_timeout=0.5, budget=30.0)
        for n in range(tries):
            leader = leader_of(client)
            aio.stop_node(leader, signal.SIGKILL)
            killed = time.perf_counter()
            client.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
                name=f"after-kill-{n}", request_id=f"failover-{n}",
                spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                                     command=["sleep", "3600"])), write=True)
            times.append(time.perf_counter() - killed)
            aio.start_node(leader)
            leader_of(client)
            time.sleep(1.0)
        client.close()
    return {"tries": tries, "seconds": [round(t, 3) for t in times],
            "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3),
            "targets": {"median_s": 1.0, "max_s": 2.0}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=10)
    write("cluster_failover", run(parser.parse_args().tries))


if __name__ == "__main__":
    main()
