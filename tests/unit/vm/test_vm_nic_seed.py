"""A VM's VPC NIC and secret files without an engine: the <interface> XML, the
cloud-init network-config and write_files user-data, the seed ISO's mode, the spec
digest (no secret values in it), and the checks of the API and agent inputs."""
from __future__ import annotations

import base64
import email
import io
import json
import os
import stat
import xml.etree.ElementTree as ET
from dataclasses import asdict, replace

import pycdlib
import pytest

from agent import vm_guest
from agent.host_spec import requested
from agent.compute import cloudinit
from agent.compute.domain import DomainConfig, InstanceTags, build_xml
from agent.compute.guest import GuestFile, VmNic
from agent.compute.imagecache import ImageFileRef
from agent.compute.seed import SeedData, write_seed_iso
from agent.compute.vmnic import read_interfaces
from agent.compute.vmspec import VmImageRef, VmSpec
from agent.network.base import NetworkDriver, Segment
from agent.network.vmtap import tap_name
from common.errors import FailedPrecondition, InvalidArgument
from proto.v1 import agent_pb2, resources_pb2 as pb, vm_guest_pb2
from scheduler.api import validate

NIC = VmNic(bridge="tcb-7", tap=tap_name("i-1"), mac="02:07:0a:0a:01:05", ip="10.10.1.5",
            prefix_len=24, gateway="10.10.1.1", mtu=1450)
SECRET = GuestFile("/etc/app/db.pass", b"hunter2-\xe2\x82\xac\n", 0o600, "db")


def domain_config(**kw) -> DomainConfig:
    base = dict(tags=InstanceTags("i-1", "agent-a", "vm1", "default", "h1"), virt_type="qemu",
                vcpus=1, memory_bytes=256 << 20, disk_path="/v/disk.qcow2",
                seed_path="/v/seed.iso", console_log="/v/console.log")
    return DomainConfig(**{**base, **kw})


def seed_files(path) -> dict[str, bytes]:
    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    try:
        files = {}
        for name in ("meta-data", "user-data", "network-config"):
            out = io.BytesIO()
            iso.get_file_from_iso_fp(out, rr_path=f"/{name}")
            files[name] = out.getvalue()
        return files
    finally:
        iso.close()


def test_vm_nic_is_a_bridge_interface_with_the_ports_mac_tap_and_mtu():
    root = ET.fromstring(build_xml(domain_config(nics=(NIC,))))
    interface = root.find("devices/interface")
    assert interface.get("type") == "bridge"
    assert interface.find("mac").get("address") == "02:07:0a:0a:01:05"
    assert interface.find("source").get("bridge") == "tcb-7"
    assert interface.find("target").get("dev") == NIC.tap
    assert interface.find("model").get("type") == "virtio"
    assert interface.find("mtu").get("size") == "1450"
    assert read_interfaces(build_xml(domain_config(nics=(NIC,)))) == [
        {"mac": NIC.mac, "bridge": "tcb-7", "tap": NIC.tap, "model": "virtio", "mtu": 1450}]
    # Without a port a VM has no NIC at all (as before).
    assert ET.fromstring(build_xml(domain_config())).find("devices/interface") is None


def test_vm_tap_name_is_stable_short_and_outside_the_drivers_own_prefixes():
    assert tap_name("i-1") == tap_name("i-1") != tap_name("i-2")
    assert len(tap_name("i-" + "x" * 100)) == 15 and tap_name("i-1").startswith("tct")
    assert not tap_name("i-1").startswith(("tcb-", "tcx-", "tcv"))


def test_vm_nic_domain_is_accepted_by_libvirts_test_driver():
    libvirt = pytest.importorskip("libvirt")
    conn = libvirt.open("test:///default")
    try:
        dom = conn.defineXML(build_xml(domain_config(nics=(NIC,))))
        assert read_interfaces(dom.XMLDesc(0))[0]["mac"] == NIC.mac
        dom.undefine()
    finally:
        conn.close()


def test_vm_network_config_is_static_v2_matched_by_mac():
    config = cloudinit.network_config(NIC)
    assert config == {"version": 2, "ethernets": {"vpc0": {
        "match": {"macaddress": "02:07:0a:0a:01:05"}, "addresses": ["10.10.1.5/24"], "mtu": 1450,
        "routes": [{"to": "0.0.0.0/0", "via": "10.10.1.1"}]}}}
    assert "routes" not in cloudinit.network_config(replace(NIC, gateway=""))["ethernets"]["vpc0"]


