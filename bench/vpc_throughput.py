"""VPC data path and rule latency, on two agent hosts in network namespaces.

    .venv/bin/python bench/vpc_throughput.py [--seconds 5] [--ports 100]

1. Throughput between two containers on different hosts over their VPC (veth →
   bridge → VXLAN → underlay → VXLAN → bridge → veth, with the hosts' nftables
   security groups and conntrack in the path), against the same two host
   namespaces joined by a VXLAN device set up by hand, in the same run. iperf3
   (Debian's) runs inside the containers' network namespaces (nsenter): the
   busybox image has no iperf3.
2. Rule update latency: with `--ports` instances in one security group, the time
   from the API's answer to AddSecurityGroupRule / RemoveSecurityGroupRule until
   a client sees the port open / closed (probing every 50 ms).
"""
from __future__ import annotations

import argparse
from concurrent import futures
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "integration" / "vpc"))

import docker  # noqa: E402

from _cluster import summary_ms, write  # noqa: E402
from proto.v1 import networks_pb2 as npb  # noqa: E402
from proto.v1 import public_pb2, resources_pb2 as pb  # noqa: E402
from vpc_harness import in_netns, vpc_cluster  # noqa: E402

MiB = 1024**2
IMAGE = "thecloud/busybox:test"


def create(cluster, name, host, command, groups=(), memory=16 * MiB):
    spec = pb.InstanceSpec(image=IMAGE, vcpus=1, memory_bytes=memory, command=command, subnet="sub1",
                           host_labels={"vpc-host": host}, security_groups=list(groups))
    return cluster.api.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(name=name, spec=spec),
                            write=True)


def wait_plugged(cluster, dc, name, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inst = cluster.api.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name))
        if inst.runtime_id and inst.state == pb.INSTANCE_STATE_RUNNING:
            out = dc.containers.get(inst.runtime_id).exec_run(["ip", "-4", "addr", "show", "eth0"]).output
            if inst.port.ip.encode() in out:
                return inst, dc.containers.get(inst.runtime_id).attrs["State"]["Pid"]
        time.sleep(0.3)
    raise RuntimeError(f"{name} did not get its NIC")


