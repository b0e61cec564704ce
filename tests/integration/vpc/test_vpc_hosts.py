"""VPCs across two agent hosts (network namespaces), with real packets between containers.

The cluster is the module's; every test starts from an empty one (`vpc` empties it
before and after) and makes the networks and instances it needs itself.
"""
import concurrent.futures
import time

import grpc
import pytest

from cli.errors import RpcFailure
from proto.v1 import networks_pb2 as npb
from proto.v1 import public_pb2, resources_pb2 as pb
from vpc_harness import (IMAGE, MiB, call, code_of, create, empty, eventually, fetch, host_clean, in_netns,
                         instance_names, ip, links, net, serve, sh, vpc_cluster, wait_nic)


@pytest.fixture(scope="module")
def vpc_hosts_cluster(tmp_path_factory, docker_client, busybox_image, netns_capable):
    with vpc_cluster(tmp_path_factory.mktemp("vpc"), docker_client) as cluster:
        cluster.docker = docker_client
        yield cluster


@pytest.fixture
def vpc(vpc_hosts_cluster):
    empty(vpc_hosts_cluster)
    yield vpc_hosts_cluster
    empty(vpc_hosts_cluster)


def net1(cluster):
    """VPC net1 (10.10.0.0/16) with subnet sub1 (10.10.1.0/24)."""
    created = net(cluster, "CreateVpc", npb.CreateVpcRequest(name="net1", cidr="10.10.0.0/16"))
    net(cluster, "CreateSubnet", npb.CreateSubnetRequest(name="sub1", vpc="net1", cidr="10.10.1.0/24"))
    return created


def net1_a1_b1(cluster):
    """net1, and on sub1 the web servers a1 (host-a) and b1 (host-b), plugged: (vpc, a1, b1)."""
    created = net1(cluster)
    create(cluster, "a1", "host-a", "sub1", serve("a1", 80))
    create(cluster, "b1", "host-b", "sub1", serve("b1", 80))
    return created, wait_nic(cluster, "a1"), wait_nic(cluster, "b1")


def test_vpc_instances_on_two_hosts_reach_each_other_over_vxlan(vpc):
    created, a1, b1 = net1_a1_b1(vpc)
    assert created.vni >= 1 and created.mtu == 1450
    assert a1.host_name != b1.host_name and a1.port.ip != b1.port.ip
    assert a1.port.vpc == "net1" and a1.port.mtu == 1450 and a1.port.gateway == "10.10.1.1"
    code, out = sh(vpc, "a1", "ping", "-c", "2", "-W", "2", b1.port.ip)
    assert code == 0, out
    assert fetch(vpc, "b1", a1.port.ip) == (0, "a1\n")
    # The path really is VXLAN: each host has the VPC's bridge and VXLAN device, and
    # floods to the other host's VTEP.
    vni = created.vni
    for host, other in (("host-a", "host-b"), ("host-b", "host-a")):
        assert {f"tcb-{vni}", f"tcx-{vni}"} <= links(vpc, host)
        fdb = ip("-n", vpc.underlay.netns(host), "-j", "-d", "link", "show", f"tcx-{vni}").stdout
        assert '"id":%d' % vni in fdb.replace(" ", "")
        flood = in_netns(vpc.underlay.netns(host), "bridge", "fdb", "show", "dev", f"tcx-{vni}").stdout
        assert f"00:00:00:00:00:00 dst {vpc.underlay.address(other)}" in flood
    code, out = sh(vpc, "a1", "cat", "/sys/class/net/eth0/mtu")
    assert out.strip() == "1450"