def test_vm_user_data_without_secret_files_is_the_users_own():
    assert cloudinit.user_data(b"#!/bin/sh\necho hi\n", ()) == b"#!/bin/sh\necho hi\n"
    assert cloudinit.user_data(b"", ()) == b""


def _write_files(document: str) -> list[dict]:
    lines = document.splitlines()
    assert lines[0] == "#cloud-config"
    return [json.loads(line[2:]) for line in lines if line.startswith("- {")]


def test_vm_secret_files_alone_are_a_cloud_config_write_files():
    data = cloudinit.user_data(b"", (SECRET,)).decode()
    [entry] = _write_files(data)
    assert entry["path"] == "/etc/app/db.pass" and entry["permissions"] == "0600"
    assert entry["owner"] == "root:root" and entry["encoding"] == "b64"
    assert base64.b64decode(entry["content"]) == SECRET.content
    assert SECRET.content.decode() not in data        # only ever base64 in the document
    assert "hunter2" not in repr(SECRET)


def test_vm_secret_files_and_user_data_make_a_multipart_that_appends_lists():
    user = "#!/bin/sh\necho \"héllo $(cat /etc/app/db.pass)\"\n".encode()
    message = email.message_from_bytes(cloudinit.user_data(user, (SECRET,)))
    assert message.get_content_type() == "multipart/mixed"
    ours, theirs = message.get_payload()
    assert ours.get_content_type() == "text/cloud-config"
    assert ours["Merge-Type"] == cloudinit.MERGE_TYPE
    assert _write_files(ours.get_payload(decode=True).decode())[0]["path"] == SECRET.path
    assert theirs.get_content_type() == "text/x-shellscript"
    assert theirs.get_payload(decode=True) == user
    assert theirs["Content-Transfer-Encoding"] == "8bit"   # readable by a minimal guest
    # A user's cloud-config keeps its type; binary (gzip) user-data goes as base64.
    cfg = email.message_from_bytes(cloudinit.user_data(b"#cloud-config\nruncmd: [ls]\n", (SECRET,)))
    assert cfg.get_payload()[1].get_content_type() == "text/cloud-config"
    gz = email.message_from_bytes(cloudinit.user_data(b"\x1f\x8b\x08\x00\xff", (SECRET,)))
    assert gz.get_payload()[1].get_content_type() == "application/gzip"
    assert gz.get_payload()[1].get_payload(decode=True) == b"\x1f\x8b\x08\x00\xff"


def test_vm_users_own_multipart_keeps_its_parts():
    inner = cloudinit.user_data(b"#!/bin/sh\necho inner\n", (GuestFile("/a", b"1", 0o600, "a"),))
    message = email.message_from_bytes(cloudinit.user_data(inner, (SECRET,)))
    types = [part.get_content_type() for part in message.get_payload()]
    assert types == ["text/cloud-config", "text/cloud-config", "text/x-shellscript"]


def test_vm_secret_files_over_the_limit_are_refused():
    big = GuestFile("/big", b"x" * (cloudinit.MAX_SECRET_FILES_BYTES + 1), 0o600, "big")
    with pytest.raises(ValueError):
        cloudinit.user_data(b"", (big,))


