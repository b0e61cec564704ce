"""Evacuation: time from `EvacuateHost` to the evacuation being done (every instance
moved and running on the other host), for N instances and a few `parallel` values.

One all-in-one cluster (its agent holds the instances) and a second agent; the
instances are busybox containers with restart policy `never` (an evacuation moves
them too). Between runs the instances are moved back by evacuating the other host.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _cluster import allinone, client_for, write

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration" / "faults"))
from fault_harness import ExtraAgent  # noqa: E402
from proto.v1 import evacuate_pb2 as epb, placement_pb2, public_pb2, resources_pb2 as pb  # noqa: E402

MiB = 1024**2


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(predicate, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise TimeoutError("condition not reached")


def evacuate(client, host: str, parallel: int) -> tuple[float, dict]:
    started = time.monotonic()
    client.call("Evacuations", "EvacuateHost", epb.EvacuateHostRequest(name=host, parallel=parallel), write=True)
    done = wait(lambda: (lambda e: e if e.state != "running" else None)(client.call(
        "Evacuations", "GetEvacuation", epb.GetEvacuationRequest(name=host))), 900)
    seconds = time.monotonic() - started
    client.call("Placement", "SetHostSchedulable", placement_pb2.SetHostSchedulableRequest(name=host, mode="active"),
                write=True)
    return seconds, dict(done.counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--parallel", default="1,4,8")
    args = parser.parse_args()
    runs = []
    with allinone() as (aio, home):
        client = client_for(aio, home)
        first = aio.agent_name
        for n in range(args.count):
            client.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
                name=f"e{n}", request_id=f"evac-e{n}",
                spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                                     command=["sleep", "3600"])), write=True)
        wait(lambda: all(i.state == pb.INSTANCE_STATE_RUNNING for i in client.list_all(
            "Instances", "ListInstances", public_pb2.ListInstancesRequest(), "instances").instances), 600, 0.5)
        second = ExtraAgent(aio, f"{first}-b", free_port())
        second.start()
        try:
            wait(lambda: any(h.meta.name == second.name and h.state == pb.HOST_STATE_UP for h in client.call(
                "Hosts", "ListHosts", public_pb2.ListHostsRequest()).hosts), 60)
            source, target = first, second.name
            for parallel in [int(p) for p in args.parallel.split(",")]:
                seconds, counts = evacuate(client, source, parallel)
                runs.append({"instances": args.count, "parallel": parallel, "seconds": round(seconds, 2),
                             "per_instance_s": round(seconds / args.count, 3), "counts": counts})
                print(runs[-1], file=sys.stderr)
                source, target = target, source
        finally:
            second.stop()
            from _cluster import _remove_containers
            _remove_containers(second.name)
    write("faults_evacuate", {"runs": runs, "note": "EvacuateHost until done: every instance moved and running "
                                                    "on the other host (one shared Docker Engine)"})


if __name__ == "__main__":
    main()