def test_vpc_two_vpcs_with_the_same_cidr_do_not_reach_each_other(vpc):
    _, a1, b1 = net1_a1_b1(vpc)
    net(vpc, "CreateVpc", npb.CreateVpcRequest(name="net2", cidr="10.10.0.0/16"))
    net(vpc, "CreateSubnet", npb.CreateSubnetRequest(name="sub2", vpc="net2", cidr="10.10.1.0/24"))
    # The same addresses as net1's instances, on the other hosts.
    create(vpc, "d2", "host-a", "sub2", serve("d2", 80), ip=b1.port.ip)
    create(vpc, "e2", "host-b", "sub2", serve("e2", 80), ip=a1.port.ip)
    d2, e2 = wait_nic(vpc, "d2"), wait_nic(vpc, "e2")
    assert d2.port.ip == b1.port.ip and e2.port.ip == a1.port.ip
    # Each instance reaches the one of its own VPC behind a shared address, never the other.
    assert fetch(vpc, "a1", b1.port.ip) == (0, "b1\n")
    assert fetch(vpc, "d2", e2.port.ip) == (0, "e2\n")
    assert fetch(vpc, "e2", d2.port.ip) == (0, "d2\n")
    assert fetch(vpc, "b1", a1.port.ip) == (0, "a1\n")


def test_vpc_security_group_lets_80_in_keeps_22_out_and_rule_changes_apply_at_once(vpc):
    net1(vpc)
    create(vpc, "a1", "host-a", "sub1", serve("a1", 80))
    group = net(vpc, "CreateSecurityGroup", npb.CreateSecurityGroupRequest(name="web"))
    group = net(vpc, "AddSecurityGroupRule", npb.AddSecurityGroupRuleRequest(
        group="web", rule=npb.SecurityGroupRule(direction="ingress", protocol="tcp", port_min=80)))
    assert [(r.protocol, r.port_min, r.port_max, r.cidr) for r in group.rules] == [("tcp", 80, 80, "0.0.0.0/0")]
    create(vpc, "w1", "host-b", "sub1", serve("w1", 80, 22), security_groups=["web"])
    w1, a1 = wait_nic(vpc, "w1"), wait_nic(vpc, "a1")
    assert list(w1.port.security_groups) == ["web"]
    assert fetch(vpc, "a1", w1.port.ip, 80) == (0, "w1\n")        # allowed, and the replies flow
    assert fetch(vpc, "a1", w1.port.ip, 22)[0] != 0                 # default deny
    code, out = sh(vpc, "a1", "ping", "-c", "1", "-W", "1", w1.port.ip)
    assert code != 0                                                 # no icmp rule either
    # Egress is allowed and stateful: w1 reaches a1, and a1's answer comes back.
    assert fetch(vpc, "w1", a1.port.ip) == (0, "a1\n")

    # A new rule opens 22 on the live instance within a second (measured from the API answer).
    asked = time.monotonic()
    group = net(vpc, "AddSecurityGroupRule", npb.AddSecurityGroupRuleRequest(
        group="web", rule=npb.SecurityGroupRule(protocol="tcp", port_min=22, cidr="10.10.1.0/24")))
    opened = eventually(lambda: fetch(vpc, "a1", w1.port.ip, 22, timeout=1) == (0, "w1\n"))
    print(f"rule add took effect after {opened - asked:.2f}s")
    rule_22 = next(r.id for r in group.rules if r.port_min == 22)
    asked = time.monotonic()
    net(vpc, "RemoveSecurityGroupRule", npb.RemoveSecurityGroupRuleRequest(group="web", rule_id=rule_22))
    closed = eventually(lambda: fetch(vpc, "a1", w1.port.ip, 22, timeout=1)[0] != 0)
    print(f"rule removal took effect after {closed - asked:.2f}s")
    assert fetch(vpc, "a1", w1.port.ip, 80) == (0, "w1\n")

    # Detaching the group turns filtering off for the port; attaching it again turns it on.
    call(vpc, "Networks", "DetachSecurityGroup", npb.SecurityGroupMembershipRequest(group="web", instance="w1"))
    eventually(lambda: fetch(vpc, "a1", w1.port.ip, 22, timeout=1) == (0, "w1\n"))
    inst = call(vpc, "Networks", "AttachSecurityGroup",
                npb.SecurityGroupMembershipRequest(group="web", instance="w1"))
    assert list(inst.port.security_groups) == ["web"]
    eventually(lambda: fetch(vpc, "a1", w1.port.ip, 22, timeout=1)[0] != 0)


