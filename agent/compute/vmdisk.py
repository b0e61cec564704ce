"""Block volumes as virtio disks of a VM: hot-plugged, unplugged and grown through libvirt.

A volume's disk carries the volume id as its virtio serial, so the guest finds it
at a stable place (/sys/block/vdX/serial, /dev/disk/by-id/virtio-<id>) whatever
target name it gets, and so this module recognises the volume disks of a domain
among its other disks. Every change goes to the running guest (LIVE) and to the
persistent definition (CONFIG), so a volume outlives a guest reboot, a stop and
start, and a restart of the agent.
"""
from __future__ import annotations

import re
import string
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import libvirt

from common.errors import FailedPrecondition

# Volume ids ("v-" and 16 hex digits) fit virtio-blk's 20-byte serial whole.
VOLUME_SERIAL_RE = re.compile(r"^v-[0-9a-f]{4,18}\Z")
MAX_SERIAL = 20
SECTOR = 512
TARGETS = tuple(f"vd{letter}" for letter in string.ascii_lowercase[1:])   # vda is the root disk


def guest_path(volume_id: str) -> str:
    """Where a guest with udev sees the volume."""
    return f"/dev/disk/by-id/virtio-{volume_id[:MAX_SERIAL]}"


@dataclass(frozen=True)
class VolumeDisk:
    """A volume as a VM attaches it: a block device (lvm) or an image file qemu opens (file)."""

    volume_id: str
    path: str
    source_type: str = "block"       # "block" or "file"
    format: str = "raw"              # "raw" or "qcow2"

    def __post_init__(self):
        if not VOLUME_SERIAL_RE.match(self.volume_id):
            raise ValueError(f"{self.volume_id!r} is not a volume id")
        if self.source_type not in ("block", "file") or self.format not in ("raw", "qcow2"):
            raise ValueError(f"volume {self.volume_id}: no {self.source_type}/{self.format} disks")


@dataclass(frozen=True)
class AttachedDisk:
    """A volume disk found in a domain's XML."""

    volume_id: str
    target: str
    path: str


def disk_xml(disk: VolumeDisk, target: str) -> str:
    """The <disk> element attachDeviceFlags takes for `disk` at `target` (e.g. "vdb")."""
    element = ET.Element("disk", type=disk.source_type, device="disk")
    ET.SubElement(element, "driver", name="qemu", type=disk.format)
    ET.SubElement(element, "source", {"dev" if disk.source_type == "block" else "file": disk.path})
    ET.SubElement(element, "target", dev=target, bus="virtio")
    ET.SubElement(element, "serial").text = disk.volume_id
    return ET.tostring(element, encoding="unicode")


def volume_disks(domain_xml: str) -> dict[str, AttachedDisk]:
    """The volume disks of a domain (by volume id): disks whose serial is a volume id."""
    found = {}
    for element in ET.fromstring(domain_xml).iterfind("devices/disk"):
        serial = (element.findtext("serial") or "").strip()
        target = element.find("target")
        if not VOLUME_SERIAL_RE.match(serial) or target is None:
            continue
        source = element.find("source")
        path = "" if source is None else source.get("dev") or source.get("file") or ""
        found[serial] = AttachedDisk(serial, target.get("dev", ""), path)
    return found


def used_targets(domain_xml: str) -> set[str]:
    return {target.get("dev", "") for target in ET.fromstring(domain_xml).iterfind("devices/disk/target")}


def free_target(used: set[str]) -> str:
    for target in TARGETS:
        if target not in used:
            return target
    raise FailedPrecondition(f"the VM has no free virtio disk name left ({len(TARGETS)} volumes at most)")


def stub_xml(target: str) -> str:
    """Enough of a <disk> for libvirt to find the device to remove: libvirt matches its target."""
    element = ET.Element("disk", type="file", device="disk")
    ET.SubElement(element, "target", dev=target, bus="virtio")
    return ET.tostring(element, encoding="unicode")


@dataclass(frozen=True)
class DiskChange:
    """One step of making a domain's volume disks what a spec lists."""

    action: str                      # "attach" or "detach"
    volume_id: str
    target: str
    live: bool                       # the running guest
    config: bool                     # the persistent definition
    disk: VolumeDisk | None = None   # what to attach


