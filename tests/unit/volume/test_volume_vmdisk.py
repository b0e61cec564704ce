"""Volumes as VM disks without an engine: the <disk> builder, finding volume disks in a
domain's XML, the plan of attaches and detaches, the guest's path, and the cluster's
rules for attaching to a VM (state machine and API input)."""
import json
import xml.etree.ElementTree as ET

import pytest

from agent.compute import domain as dom_xml
from agent.compute.vmdisk import (DiskChange, VolumeDisk, disk_xml, free_target, guest_path, plan,
                                  volume_disks)
from common.errors import FailedPrecondition, InvalidArgument
from scheduler.api import volume_input
from tests.unit.volume.test_volume_state import GiB, World, code

V1, V2, V3 = "v-00000000000000a1", "v-00000000000000b2", "v-00000000000000c3"


def base_xml() -> str:
    """A domain as the libvirt driver defines it: root disk vda, seed CD-ROM sda."""
    return dom_xml.build_xml(dom_xml.DomainConfig(
        tags=dom_xml.InstanceTags("i-1", "agent"), virt_type="qemu", vcpus=1, memory_bytes=256 << 20,
        disk_path="/vm/disk.qcow2", seed_path="/vm/seed.iso", console_log="/vm/console.log"))


def with_disks(xml: str, *disks: tuple[VolumeDisk, str]) -> str:
    """`xml` with each (disk, target) added as libvirt would show it after an attach."""
    root = ET.fromstring(xml)
    devices = root.find("devices")
    for disk, target in disks:
        devices.append(ET.fromstring(disk_xml(disk, target)))
    return ET.tostring(root, encoding="unicode")


def lvm(volume_id: str) -> VolumeDisk:
    return VolumeDisk(volume_id, f"/dev/vg0/vol-{volume_id}")


def qcow2(volume_id: str) -> VolumeDisk:
    return VolumeDisk(volume_id, f"/pool/vol-{volume_id}.qcow2", "file", "qcow2")


def test_disk_xml_is_a_virtio_disk_whose_serial_is_the_volume_id():
    block = ET.fromstring(disk_xml(lvm(V1), "vdb"))
    assert block.tag == "disk" and block.get("type") == "block" and block.get("device") == "disk"
    assert block.find("source").get("dev") == f"/dev/vg0/vol-{V1}"
    assert block.find("driver").attrib == {"name": "qemu", "type": "raw"}
    assert block.find("target").attrib == {"dev": "vdb", "bus": "virtio"}
    assert block.findtext("serial") == V1 and len(V1) <= 20      # virtio-blk keeps 20 bytes
    image = ET.fromstring(disk_xml(qcow2(V2), "vdc"))
    assert image.get("type") == "file" and image.find("source").get("file") == f"/pool/vol-{V2}.qcow2"
    assert image.find("driver").get("type") == "qcow2"
    assert guest_path(V1) == f"/dev/disk/by-id/virtio-{V1}"


def test_volume_disk_refuses_what_would_not_be_a_volume_disk():
    for bad in (dict(volume_id="i-00000000000000a1", path="/x"), dict(volume_id="v-../../x", path="/x"),
                dict(volume_id=V1, path="/x", source_type="network"),
                dict(volume_id=V1, path="/x", format="vmdk")):
        with pytest.raises(ValueError):
            VolumeDisk(**bad)


def test_only_disks_with_a_volume_serial_are_volume_disks():
    xml = with_disks(base_xml(), (lvm(V1), "vdb"), (qcow2(V2), "vdd"))
    found = volume_disks(xml)
    assert sorted(found) == [V1, V2]                           # not the root disk, not the seed
    assert found[V1].target == "vdb" and found[V1].path == f"/dev/vg0/vol-{V1}"
    assert found[V2].target == "vdd" and found[V2].path.endswith(".qcow2")


def test_plan_for_a_running_vm_attaches_live_and_in_the_definition():
    xml = base_xml()
    changes = plan(xml, xml, [lvm(V1), qcow2(V2)])
    assert changes == [DiskChange("attach", V1, "vdb", True, True, lvm(V1)),
                       DiskChange("attach", V2, "vdc", True, True, qcow2(V2))]
    # Already there in both: nothing to do (ensure is idempotent).
    both = with_disks(xml, (lvm(V1), "vdb"), (qcow2(V2), "vdc"))
    assert plan(both, both, [lvm(V1), qcow2(V2)]) == []


def test_plan_for_a_stopped_vm_changes_the_definition_only():
    xml = base_xml()
    assert plan("", xml, [lvm(V1)]) == [DiskChange("attach", V1, "vdb", False, True, lvm(V1))]
    defined = with_disks(xml, (lvm(V1), "vdb"))
    assert plan("", defined, []) == [DiskChange("detach", V1, "vdb", False, True)]


