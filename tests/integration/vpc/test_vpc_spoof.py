"""Anti-spoofing: a port may only send from its own MAC and address, shown with real packets."""
import subprocess

from proto.v1 import networks_pb2 as npb
from proto.v1 import public_pb2
from vpc_harness import call, create, in_netns, net, sh, wait_nic
from vpc_outside import wait_for


def inside(c, name, *argv):
    """Run the host's `ip` in the instance's network namespace: the container changing its own
    NIC (it lacks CAP_NET_ADMIN to do it itself, a user with root in a VM would not)."""
    inst = c.api.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name))
    pid = c.docker.containers.get(inst.runtime_id).attrs["State"]["Pid"]
    subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", *argv], check=True, capture_output=True)


def pings(c, name, address):
    return sh(c, name, "ping", "-c", "1", "-W", "1", address)[0] == 0


def test_vpc_spoof_a_container_changing_its_address_or_mac_reaches_no_one(nat_cloud):
    c = nat_cloud
    net(c, "CreateVpc", npb.CreateVpcRequest(name="sp1", cidr="10.60.0.0/16"))
    net(c, "CreateSubnet", npb.CreateSubnetRequest(name="sp1-s", vpc="sp1", cidr="10.60.1.0/24"))
    create(c, "s1", "host-a", "sp1-s")
    create(c, "s2", "host-a", "sp1-s")        # the same host: a plain bridge, no tunnel in between
    create(c, "s3", "host-b", "sp1-s")
    s1, s2, s3 = wait_nic(c, "s1"), wait_nic(c, "s2"), wait_nic(c, "s3")
    wait_for(lambda: pings(c, "s1", s2.port.ip) and pings(c, "s1", s3.port.ip), 20, "s1 reaching its peers")
    table = in_netns(c.underlay.netns("host-a"), "nft", "list", "tables").stdout
    assert "table bridge thecloud_" in table

    # s1 takes another address of its subnet: nothing it sends gets through any more.
    spoofed = "10.60.1.99"
    inside(c, "s1", "addr", "flush", "dev", "eth0")
    inside(c, "s1", "addr", "add", f"{spoofed}/24", "dev", "eth0")
    inside(c, "s1", "route", "replace", "default", "via", s1.port.gateway, "dev", "eth0")
    for peer in (s2, s3):
        sh(c, peer.meta.name, "ip", "neigh", "flush", "dev", "eth0")      # forget s1's MAC
    assert not pings(c, "s1", s2.port.ip) and not pings(c, "s1", s3.port.ip)

    # Its own address back, and it reaches them again: it was the filter, not a broken NIC.
    inside(c, "s1", "addr", "flush", "dev", "eth0")
    inside(c, "s1", "addr", "add", f"{s1.port.ip}/{s1.port.prefix_len}", "dev", "eth0")
    wait_for(lambda: pings(c, "s1", s2.port.ip) and pings(c, "s1", s3.port.ip), 20, "s1 back")

    # Another MAC with its own address: dropped too.
    inside(c, "s1", "link", "set", "dev", "eth0", "address", "02:00:00:00:60:99")
    assert not pings(c, "s1", s2.port.ip) and not pings(c, "s1", s3.port.ip)
    inside(c, "s1", "link", "set", "dev", "eth0", "address", s1.port.mac)
    wait_for(lambda: pings(c, "s1", s2.port.ip), 20, "s1 back with its MAC")

    for name in ("s1", "s2", "s3"):
        call(c, "Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name=name))

    def gone():
        return not {i.meta.name for i in c.api.call("Instances", "ListInstances",
                                                     public_pb2.ListInstancesRequest()).instances} & {"s1", "s2", "s3"}
    wait_for(gone, 60, "instances deleted")
    net(c, "DeleteVpc", npb.NetworkRef(name="sp1"))
    wait_for(lambda: all("thecloud" not in in_netns(c.underlay.netns(h), "nft", "list", "tables").stdout
                         for h in c.underlay.hosts), 30, "no anti-spoofing table left")