def test_vpc_remote_group_rule_admits_only_members(vpc):
    net1(vpc)
    create(vpc, "b1", "host-b", "sub1")         # in the VPC, in neither group
    net(vpc, "CreateSecurityGroup", npb.CreateSecurityGroupRequest(name="db"))
    net(vpc, "CreateSecurityGroup", npb.CreateSecurityGroupRequest(name="app"))
    net(vpc, "AddSecurityGroupRule", npb.AddSecurityGroupRuleRequest(
        group="db", rule=npb.SecurityGroupRule(protocol="tcp", port_min=80, remote_group="app")))
    create(vpc, "db1", "host-a", "sub1", serve("db1", 80), security_groups=["db"])
    create(vpc, "app1", "host-b", "sub1", security_groups=["app"])
    db1, _, _ = wait_nic(vpc, "db1"), wait_nic(vpc, "app1"), wait_nic(vpc, "b1")
    assert fetch(vpc, "app1", db1.port.ip) == (0, "db1\n")
    assert fetch(vpc, "b1", db1.port.ip)[0] != 0


def test_vpc_bad_input_is_refused_with_the_field_named_and_nothing_made(vpc):
    net1(vpc)
    net(vpc, "CreateSecurityGroup", npb.CreateSecurityGroupRequest(name="web"))
    create(vpc, "a1", "host-a", "sub1", security_groups=["web"])    # sub1, net1 and web in use
    bad = [
        ("CreateVpc", npb.CreateVpcRequest(name="x1", cidr="10.300.0.0/16"), "INVALID_ARGUMENT", "cidr"),
        ("CreateVpc", npb.CreateVpcRequest(name="x2", cidr="10.0.0.1/16"), "INVALID_ARGUMENT", "cidr"),
        ("CreateVpc", npb.CreateVpcRequest(name="x3"), "INVALID_ARGUMENT", "cidr"),
        ("CreateVpc", npb.CreateVpcRequest(name="net1", cidr="10.20.0.0/16"), "ALREADY_EXISTS", "net1"),
        ("CreateSubnet", npb.CreateSubnetRequest(name="s1", vpc="net1", cidr="10.11.0.0/24"),
         "INVALID_ARGUMENT", "cidr"),
        ("CreateSubnet", npb.CreateSubnetRequest(name="s2", vpc="net1", cidr="10.10.1.128/25"),
         "INVALID_ARGUMENT", "overlaps"),
        ("CreateSubnet", npb.CreateSubnetRequest(name="s3", vpc="nope", cidr="10.10.9.0/24"), "NOT_FOUND", "nope"),
        ("AddSecurityGroupRule", npb.AddSecurityGroupRuleRequest(group="web", rule=npb.SecurityGroupRule(
            protocol="tcp", port_min=90, port_max=80)), "INVALID_ARGUMENT", "rule.port_min"),
        ("AddSecurityGroupRule", npb.AddSecurityGroupRuleRequest(group="web", rule=npb.SecurityGroupRule(
            protocol="tcp", port_min=70000)), "INVALID_ARGUMENT", "rule.port_min"),
        ("AddSecurityGroupRule", npb.AddSecurityGroupRuleRequest(group="web", rule=npb.SecurityGroupRule(
            protocol="gre")), "INVALID_ARGUMENT", "rule.protocol"),
        ("AddSecurityGroupRule", npb.AddSecurityGroupRuleRequest(group="web", rule=npb.SecurityGroupRule(
            protocol="tcp", port_min=80, remote_group="nosuch")), "NOT_FOUND", "nosuch"),
        ("DeleteVpc", npb.NetworkRef(name="net1"), "FAILED_PRECONDITION", "in use"),
        ("DeleteSubnet", npb.NetworkRef(name="sub1"), "FAILED_PRECONDITION", "in use"),
        ("DeleteSecurityGroup", npb.NetworkRef(name="web"), "FAILED_PRECONDITION", "attached"),
    ]
    for method, request, code, words in bad:
        status, message = code_of(net, vpc, method, request)
        assert (status.name, words in message) == (code, True), (method, message)
    taken = wait_nic(vpc, "a1").port.ip
    for port, code, words in [
        (dict(subnet="sub1", ip="10.10.2.5"), "INVALID_ARGUMENT", "spec.ip"),
        (dict(subnet="sub1", ip="10.10.1.1"), "INVALID_ARGUMENT", "gateway"),
        (dict(subnet="sub1", ip="not-an-ip"), "INVALID_ARGUMENT", "spec.ip"),
        (dict(subnet="sub1", ip=taken), "ALREADY_EXISTS", "spec.ip"),
        (dict(subnet="nosub"), "NOT_FOUND", "nosub"),
        (dict(subnet="sub1", security_groups=["nosuch"]), "NOT_FOUND", "nosuch"),
        (dict(ip="10.10.1.9"), "INVALID_ARGUMENT", "spec.subnet"),
    ]:
        spec = pb.InstanceSpec(image=IMAGE, vcpus=1, memory_bytes=32 * MiB, **port)
        status, message = code_of(call, vpc, "Instances", "CreateInstance",
                                  public_pb2.CreateInstanceRequest(name="badport", spec=spec))
        assert (status.name, words in message) == (code, True), (port, message)
    assert instance_names(vpc) == {"a1"}
    assert [v.meta.name for v in vpc.api.call("Networks", "ListVpcs", npb.ListNetworkRequest()).vpcs] == ["net1"]


