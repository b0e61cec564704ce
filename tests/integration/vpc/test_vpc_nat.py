"""Egress NAT through a VPC's gateway host, with real packets to a namespace standing for the outside."""
import grpc
import pytest

from cli.errors import RpcFailure
from proto.v1 import floating_pb2 as fpb
from proto.v1 import networks_pb2 as npb
from proto.v1 import public_pb2
from vpc_harness import call, create, net, wait_nic
from vpc_outside import echo_from, nat_state, wait_for


def nat1(c, *hosts: str):
    """VPC nat1 (10.40.0.0/16) NATed by host-a, and on its subnet an instance n<i> on each of `hosts`."""
    vpc = net(c, "CreateVpc", npb.CreateVpcRequest(name="nat1", cidr="10.40.0.0/16", gateway_host=c.agents[0].name))
    assert vpc.gateway_host == c.agents[0].name
    net(c, "CreateSubnet", npb.CreateSubnetRequest(name="nat1-s", vpc="nat1", cidr="10.40.1.0/24"))
    for i, host in enumerate(hosts, 1):
        create(c, f"n{i}", host, "nat1-s")
    return [wait_nic(c, f"n{i}") for i in range(1, len(hosts) + 1)]


def test_vpc_nat_egress_leaves_by_the_gateway_host_with_its_underlay_address(nat_cloud):
    c = nat_cloud
    # One instance beside the gateway, one on the other host (it reaches the gateway over VXLAN).
    nat1(c, "host-a", "host-b")
    gateway_address = c.underlay.address("host-a")
    for name in ("n1", "n2"):
        code, seen = wait_for(lambda: (lambda r: r if r[0] == 0 else None)(echo_from(c, name)), 30,
                              f"{name} reaching the outside")
        assert seen.strip() == gateway_address, (name, seen)
    tables, addresses = nat_state(c, "host-a")
    assert "table ip thecloud_nat_" in tables and "10.40.1.1/24" in addresses
    assert "thecloud_nat_" not in nat_state(c, "host-b")[0]


def test_vpc_nat_two_vpcs_with_one_cidr_are_natted_by_different_gateway_hosts(nat_cloud):
    c = nat_cloud
    [n1] = nat1(c, "host-a")
    a, b = c.agents[0].name, c.agents[1].name
    # The same range on the same gateway host is refused, naming why; nothing is made.
    with pytest.raises(RpcFailure) as err:
        net(c, "CreateVpc", npb.CreateVpcRequest(name="nat2", cidr="10.40.0.0/16", gateway_host=a))
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION and "overlaps" in str(err.value)
    assert "nat2" not in [v.meta.name for v in c.api.call("Networks", "ListVpcs", npb.ListNetworkRequest()).vpcs]
    net(c, "CreateVpc", npb.CreateVpcRequest(name="nat2", cidr="10.40.0.0/16"))
    with pytest.raises(RpcFailure) as err:
        net(c, "SetVpcGateway", fpb.SetVpcGatewayRequest(vpc="nat2", host=a))
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(RpcFailure) as err:
        net(c, "SetVpcGateway", fpb.SetVpcGatewayRequest(vpc="nat2", host="no-such-host"))
    assert err.value.code == grpc.StatusCode.NOT_FOUND and "no-such-host" in str(err.value)
    assert net(c, "SetVpcGateway", fpb.SetVpcGatewayRequest(vpc="nat2", host=b)).gateway_host == b
    net(c, "CreateSubnet", npb.CreateSubnetRequest(name="nat2-s", vpc="nat2", cidr="10.40.1.0/24"))
    # The very address of nat1's n1, on the same host as n1: both reach the outside at once.
    create(c, "m1", "host-a", "nat2-s", ip=n1.port.ip)
    wait_nic(c, "m1")
    seen = wait_for(lambda: (lambda r: r[1] if r[0] == 0 else None)(echo_from(c, "m1")), 30, "m1 egress")
    assert seen.strip() == c.underlay.address("host-b")
    assert echo_from(c, "n1")[1].strip() == c.underlay.address("host-a")


def test_vpc_nat_cleanup_leaves_no_nat_table_or_gateway_address(nat_cloud):
    c = nat_cloud
    nat1(c, "host-a", "host-b")
    net(c, "CreateVpc", npb.CreateVpcRequest(name="nat2", cidr="10.40.0.0/16", gateway_host=c.agents[1].name))
    net(c, "CreateSubnet", npb.CreateSubnetRequest(name="nat2-s", vpc="nat2", cidr="10.40.1.0/24"))
    create(c, "m1", "host-a", "nat2-s")
    wait_nic(c, "m1")
    # Both gateways are NATing: each host has a NAT table and its VPC's gateway address.
    wait_for(lambda: all("thecloud_nat_" in tables and "10.40.1.1" in addresses
                         for tables, addresses in (nat_state(c, h) for h in c.underlay.hosts)), 30, "NAT state")
    for name in ("n1", "n2", "m1"):
        call(c, "Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name=name))

    def gone():
        names = {i.meta.name for i in c.api.call("Instances", "ListInstances",
                                                  public_pb2.ListInstancesRequest()).instances}
        return not names & {"n1", "n2", "m1"}
    wait_for(gone, 60, "instances deleted")
    for name in ("nat1", "nat2"):
        net(c, "DeleteVpc", npb.NetworkRef(name=name))

    def clean():
        return all("thecloud_nat_" not in tables and "10.40.1.1" not in addresses
                   for tables, addresses in (nat_state(c, h) for h in c.underlay.hosts))
    wait_for(clean, 30, "NAT state removed")