def iperf(server_ns: list[str], client_ns: list[str], address: str, seconds: int) -> float:
    """Gbit/s received, iperf3 server and client each run under the given namespace prefix."""
    server = subprocess.Popen([*server_ns, "iperf3", "-s", "-1", "-p", "5201"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        out = subprocess.run([*client_ns, "iperf3", "-c", address, "-p", "5201", "-t", str(seconds), "-J"],
                             capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    finally:
        server.wait(timeout=30)
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def hand_made_vxlan(cluster) -> tuple[list[str], list[str], str]:
    """The two host namespaces joined by a VXLAN device of their own (VNI 4000), MTU as the VPC's."""
    u = cluster.underlay
    a, b = u.hosts
    for host, mine, other in ((a, "10.99.0.1", u.address(b)), (b, "10.99.0.2", u.address(a))):
        ns = u.netns(host)
        in_netns(ns, "ip", "link", "add", "vxbench", "type", "vxlan", "id", "4000", "local", u.address(host),
                 "dstport", "4789", "nolearning")
        in_netns(ns, "ip", "link", "set", "vxbench", "mtu", "1450", "up")
        in_netns(ns, "ip", "addr", "add", f"{mine}/24", "dev", "vxbench")
        in_netns(ns, "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vxbench", "dst", other)
    return (["ip", "netns", "exec", u.netns(b)], ["ip", "netns", "exec", u.netns(a)], "10.99.0.2")


def probe(dc, client_id: str, address: str, port: int) -> bool:
    out = dc.containers.get(client_id).exec_run(
        ["sh", "-c", f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 1 {address} {port}"]).output
    return b"200 OK" in out


def rule_latency(cluster, dc, client, target, ports: int) -> dict:
    for i in range(ports - 1):
        create(cluster, f"m{i}", ("host-a", "host-b")[i % 2], ["sleep", "3600"], groups=["web"], memory=8 * MiB)
    for i in range(ports - 1):
        wait_plugged(cluster, dc, f"m{i}")
    adds, removes = [], []

    def first_probe_where(expected: bool, since: float) -> float:
        # Probes start every 100 ms without waiting for each other (a dropped SYN makes
        # one wait out nc's 1 s timeout); the answer is the start of the first probe
        # that sees the new state.
        with futures.ThreadPoolExecutor(max_workers=16) as pool:
            started = []
            while True:
                at = time.monotonic()
                started.append((at, pool.submit(probe, dc, client.runtime_id, target.port.ip, 22)))
                done = [(t, f.result()) for t, f in started if f.done()]
                hits = [t for t, ok in done if ok == expected]
                if hits:
                    return max(0.0, min(hits) - since)
                time.sleep(0.1)
    for _ in range(5):
        group = cluster.api.call("Networks", "AddSecurityGroupRule", npb.AddSecurityGroupRuleRequest(
            group="web", rule=npb.SecurityGroupRule(protocol="tcp", port_min=22)), write=True)
        adds.append(first_probe_where(True, time.monotonic()))
        rule = next(r.id for r in group.rules if r.port_min == 22)
        cluster.api.call("Networks", "RemoveSecurityGroupRule", npb.RemoveSecurityGroupRuleRequest(
            group="web", rule_id=rule), write=True)
        removes.append(first_probe_where(False, time.monotonic()))
    return {"ports_in_group": ports, "rule_add_to_open": summary_ms(adds),
            "rule_remove_to_closed": summary_ms(removes)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--ports", type=int, default=100, help="ports in the group for the rule latency")
    args = parser.parse_args()
    if shutil.which("iperf3") is None:
        print("bench/vpc_throughput.py: iperf3 is missing (scripts/packages.d/vpc.txt)", file=sys.stderr)
        return 1
    dc = docker.from_env()
    home = Path(tempfile.mkdtemp(prefix="thecloud-bench-vpc-"))
    with vpc_cluster(home, dc) as cluster:
        api = cluster.api
        api.call("Networks", "CreateVpc", npb.CreateVpcRequest(name="net1", cidr="10.10.0.0/16"), write=True)
        api.call("Networks", "CreateSubnet", npb.CreateSubnetRequest(name="sub1", vpc="net1", cidr="10.10.0.0/20"),
                 write=True)
        api.call("Networks", "CreateSecurityGroup", npb.CreateSecurityGroupRequest(name="web"), write=True)
        for rule in (npb.SecurityGroupRule(protocol="tcp", port_min=80),
                     npb.SecurityGroupRule(protocol="tcp", port_min=5201)):
            api.call("Networks", "AddSecurityGroupRule", npb.AddSecurityGroupRuleRequest(group="web", rule=rule),
                     write=True)
        serve = ["sh", "-c", "mkdir -p /tmp/w && echo ok > /tmp/w/index.html && httpd -p 80 -h /tmp/w "
                 "&& httpd -p 22 -h /tmp/w && sleep 36000"]
        create(cluster, "client", "host-a", ["sleep", "36000"])
        create(cluster, "server", "host-b", serve, groups=["web"])
        client, client_pid = wait_plugged(cluster, dc, "client")
        server, server_pid = wait_plugged(cluster, dc, "server")

        vpc_runs, bare_runs = [], []
        bare = hand_made_vxlan(cluster)
        for _ in range(3):     # interleaved, so that background load hits both alike
            vpc_runs.append(iperf(["nsenter", f"--net=/proc/{server_pid}/ns/net"],
                                  ["nsenter", f"--net=/proc/{client_pid}/ns/net"], server.port.ip, args.seconds))
            bare_runs.append(iperf(bare[0], bare[1], bare[2], args.seconds))
        vpc_gbps, bare_gbps = max(vpc_runs), max(bare_runs)
        latency = rule_latency(cluster, dc, client, server, args.ports)
    result = {
        "throughput": {
            "vpc_container_to_container_gbps": round(vpc_gbps, 3),
            "hand_made_vxlan_between_the_host_namespaces_gbps": round(bare_gbps, 3),
            "ratio": round(vpc_gbps / bare_gbps, 3),
            "runs_gbps": {"vpc": [round(x, 3) for x in vpc_runs], "bare": [round(x, 3) for x in bare_runs]},
            "seconds_per_run": args.seconds, "mtu": 1450, "tool": "iperf3 (TCP, 1 stream)",
        },
        "rule_update": latency,
    }
    write("vpc_throughput", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
