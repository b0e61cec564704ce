"""VM pieces without an engine: domain XML, the NoCloud seed, image records in the
state machine, API input checks, driver selection, libvirt down."""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pycdlib
import pytest

from agent.compute.domain import DirectBoot, DomainConfig, InstanceTags, build_xml, read_tags
from agent.compute.select import driver_names
from agent.compute.seed import MAX_USER_DATA, SeedData, write_seed_iso
from common.config import ConfigError
from common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from proto.v1 import images_pb2, resources_pb2 as pb, vm_pb2
from scheduler.api import validate, vm_input
from scheduler.state.machine import ClusterState

SHA = "ab" * 32


def config(**kw) -> DomainConfig:
    base = dict(tags=InstanceTags("i-1", "agent-a", "vm1", "default", "h1"), virt_type="qemu",
                vcpus=2, memory_bytes=512 << 20, disk_path="/v/disk.qcow2",
                seed_path="/v/seed.iso", console_log="/v/console.log")
    return DomainConfig(**{**base, **kw})


def test_vm_domain_xml_carries_tags_disks_and_console():
    xml = build_xml(config(boot=DirectBoot("/k", "/i", "console=ttyS0")))
    root = ET.fromstring(xml)
    assert root.get("type") == "qemu" and root.findtext("name") == "thecloud-i-1"
    assert root.findtext("memory") == str(512 * 1024) and root.findtext("vcpu") == "2"
    assert root.findtext("os/kernel") == "/k" and root.findtext("os/cmdline") == "console=ttyS0"
    disks = root.findall("devices/disk")
    assert [d.get("device") for d in disks] == ["disk", "cdrom"]
    assert disks[1].find("readonly") is not None
    assert root.find("devices/serial/source").get("path") == "/v/console.log"
    assert read_tags(xml) == InstanceTags("i-1", "agent-a", "vm1", "default", "h1")
    assert root.find("cpu") is None
    assert ET.fromstring(build_xml(config(virt_type="kvm"))).find("cpu").get("mode") == "host-passthrough"


def test_vm_seed_iso_is_cidata_with_the_three_files(tmp_path):
    path = tmp_path / "seed.iso"
    write_seed_iso(path, SeedData("i-1", "vm1", b"#!/bin/sh\necho hi\n", ("ssh-ed25519 AAAA k",)))
    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    try:
        assert iso.pvd.volume_identifier.decode().strip() == "cidata"
        files = {}
        for name in ("meta-data", "user-data", "network-config"):
            out = io.BytesIO()
            iso.get_file_from_iso_fp(out, rr_path=f"/{name}")
            files[name] = out.getvalue().decode()
    finally:
        iso.close()
    assert 'instance-id: "i-1"' in files["meta-data"] and 'local-hostname: "vm1"' in files["meta-data"]
    assert "ssh-ed25519 AAAA k" in files["meta-data"]
    assert files["user-data"].startswith("#!/bin/sh")
    assert '"version": 2' in files["network-config"]
    with pytest.raises(ValueError):
        write_seed_iso(tmp_path / "big.iso", SeedData("i", "h", b"x" * (MAX_USER_DATA + 1)))
    assert not (tmp_path / "big.iso").exists()


def _import(state, name="guest", image_id="img-1", index=1):
    return state.apply("image.import", {"id": image_id, "name": name, "project": "default", "image": {
        "format": "qcow2", "disk": {"url": "file:///x", "sha256": SHA, "size_bytes": 10},
        "virtual_size_bytes": 1 << 30}}, {"ts": 1000, "index": index})


def test_vm_images_in_the_state_machine():
    state = ClusterState()
    assert "image" in _import(state)
    assert _import(state, image_id="img-2")["error"]["code"] == "ALREADY_EXISTS"
    copy = ClusterState.from_dict(state.to_dict())
    assert copy.images["img-1"]["image"]["id"] == "img-1" and copy.image_names == {"default/guest": "img-1"}
    state.instances["i-1"] = {"id": "i-1", "name": "vm1", "spec": {"vm_image": {"id": "img-1"}}}
    assert state.apply("image.delete", {"id": "img-1"}, {"ts": 2, "index": 2})["error"]["code"] == \
        "FAILED_PRECONDITION"
    del state.instances["i-1"]
    assert state.apply("image.delete", {"id": "img-1"}, {"ts": 2, "index": 3}) == {"deleted": True}
    assert state.image_names == {}


def test_vm_spec_validation_and_image_resolution():
    state = ClusterState()
    _import(state)
    spec = validate.instance_spec(pb.InstanceSpec(kind="vm", image="guest", vcpus=1,
                                                  memory_bytes=512 << 20, user_data="#!/bin/sh\n"))
    vm_input.resolve_image(state, "default", spec)
    assert spec["disk_bytes"] == 1 << 30 and spec["vm_image"]["disk"]["sha256"] == SHA
    with pytest.raises(InvalidArgument, match="smaller than image"):
        vm_input.resolve_image(state, "default", {**spec, "disk_bytes": 1 << 20})
    with pytest.raises(NotFound):
        vm_input.resolve_image(state, "default", {**spec, "image": "nope"})
    with pytest.raises(InvalidArgument, match="spec.user_data"):
        validate.instance_spec(pb.InstanceSpec(kind="vm", image="guest", vcpus=1, memory_bytes=512 << 20,
                                               user_data="x" * (MAX_USER_DATA + 1)))
    with pytest.raises(InvalidArgument, match="spec.user_data"):
        validate.instance_spec(pb.InstanceSpec(kind="container", image="guest", vcpus=1,
                                               memory_bytes=512 << 20, user_data="x"))
    with pytest.raises(InvalidArgument, match="spec.ssh_keys"):
        validate.instance_spec(pb.InstanceSpec(kind="vm", image="guest", vcpus=1, memory_bytes=512 << 20,
                                               ssh_keys=["not a key"]))


def test_vm_image_import_input():
    def request(**kw):
        base = dict(name="g", format="qcow2", virtual_size_bytes=1 << 30,
                    disk=vm_pb2.ImageFile(url="file:///x", sha256=SHA, size_bytes=10))
        return images_pb2.ImportImageRequest(**{**base, **kw})
    assert vm_input.import_request(request())["format"] == "qcow2"
    for bad, field in ((dict(format="vmdk"), "format"),
                       (dict(disk=vm_pb2.ImageFile(url="ftp://x", sha256=SHA, size_bytes=1)), "disk.url"),
                       (dict(disk=vm_pb2.ImageFile(url="file:///x", sha256="zz", size_bytes=1)), "disk.sha256"),
                       (dict(virtual_size_bytes=0), "virtual_size_bytes"),
                       (dict(cmdline="console=ttyS0"), "cmdline")):
        with pytest.raises(InvalidArgument, match=field):
            vm_input.import_request(request(**bad))


def test_vm_compute_driver_names():
    assert driver_names("docker,libvirt") == ["docker", "libvirt"]
    for bad in ("", "xen", "docker,docker"):
        with pytest.raises(ConfigError):
            driver_names(bad)


def test_vm_libvirt_down_is_a_clear_error(tmp_path):
    from agent.compute.libvirt import LibvirtDriver
    with pytest.raises(Unavailable, match="does not answer"):
        LibvirtDriver("a", tmp_path, uri=f"qemu+unix:///system?socket={tmp_path}/no-such.sock")
    assert list(tmp_path.iterdir()) == []


def test_vm_image_must_exist_when_applied():
    from scheduler.state import images
    state = ClusterState()
    with pytest.raises(FailedPrecondition):
        images.check_usable(state, {"image": "guest", "vm_image": {"id": "img-1", "disk": {}}})
