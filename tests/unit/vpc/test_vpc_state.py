"""VPC commands of the state machine: VNIs, CIDRs, IPAM, groups; refusals change nothing."""
import json

from scheduler.network.plan import host_network
from scheduler.state.machine import ClusterState

GiB = 1024**3


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


def setup(c=None, hosts=("a", "b")):
    c = c or Cluster()
    for i, host in enumerate(hosts):
        c.do("host.join", id=f"h-{host}", name=host, address=f"{host}:1", vtep=f"192.0.2.{10 + i}",
             capacity={"vcpus": 64, "memory_bytes": 64 * GiB, "disk_bytes": 0})
    c.do("vpc.create", id="vpc-1", name="net1", project="default", cidr="10.10.0.0/16", mtu=1450)
    c.do("subnet.create", id="sn-1", name="sub1", project="default", vpc_id="vpc-1", cidr="10.10.1.0/24")
    return c


def instance(c, name, host="a", **port):
    return c.do("instance.create", id=f"i-{name}", name=name, project="default", labels={},
                spec={"image": "img", "vcpus": 1, "memory_bytes": GiB, "disk_bytes": 0},
                host_id=f"h-{host}", overcommit={}, port={"subnet_id": "sn-1", **port})


def error(result):
    return result.get("error", {}).get("code"), result.get("error", {}).get("message", "")


def test_vnis_are_unique_and_reused_lowest_first():
    c = setup()
    second = c.do("vpc.create", id="vpc-2", name="net2", project="default", cidr="10.10.0.0/16")
    assert second["vpc"]["vni"] == 2       # the same CIDR as net1 is fine
    c.do("vpc.delete", id="vpc-1")
    third = c.do("vpc.create", id="vpc-3", name="net3", project="default", cidr="172.16.0.0/12")
    assert third["vpc"]["vni"] == 1


def test_subnets_must_fit_their_vpc_and_not_overlap():
    c = setup()
    before = c.dump()
    for cidr, words in [("10.11.0.0/24", "not inside"), ("10.10.1.128/25", "overlaps"),
                        ("10.10.0.0/30", "too small"), ("10.10.1.0/33", "not an IPv4"),
                        ("10.10.2.1/24", "not an IPv4")]:
        code, message = error(c.do("subnet.create", id="sn-x", name="x", project="default",
                                   vpc_id="vpc-1", cidr=cidr))
        assert code == "INVALID_ARGUMENT" and "cidr" in message and words in message, message
    assert c.dump() == before


def test_ports_get_the_lowest_free_address_and_a_mac_unique_in_the_vpc():
    c = setup()
    one = instance(c, "one")["instance"]["port"]
    two = instance(c, "two", ip="10.10.1.77")["instance"]["port"]
    three = instance(c, "three")["instance"]["port"]
    assert (one["ip"], two["ip"], three["ip"]) == ("10.10.1.2", "10.10.1.77", "10.10.1.3")
    assert len({one["mac"], two["mac"], three["mac"]}) == 3
    assert one["mac"] == "02:01:0a:0a:01:02" and one["gateway"] == "10.10.1.1"


def test_an_address_is_never_given_twice_and_comes_back_after_purge():
    c = setup()
    instance(c, "one", ip="10.10.1.5")
    before = c.dump()
    code, message = error(instance(c, "dup", ip="10.10.1.5"))
    assert code == "ALREADY_EXISTS" and "spec.ip" in message
    assert c.dump() == before                      # not even the instance was made
    c.do("instance.purge", id="i-one")
    assert instance(c, "again", ip="10.10.1.5")["instance"]["port"]["ip"] == "10.10.1.5"


def test_bad_addresses_and_exhaustion():
    c = setup()
    for ip, words in [("10.10.2.9", "not a usable"), ("10.10.1.0", "not a usable"),
                      ("10.10.1.255", "not a usable"), ("10.10.1.1", "gateway"), ("x", "not an IPv4")]:
        code, message = error(instance(c, "bad", ip=ip))
        assert code == "INVALID_ARGUMENT" and "spec.ip" in message and words in message
    c.do("subnet.create", id="sn-2", name="tiny", project="default", vpc_id="vpc-1", cidr="10.10.9.0/29")
    made = [c.do("instance.create", id=f"i-t{i}", name=f"t{i}", project="default", labels={},
                 spec={"image": "img", "vcpus": 1, "memory_bytes": 1, "disk_bytes": 0}, host_id="h-a",
                 overcommit={}, port={"subnet_id": "sn-2"}) for i in range(6)]
    assert [m["instance"]["port"]["ip"] for m in made[:5]] == [f"10.10.9.{i}" for i in range(2, 7)]
    assert error(made[5])[0] == "RESOURCE_EXHAUSTED"


