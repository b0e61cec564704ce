"""CreateInstance latency through the public API, acknowledged after Raft commit.

A 3-node all-in-one cluster on this machine; every create is a real instance
that the agent then starts in Docker in the background. Prints JSON and writes
bench/results/api_create_latency.json.
"""
from __future__ import annotations

import argparse
import threading
import time

from _cluster import allinone, client_for, summary_ms, write
from proto.v1 import public_pb2, resources_pb2 as pb

MiB = 1024**2


def create(client, name: str) -> float:
    request = public_pb2.CreateInstanceRequest(
        name=name, request_id=f"bench-{name}",
        spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                             command=["sleep", "3600"]))
    start = time.perf_counter()
    client.call("Instances", "CreateInstance", request, write=True)
    return time.perf_counter() - start


def run(sequential: int, concurrent: int, threads: int) -> dict:
    with allinone() as (aio, home):
        client = client_for(aio, home)
        for n in range(10):   # warm up channels and code paths
            create(client, f"warm{n}")
        seq = [create(client, f"s{n}") for n in range(sequential)]

        lat: list[float] = []
        lock = threading.Lock()

        def worker(w: int) -> None:
            own = client_for(aio, home)
            for n in range(concurrent // threads):
                took = create(own, f"c{w}-{n}")
                with lock:
                    lat.append(took)
            own.close()

        start = time.perf_counter()
        pool = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - start
        client.close()
    return {"sequential": summary_ms(seq),
            "concurrent": {**summary_ms(lat), "threads": threads,
                           "creates_per_s": round(len(lat) / elapsed, 1)},
            "targets": {"p50_ms": 15, "p99_ms": 60}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    write("api_create_latency", run(args.sequential, args.concurrent, args.threads))


if __name__ == "__main__":
    main()
