"""Gateway hosts and floating IPs in the state machine: pool IPAM, refusals change nothing,
instance deletion lets go, and the plan a gateway host gets."""
import json

from scheduler.network.plan import host_network
from scheduler.state.machine import ClusterState

GiB = 1024**3
POOL = "192.0.2.200/29"          # 6 usable addresses: .201 - .206


def ctx(index):
    return {"rid": f"r{index}", "ts": 1_000_000 + index, "index": index}


class Cluster:
    def __init__(self):
        self.state = ClusterState()
        self.index = 0

    def do(self, op, **args):
        self.index += 1
        return self.state.apply(op, json.loads(json.dumps(args)), ctx(self.index))

    def dump(self):
        return json.dumps(self.state.to_dict(), sort_keys=True)


def setup(gateway="h-a"):
    c = Cluster()
    for i, host in enumerate(("a", "b", "c")):
        c.do("host.join", id=f"h-{host}", name=host, address=f"{host}:1", vtep=f"192.0.2.{10 + i}" if host != "c" else "",
             capacity={"vcpus": 64, "memory_bytes": 64 * GiB, "disk_bytes": 0})
    c.do("vpc.create", id="vpc-1", name="net1", project="default", cidr="10.10.0.0/16", mtu=1450,
         gateway_host_id=gateway)
    c.do("subnet.create", id="sn-1", name="sub1", project="default", vpc_id="vpc-1", cidr="10.10.1.0/24")
    return c


def instance(c, name, host="b", subnet="sn-1"):
    return c.do("instance.create", id=f"i-{name}", name=name, project="default", labels={},
                spec={"image": "img", "vcpus": 1, "memory_bytes": GiB, "disk_bytes": 0},
                host_id=f"h-{host}", overcommit={}, port={"subnet_id": subnet})


def fip(c, fid, address=""):
    return c.do("floating_ip.create", id=fid, project="default", pool=POOL, address=address)


def error(result):
    return result.get("error", {}).get("code"), result.get("error", {}).get("message", "")


def test_gateway_host_is_checked_and_overlapping_vpcs_need_different_gateways():
    c = setup()
    assert c.state.vpcs["vpc-1"]["gateway_host_id"] == "h-a"
    before = c.dump()
    for args, code, words in [
        (dict(id="vpc-2", name="net2", cidr="10.10.0.0/16", gateway_host_id="h-a"), "FAILED_PRECONDITION",
         "overlaps"),
        (dict(id="vpc-2", name="net2", cidr="10.20.0.0/16", gateway_host_id="h-c"), "FAILED_PRECONDITION",
         "no VTEP"),
        (dict(id="vpc-2", name="net2", cidr="10.20.0.0/16", gateway_host_id="h-x"), "NOT_FOUND", "h-x"),
    ]:
        result = c.do("vpc.create", project="default", mtu=1450, **args)
        assert error(result)[0] == code and words in error(result)[1], result
    assert c.dump() == before
    # The same CIDR on another gateway host is fine, and so is another CIDR on the same one.
    assert c.do("vpc.create", id="vpc-2", name="net2", project="default", cidr="10.10.0.0/16",
                gateway_host_id="h-b")["vpc"]["gateway_host_id"] == "h-b"
    assert "vpc" in c.do("vpc.create", id="vpc-3", name="net3", project="default", cidr="10.30.0.0/16",
                         gateway_host_id="h-a")
    assert error(c.do("vpc.set_gateway", id="vpc-2", host_id="h-a"))[0] == "FAILED_PRECONDITION"
    assert c.do("vpc.set_gateway", id="vpc-2", host_id="")["vpc"]["gateway_host_id"] == ""


def test_floating_ips_come_from_the_pool_lowest_first_never_twice():
    c = setup()
    assert fip(c, "f1")["floating_ip"]["address"] == "192.0.2.201"
    assert fip(c, "f2", "192.0.2.205")["floating_ip"]["address"] == "192.0.2.205"
    before = c.dump()
    for args, code, field in [(("f3", "192.0.2.205"), "ALREADY_EXISTS", "address"),
                              (("f3", "192.0.2.207"), "INVALID_ARGUMENT", "address"),   # broadcast
                              (("f3", "192.0.2.100"), "INVALID_ARGUMENT", "address"),
                              (("f3", "nope"), "INVALID_ARGUMENT", "address"),
                              (("f1", ""), "ALREADY_EXISTS", "f1")]:
        result = fip(c, *args)
        assert error(result)[0] == code and field in error(result)[1], result
    assert c.dump() == before
    assert [fip(c, f"g{i}")["floating_ip"]["address"] for i in range(4)] == \
        ["192.0.2.202", "192.0.2.203", "192.0.2.204", "192.0.2.206"]
    assert error(fip(c, "g9"))[0] == "RESOURCE_EXHAUSTED"
    assert error(c.do("floating_ip.create", id="x", project="default", pool=""))[0] == "FAILED_PRECONDITION"
    # Deleting gives the address back.
    c.do("floating_ip.delete", id="f2")
    assert fip(c, "g9")["floating_ip"]["address"] == "192.0.2.205"


