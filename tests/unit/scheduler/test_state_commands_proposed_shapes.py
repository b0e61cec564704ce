"""Declared commands of networks, floating IPs, images, secrets, the audit log and IAM:
the argument dicts their proposers send (scheduler/api, scheduler/auth) decode and
do their work, and a command refused after its lookups succeeded — by a check of the
handler, not of the decoder — changes nothing."""
from __future__ import annotations

import pytest

from state_world import StateWorld

MiB = 1024**2
HASH = "ab" * 32
POOL = "203.0.113.0/28"


@pytest.fixture
def cluster() -> StateWorld:
    c = StateWorld()
    c.ok("host.join", {"id": "h-1", "name": "node-1", "address": "127.0.0.1:1", "vtep": "192.0.2.1",
                       "capacity": {"vcpus": 8, "memory_bytes": 4096 * MiB, "disk_bytes": 0}})
    # As scheduler/api/networks.py and floating.py send them.
    c.ok("vpc.create", {"id": "vpc-1", "name": "net", "project": "default", "cidr": "10.1.0.0/16",
                        "mtu": 1450, "labels": {}, "gateway_host_id": ""})
    c.ok("subnet.create", {"id": "sn-1", "name": "sub", "project": "default", "vpc_id": "vpc-1",
                           "cidr": "10.1.1.0/24", "labels": {}})
    c.ok("security_group.create", {"id": "sg-1", "name": "web", "project": "default", "labels": {}})
    c.ok("instance.create", {"id": "i-1", "name": "web-1", "project": "default", "host_id": "h-1",
                             "spec": {"image": "busybox", "vcpus": 1, "memory_bytes": 64 * MiB,
                                      "disk_bytes": 0},
                             "port": {"subnet_id": "sn-1", "ip": "", "security_groups": []}})
    return c


def test_network_commands_as_proposed_and_their_refusals(cluster):
    c = cluster
    rule = {"id": "rule-1", "direction": "ingress", "protocol": "tcp", "port_min": 80, "port_max": 80,
            "cidr": "0.0.0.0/0", "remote_group": ""}
    c.ok("security_group.add_rule", {"id": "sg-1", "rule": rule})
    c.refused("security_group.add_rule", {"id": "sg-1", "rule": {**rule, "id": "rule-2"}}, "ALREADY_EXISTS")
    c.refused("security_group.add_rule", {"id": "sg-1", "rule": {"protocol": "tcp"}}, "INVALID_ARGUMENT")
    c.refused("security_group.add_rule", {"id": "sg-1", "rule": {**rule, "id": "r-3", "remote_group": "sg-x",
                                                                 "cidr": ""}}, "NOT_FOUND")
    c.refused("security_group.remove_rule", {"id": "sg-1", "rule_id": "rule-9"}, "NOT_FOUND")
    c.ok("security_group.attach", {"id": "sg-1", "instance_id": "i-1"})
    c.refused("security_group.delete", {"id": "sg-1"}, "FAILED_PRECONDITION")
    c.ok("security_group.detach", {"id": "sg-1", "instance_id": "i-1"})
    c.refused("security_group.detach", {"id": "sg-1", "instance_id": "i-1"}, "NOT_FOUND")
    c.ok("security_group.remove_rule", {"id": "sg-1", "rule_id": "rule-1"})
    c.refused("vpc.create", {"id": "vpc-2", "name": "big", "project": "default", "cidr": "10.2.0.0/16",
                             "mtu": 100}, "INVALID_ARGUMENT")
    c.refused("vpc.create", {"id": "vpc-2", "name": "gw", "project": "default", "cidr": "10.2.0.0/16",
                             "gateway_host_id": "h-9"}, "NOT_FOUND")
    c.refused("subnet.create", {"id": "sn-2", "name": "over", "project": "default", "vpc_id": "vpc-1",
                                "cidr": "10.1.1.128/25"}, "INVALID_ARGUMENT")
    c.refused("subnet.delete", {"id": "sn-1"}, "FAILED_PRECONDITION")
    c.refused("vpc.delete", {"id": "vpc-1"}, "FAILED_PRECONDITION")
    # A whole number written as a float (JSON from a float) decodes as one.
    assert c.ok("vpc.create", {"id": "vpc-3", "name": "f", "project": "default", "cidr": "10.3.0.0/16",
                               "mtu": 1400.0})["vpc"]["mtu"] == 1400


