"""The security-group ruleset builder: what each port gets, and `nft --check` accepts it."""
import shutil
import subprocess

import pytest

from agent.network import nftables
from agent.network.base import Port, Rule


def port(instance_id, ip, filtered=True, ingress=(), egress=(), vni=7):
    return Port(instance_id=instance_id, vni=vni, mac="02:07:0a:0a:01:02", ip=ip, prefix_len=24,
                gateway="10.10.1.1", mtu=1450, filtered=filtered, ingress=tuple(ingress),
                egress=tuple(egress), egress_restricted=bool(egress))


def table(*ports):
    return nftables.firewall("thecloud_t", list(ports), lambda vni: f"tcb-{vni}")


def test_unfiltered_ports_need_no_table_and_the_transaction_removes_it():
    assert table(port("i-1", "10.10.1.2", filtered=False)) is None
    assert nftables.transaction("thecloud_t", None) == \
        "add table inet thecloud_t\ndelete table inet thecloud_t\n"


def test_a_filtered_port_is_stateful_default_deny_with_its_allow_rules():
    text = table(port("i-1", "10.10.1.2", ingress=[Rule("tcp", 80, 80, ("0.0.0.0/0",)),
                                                   Rule("udp", 5000, 5010, ("10.0.0.0/8", "192.168.1.0/24")),
                                                   Rule("icmp", 0, 0, ("10.10.1.3/32",)),
                                                   Rule("tcp", 22, 22, ())])).render()
    assert 'oifname "tcb-7" ip daddr 10.10.1.2 jump in-i-1' in text
    chain = text[text.index("chain in-i-1"):]
    lines = [line.strip() for line in chain.splitlines()[1:7]]
    assert lines == ["ct state established,related accept", "ct state invalid drop",
                     "tcp dport 80 accept",
                     "ip saddr { 10.0.0.0/8, 192.168.1.0/24 } udp dport 5000-5010 accept",
                     "ip saddr { 10.10.1.3/32 } meta l4proto icmp accept",
                     "drop"]       # a remote group without members matches nothing
    assert "out-i-1" not in text   # egress stays open


def test_egress_rules_restrict_egress():
    text = table(port("i-1", "10.10.1.2", egress=[Rule("tcp", 443, 443, ("0.0.0.0/0",))])).render()
    assert 'iifname "tcb-7" ip saddr 10.10.1.2 jump out-i-1' in text
    assert "tcp dport 443 accept" in text[text.index("chain out-i-1"):]


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed")
def test_nft_accepts_the_generated_transaction():
    script = nftables.transaction("thecloud_check", table(
        port("i-1", "10.10.1.2", ingress=[Rule("tcp", 80, 80, ("0.0.0.0/0",))]),
        port("i-2", "10.10.1.3", ingress=[Rule("any", 0, 0, ("10.10.1.2/32",))],
             egress=[Rule("udp", 53, 53, ("10.10.1.1/32",))])))
    result = subprocess.run(["nft", "--check", "-f", "-"], input=script, capture_output=True, text=True)
    if result.returncode != 0 and "Operation not permitted" in result.stderr:
        pytest.skip("nft --check needs root")
    assert result.returncode == 0, result.stderr
