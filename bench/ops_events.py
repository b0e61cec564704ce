"""Event delivery latency and backup cost on a 3-node all-in-one cluster.

Event latency: a watcher follows the event stream on a *follower*; each label
update is timed from the moment the client sends it to the matching event
reaching the watcher, next to the same update's acknowledgement latency (the
event often arrives before the acknowledgement: both follow the commit). Backup: `Operations.Backup`
(linearizable barrier + serialization) with N instances in the state.
Prints JSON and writes bench/results/ops_events.json.
"""
from __future__ import annotations

import argparse
import threading
import time

from _cluster import allinone, client_for, summary_ms, write
from cli.events_stream import watch_events
from proto.v1 import events_pb2, operations_pb2, public_pb2, resources_pb2 as pb

MiB = 1024**2


def relabel(client, name: str, n: int) -> None:
    instance = pb.Instance()
    instance.meta.name = name
    instance.meta.labels["n"] = str(n)
    request = public_pb2.UpdateInstanceRequest(instance=instance)
    request.update_mask.paths.append("meta.labels")
    client.call("Instances", "UpdateInstance", request, write=True)


def run(updates: int, instances: int) -> dict:
    with allinone() as (aio, home):
        client = client_for(aio, home)
        for n in range(instances):
            client.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
                name=f"b{n}", spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1,
                                                   memory_bytes=8 * MiB, command=["sleep", "3600"])), write=True)
        leader = client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest()).leader
        follower = next(n for n in aio.schedulers if n.name != leader)
        watcher_client = client_for(aio, home)
        watcher_client.endpoints = (follower.api,)
        arrived: dict[str, float] = {}
        seen = threading.Condition()
        stop = threading.Event()

        def on_event(event):
            if event.type == "instance.updated" and event.name == "b0":
                with seen:
                    arrived[event.reason + str(event.sequence)] = time.perf_counter()
                    seen.notify_all()

        thread = threading.Thread(target=watch_events, daemon=True, args=(
            watcher_client, events_pb2.WatchEventsRequest(tail=1, follow=True), on_event, stop))
        thread.start()
        time.sleep(1.0)
        latencies, acks = [], []
        for n in range(updates):
            with seen:
                before = len(arrived)
            sent = time.perf_counter()
            relabel(client, "b0", n)
            acks.append(time.perf_counter() - sent)
            with seen:
                seen.wait_for(lambda: len(arrived) > before, timeout=10)
                latencies.append(max(arrived.values()) - sent)
            time.sleep(0.02)
        stop.set()
        backups = []
        size = 0
        for _ in range(5):
            start = time.perf_counter()
            reply = client.call("Operations", "Backup", operations_pb2.BackupRequest(), timeout=30)
            backups.append(time.perf_counter() - start)
            size = len(reply.archive)
        return {"event_delivery_to_follower_watcher": summary_ms(latencies),
                "update_acknowledged": summary_ms(acks),
                "backup": {**summary_ms(backups), "instances": instances, "bytes": size}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--instances", type=int, default=50)
    args = parser.parse_args()
    write("ops_events", run(args.updates, args.instances))


if __name__ == "__main__":
    main()