def test_floating_ip_commands_as_proposed_and_their_refusals(cluster):
    c = cluster
    c.ok("floating_ip.create", {"id": "fip-1", "project": "default", "project_id": "p-default",
                                "pool": POOL, "address": "", "labels": {}})
    c.refused("floating_ip.create", {"id": "fip-2", "project": "default", "project_id": "p-gone",
                                     "pool": POOL, "address": ""}, "NOT_FOUND")
    c.refused("floating_ip.create", {"id": "fip-2", "project": "default", "pool": POOL,
                                     "address": "203.0.113.1"}, "ALREADY_EXISTS")
    c.refused("floating_ip.attach", {"id": "fip-1", "instance_id": "i-1"}, "FAILED_PRECONDITION")  # no gateway
    c.ok("vpc.set_gateway", {"id": "vpc-1", "host_id": "h-1"})
    c.ok("floating_ip.attach", {"id": "fip-1", "instance_id": "i-1"})
    c.refused("floating_ip.delete", {"id": "fip-1"}, "FAILED_PRECONDITION")
    c.refused("vpc.set_gateway", {"id": "vpc-1", "host_id": ""}, "FAILED_PRECONDITION")
    c.ok("floating_ip.detach", {"id": "fip-1"})
    c.refused("floating_ip.detach", {"id": "fip-1"}, "FAILED_PRECONDITION")
    assert c.ok("floating_ip.delete", {"id": "fip-1"}) == {"deleted": True}


def test_image_secret_and_audit_commands_as_proposed(cluster):
    c = cluster
    image = {"source_url": "https://example.com/d.qcow2", "sha256": "cd" * 32, "format": "qcow2",
             "size_bytes": 1024, "virtual_size_bytes": 4096, "disk": "d"}
    c.ok("image.import", {"id": "img-1", "name": "guest", "project": "default", "labels": {}, "image": image})
    c.refused("image.import", {"id": "img-2", "name": "guest", "project": "default", "image": image},
              "ALREADY_EXISTS")
    c.ok("image.delete", {"id": "img-1"})
    # As scheduler/api/secrets.py sends it: the sealed box's keys spread in.
    sealed = {"nonce": "bm9uY2U=", "ciphertext": "Y2lwaGVy", "key_id": "k1"}
    c.ok("secret.create", {"id": "s-1", "name": "db", "project": "default", "size_bytes": 6, **sealed})
    c.refused("secret.create", {"id": "s-2", "name": "db2", "project": "default", "size_bytes": 6,
                                **sealed, "nonce": ""}, "INVALID_ARGUMENT")
    c.ok("secret.delete", {"id": "s-1"})
    entry = {"ts": 1_000, "principal": "admin", "via": "TOKEN", "project": "default",
             "action": "vpc.create", "method": "/cloud.v1.Networks/CreateVpc", "resource": "net",
             "outcome": "OK", "address": "127.0.0.1"}
    assert c.ok("audit.append", {"entries": [entry, {"ts": 2_000}], "keep": 100_000,
                                 "max_age_ms": 0}) == {"appended": 2}
    assert c.state.audit["entries"][1] == {**{k: "" for k in entry}, "ts": 2_000, "seq": 2}
    c.refused("audit.append", {"entries": [entry, {"ts": "late"}]}, "INVALID_ARGUMENT")


def test_iam_commands_as_proposed_and_their_refusals(cluster):
    c = cluster
    c.ok("iam.bootstrap", {"principal": {"id": "u-1", "name": "admin", "description": "the first admin"},
                           "token": {"id": "t-1", "hash": HASH, "expires_ms": 0,
                                     "description": "created by cluster init"}})
    c.ok("project.create", {"id": "p-1", "name": "alpha", "description": "", "labels": {}})
    c.ok("principal.create", {"id": "u-2", "name": "ci", "kind": "service-account", "project": "alpha",
                              "description": ""})
    c.refused("principal.create", {"id": "u-3", "name": "bot", "kind": "service-account",
                                   "project": "nope"}, "NOT_FOUND")
    token = {"id": "t-2", "principal_id": "u-2", "hash": HASH, "expires_ms": 2_000_000, "description": "",
             "scope_project": "alpha", "scope_role": "reader", "max_live_tokens": 1}
    c.ok("token.create", token)
    c.refused("token.create", {**token, "id": "t-3"}, "RESOURCE_EXHAUSTED")
    c.refused("token.create", {**token, "id": "t-3", "max_live_tokens": 0, "hash": "short"},
              "INVALID_ARGUMENT")
    c.ok("token.revoke", {"id": "t-2"})
    c.ok("role.create", {"name": "drainer", "permissions": ["host.drain"], "description": ""})
    c.ok("binding.create", {"principal": "ci", "role": "drainer", "project": "alpha"})
    c.refused("role.delete", {"name": "drainer"}, "FAILED_PRECONDITION")
    c.ok("binding.delete", {"principal": "ci", "role": "drainer", "project": "alpha"})
    c.refused("binding.delete", {"principal": "ci", "role": "drainer", "project": "alpha"}, "NOT_FOUND")
    c.ok("quota.set", {"project": "alpha", "limits": {"instances": 2, "vcpus": -1}})
    c.refused("quota.set", {"project": "alpha", "limits": {"instances": 3, "bogus": 1}}, "INVALID_ARGUMENT")
    c.refused("quota.set", {"project": "alpha", "limits": {"instances": -2}}, "INVALID_ARGUMENT")
    c.refused("project.delete", {"name": "alpha"}, "FAILED_PRECONDITION")      # the service account
    c.ok("principal.delete", {"name": "u-2"})
    assert c.ok("project.delete", {"name": "alpha"}) == {"deleted": True}