def test_vpc_addresses_are_never_given_twice_under_concurrent_creates(vpc):
    net(vpc, "CreateVpc", npb.CreateVpcRequest(name="net3", cidr="10.30.0.0/16"))
    net(vpc, "CreateSubnet", npb.CreateSubnetRequest(name="tiny", vpc="net3", cidr="10.30.0.0/29"))
    names = [f"c{i}" for i in range(8)]     # a /29 has 5 addresses for ports

    def attempt(name):
        spec = pb.InstanceSpec(image=IMAGE, vcpus=1, memory_bytes=8 * MiB, command=["sleep", "3600"],
                               subnet="tiny")
        try:
            return call(vpc, "Instances", "CreateInstance",
                        public_pb2.CreateInstanceRequest(name=name, spec=spec)).port.ip
        except RpcFailure as err:
            return err.code
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, names))
    ips = [r for r in results if isinstance(r, str)]
    assert sorted(ips) == [f"10.30.0.{i}" for i in range(2, 7)]
    assert [r for r in results if not isinstance(r, str)] == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 3
    subnet = vpc.api.call("Networks", "GetSubnet", npb.NetworkRef(name="tiny"))
    assert (subnet.ports, subnet.free) == (5, 0)


def test_vpc_deleting_everything_leaves_nothing_behind(vpc):
    net1_a1_b1(vpc)
    net(vpc, "CreateVpc", npb.CreateVpcRequest(name="net2", cidr="10.20.0.0/16"))
    net(vpc, "CreateSubnet", npb.CreateSubnetRequest(name="sub2", vpc="net2", cidr="10.20.1.0/24"))
    for group in ("web", "app"):
        net(vpc, "CreateSecurityGroup", npb.CreateSecurityGroupRequest(name=group))
    net(vpc, "AddSecurityGroupRule", npb.AddSecurityGroupRuleRequest(
        group="web", rule=npb.SecurityGroupRule(protocol="tcp", port_min=80, remote_group="app")))
    create(vpc, "w1", "host-b", "sub1", security_groups=["web"])
    create(vpc, "d2", "host-a", "sub2", security_groups=["app"])
    wait_nic(vpc, "w1"), wait_nic(vpc, "d2")
    assert not any(host_clean(vpc, h) for h in vpc.underlay.hosts)     # there is something to remove

    for name in instance_names(vpc):
        call(vpc, "Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name=name))
    eventually(lambda: not instance_names(vpc), timeout=60)
    net(vpc, "DeleteSecurityGroup", npb.NetworkRef(name="web"))       # first: its rule names app
    net(vpc, "DeleteSecurityGroup", npb.NetworkRef(name="app"))
    for name in ("net1", "net2"):
        net(vpc, "DeleteVpc", npb.NetworkRef(name=name))
    assert not vpc.api.call("Networks", "ListVpcs", npb.ListNetworkRequest()).vpcs
    assert not vpc.api.call("Networks", "ListSubnets", npb.ListNetworkRequest()).subnets
    eventually(lambda: all(host_clean(vpc, h) for h in vpc.underlay.hosts), timeout=30)