def test_vm_seed_iso_is_0600_and_carries_network_config_and_write_files(tmp_path):
    path = tmp_path / "seed.iso"
    write_seed_iso(path, SeedData("i-1", "vm1", b"#!/bin/sh\necho hi\n", secret_files=(SECRET,),
                                  network_config=cloudinit.network_config(NIC)))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    files = seed_files(path)
    assert json.loads(files["network-config"])["ethernets"]["vpc0"]["addresses"] == ["10.10.1.5/24"]
    assert b"write_files" in files["user-data"] and b"echo hi" in files["user-data"]
    # Rewritten over an existing file: still 0600.
    path.chmod(0o644)
    write_seed_iso(path, SeedData("i-1", "vm1"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert b"dhcp4" in seed_files(path)["network-config"]


def _vm_spec(**kw) -> VmSpec:
    image = VmImageRef(id="img-1", name="guest", format="qcow2", disk=ImageFileRef("file:///d", "ab" * 32, 1))
    return VmSpec(image=image, user_data="#!/bin/sh\n", **kw)


def test_vm_spec_digest_is_unchanged_without_guest_extras_and_holds_no_secret_value():
    spec = _vm_spec()
    legacy = {k: v for k, v in asdict(spec).items() if k not in ("nic", "secret_files")}
    import hashlib
    expected = hashlib.sha256(json.dumps(legacy, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]
    assert spec.digest() == expected          # VMs made before this feature are not recreated
    with_secret = _vm_spec(secret_files=(SECRET,))
    rotated = _vm_spec(secret_files=(replace(SECRET, content=b"other"),))
    moved = _vm_spec(secret_files=(replace(SECRET, path="/etc/other"),))
    assert with_secret.digest() == rotated.digest() != moved.digest() != spec.digest()
    assert _vm_spec(nic=NIC).digest() not in (spec.digest(), _vm_spec(nic=replace(NIC, ip="10.10.1.6")).digest())


def _api_spec(**kw) -> pb.InstanceSpec:
    base = dict(kind="vm", image="guest", vcpus=1, memory_bytes=256 << 20)
    return pb.InstanceSpec(**{**base, **kw})


def test_vm_secret_files_api_input():
    assert validate.instance_spec(_api_spec(secret_files={"/etc/app/db": "db"}))["secret_files"] == {
        "/etc/app/db": "db"}
    assert "secret_files" not in validate.instance_spec(_api_spec())
    for path in ("etc/x", "/etc/../x", "/etc//x", "/etc/x/", "/proc/x", "/a\nb", '/a"b', "/" + "a" * 300):
        with pytest.raises(InvalidArgument) as err:
            validate.instance_spec(_api_spec(secret_files={path: "db"}))
        assert err.value.field == "spec.secret_files", path
    with pytest.raises(InvalidArgument) as err:
        validate.instance_spec(_api_spec(secret_files={"/x": "Not_A_Name"}))
    assert err.value.field == "spec.secret_files"
    with pytest.raises(InvalidArgument) as err:
        validate.instance_spec(_api_spec(secret_files={f"/f{i}": "db" for i in range(17)}))
    assert err.value.field == "spec.secret_files"
    with pytest.raises(InvalidArgument) as err:
        validate.instance_spec(_api_spec(kind="container", image="thecloud/busybox:test",
                                         secret_files={"/x": "db"}))
    assert err.value.field == "spec.secret_files"
    with pytest.raises(InvalidArgument) as err:
        validate.instance_spec(_api_spec(secret_env={"DB": "db"}))
    assert err.value.field == "spec.secret_env"


def _ensure(**kw) -> agent_pb2.EnsureInstanceRequest:
    return agent_pb2.EnsureInstanceRequest(instance_id="i-1", desired_state="running",
                                           spec=pb.InstanceSpec(kind="vm", image="guest", vcpus=1,
                                                                memory_bytes=1 << 28), **kw)


GOOD_NIC = vm_guest_pb2.GuestNic(vni=7, mac="02:07:0a:0a:01:05", ip="10.10.1.5", prefix_len=24,
                                 gateway="10.10.1.1", mtu=1450)


@pytest.mark.parametrize("request_kw,field", [
    ({"nic": vm_guest_pb2.GuestNic(**{**dict(vni=0, mac=GOOD_NIC.mac, ip="10.0.0.2", prefix_len=24, mtu=1450)})},
     "nic.vni"),
    ({"nic": vm_guest_pb2.GuestNic(vni=7, mac="02:07:0a", ip="10.0.0.2", prefix_len=24, mtu=1450)}, "nic.mac"),
    ({"nic": vm_guest_pb2.GuestNic(vni=7, mac=GOOD_NIC.mac, ip="10.0.0.300", prefix_len=24, mtu=1450)}, "nic.ip"),
    ({"nic": vm_guest_pb2.GuestNic(vni=7, mac=GOOD_NIC.mac, ip="10.0.0.2", prefix_len=24, mtu=100)}, "nic.mtu"),
    ({"nic": vm_guest_pb2.GuestNic(vni=7, mac=GOOD_NIC.mac, ip="10.0.0.2", prefix_len=31, mtu=1450)},
     "nic.prefix_len"),
    ({"secret_files": [vm_guest_pb2.GuestFile(path="rel/x", content=b"v")]}, "secret_files.path"),
    ({"secret_files": [vm_guest_pb2.GuestFile(path="/a/../b", content=b"v")]}, "secret_files.path"),
    ({"secret_files": [vm_guest_pb2.GuestFile(path="/x", content=b"v")] * 2}, "secret_files.path"),
    ({"secret_files": [vm_guest_pb2.GuestFile(path="/x", content=b"v", mode=0o170000)]}, "secret_files.mode"),
])
def test_vm_agent_refuses_malformed_guest_extras(request_kw, field):
    with pytest.raises(InvalidArgument) as err:
        vm_guest.check_guest(requested(_ensure(**request_kw)))
    assert err.value.field == field


def test_vm_agent_refuses_guest_extras_for_containers():
    request = _ensure(nic=GOOD_NIC)
    request.spec.kind = "container"
    with pytest.raises(InvalidArgument) as err:
        vm_guest.check_guest(requested(request))
    assert err.value.field == "nic"
    vm_guest.check_guest(requested(_ensure(nic=GOOD_NIC, secret_files=[vm_guest_pb2.GuestFile(path="/x", content=b"v")])))


def test_vm_nic_needs_a_network_driver_with_bridges():
    from agent.compute.base import InstanceSpec
    request = _ensure(nic=GOOD_NIC)
    spec = replace(InstanceSpec.from_proto(requested(request).spec), vm=_vm_spec())
    with pytest.raises(FailedPrecondition):
        vm_guest.with_guest(spec, "i-1", requested(request).spec, None)

    class Bridgeless(NetworkDriver):      # the interface's default: no bridges to offer
        name = "bridgeless"

        def ensure(self, network, sandbox_pid):
            raise AssertionError("not called")

        def fingerprint(self):
            return []

    with pytest.raises(FailedPrecondition):
        Bridgeless().ensure_bridge(Segment(vni=7, mtu=1450))
    with pytest.raises(FailedPrecondition):
        vm_guest.with_guest(spec, "i-1", requested(request).spec, Bridgeless())
    # Secret files alone need no network; their values land in the VM spec only.
    files_only = _ensure(secret_files=[vm_guest_pb2.GuestFile(path="/x", content=b"v", mode=0o600, secret="s")])
    made = vm_guest.with_guest(spec, "i-1", requested(files_only).spec, None)
    assert made.vm.secret_files == (GuestFile("/x", b"v", 0o600, "s"),) and made.vm.nic is None
    key = b"k" * 32
    assert b"v" not in made.spec_hash(key).encode() and made.spec_hash(key) != spec.spec_hash(key)


class _StateStore:
    """The two things delivery reads of the store: a lock and the state."""

    def __init__(self, state):
        import threading
        self.read_lock = threading.Lock()
        self._state = state

    def read(self):
        return self._state


def test_vm_leader_delivers_decrypted_files_and_the_nic_only_for_vms(tmp_path):
    from scheduler.secrets import vm_delivery
    from scheduler.secrets.box import SecretBox
    from scheduler.state import records as r
    from scheduler.state.machine import ClusterState

    secret_file = tmp_path / "cluster.secret"
    secret_file.write_text("vm-delivery-test-cluster-secret-0123456789")
    state = ClusterState()
    sealed = SecretBox.from_secret_file(secret_file).seal("default", "db", b"pw-1")
    state.secrets["sec-1"] = {"id": "sec-1", "name": "db", "project": "default", **sealed}
    state.secret_names[r.name_key("default", "db")] = "sec-1"
    state.vpcs["vpc-1"] = {"id": "vpc-1", "vni": 42, "mtu": 1400}
    port = {"vpc_id": "vpc-1", "ip": "10.1.0.5", "prefix_len": 24, "gateway": "10.1.0.1",
            "mac": "02:2a:0a:01:00:05", "mtu": 1400}
    vm = {"project": "default", "spec": {"kind": "vm", "secret_files": {"/etc/db": "db"}}, "port": port}
    store = _StateStore(state)

    fields = vm_delivery.guest_fields(store, secret_file, vm)
    [item] = fields["secret_files"]
    assert (item.path, item.content, item.mode, item.secret) == ("/etc/db", b"pw-1", 0o600, "db")
    assert (fields["nic"].vni, fields["nic"].mac, fields["nic"].mtu) == (42, port["mac"], 1400)
    assert state.secrets["sec-1"]["ciphertext"] == sealed["ciphertext"]     # the state is untouched
    container = {"project": "default", "spec": {"kind": "container"}, "port": port}
    assert vm_delivery.guest_fields(store, secret_file, container) == {}
    gone = {**vm, "spec": {"kind": "vm", "secret_files": {"/etc/db": "deleted"}}}
    with pytest.raises(FailedPrecondition):
        vm_delivery.guest_fields(store, secret_file, gone)