def test_deleting_a_vpc_or_subnet_in_use_is_refused():
    c = setup()
    instance(c, "one")
    assert error(c.do("vpc.delete", id="vpc-1"))[0] == "FAILED_PRECONDITION"
    assert error(c.do("subnet.delete", id="sn-1"))[0] == "FAILED_PRECONDITION"
    c.do("instance.purge", id="i-one")
    assert c.do("vpc.delete", id="vpc-1") == {"deleted": True, "subnets": 1}
    assert not c.state.subnets and not c.state.subnet_names


def test_rules_are_validated_and_groups_in_use_cannot_go():
    c = setup()
    c.do("security_group.create", id="sg-web", name="web", project="default")
    for rule, field in [({"protocol": "tcp", "port_min": 90, "port_max": 80}, "rule.port_min"),
                        ({"protocol": "icmp", "port_min": 1}, "rule.port_min"),
                        ({"protocol": "sctp"}, "rule.protocol"),
                        ({"direction": "sideways"}, "rule.direction"),
                        ({"cidr": "10.0.0.0/33"}, "rule.cidr")]:
        code, message = error(c.do("security_group.add_rule", id="sg-web", rule={"id": "r1", **rule}))
        assert code == "INVALID_ARGUMENT" and field in message, message
    ok = c.do("security_group.add_rule", id="sg-web", rule={"id": "r1", "protocol": "tcp", "port_min": 80})
    assert ok["security_group"]["rules"][0]["cidr"] == "0.0.0.0/0"
    assert error(c.do("security_group.add_rule", id="sg-web",
                      rule={"id": "r2", "protocol": "tcp", "port_min": 80}))[0] == "ALREADY_EXISTS"
    instance(c, "one", security_groups=["sg-web"])
    assert error(c.do("security_group.delete", id="sg-web"))[0] == "FAILED_PRECONDITION"
    c.do("security_group.detach", id="sg-web", instance_id="i-one")
    assert c.do("security_group.delete", id="sg-web") == {"deleted": True}


def test_results_do_not_alias_the_state():
    c = setup()
    instance(c, "one")
    vpc = c.do("vpc.create", id="vpc-9", name="n9", project="default", cidr="10.9.0.0/16")
    vpc["vpc"]["vni"] = 999
    c.do("security_group.create", id="sg-1", name="g", project="default")
    attached = c.do("security_group.attach", id="sg-1", instance_id="i-one")
    attached["instance"]["port"]["security_groups"].append("sg-x")
    assert c.state.vpcs["vpc-9"]["vni"] != 999
    assert c.state.instances["i-one"]["port"]["security_groups"] == ["sg-1"]


def test_host_network_floods_to_the_other_vteps_and_resolves_remote_groups():
    c = setup()
    c.do("security_group.create", id="sg-db", name="db", project="default")
    c.do("security_group.create", id="sg-app", name="app", project="default")
    c.do("security_group.add_rule", id="sg-db", rule={"id": "r1", "protocol": "tcp", "port_min": 5432,
                                                      "remote_group": "sg-app"})
    instance(c, "db1", "a", security_groups=["sg-db"])
    instance(c, "app1", "b", security_groups=["sg-app"])
    instance(c, "app2", "b", security_groups=["sg-app"])
    plan = host_network(c.state, "h-a")
    assert plan["segments"] == [{"vni": 1, "mtu": 1450, "remote_vteps": ["192.0.2.11"],
                                 "remote_ports": [("02:01:0a:0a:01:03", "192.0.2.11"),
                                                  ("02:01:0a:0a:01:04", "192.0.2.11")]}]
    (port,) = plan["ports"]
    assert port["filtered"] and not port["egress_restricted"]
    assert port["ingress"] == [{"protocol": "tcp", "port_min": 5432, "port_max": 5432,
                                "cidrs": ["10.10.1.3/32", "10.10.1.4/32"]}]
    c.do("instance.delete", id="i-db1")
    c.do("instance.purge", id="i-db1")
    assert host_network(c.state, "h-a") == {"segments": [], "ports": []}


def test_state_round_trips_with_networks():
    c = setup()
    instance(c, "one")
    restored = ClusterState.from_dict(json.loads(c.dump()))
    assert json.dumps(restored.to_dict(), sort_keys=True) == c.dump()
