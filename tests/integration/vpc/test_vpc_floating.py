"""Floating IPs: an underlay address DNATed by the VPC's gateway host to a port, with real packets."""
import pytest

from cli.errors import RpcFailure
from proto.v1 import floating_pb2 as fpb
from proto.v1 import networks_pb2 as npb
from proto.v1 import public_pb2, resources_pb2 as pb
from vpc_harness import IMAGE, MiB, call, create, net, serve, wait_nic
from vpc_outside import echo_from, nat_state, wait_for


def fips(c, method, request):
    return call(c, "FloatingIps", method, request)


def refused(fn, *args):
    with pytest.raises(RpcFailure) as err:
        fn(*args)
    return err.value.code.name, str(err.value)


def serving(c, address, body):
    return wait_for(lambda: c.outside.http_get(address) == (0, body), 30, f"{body.strip()} via {address}")


def fl1(c):
    """VPC fl1 (10.50.0.0/16), NATed by host-a."""
    net(c, "CreateVpc", npb.CreateVpcRequest(name="fl1", cidr="10.50.0.0/16", gateway_host=c.agents[0].name))


def test_vpc_floating_ip_reaches_an_instance_from_outside_and_detach_stops_it(nat_cloud):
    c = nat_cloud
    fl1(c)
    net(c, "CreateSubnet", npb.CreateSubnetRequest(name="fl1-s", vpc="fl1", cidr="10.50.1.0/24"))
    create(c, "f1", "host-b", "fl1-s", serve("f1", 80))           # not on the gateway host
    f1 = wait_nic(c, "f1")
    fip = fips(c, "CreateFloatingIp", fpb.CreateFloatingIpRequest())
    pool_first = c.outside.pool.split("/")[0].rsplit(".", 1)
    assert fip.address == f"{pool_first[0]}.{int(pool_first[1]) + 1}" and not fip.instance
    attached = fips(c, "AttachFloatingIp", fpb.AttachFloatingIpRequest(address=fip.address, instance="f1"))
    assert (attached.instance, attached.port_ip, attached.gateway_host) == ("f1", f1.port.ip, c.agents[0].name)
    shown = c.api.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name="f1"))
    assert shown.port.floating_ip == fip.address
    serving(c, fip.address, "f1\n")
    # The instance's own connections leave with its floating address, not the gateway's.
    assert wait_for(lambda: echo_from(c, "f1")[1].strip(), 10) == fip.address
    tables, addresses = nat_state(c, "host-a")
    assert f"{fip.address}/32" in addresses and "thecloud_nat_" in tables
    # Deleting it while attached is refused; detaching stops the translation at once.
    assert refused(fips, c, "DeleteFloatingIp", fpb.FloatingIpRef(address=fip.address))[0] == "FAILED_PRECONDITION"
    fips(c, "DetachFloatingIp", fpb.FloatingIpRef(address=fip.address))
    wait_for(lambda: c.outside.http_get(fip.address, timeout=1)[0] != 0, 15, "detach taking effect")
    assert f"{fip.address}/32" not in nat_state(c, "host-a")[1]
    assert echo_from(c, "f1")[1].strip() == c.underlay.address("host-a")   # plain egress NAT again
    # Attached again, then the instance deleted: the floating IP lets go and can be deleted.
    fips(c, "AttachFloatingIp", fpb.AttachFloatingIpRequest(address=fip.address, instance="f1"))
    serving(c, fip.address, "f1\n")
    call(c, "Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name="f1"))
    assert not fips(c, "GetFloatingIp", fpb.FloatingIpRef(address=fip.address)).instance
    fips(c, "DeleteFloatingIp", fpb.FloatingIpRef(address=fip.address))
    wait_for(lambda: all(f"{fip.address}/32" not in nat_state(c, h)[1] for h in c.underlay.hosts), 30,
             "floating address removed")


def test_vpc_floating_ip_bad_input_is_refused_and_nothing_is_wired(nat_cloud):
    c = nat_cloud
    fl1(c)
    net(c, "CreateSubnet", npb.CreateSubnetRequest(name="fl1-t", vpc="fl1", cidr="10.50.2.0/24"))
    create(c, "f2", "host-a", "fl1-t")
    spec = pb.InstanceSpec(image=IMAGE, vcpus=1, memory_bytes=16 * MiB, command=["sleep", "3600"])
    call(c, "Instances", "CreateInstance", public_pb2.CreateInstanceRequest(name="noport", spec=spec))
    prefix = c.underlay.prefix
    one = fips(c, "CreateFloatingIp", fpb.CreateFloatingIpRequest(address=f"{prefix}.203"))
    for request, code, words in [
        (fpb.CreateFloatingIpRequest(address=f"{prefix}.203"), "ALREADY_EXISTS", "address"),
        (fpb.CreateFloatingIpRequest(address=f"{prefix}.99"), "INVALID_ARGUMENT", "address"),
        (fpb.CreateFloatingIpRequest(address="not-an-ip"), "INVALID_ARGUMENT", "address"),
    ]:
        status, message = refused(fips, c, "CreateFloatingIp", request)
        assert (status, words in message) == (code, True), message
    for request, code, words in [
        (fpb.AttachFloatingIpRequest(address=one.address, instance="nosuch"), "NOT_FOUND", "nosuch"),
        (fpb.AttachFloatingIpRequest(address=f"{prefix}.204", instance="f2"), "NOT_FOUND", f"{prefix}.204"),
        (fpb.AttachFloatingIpRequest(address=one.address, instance="noport"), "FAILED_PRECONDITION", "no VPC port"),
        (fpb.AttachFloatingIpRequest(address=one.address), "INVALID_ARGUMENT", "instance"),
    ]:
        status, message = refused(fips, c, "AttachFloatingIp", request)
        assert (status, words in message) == (code, True), message
    status, message = refused(fips, c, "DetachFloatingIp", fpb.FloatingIpRef(address=one.address))
    assert status == "FAILED_PRECONDITION"
    # Two floating IPs on one port are refused.
    fips(c, "AttachFloatingIp", fpb.AttachFloatingIpRequest(address=one.address, instance="f2"))
    two = fips(c, "CreateFloatingIp", fpb.CreateFloatingIpRequest())
    status, message = refused(fips, c, "AttachFloatingIp",
                              fpb.AttachFloatingIpRequest(address=two.address, instance="f2"))
    assert status == "FAILED_PRECONDITION" and "one per port" in message
    # The pool (a /29: 6 addresses) runs out.
    made = [two] + [fips(c, "CreateFloatingIp", fpb.CreateFloatingIpRequest()) for _ in range(4)]
    assert refused(fips, c, "CreateFloatingIp", fpb.CreateFloatingIpRequest())[0] == "RESOURCE_EXHAUSTED"
    listed = c.api.call("FloatingIps", "ListFloatingIps", fpb.ListFloatingIpsRequest()).floating_ips
    assert len(listed) == 6 and [f.instance for f in listed if f.instance] == ["f2"]
    # Only the attached one is on the gateway host's underlay.
    wait_for(lambda: f"{one.address}/32" in nat_state(c, "host-a")[1], 15, "attached address")
    addresses = nat_state(c, "host-a")[1]
    assert not any(f"{f.address}/32" in addresses for f in made)
    # Cleanup: everything goes, and nothing is left on any host.
    fips(c, "DetachFloatingIp", fpb.FloatingIpRef(address=one.address))
    for f in [one, *made]:
        fips(c, "DeleteFloatingIp", fpb.FloatingIpRef(address=f.address))
    for name in ("f2", "noport"):
        call(c, "Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name=name))

    def gone():
        return not {i.meta.name for i in c.api.call("Instances", "ListInstances",
                                                     public_pb2.ListInstancesRequest()).instances} & {"f2", "noport"}
    wait_for(gone, 60, "instances deleted")
    net(c, "DeleteVpc", npb.NetworkRef(name="fl1"))

    def clean():
        return all("thecloud_nat_" not in tables and ":tcf" not in addresses and "10.50." not in addresses
                   for tables, addresses in (nat_state(c, h) for h in c.underlay.hosts))
    wait_for(clean, 30, "no NAT table or address left")
