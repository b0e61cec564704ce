"""The agent's own contract (HostInstanceSpec): what the leader builds, what the agent
reads, and the spec hash that must not move across the change (or every running
instance would be recreated at the first ensure after a rolling upgrade)."""
from __future__ import annotations

import pytest

from agent import validation, vm_guest
from agent.compute.base import InstanceSpec
from agent.host_spec import RequestedSpec, from_legacy, requested
from common.errors import InvalidArgument
from proto.v1 import agent_pb2, vm_guest_pb2
from scheduler import agent_spec
from scheduler.api import convert

KEY = b"k" * 32
IMAGE = {"id": "img-1", "name": "guest", "format": "qcow2",
         "disk": {"url": "http://x/d.qcow2", "sha256": "ab" * 32, "size_bytes": 1000},
         "virtual_size_bytes": 1 << 30,
         "kernel": {"url": "http://x/k", "sha256": "cd" * 32, "size_bytes": 10},
         "initrd": {"url": "http://x/i", "sha256": "ef" * 32, "size_bytes": 20},
         "cmdline": "console=ttyS0"}
NIC = dict(vni=7, mac="02:07:0a:0a:01:05", ip="10.10.1.5", prefix_len=24, gateway="10.10.1.1", mtu=1450)
# name: (record spec, secret env values, secret files (path, value, secret), NIC)
SAMPLES = {
    "container-min": ({"image": "busybox", "vcpus": 1, "memory_bytes": 64 << 20}, {}, [], None),
    "container-full": ({"kind": "container", "image": "thecloud/busybox:test", "vcpus": 2,
                        "memory_bytes": 128 << 20, "disk_bytes": 1 << 30,
                        "command": ["httpd", "-f", "-p", "8080"], "env": {"B": "2", "A": "1"},
                        "restart_policy": "always", "host_labels": {"zone": "a"}, "constraints": ["ssd"],
                        "subnet": "sub1", "ip": "10.0.0.5", "security_groups": ["web"]}, {}, [], None),
    "container-secret": ({"image": "busybox", "vcpus": 1, "memory_bytes": 64 << 20, "env": {"X": "1"},
                          "secret_env": {"DB": "db-pass"}, "restart_policy": "on-failure"},
                         {"DB": "hunter2"}, [], None),
    "vm-full": ({"kind": "vm", "image": "guest", "vcpus": 1, "memory_bytes": 256 << 20, "disk_bytes": 2 << 30,
                 "subnet": "sub1", "user_data": "#cloud-config\n", "ssh_keys": ["ssh-ed25519 AAA k"],
                 "vm_image": IMAGE, "secret_files": {"/etc/app/token": "tok"}, "restart_policy": "always"},
                {}, [("/etc/app/token", b"s3cret", "tok")], NIC),
    "vm-plain": ({"kind": "vm", "image": "guest", "vcpus": 1, "memory_bytes": 256 << 20,
                  "vm_image": {**IMAGE, "kernel": None, "initrd": None, "cmdline": ""}}, {}, [], None),
}
# (keyed, unkeyed) spec hashes of these instances as the agent of release 0.1 computed them
# from the scheduler's request of release 0.1 (before HostInstanceSpec existed).
RELEASE_0_1_HASHES = {
    "container-min": ("228625c08da33be4", "4feccf1804a2075f"),
    "container-full": ("dd4668b9ff588b5d", "afc05346b4b6bff4"),
    "container-secret": ("b4723189e975cb15", "1377e669cec562b6"),
    "vm-full": ("69ebca943b5cbe2c", "4bb69849a5b8e83a"),
    "vm-plain": ("5552886742b86888", "283893fd6748b421"),
}


class Bridges:
    """The one thing with_guest asks of the network driver."""

    def ensure_bridge(self, segment):
        return f"tcbr-{segment.vni}"


def _record(name: str) -> dict:
    return {"id": "i-1", "name": "web", "project": "default", "desired_state": "running",
            "host_id": "h-1", "spec": SAMPLES[name][0]}


def _guest(name: str):
    _, env, files, nic = SAMPLES[name]
    return (env, [vm_guest_pb2.GuestFile(path=p, content=c, mode=0o600, secret=s) for p, c, s in files],
            vm_guest_pb2.GuestNic(**nic) if nic else None)


def release_0_1_request(name: str) -> agent_pb2.EnsureInstanceRequest:
    """The call a release 0.1 leader made: the public spec with env filled, the VM extras beside it."""
    env, files, nic = _guest(name)
    spec = convert.spec_pb(SAMPLES[name][0])
    spec.env.update(env)
    return agent_pb2.EnsureInstanceRequest(instance_id="i-1", desired_state="running", spec=spec,
                                           secret_files=files, **({"nic": nic} if nic else {}))


def new_request(name: str) -> agent_pb2.EnsureInstanceRequest:
    """The call this release's leader makes (scheduler/agent_spec.py), both contracts in it."""
    env, files, nic = _guest(name)
    host = agent_spec.host_spec(_record(name), env, files, nic)
    return agent_pb2.EnsureInstanceRequest(instance_id="i-1", desired_state="running", host_spec=host,
                                           **agent_spec.legacy_fields(_record(name), host))


