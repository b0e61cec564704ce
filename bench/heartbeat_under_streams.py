"""Heartbeat latency with 200 watch streams open on a scheduler vs none.

    .venv/bin/python bench/heartbeat_under_streams.py [--beats 200] [--streams 200]

Against a throw-away all-in-one cluster: heartbeats sent with the agent's own
certificate (the host's id, no instances: the cluster runs none) to sched-1's node
API (`node_listen`, its own workers) and to its public API (where agents without
`scheduler_node_api` still beat), first with no stream open, then while
`--streams` follow streams of 13 reader tokens are open on sched-1 (at most 16
per reader are admitted, beyond that RESOURCE_EXHAUSTED), and how long a
CreateInstance takes meanwhile (measured last: these heartbeats report no instances).
"""
from __future__ import annotations

import argparse
import time

import grpc
from _cluster import allinone, client_for, summary_ms, write

from common.grpcserve import channel_credentials, secure_channel
from common.tls import TlsFiles, issue
from proto.v1 import events_pb2, events_pb2_grpc, iam_pb2, node_pb2, node_pb2_grpc, public_pb2
from proto.v1 import public_pb2_grpc, resources_pb2 as pb

READERS = 13


def beat_latency(stub, host_id: str, beats: int) -> list[float]:
    out = []
    request = node_pb2.HeartbeatRequest(host_id=host_id)
    for _ in range(beats):
        start = time.perf_counter()
        stub.Heartbeat(request, timeout=30)
        out.append(time.perf_counter() - start)
        time.sleep(0.01)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--beats", type=int, default=200)
    parser.add_argument("--streams", type=int, default=200)
    args = parser.parse_args()
    with allinone() as (aio, home):
        admin = client_for(aio, home)
        admin.call("Projects", "CreateProject", iam_pb2.CreateProjectRequest(name="bench"))
        tokens = []
        for n in range(READERS):
            name = f"reader-{n}"
            admin.call("Principals", "CreatePrincipal", iam_pb2.CreatePrincipalRequest(name=name))
            admin.call("Roles", "BindRole", iam_pb2.BindRoleRequest(
                binding=iam_pb2.RoleBinding(principal=name, role="reader", project="bench")))
            tokens.append(admin.call("Tokens", "CreateToken", iam_pb2.CreateTokenRequest(principal=name)).secret)
        admin.call("Principals", "CreatePrincipal", iam_pb2.CreatePrincipalRequest(name="maker"))
        admin.call("Roles", "BindRole", iam_pb2.BindRoleRequest(
            binding=iam_pb2.RoleBinding(principal="maker", role="member", project="bench")))
        maker = admin.call("Tokens", "CreateToken", iam_pb2.CreateTokenRequest(principal="maker")).secret
        issue(home / "ca", home / "tls", "bench-user", "client", ["127.0.0.1"])
        user_tls = TlsFiles.in_dir(home / "tls", "bench-user")
        host_id = admin.call("Hosts", "ListHosts", public_pb2.ListHostsRequest()).hosts[0].meta.id
        agent_tls = TlsFiles.in_dir(home / "tls", aio.agent_name)
        node_api = node_pb2_grpc.NodeStub(secure_channel(aio.node_address(aio.schedulers[0].name), agent_tls))
        public_node = node_pb2_grpc.NodeStub(secure_channel(aio.endpoints[0], agent_tls))
        beat_latency(node_api, host_id, 10)
        beat_latency(public_node, host_id, 10)
        quiet = {"node_api": summary_ms(beat_latency(node_api, host_id, args.beats)),
                 "public_api": summary_ms(beat_latency(public_node, host_id, args.beats))}

        channels, calls = [], []
        for n in range(args.streams):
            channel = grpc.secure_channel(aio.endpoints[0], channel_credentials(user_tls))
            channels.append(channel)
            calls.append(events_pb2_grpc.EventsStub(channel).WatchEvents(
                events_pb2.WatchEventsRequest(project="bench", follow=True, tail=1),
                metadata=[("authorization", f"Bearer {tokens[n % READERS]}")]))
        time.sleep(5.0)
        refused = sum(1 for call in calls if call.done())
        busy = {"node_api": summary_ms(beat_latency(node_api, host_id, args.beats)),
                "public_api": summary_ms(beat_latency(public_node, host_id, args.beats))}
        # Creates last: the bench's heartbeats report no instances and no images, which
        # the agent's own next heartbeats put right.
        time.sleep(5.0)
        creates = []
        instances = public_pb2_grpc.InstancesStub(grpc.secure_channel(aio.endpoints[0], channel_credentials(user_tls)))
        for n in range(10):
            start = time.perf_counter()
            instances.CreateInstance(public_pb2.CreateInstanceRequest(
                name=f"b-{n}", project="bench", spec=pb.InstanceSpec(
                    image="thecloud/busybox:test", vcpus=1, memory_bytes=16 << 20, command=["sleep", "600"])),
                metadata=[("authorization", f"Bearer {maker}")], timeout=30)
            creates.append(time.perf_counter() - start)
        busy["create_instance"] = summary_ms(creates)
        still_open = sum(1 for call in calls if not call.done())
        for call in calls:
            call.cancel()
        for channel in channels:
            channel.close()
        write("heartbeat_under_streams", {
            "streams_asked": args.streams, "streams_refused": refused, "streams_open": still_open,
            "heartbeat_no_streams": quiet, "heartbeat_with_streams": busy,
        })


if __name__ == "__main__":
    main()