def plan(live_xml: str, config_xml: str, wanted: tuple[VolumeDisk, ...] | list[VolumeDisk]) -> list[DiskChange]:
    """The detaches, then the attaches, that make the domain hold exactly the `wanted` volume
    disks, in the running guest (`live_xml`; "" when the domain is not running) and in its
    definition. A disk keeps the name it has in either; a new one takes the first free name
    (names being freed are not reused: the guest may not have let go of them yet)."""
    wanted_by_id = {disk.volume_id: disk for disk in wanted}
    live = volume_disks(live_xml) if live_xml else {}
    config = volume_disks(config_xml)
    changes = []
    for volume_id in sorted((set(live) | set(config)) - set(wanted_by_id)):
        found = live.get(volume_id) or config[volume_id]
        changes.append(DiskChange("detach", volume_id, found.target, volume_id in live, volume_id in config))
    used = used_targets(config_xml) | (used_targets(live_xml) if live_xml else set())
    for volume_id, disk in sorted(wanted_by_id.items()):
        to_live = bool(live_xml) and volume_id not in live
        to_config = volume_id not in config
        if not (to_live or to_config):
            continue
        known = config.get(volume_id) or live.get(volume_id)
        target = known.target if known else free_target(used)
        used.add(target)
        changes.append(DiskChange("attach", volume_id, target, to_live, to_config, disk))
    return changes


class VolumeDisks:
    """Makes a domain's volume disks what a spec lists; grows one for its guest."""

    # Under the scheduler's deadline for one agent call (agent_call_timeout, 30 s by default).
    def __init__(self, detach_timeout: float = 20.0, poll: float = 0.2):
        self.detach_timeout = detach_timeout
        self.poll = poll

    def sync(self, dom, wanted: tuple[VolumeDisk, ...] | list[VolumeDisk]) -> None:
        """Attach the wanted disks the domain lacks, detach the volume disks it should not have.

        Raises FailedPrecondition (with libvirt's reason) when libvirt refuses, or when
        the guest did not release a detached disk within `detach_timeout`: the disk then
        stays, and the next call tries again.
        """
        live_xml = dom.XMLDesc(0) if dom.isActive() else ""
        for change in plan(live_xml, dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), wanted):
            if change.action == "detach":
                self._detach(dom, change)
                continue
            flags = (libvirt.VIR_DOMAIN_AFFECT_LIVE if change.live else 0) \
                | (libvirt.VIR_DOMAIN_AFFECT_CONFIG if change.config else 0)
            try:
                dom.attachDeviceFlags(disk_xml(change.disk, change.target), flags)
            except libvirt.libvirtError as err:
                raise FailedPrecondition(f"cannot attach volume {change.volume_id} to {dom.name()}: "
                                         f"{err.get_error_message()}") from None

    def _detach(self, dom, change: DiskChange) -> None:
        volume_id = change.volume_id
        if change.config:
            try:
                dom.detachDeviceFlags(stub_xml(change.target), libvirt.VIR_DOMAIN_AFFECT_CONFIG)
            except libvirt.libvirtError as err:
                raise FailedPrecondition(f"cannot detach volume {volume_id} from the definition of "
                                         f"{dom.name()}: {err.get_error_message()}") from None
        if not change.live:
            return
        try:
            dom.detachDeviceFlags(stub_xml(change.target), libvirt.VIR_DOMAIN_AFFECT_LIVE)
        except libvirt.libvirtError as err:
            # An unplug asked for earlier and still pending is what we want; wait for it.
            if err.get_error_code() != libvirt.VIR_ERR_OPERATION_IN_PROGRESS:
                raise FailedPrecondition(f"cannot detach volume {volume_id} from {dom.name()}: "
                                         f"{err.get_error_message()}") from None
        # The unplug is a request to the guest (ACPI): the disk is gone once the guest let go.
        deadline = time.monotonic() + self.detach_timeout
        while dom.isActive() and volume_id in volume_disks(dom.XMLDesc(0)):
            if time.monotonic() > deadline:
                raise FailedPrecondition(
                    f"the guest of {dom.name()} has not released volume {volume_id} ({change.target}) "
                    f"within {self.detach_timeout:g}s; it may still be using it (unmount it in the "
                    "guest). The detach is retried")
            time.sleep(self.poll)

    def grow(self, dom, volume_id: str, size_bytes: int) -> bool:
        """Tell the running guest its volume disk is `size_bytes` (qemu grows an image file
        itself; a block device must have grown first). False when the domain is not running
        or has no such disk: then nothing holds the volume open and its driver grows it."""
        if not dom.isActive():
            return False
        found = volume_disks(dom.XMLDesc(0)).get(volume_id)
        if found is None:
            return False
        size = -(-size_bytes // SECTOR) * SECTOR
        try:
            dom.blockResize(found.target, size, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
        except libvirt.libvirtError as err:
            raise FailedPrecondition(f"cannot grow volume {volume_id} of {dom.name()} to {size} bytes: "
                                     f"{err.get_error_message()}") from None
        return True