def agent_spec_of(request: agent_pb2.EnsureInstanceRequest) -> InstanceSpec:
    """What the agent's servicer hands its driver (volumes aside: they come from the host)."""
    wanted = requested(request)
    validation.check_ensure(request, wanted)
    vm_guest.check_guest(wanted)
    return vm_guest.with_guest(InstanceSpec.from_proto(wanted.spec), request.instance_id, wanted.spec, Bridges())


def without_host_spec(request: agent_pb2.EnsureInstanceRequest) -> agent_pb2.EnsureInstanceRequest:
    legacy = agent_pb2.EnsureInstanceRequest()
    legacy.CopyFrom(request)
    legacy.ClearField("host_spec")
    return legacy


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_spec_hashes_of_running_instances_stay_as_release_0_1_made_them(name):
    keyed, unkeyed = RELEASE_0_1_HASHES[name]
    old = agent_spec_of(release_0_1_request(name))        # a 0.2 agent, a 0.1 scheduler
    new = agent_spec_of(new_request(name))                # both 0.2: host_spec
    legacy_only = agent_spec_of(without_host_spec(new_request(name)))   # what a 0.1 agent reads of a 0.2 call
    assert old == new == legacy_only
    assert (new.spec_hash(KEY), new.legacy_spec_hash()) == (keyed, unkeyed)
    assert new.hash_matches(keyed, KEY)
    # An instance an agent older than the key made is adopted unless secrets are in its env.
    assert new.hash_matches(unkeyed, KEY) == (name != "container-secret")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_legacy_fields_are_what_a_release_0_1_scheduler_sent(name):
    """A 0.1 agent reads only the legacy fields; what it reads of them must not change."""
    host = new_request(name)
    old = release_0_1_request(name)
    assert from_legacy(without_host_spec(host)) == from_legacy(old)
    assert (host.spec.kind or "container", host.spec.restart_policy) == (
        old.spec.kind or "container", old.spec.restart_policy)


def test_the_host_spec_carries_nothing_of_placement_or_secret_names():
    host = agent_spec.host_spec(_record("container-full"))
    bare = dict(SAMPLES["container-full"][0])
    for key in ("host_labels", "constraints", "ip", "security_groups"):
        del bare[key]
    assert host == agent_spec.host_spec({**_record("container-full"), "spec": bare})
    assert host.vpc_port and not host.HasField("nic") and not host.HasField("vm_image")
    secret = agent_spec.host_spec(_record("container-secret"), {"DB": "hunter2"})
    assert dict(secret.env) == {"X": "1", "DB": "hunter2"} and secret.env_from_secrets
    assert "db-pass" not in str(secret)      # the secret's name stays with the scheduler
    vm = agent_spec.host_spec(_record("vm-full"), {}, *_guest("vm-full")[1:])
    assert [f.path for f in vm.secret_files] == ["/etc/app/token"] and vm.nic.vni == 7
    assert vm.vm_image.kernel.url == "http://x/k" and list(vm.ssh_keys) == ["ssh-ed25519 AAA k"]


def test_ensure_request_sends_both_contracts():
    request = agent_spec.ensure_request(None, None, {**_record("container-full"), "trace_id": "t"},
                                        agent_pb2.Fence(term=3, leader="s1"))
    assert request.HasField("host_spec") and request.HasField("spec")
    assert (request.fence.term, request.host_id, request.name) == (3, "h-1", "web")
    assert agent_spec_of(request) == agent_spec_of(without_host_spec(request))


def test_the_agent_prefers_the_host_spec():
    request = new_request("container-min")
    request.spec.image = "what-an-old-agent-would-run"
    assert requested(request) == RequestedSpec(request.host_spec)
    assert agent_spec_of(request).image == "busybox"
    assert agent_spec_of(without_host_spec(request)).image == "what-an-old-agent-would-run"
    with pytest.raises(InvalidArgument) as err:
        requested(agent_pb2.EnsureInstanceRequest(instance_id="i-1"))
    assert err.value.field == "host_spec"


@pytest.mark.parametrize("mutate, new_field, legacy_field", [
    (lambda r: setattr(r, "vcpus", 0), "host_spec.vcpus", "spec.vcpus"),
    (lambda r: r.env.update({"A=B": "x"}), "host_spec.env", "spec.env"),
    (lambda r: setattr(r, "kind", "container"), "host_spec.secret_files", "secret_files"),
    (lambda r: setattr(r.nic, "mac", "nope"), "host_spec.nic.mac", "nic.mac"),
    (lambda r: setattr(r.secret_files[0], "path", "rel"), "host_spec.secret_files.path", "secret_files.path"),
])
def test_refusals_name_the_field_the_caller_sent(mutate, new_field, legacy_field):
    new = new_request("vm-full")
    mutate(new.host_spec)
    with pytest.raises(InvalidArgument) as err:
        agent_spec_of(new)
    assert err.value.field == new_field
    legacy = agent_pb2.EnsureInstanceRequest(instance_id="i-1", desired_state="running",
                                             spec=new.spec, secret_files=new.host_spec.secret_files,
                                             nic=new.host_spec.nic)
    legacy.spec.vcpus, legacy.spec.kind = new.host_spec.vcpus, new.host_spec.kind
    legacy.spec.env.clear()
    legacy.spec.env.update(new.host_spec.env)
    with pytest.raises(InvalidArgument) as err:
        agent_spec_of(legacy)
    assert err.value.field == legacy_field
