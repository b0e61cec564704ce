"""Libvirt domain XML for one instance, built with ElementTree from a dataclass.

The domain carries the cluster's ids in its <metadata> (instance id, owning agent,
name, project, spec hash), so several agents can share one libvirtd and a restarted
agent recognises its own domains.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from agent.compute.guest import VmNic
from agent.compute.vmnic import add_interface

METADATA_NS = "https://thecloud.dev/xmlns/libvirt/instance/1"
METADATA_PREFIX = "thecloud"


def domain_name(instance_id: str) -> str:
    return f"thecloud-{instance_id}"


@dataclass(frozen=True)
class InstanceTags:
    """The cluster ids a domain carries."""

    instance_id: str
    agent: str
    name: str = ""
    project: str = ""
    spec_hash: str = ""


@dataclass(frozen=True)
class DirectBoot:
    """Boot a kernel (and initrd) from the host instead of the disk's bootloader."""

    kernel: str
    initrd: str = ""
    cmdline: str = ""


@dataclass(frozen=True)
class DomainConfig:
    tags: InstanceTags
    virt_type: str               # "kvm" or "qemu" (TCG)
    vcpus: int
    memory_bytes: int
    disk_path: str               # the instance's qcow2 overlay
    seed_path: str               # the NoCloud ISO; "" for none
    console_log: str             # where the serial console goes
    boot: DirectBoot | None = None
    emulator: str = ""           # empty: libvirt's default for the arch
    machine: str = "pc"
    nics: tuple[VmNic, ...] = ()  # taps on VPC bridges
    disk_format: str = "qcow2"

    @property
    def name(self) -> str:
        return domain_name(self.tags.instance_id)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def _metadata(parent: ET.Element, tags: InstanceTags) -> None:
    metadata = _sub(parent, "metadata")
    root = ET.SubElement(metadata, f"{{{METADATA_NS}}}instance")
    for key in ("instance_id", "agent", "name", "project", "spec_hash"):
        _sub(root, f"{{{METADATA_NS}}}{key.replace('_', '-')}", getattr(tags, key))


def build_xml(config: DomainConfig) -> str:
    ET.register_namespace(METADATA_PREFIX, METADATA_NS)
    domain = ET.Element("domain", type=config.virt_type)
    _sub(domain, "name", config.name)
    _sub(domain, "title", f"{config.tags.project}/{config.tags.name}")
    _metadata(domain, config.tags)
    _sub(domain, "memory", str(config.memory_bytes // 1024), unit="KiB")
    _sub(domain, "vcpu", str(config.vcpus))

    os_ = _sub(domain, "os")
    _sub(os_, "type", "hvm", arch="x86_64", machine=config.machine)
    if config.boot is not None:
        _sub(os_, "kernel", config.boot.kernel)
        if config.boot.initrd:
            _sub(os_, "initrd", config.boot.initrd)
        if config.boot.cmdline:
            _sub(os_, "cmdline", config.boot.cmdline)
    else:
        _sub(os_, "boot", dev="hd")
    features = _sub(domain, "features")
    _sub(features, "acpi")   # ACPI lets a stop be a clean shutdown
    _sub(features, "apic")
    if config.virt_type == "kvm":
        _sub(domain, "cpu", mode="host-passthrough")
    _sub(domain, "clock", offset="utc")
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    # A panicked guest is kept (state crashed, reason panicked) until the restart policy
    # or a stop ends it: the state says what happened, and a dump can still be taken.
    _sub(domain, "on_crash", "preserve")

    devices = _sub(domain, "devices")
    if config.emulator:
        _sub(devices, "emulator", config.emulator)
    disk = _sub(devices, "disk", type="file", device="disk")
    _sub(disk, "driver", name="qemu", type=config.disk_format)
    _sub(disk, "source", file=config.disk_path)
    _sub(disk, "target", dev="vda", bus="virtio")
    if config.seed_path:
        # The seed goes on virtio-scsi: cloud kernels often lack AHCI/IDE drivers.
        _sub(devices, "controller", type="scsi", index="0", model="virtio-scsi")
        seed = _sub(devices, "disk", type="file", device="cdrom")
        _sub(seed, "driver", name="qemu", type="raw")
        _sub(seed, "source", file=config.seed_path)
        _sub(seed, "target", dev="sda", bus="scsi")
        _sub(seed, "readonly")
    for nic in config.nics:
        add_interface(devices, nic)
    serial = _sub(devices, "serial", type="file")
    _sub(serial, "source", path=config.console_log, append="on")
    _sub(serial, "target", port="0")
    console = _sub(devices, "console", type="file")
    _sub(console, "source", path=config.console_log, append="on")
    _sub(console, "target", type="serial", port="0")
    _sub(devices, "memballoon", model="virtio")
    # pvpanic: a guest kernel's panic reaches libvirt as a crash instead of a hang.
    _sub(devices, "panic", model="isa")
    return ET.tostring(domain, encoding="unicode")


def read_tags(xml_text: str) -> InstanceTags | None:
    """The cluster ids in a domain's XML; None for a domain that is not the cloud's."""
    element = ET.fromstring(xml_text).find(f"metadata/{{{METADATA_NS}}}instance")
    return _tags(element) if element is not None else None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_tags_element(xml_text: str) -> InstanceTags | None:
    """The cluster ids from the metadata element alone: virDomainGetMetadata answers
    with it stripped of its namespace."""
    element = ET.fromstring(xml_text)
    return _tags(element) if _local(element.tag) == "instance" else None


def _tags(element: ET.Element) -> InstanceTags:
    values = {_local(child.tag): child.text or "" for child in element}
    return InstanceTags(instance_id=values.get("instance-id", ""), agent=values.get("agent", ""),
                        name=values.get("name", ""), project=values.get("project", ""),
                        spec_hash=values.get("spec-hash", ""))