def test_plan_keeps_a_disk_name_and_completes_a_half_done_change():
    xml = base_xml()
    # Attached in the definition while stopped, then started by someone: live gets it at its name.
    config = with_disks(xml, (lvm(V1), "vdc"))
    assert plan(xml, config, [lvm(V1)]) == [DiskChange("attach", V1, "vdc", True, False, lvm(V1))]
    # A detach that reached the definition but not the guest finishes in the guest only.
    live = with_disks(xml, (lvm(V1), "vdb"))
    assert plan(live, xml, []) == [DiskChange("detach", V1, "vdb", True, False)]


def test_plan_detaches_first_and_does_not_reuse_a_name_being_freed():
    live = with_disks(base_xml(), (lvm(V1), "vdb"), (lvm(V2), "vdc"))
    changes = plan(live, live, [lvm(V2), lvm(V3)])
    assert changes == [DiskChange("detach", V1, "vdb", True, True),
                       DiskChange("attach", V3, "vdd", True, True, lvm(V3))]


def test_free_target_skips_used_names_and_says_when_none_is_left():
    assert free_target({"vda", "sda"}) == "vdb"
    assert free_target({"vda", "vdb", "vdd"}) == "vdc"
    with pytest.raises(FailedPrecondition, match="no free virtio disk name"):
        free_target({f"vd{c}" for c in "abcdefghijklmnopqrstuvwxyz"})


def test_a_vm_sees_its_volume_by_id_and_takes_no_mount_path():
    assert volume_input.attach_path("vm", "", V1) == f"/dev/disk/by-id/virtio-{V1}"
    assert volume_input.attach_path("vm", f"/dev/disk/by-id/virtio-{V1}", V1).endswith(V1)
    with pytest.raises(InvalidArgument) as err:
        volume_input.attach_path("vm", "/data", V1)
    assert err.value.field == "path"
    assert volume_input.attach_path("container", "", V1) == "/data"
    assert volume_input.attach_path("container", "/srv", V1) == "/srv"


def vm_world() -> World:
    w = World()
    for name in ("data1", "data2"):
        w.volume(name)
        w.made(name)
    w.volume("far", host="b")
    w.made("far")
    disk = {"url": "file:///guest.qcow2", "sha256": "0" * 64, "size_bytes": 1 << 20}
    w.apply("image.import", {"id": "m-1", "name": "guest", "project": "default",
                             "image": {"format": "qcow2", "disk": disk}})
    created = w.apply("instance.create", {
        "id": "i-vm1", "name": "vm1", "project": "default", "labels": {},
        "spec": {"kind": "vm", "image": "guest", "vcpus": 1, "memory_bytes": GiB, "disk_bytes": 0,
                 "vm_image": {"id": "m-1", "disk": disk}},
        "host_id": "h-a", "overcommit": {}})
    assert "error" not in created, created
    return w


def test_the_state_machine_attaches_volumes_to_a_vm_and_refuses_what_it_refuses_for_containers():
    w = vm_world()
    vid1, vid2, far = (f"v-{n.encode().hex()}" for n in ("data1", "data2", "far"))
    generation = w.state.instances["i-vm1"]["desired_generation"]
    result = w.apply("volume.attach", {"id": vid1, "instance_id": "i-vm1",
                                       "path": volume_input.vm_path(vid1)})
    assert result["volume"]["attached_to"] == "i-vm1"
    assert w.state.instances["i-vm1"]["desired_generation"] == generation + 1
    assert w.apply("volume.attach", {"id": vid2, "instance_id": "i-vm1",
                                     "path": volume_input.vm_path(vid2)})["volume"]["attached_to"] == "i-vm1"
    assert [v["volume_id"] for v in w.state.instances["i-vm1"]["spec"]["volumes"]] == [vid1, vid2]
    w.instance("c1")
    before = w.dump()
    # Attached elsewhere; on another host: refused, nothing changed.
    assert code(w.apply("volume.attach", {"id": vid1, "instance_id": "i-c1", "path": "/data"})) \
        == "FAILED_PRECONDITION"
    assert code(w.apply("volume.attach", {"id": far, "instance_id": "i-vm1",
                                          "path": volume_input.vm_path(far)})) == "FAILED_PRECONDITION"
    assert code(w.apply("volume.delete", {"id": vid1})) == "FAILED_PRECONDITION"
    assert w.dump() == before
    w.apply("volume.detach", {"id": vid1})
    assert [v["volume_id"] for v in w.state.instances["i-vm1"]["spec"]["volumes"]] == [vid2]
    assert json.loads(w.dump())["volumes"][vid1]["attached_to"] == ""
