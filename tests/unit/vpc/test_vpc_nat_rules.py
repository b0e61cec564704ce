"""The gateway NAT table and the anti-spoofing table builders; `nft --check` accepts them."""
import os
import shutil
import subprocess

import pytest

from agent.network import antispoof, nat
from agent.network.nat import Gateway
from common.errors import InvalidArgument
from proto.v1 import floating_pb2 as fpb

GATEWAYS = (Gateway(7, "10.10.0.0/16", ("10.10.1.1/24",), (("192.0.2.201", "10.10.1.2"),)),
            Gateway(9, "10.20.0.0/16", ("10.20.1.1/24", "10.20.2.1/24")))


def render():
    return nat.render("thecloud_nat_t", GATEWAYS, lambda vni: f"tcb-{vni}", "ul0", "192.0.2.10")


def test_egress_is_snated_to_the_vtep_and_floating_ips_both_ways():
    text = render()
    assert 'iifname != "tcb-7" ip daddr 192.0.2.201 dnat to 10.10.1.2' in text
    lines = [line.strip() for line in text.splitlines()]
    # The floating IP's own SNAT comes before the VPC's catch-all.
    fip = lines.index('iifname "tcb-7" oifname "ul0" ip saddr 10.10.1.2 snat to 192.0.2.201')
    vpc = lines.index('iifname "tcb-7" oifname "ul0" ip saddr 10.10.0.0/16 snat to 192.0.2.10')
    assert fip < vpc
    assert 'iifname "tcb-9" oifname "ul0" ip saddr 10.20.0.0/16 snat to 192.0.2.10' in lines
    assert nat.render("t", (), str, "ul0", "192.0.2.10") is None
    assert nat.transaction("t", None) == "add table ip t\ndelete table ip t\n"


def test_gateways_from_the_request_are_checked():
    good = fpb.VpcGateway(vni=7, cidr="10.10.0.0/16", addresses=["10.10.1.1/24"],
                          floating=[fpb.FloatingBinding(address="192.0.2.201", ip="10.10.1.2")])
    assert nat.from_proto([good], {7}) == (GATEWAYS[0],)
    for msg, vnis, field in [
        (good, {8}, "gateways.vni"),
        (fpb.VpcGateway(vni=7, cidr="10.10.0.0/16", addresses=["10.10.1.300/24"]), {7}, "gateways.addresses"),
        (fpb.VpcGateway(vni=7, cidr="10.10.0.0/16",
                        floating=[fpb.FloatingBinding(address="x", ip="10.10.1.2")]), {7}, "gateways.floating"),
    ]:
        with pytest.raises(InvalidArgument) as err:
            nat.from_proto([msg], vnis)
        assert field in str(err.value)


def test_a_port_may_send_only_from_its_mac_and_address():
    text = antispoof.render("thecloud_t", [antispoof.PortIdentity("tcvabc", "02:07:0a:0a:01:02", "10.10.1.2")])
    assert 'iifname "tcvabc" jump port-tcvabc' in text
    for rule in ("ether saddr != 02:07:0a:0a:01:02 drop", "arp saddr ip != 10.10.1.2 drop",
                 "ip saddr 10.10.1.2 accept"):
        assert rule in text
    assert text.rstrip().splitlines()[-3].strip() == "drop"    # the port chain ends by dropping the rest
    assert antispoof.render("thecloud_t", []) is None


def test_nft_accepts_both_tables():
    if shutil.which("nft") is None or os.geteuid() != 0:
        pytest.skip("nft --check needs nft and root")
    spoof = antispoof.render("thecloud_check", [antispoof.PortIdentity("tcvabc", "02:07:0a:0a:01:02", "10.10.1.2")])
    for script in (nat.transaction("thecloud_nat_check", render()),
                   antispoof.transaction("thecloud_check", spoof)):
        result = subprocess.run(["nft", "--check", "-f", "-"], input=script, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