def test_floating_ips_are_charged_to_the_quota():
    c = setup()
    c.state.iam["quotas"]["default"] = {"floating_ips": 1}
    fip(c, "f1")
    assert error(fip(c, "f2"))[0] == "RESOURCE_EXHAUSTED"
    c.do("floating_ip.delete", id="f1")
    assert "floating_ip" in fip(c, "f2")


def test_attach_detach_and_their_refusals():
    c = setup()
    instance(c, "web")
    c.do("instance.create", id="i-bare", name="bare", project="default", labels={},
         spec={"image": "img", "vcpus": 1, "memory_bytes": GiB, "disk_bytes": 0}, host_id="h-b", overcommit={})
    fip(c, "f1")
    fip(c, "f2")
    before = c.dump()
    for args, code, words in [(dict(id="f1", instance_id="i-bare"), "FAILED_PRECONDITION", "no VPC port"),
                              (dict(id="f1", instance_id="i-nope"), "NOT_FOUND", "i-nope"),
                              (dict(id="f9", instance_id="i-web"), "NOT_FOUND", "f9")]:
        result = c.do("floating_ip.attach", **args)
        assert error(result)[0] == code and words in error(result)[1], result
    assert c.dump() == before
    attached = c.do("floating_ip.attach", id="f1", instance_id="i-web")["floating_ip"]
    assert attached["instance_id"] == "i-web"
    assert c.state.instances["i-web"]["port"]["floating_ip"] == "192.0.2.201"
    assert error(c.do("floating_ip.attach", id="f2", instance_id="i-web"))[0] == "FAILED_PRECONDITION"  # one per port
    assert error(c.do("floating_ip.delete", id="f1"))[0] == "FAILED_PRECONDITION"
    assert error(c.do("vpc.set_gateway", id="vpc-1", host_id=""))[0] == "FAILED_PRECONDITION"
    c.do("floating_ip.detach", id="f1")
    assert c.state.instances["i-web"]["port"]["floating_ip"] == ""
    assert error(c.do("floating_ip.detach", id="f1"))[0] == "FAILED_PRECONDITION"
    assert c.do("floating_ip.delete", id="f1") == {"deleted": True}


def test_attach_needs_a_gateway_host_and_deleting_the_instance_detaches():
    c = setup(gateway="")
    instance(c, "web")
    fip(c, "f1")
    result = c.do("floating_ip.attach", id="f1", instance_id="i-web")
    assert error(result)[0] == "FAILED_PRECONDITION" and "no gateway host" in error(result)[1]
    c.do("vpc.set_gateway", id="vpc-1", host_id="h-a")
    c.do("floating_ip.attach", id="f1", instance_id="i-web")
    c.do("instance.delete", id="i-web")
    assert c.state.floating_ips["f1"]["instance_id"] == ""
    assert c.do("floating_ip.delete", id="f1") == {"deleted": True}


def test_results_do_not_alias_the_state_and_it_round_trips():
    c = setup()
    instance(c, "web")
    result = fip(c, "f1")
    result["floating_ip"]["address"] = "mutated"
    c.do("floating_ip.attach", id="f1", instance_id="i-web")
    assert c.state.floating_ips["f1"]["address"] == "192.0.2.201"
    restored = ClusterState.from_dict(json.loads(c.dump()))
    assert json.dumps(restored.to_dict(), sort_keys=True) == c.dump()


def test_the_gateway_host_gets_the_segment_addresses_and_nat_and_others_flood_to_it():
    c = setup()
    assert "gateways" not in host_network(c.state, "h-a")       # no port in the VPC yet: nothing
    instance(c, "web")
    fip(c, "f1")
    c.do("floating_ip.attach", id="f1", instance_id="i-web")
    gateway = host_network(c.state, "h-a")
    assert gateway["ports"] == []
    assert gateway["segments"] == [{"vni": 1, "mtu": 1450, "remote_vteps": ["192.0.2.11"],
                                    "remote_ports": [("02:01:0a:0a:01:02", "192.0.2.11")]}]
    assert gateway["gateways"] == [{"vni": 1, "cidr": "10.10.0.0/16", "addresses": ["10.10.1.1/24"],
                                    "floating": [("192.0.2.201", "10.10.1.2")]}]
    ported = host_network(c.state, "h-b")
    assert ported["segments"][0]["remote_vteps"] == ["192.0.2.10"] and "gateways" not in ported
    c.do("instance.delete", id="i-web")
    c.do("instance.purge", id="i-web")
    assert host_network(c.state, "h-a") == {"segments": [], "ports": []}
